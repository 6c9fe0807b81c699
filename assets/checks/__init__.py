"""Every check on a unit's assets, declared when the definitions load and built from the measures
at run time: `gates` (each gate: its threshold setting, bound and severity), `table` (a single
table's candidate), `sequences`, `group` (a relational group's candidate), `suites` (user suites
on the candidate and the guards on the source)."""
