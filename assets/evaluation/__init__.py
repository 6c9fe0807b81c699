"""The measures of a candidate against the real rows: `quality` (SDMetrics shapes and pair trends),
`privacy` (exact copies, DCR, NNDR), `leaks` (rare real values), `utility` (train on synthetic,
test on real) and `report` (the HTML report)."""
