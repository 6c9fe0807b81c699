"""TabularARGN on real sequences (the 2013 New York flights of real aircraft, in time order):
the building block for `synthesizer: argn` on a sequential table. Bounded by epochs."""

from __future__ import annotations

import pandas as pd
import pytest

from synthpipe.demo_data import plane_sequences
from synthpipe.resources.argn_sequence import ArgnSequenceSynthesizer
from synthpipe.resources.metadata import detect_metadata

pytestmark = pytest.mark.integration

TABLE = "plane_flights"
PARAMS = {"model": "MOSTLY_AI/Small", "max_epochs": 2, "random_state": 1}


@pytest.fixture(scope="module")
def fitted():
    real = plane_sequences(30, 20, seed=3)
    synthesizer = ArgnSequenceSynthesizer(detect_metadata(TABLE, real, {}, sequence=("tailnum", "time_hour")), context_columns=["carrier"], **PARAMS)
    synthesizer.fit({TABLE: real})
    return real, synthesizer


def _draw(synthesizer: ArgnSequenceSynthesizer, count: int, seed: int) -> pd.DataFrame:
    synthesizer._set_random_state(seed)
    return synthesizer.sample_sequences(count)[TABLE]


def test_sequences_are_whole_new_entities_in_order_with_their_context(fitted):
    # Run
    real, synthesizer = fitted
    synthetic = _draw(synthesizer, 8, seed=5)

    # Assert: 8 new entities, none a real aircraft; each keeps one carrier, a real one, and its
    # flights in time order; the source's columns and types
    assert sorted(synthetic["tailnum"].unique()) == [str(n) for n in range(8)]
    assert not set(synthetic["tailnum"]) & set(real["tailnum"])
    assert (synthetic.groupby("tailnum")["carrier"].nunique() == 1).all()
    assert set(synthetic["carrier"]) <= set(real["carrier"])
    assert all(group["time_hour"].is_monotonic_increasing for _, group in synthetic.groupby("tailnum"))
    assert list(synthetic.columns) == list(real.columns) and synthetic.dtypes.to_dict() == real.dtypes.to_dict()
    assert 1 <= synthetic.groupby("tailnum").size().max() <= real.groupby("tailnum").size().max()
    # the real flights depart on the hour: so do the synthetic ones
    assert (synthetic["time_hour"].dt.floor("h") == synthetic["time_hour"]).all()


def test_a_seed_reproduces_its_sequences_after_a_save_and_load(fitted, tmp_path):
    # Run
    _, synthesizer = fitted
    first = _draw(synthesizer, 6, seed=11)
    path = tmp_path / "model.argn.pkl"
    synthesizer.save(str(path))
    loaded = ArgnSequenceSynthesizer.load(str(path))

    # Assert: the same seed, the same rows, also from the saved model; another seed, other rows
    pd.testing.assert_frame_equal(_draw(loaded, 6, seed=11), first)
    assert not _draw(loaded, 6, seed=12).equals(first)
    assert loaded.get_parameters()["context_columns"] == ["carrier"]


def test_a_row_sample_is_refused_with_the_call_to_use(fitted):
    from synthpipe.errors import SynthesizerError

    with pytest.raises(SynthesizerError, match="samples whole sequences; use `sample_sequences`"):
        fitted[1].sample(10)


@pytest.mark.parametrize(
    ("stamps", "grid"),
    [
        (["2013-01-01 05:00", "2013-01-01 06:00", "2013-01-02 11:00"], "1h"),
        (["2013-01-01 06:00", "2013-01-01 12:00", "2013-01-02 18:00"], "6h"),
        (["2013-01-01", "2013-01-05", "2013-02-01"], "1D"),
        (["2013-01-01 06:00:01", "2013-01-01 12:00:00"], None),
    ],
)
def test_the_order_columns_grid_is_found(stamps, grid):
    from synthpipe.resources.argn_sequence import _time_grid

    found = _time_grid(pd.Series(pd.to_datetime(stamps, format="mixed")))
    assert found == (None if grid is None else pd.Timedelta(grid))
