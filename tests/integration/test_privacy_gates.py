"""Privacy gates that hold at every size: decided on a 95% interval, they let an honest table pass
when it is small and still stop a copying model when it is large. On the real Adult table, the
"synthetic" rows are either a verbatim copy of training rows or a fresh real sample (Adult rows
neither fitted nor held out), at 1,000 and at 40,000 rows."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.assets.checks.gates import bounded_gate
from synthpipe.assets.evaluation.privacy import evaluate_privacy
from synthpipe.config import TableConfig
from synthpipe.demo_data import load_adult

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult().sample(frac=1.0, random_state=11).reset_index(drop=True)


def columns_of(frame: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {c: {"sdtype": "numerical" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical"} for c in frame.columns}


@pytest.mark.parametrize("rows", [1_000, 40_000])
@pytest.mark.parametrize("candidate", ["verbatim copy", "fresh real sample"])
def test_the_dcr_gate_stops_a_copy_and_passes_fresh_rows_at_every_size(adult, rows, candidate):
    # Setup: the table's 80/20 split; the candidate as many rows as the holdout allows, at most 20,000
    table, fresh = adult.iloc[:rows], adult.iloc[rows:]
    holdout, training = table.iloc[: rows // 5], table.iloc[rows // 5 :]
    size = min(len(training), len(fresh), 20_000)
    synthetic = (training if candidate == "verbatim copy" else fresh).sample(size, random_state=3).reset_index(drop=True)

    # Run
    privacy = evaluate_privacy(synthetic, training, holdout, columns_of(adult), seed=1)
    result = bounded_gate("dcr", privacy.dcr_closer_to_training_share, privacy.dcr_interval, TableConfig(name="adult"))

    # Assert: the copy is closer to training with certainty; fresh rows read about 0.5 within noise
    low, high = privacy.dcr_interval
    assert low <= privacy.dcr_closer_to_training_share <= high
    if candidate == "verbatim copy":
        assert privacy.dcr_closer_to_training_share > 0.95 and not result.passed
        assert "with 95% confidence" in result.description
    else:
        assert abs(privacy.dcr_closer_to_training_share - 0.5) < 0.1 and result.passed
        assert low < 0.6  # the bound that decides
    assert result.metadata["synthpipe/interval"].value == f"{low:.4f}-{high:.4f}"
