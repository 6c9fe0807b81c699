"""Pure stage logic: fingerprints, the holdout split, identifier quoting, URI redaction."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from synthpipe.assets.split import fingerprint, split_holdout, to_pandas
from synthpipe.errors import UnsupportedColumnError
from synthpipe.resources.sources import quote_identifier
from synthpipe.resources.synthesizers import check_modelable
from synthpipe.resources.tracking import redact_uri

pytestmark = pytest.mark.unit


def test_fingerprint_ignores_row_order_but_not_content(adult_slice):
    shuffled = adult_slice.sample(frac=1.0, random_state=1).reset_index(drop=True)
    changed = adult_slice.copy()
    changed.loc[0, "age"] += 1
    assert fingerprint(shuffled) == fingerprint(adult_slice)
    assert fingerprint(changed) != fingerprint(adult_slice)
    assert fingerprint(adult_slice.drop(columns=["income"])) != fingerprint(adult_slice)


@pytest.mark.parametrize(("fraction", "holdout_rows"), [(0.2, 240), (0.5, 600), (0.0001, 1)])
def test_split_is_seeded_disjoint_and_sized(adult_slice, fraction, holdout_rows):
    train, holdout = split_holdout(adult_slice, fraction, seed=0)
    again_train, _ = split_holdout(adult_slice.sample(frac=1.0, random_state=5), fraction, seed=0)
    other_train, _ = split_holdout(adult_slice, fraction, seed=1)
    assert len(holdout) == holdout_rows and len(train) + len(holdout) == len(adult_slice)
    merged = pd.concat([train, holdout]).drop_duplicates()
    assert len(merged) == len(adult_slice.drop_duplicates())
    pd.testing.assert_frame_equal(train, again_train)  # source row order does not matter
    assert not train.equals(other_train)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("adult", '"adult"'), ('we"ird', '"we""ird"'), ("a; DROP TABLE adult; --", '"a; DROP TABLE adult; --"'), ("with space", '"with space"')],
)
def test_identifiers_are_quoted_never_pasted(name, quoted):
    assert quote_identifier(name) == quoted


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://bob:pw@db:5432/mlflow", "postgresql://***@db:5432/mlflow"),
        ("https://token@mlflow.example.com", "https://***@mlflow.example.com"),
        ("sqlite:////srv/mlflow.db", "sqlite:////srv/mlflow.db"),
    ],
)
def test_uris_are_redacted(uri, shown):
    assert redact_uri(uri) == shown


def test_unmodelable_columns_are_all_named():
    schema = pa.schema([("age", pa.int64()), ("photo", pa.binary()), ("tags", pa.list_(pa.string())), ("when", pa.timestamp("us"))])
    with pytest.raises(UnsupportedColumnError) as raised:
        check_modelable("people", schema)
    message = str(raised.value)
    assert "'photo' (binary)" in message and "'tags' (list<item: string>)" in message
    assert "'age'" not in message and "'when'" not in message
    assert "exclude_columns: ['photo', 'tags']" in message


def test_arrow_dictionaries_and_decimals_convert_once():
    table = pa.table({"state": pa.array(["CA", "NY"]).dictionary_encode(), "amount": pa.array([1, 2], pa.decimal128(10, 2))})
    data = to_pandas(table)
    assert data["state"].tolist() == ["CA", "NY"] and data["amount"].dtype == "float64"


def test_split_source_in_batches_matches_the_whole_table_split(adult_slice, monkeypatch):
    import pyarrow as pa

    from synthpipe.assets import split as stages
    from synthpipe.expectations.profile import profile_table
    from synthpipe.resources import fingerprints

    # Setup: batches of 250 rows, so the 1,200-row slice is hashed and profiled in five parts
    monkeypatch.setattr(fingerprints, "BATCH_ROWS", 250)
    arrow = pa.Table.from_pandas(adult_slice, preserve_index=False)

    # Run
    split = stages.split_source(arrow, 0.2, 3, fit_rows=500, evaluation_rows=100)
    train, holdout = stages.split_holdout(adult_slice, 0.2, 3)

    # Assert: the same split and fingerprint as in memory; bounded samples drawn from each side
    assert (split.training_rows, split.holdout_rows, split.source_rows) == (len(train), len(holdout), 1_200)
    assert split.fingerprint == stages.fingerprint(adult_slice) == stages.content_fingerprint(arrow)
    assert split.profile == profile_table(train)
    assert (len(split.fit), len(split.train), len(split.holdout)) == (500, 100, 100)
    train_hashes, holdout_hashes = (set(stages.row_hashes(f)) for f in (train, holdout))
    assert set(stages.row_hashes(split.fit)) <= train_hashes
    assert set(stages.row_hashes(split.holdout)) <= holdout_hashes
