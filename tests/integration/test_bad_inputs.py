"""A corpus of awkward inputs, each HANDLED or REJECTED-CLEARLY.

HANDLED: the refresh publishes, and the published values are right (schema, shape, no real
rare value). REJECTED-CLEARLY: nothing is published, the message names the table and the
column or setting, and says what to do; a version published before stays exactly as it was.

The rows come from the real Adult table; the awkward part of each input (a column of names, an
infinite number, a type no synthesizer models) is a shape of input made up for the case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faker import Faker

from synthpipe.demo_data import load_adult, write_duckdb_table
from synthpipe.errors import ConfigError
from synthpipe.factory import build_synthpipe_defs
from synthpipe.resources.snapshots import DeltaSnapshotStore
from tests.conftest import step_error

pytestmark = pytest.mark.integration

TABLE = "people"
ROWS = 400


def _adult(rows: int = ROWS, seed: int = 11) -> pd.DataFrame:
    data = load_adult(rows=rows, seed=seed)
    return data[["age", "workclass", "education", "hours-per-week", "fnlwgt"]].reset_index(drop=True)


def _names(count: int, seed: int = 1) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [fake.unique.name() for _ in range(count)]


def _sentences(count: int, seed: int = 2) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [fake.unique.sentence(nb_words=12) for _ in range(count)]


def _with(column: str, values: Any, rows: int = ROWS) -> Callable[[], pa.Table]:
    def build() -> pa.Table:
        arrow = pa.Table.from_pandas(_adult(rows), preserve_index=False)
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values(rows) if callable(values) else values)
        return arrow.append_column(column, array)

    return build


def _rows(rows: int) -> Callable[[], pa.Table]:
    return lambda: pa.Table.from_pandas(_adult(max(rows, 1)).head(rows), preserve_index=False)


@dataclass(frozen=True)
class Rejected:
    """An input that must be refused: the message holds every one of `says`."""

    build: Callable[[], pa.Table]
    says: tuple[str, ...]
    table: dict[str, Any] = field(default_factory=dict)  # table settings
    source: str = "parquet"
    source_settings: dict[str, Any] = field(default_factory=dict)  # replace the source's


def _leak_case(rows: int = 3_000) -> pa.Table:
    """The shape a data owner met first: `age`, `income`, `segment` from real Adult rows, and
    `customer` (person names) and `notes` (sentences), each value held by two rows."""
    adult = load_adult(rows=rows, seed=11)
    return pa.table(
        {
            "age": adult["age"].to_numpy(),
            "income": adult["fnlwgt"].to_numpy(),
            "segment": adult["workclass"].to_numpy(),
            "customer": _customers(rows),
            "notes": _notes(rows),
        }
    )


def _customers(rows: int) -> list[str]:
    return (_names(rows // 2) * 2)[:rows]


def _notes(rows: int) -> list[str]:
    return (_sentences(rows // 2) * 2)[:rows]


REJECTED: dict[str, Rejected] = {
    # too few rows for a holdout and the privacy measures
    "one_row": Rejected(_rows(1), ("Table 'people'", "it has 1 row", "at least 50", "`row_limit`")),
    "two_rows": Rejected(_rows(2), ("it has 2 rows", "at least 50")),
    "forty_nine_rows": Rejected(_rows(49), ("it has 49 rows", "at least 50")),
    "row_limit_too_small": Rejected(_rows(ROWS), ("it has 20 rows", "raise `row_limit`"), {"row_limit": 20}),
    "holdout_too_small": Rejected(_rows(60), ("`holdout_fraction` 0.1 of its 60 rows holds out 6", "`holdout_fraction: 0.17`"), {"holdout_fraction": 0.1}),
    "empty_table": Rejected(_rows(0), ("Source table 'people'", "has no rows", "Load the table first")),
    # numbers no synthesizer can learn
    "positive_infinity": Rejected(_with("ratio", lambda n: [np.inf] + [1.5] * (n - 1)), ("column 'ratio' holds 1 infinite value", "exclude_columns: ['ratio']")),
    "negative_infinity": Rejected(_with("ratio", lambda n: [-np.inf, -np.inf] + [0.5] * (n - 2)), ("column 'ratio' holds 2 infinite values", "THEN NULL")),
    "infinity_float32": Rejected(_with("ratio", pa.array([np.inf] + [1.0] * (ROWS - 1), pa.float32())), ("column 'ratio'", "infinite")),
    "infinity_duckdb": Rejected(_with("ratio", lambda n: [np.inf] * 3 + [2.0] * (n - 3)), ("column 'ratio' holds 3 infinite values",), source="duckdb"),
    # free text: most values rare, so learning them means copying them
    "names_and_notes": Rejected(
        _leak_case,
        ("Table 'people'", "'customer'", "'notes'", "look like free text", "pii: {customer: name, notes: sentence}", "exclude_columns: ['customer', 'notes']"),
        {"quality_threshold": 0.6},
    ),
    "notes_with_customer_declared": Rejected(
        _leak_case, ("'notes'", "look like free text", "pii: {notes: sentence}"), {"quality_threshold": 0.6, "pii": {"customer": "name"}}
    ),
    "unique_emails": Rejected(_with("email", lambda n: [f"{w.split()[0].lower()}.{i}@example.org" for i, w in enumerate(_names(n))]), ("'email'", "pii: {email: email}")),
    "codes_seen_twice": Rejected(_with("reference", lambda n: [f"R{i // 2 * 7919 % 100003:06d}x" for i in range(n)]), ("'reference'", "{reference: {sdtype: id}}")),
    "free_text_duckdb": Rejected(_with("notes", _notes), ("'notes'", "look like free text"), source="duckdb"),
    "free_text_with_nulls": Rejected(_with("notes", lambda n: [None if i % 3 == 0 else s for i, s in enumerate(_notes(n))]), ("'notes'", "look like free text")),
    "free_text_higher_rarity_bar": Rejected(_with("workclass_note", lambda n: [f"case {i % 100}" for i in range(n)]), ("'workclass_note'", "look like free text"), {"rare_value_min_count": 10}),
    # types no synthesizer models
    "duration": Rejected(_with("wait", pa.array(np.arange(ROWS) * 1_000_000, pa.duration("us"))), ("'wait' (duration[us])", "exclude_columns: ['wait']")),
    "time_of_day": Rejected(_with("at", pa.array(np.arange(ROWS) * 1_000_000, pa.time64("us"))), ("'at' (time64[us])", "exclude_columns")),
    "list": Rejected(_with("tags", pa.array([["a", "b"]] * ROWS)), ("'tags' (list<element: string>)", "exclude_columns")),
    "struct": Rejected(_with("point", pa.array([{"x": 1, "y": 2}] * ROWS)), ("'point'", "exclude_columns")),
    "binary": Rejected(_with("blob", pa.array([b"\x00\x01"] * ROWS, pa.binary())), ("'blob' (binary)", "exclude_columns")),
    "uuid": Rejected(_with("token", pa.array([bytes(16)] * ROWS, pa.uuid())), ("'token'", "exclude_columns")),
    "two_bad_types_at_once": Rejected(
        lambda: _with("wait", pa.array(np.arange(ROWS), pa.duration("s")))().append_column("blob", pa.array([b"x"] * ROWS)),
        ("'wait' (duration[s])", "'blob' (binary)", "exclude_columns: ['wait', 'blob']"),
    ),
    "names_differing_only_in_case": Rejected(
        _with("Age", lambda n: list(range(n))), ("Table 'people'", "columns 'age' and 'Age' differ only in case", "Delta Lake column names are case-insensitive", "exclude_columns: ['Age']")
    ),
    # settings that name what the source does not have
    "exclude_unknown_column": Rejected(_rows(ROWS), ("`exclude_columns`", "'agee'", "Source columns"), {"exclude_columns": ["agee"]}),
    "pii_unknown_column": Rejected(_rows(ROWS), ("`pii` names column 'customer'",), {"pii": {"customer": "name"}}),
    "pii_unknown_provider": Rejected(_rows(ROWS), ("column 'workclass'", "`pii` kind 'not_a_provider'", "Faker provider"), {"pii": {"workclass": "not_a_provider"}}),
    "override_unknown_column": Rejected(_rows(ROWS), ("`columns` overrides name columns that are not in the source", "'agee'"), {"columns": {"agee": {"sdtype": "numerical"}}}),
    "path_names_the_file_not_its_folder": Rejected(
        _rows(ROWS), ("Table 'people'", "`source.path`", "is a file", "Set `source.path` to"), source_settings={"path": "sources/people.parquet"}
    ),
    "missing_source_table": Rejected(_rows(ROWS), ("'nobody'",), {"source_table": "nobody"}),
    "sequence_columns_missing": Rejected(_rows(ROWS), ("`sequence` names columns the source does not have", "'person'"), {"sequence": {"entity_key": "person", "order_by": "age"}, "synthesizer": "par"}),
}


def _write(data_dir: Path, arrow: pa.Table, source: str) -> dict[str, Any]:
    folder = data_dir / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    if source == "duckdb":
        write_duckdb_table(folder / "people.duckdb", TABLE, arrow.to_pandas())
        return {"kind": "duckdb", "database": "sources/people.duckdb"}
    pq.write_table(arrow, folder / f"{TABLE}.parquet")
    return {"kind": "parquet", "path": "sources"}


def _config(data_dir: Path, source: dict[str, Any], **table: Any) -> dict[str, Any]:
    settings = {"name": TABLE, "synthesizer": "gaussian_copula", "quality_threshold": 0.5, "seed": 3, **table}
    return {"data_dir": str(data_dir), "source": source, "mlflow": {"experiment": "synthpipe-bad-inputs"}, "tables": [settings]}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rejected_clearly_and_the_published_version_stays(case, run_refresh, data_dir):
    # Setup: an earlier night's version, and the awkward source
    spec = REJECTED[case]
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    earlier = _adult(60)
    store.publish(TABLE, earlier, {"synthpipe/seed": 1})
    source = {**_write(data_dir, spec.build(), spec.source), **spec.source_settings}

    # Run
    result = run_refresh(_config(data_dir, source, **spec.table))

    # Assert: refused with every part of the message, nothing new published
    assert not result.success
    message = step_error(result)
    for part in spec.says:
        assert part in message, f"{part!r} not in:\n{message}"
    assert result.asset_materializations_for_node(f"{TABLE}__published") == []
    assert store.latest_version(TABLE) == 0
    pd.testing.assert_frame_equal(store.read(TABLE), earlier, check_dtype=False)


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"rare_value_min_count": 0}, "`rare_value_min_count` must be at least 1; got 0"),
        ({"max_value_leak_share": 1.5}, "`max_value_leak_share` must be between 0 and 1; got 1.5"),
        ({"gate_severity": {"value_leak": "warn"}}, "'value_leaks'"),
        ({"synthesizer": "gausian_copula"}, "Did you mean 'gaussian_copula'"),
        ({"query": "SELECT * FROM people"}, "`query` needs a sql or duckdb source; a parquet source reads whole files"),
        ({"holdout_fraction": 1.0}, "`holdout_fraction` must be between 0 and 1"),
    ],
)
def test_bad_settings_are_refused_before_any_run(table, says, data_dir):
    with pytest.raises(ConfigError, match=re.escape(says)):
        build_synthpipe_defs(_config(data_dir, {"kind": "parquet", "path": "sources"}, **table))


# --- HANDLED ---------------------------------------------------------------------------------


def _published_and_checks(run_refresh, config: dict[str, Any], data_dir: Path) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    result = run_refresh(config)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {n: (e.description, e.metadata.get("synthpipe/failed_expectations")) for n, e in checks.items() if not e.passed}
    assert result.success, f"{step_error(result)}\n{failed}"
    published = DeltaSnapshotStore(root=str(data_dir / "snapshots")).read(TABLE)
    return published, checks, result


def test_the_leak_case_publishes_once_declared_and_emits_no_real_value(run_refresh, data_dir):
    # Setup: the refused case above, 3,000 rows, with both columns declared
    source = _write(data_dir, _leak_case(), "parquet")
    real = pd.read_parquet(data_dir / "sources" / f"{TABLE}.parquet")

    # Run
    published, checks, _ = _published_and_checks(
        run_refresh, _config(data_dir, source, quality_threshold=0.6, pii={"customer": "name", "notes": "sentence"}), data_dir
    )

    # Assert: no note is real; names are Faker's own draws (a real name only by coincidence)
    assert not published["notes"].isin(set(real["notes"])).any()
    assert published["customer"].isin(set(real["customer"])).mean() < 0.05
    assert checks["value_leaks"].passed
    assert checks["value_leaks"].metadata["synthpipe/value_leak_share"].value == 0.0


def test_name_guesses_are_learned_as_real_values_and_reported(run_refresh, data_dir, instance):
    # Setup: names SDV reads as personal (`city`, a state code, a mostly constant state,
    # `first name` holding numbers) on real Adult rows
    data = _adult()
    rng = np.random.default_rng(5)
    data["city"] = rng.choice(["Lisbon", "Porto", "Braga", "Faro"], len(data), p=[0.4, 0.3, 0.2, 0.1])
    data["state"] = rng.choice(["CA", "NY", "TX", "WA", "FL", "OR"], len(data))
    data["home_state"] = np.where(rng.random(len(data)) < 0.92, "CA", rng.choice(["NV", "AZ"], len(data)))
    data["first name"] = data["age"] * 3 + 1
    source = _write(data_dir, pa.Table.from_pandas(data, preserve_index=False), "parquet")

    # Run
    published, checks, result = _published_and_checks(run_refresh, _config(data_dir, source), data_dir)

    # Assert: real values, close to the real distribution, on the first try; reported as hints
    for column in ("city", "state", "home_state"):
        assert published[column].isin(set(data[column])).all(), column
    shares = published["city"].value_counts(normalize=True)
    assert abs(shares.get("Lisbon", 0) - 0.4) < 0.1
    assert pd.api.types.is_numeric_dtype(published["first name"])
    assert checks["expectations"].passed
    # every published column is measured: an independent SDMetrics judge, given each column's
    # real type, agrees with synthpipe's own score
    from sdmetrics.reports.single_table import QualityReport

    judge = QualityReport()
    types = {c: "numerical" if pd.api.types.is_numeric_dtype(data[c]) else "categorical" for c in data.columns}
    judge.generate(data, published[list(data.columns)], {"columns": {c: {"sdtype": t} for c, t in types.items()}}, verbose=False)
    assert abs(judge.get_score() - checks["quality"].metadata["synthpipe/quality_score"].value) < 0.02
    [source_event] = result.asset_materializations_for_node(f"{TABLE}__source")
    hints = source_event.metadata["synthpipe/looks_personal"].value
    for column in ("city", "state", "home_state", "first name"):
        assert f"`{column}`" in hints
    logs = "\n".join(entry.user_message for entry in instance.all_logs(result.run_id))
    assert "to generate these fresh instead, add to the table: pii: {" in logs


def test_rare_categories_never_reach_the_twin(run_refresh, data_dir):
    # Setup: real Adult rows whose `native-country` has many countries seen once or twice
    data = load_adult(rows=1_500, seed=4)[["age", "native-country", "education", "hours-per-week", "fnlwgt"]]
    counts = data["native-country"].value_counts()
    assert (counts < 5).sum() >= 5  # the input has rare values to protect
    source = _write(data_dir, pa.Table.from_pandas(data, preserve_index=False), "parquet")

    # Run
    published, checks, result = _published_and_checks(run_refresh, _config(data_dir, source), data_dir)

    # Assert: no published country is one seen in fewer than 5 source rows
    rare = set(counts.index[counts < 5])
    assert not published["native-country"].isin(rare).any()
    assert checks["value_leaks"].passed and int(checks["value_leaks"].metadata["synthpipe/value_leak_columns_measured"].value) >= 2
    assert published["age"].max() <= data["age"].max() and published["age"].min() >= data["age"].min()


def test_a_leak_is_blocked_with_its_columns_and_counts(run_refresh, data_dir):
    # Setup: unique codes forced to be learned as categories: no common value to protect them
    # with, so the model can only emit real ones
    data = _adult()
    data["reference"] = [f"R{i * 7919 % 100003:06d}x" for i in range(len(data))]
    source = _write(data_dir, pa.Table.from_pandas(data, preserve_index=False), "parquet")
    store = DeltaSnapshotStore(root=str(data_dir / "snapshots"))
    earlier = _adult(60)
    store.publish(TABLE, earlier, {"synthpipe/seed": 1})

    # Run
    result = run_refresh(_config(data_dir, source, columns={"reference": {"sdtype": "categorical"}}))

    # Assert: blocked by `value_leaks`, which names the column and counts, never the values
    assert not result.success
    leaks = {e.check_name: e for e in result.get_asset_check_evaluations()}["value_leaks"]
    assert not leaks.passed and leaks.metadata["synthpipe/value_leak_share"].value > 0.9
    assert "'reference'" in leaks.description and "Declare such columns in `pii` or `exclude_columns`" in leaks.description
    shown = leaks.metadata["synthpipe/value_leak_columns"].value
    assert "`reference`" in shown and not any(code in shown for code in data["reference"])
    assert store.latest_version(TABLE) == 0
    pd.testing.assert_frame_equal(store.read(TABLE), earlier, check_dtype=False)


def test_id_columns_keep_their_real_shape(run_refresh, data_dir):
    # Setup: policy IDs shaped like `17-293535`
    data = _adult()
    data["policy_id"] = [f"{10 + i % 90}-{(i * 7919) % 1_000_000:06d}" for i in range(len(data))]
    data["member_id"] = [f"MEM-{i:05d}" for i in range(len(data))]
    source = _write(data_dir, pa.Table.from_pandas(data, preserve_index=False), "parquet")

    # Run
    published, _, _ = _published_and_checks(run_refresh, _config(data_dir, source), data_dir)

    # Assert: the same shape, unique, none copied
    assert published["policy_id"].str.fullmatch(r"\d{2}-\d{6}").all()
    assert published["member_id"].str.fullmatch(r"MEM-\d{5}").all()
    assert published["policy_id"].is_unique and published["member_id"].is_unique


def test_awkward_column_names_and_missing_numbers_are_handled(run_refresh, data_dir):
    # Setup: names with spaces, unicode, quotes, brackets and SQL keywords, and a float column
    # with missing values (NaN is a missing value)
    data = _adult()
    data = data.rename(columns={"hours-per-week": "hours per week", "education": "Ausbildung (größe)"})
    data["select"] = data["age"] % 7
    data["it's"] = data["age"] % 3
    data["Amount (USD)"] = data["fnlwgt"] / 1000.0
    data["amount"] = -(data["age"].astype(float))
    data["score"] = np.where(np.arange(len(data)) % 4 == 0, np.nan, data["age"] / 10)
    source = _write(data_dir, pa.Table.from_pandas(data, preserve_index=False), "parquet")

    # Run
    published, _, _ = _published_and_checks(run_refresh, _config(data_dir, source), data_dir)

    # Assert: every column kept under its own name, values not mixed up, missing values kept
    assert list(published.columns) == list(data.columns)
    assert (published["Amount (USD)"] > 0).all() and (published["amount"] < 0).all()
    assert published["score"].isna().mean() == pytest.approx(0.25, abs=0.1)
    assert set(published["select"].dropna().unique()) <= set(range(7))
