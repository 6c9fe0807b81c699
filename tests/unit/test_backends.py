"""The backend registry and protocol: one table of names, kinds and capabilities that validation,
the stages and the saved models all agree with, and that is cheap to import."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthpipe.group_config import GROUP_BACKENDS
from synthpipe.config import GroupConfig
from synthpipe.errors import ConfigError, SynthesizerError
from synthpipe.resources.backends import BACKENDS, Backend, Synthesizer, available, backend, backend_for_file, backend_of, names
from synthpipe.resources.synthesizers import SYNTHESIZER_NAMES, build_synthesizer, detect_metadata, fit_synthesizer, sample_rows
from synthpipe.table_config import AUTO, DEFAULT_AUTO_CANDIDATES, DEFAULT_SEQUENCE_SYNTHESIZER, DEFAULT_SYNTHESIZER
from synthpipe.validation import load_config

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {"source": {"database": "sources/adult.duckdb"}, "tables": [{"name": "adult"}]}
SEQUENCE = {"entity_key": "tailnum", "order_by": "time_hour"}


def _with_table(**table: Any) -> dict[str, Any]:
    return {**BASE, "tables": [{"name": "adult", **table}]}


def test_every_name_validation_accepts_is_a_registered_backend():
    # Run: an unknown name makes validation list every name it accepts
    with pytest.raises(ConfigError) as raised:
        load_config(_with_table(synthesizer="no_such_backend"))
    listed = re.search(r"choose one of ([^.]+)\.", str(raised.value))

    # Assert
    assert listed is not None, str(raised.value)
    accepted = listed.group(1).split(", ")
    assert accepted[-1] == AUTO and set(accepted[:-1]) <= set(BACKENDS)
    assert tuple(accepted[:-1]) == SYNTHESIZER_NAMES == names("table") + names("sequence")
    group_names = typing.get_args(GroupConfig.model_fields["synthesizer"].annotation)
    assert tuple(GROUP_BACKENDS.get(name, name) for name in group_names) == names("group")


def test_configuration_defaults_name_backends_of_their_kind():
    assert backend(DEFAULT_SYNTHESIZER).kind == "table"
    assert backend(DEFAULT_SEQUENCE_SYNTHESIZER).kind == "sequence"
    assert {backend(name).kind for name in DEFAULT_AUTO_CANDIDATES} == {"table"}
    assert set(DEFAULT_AUTO_CANDIDATES) == set(names("table"))


@pytest.mark.parametrize("name", names("table"))
def test_each_single_table_backend_is_accepted_for_a_single_table(name):
    if not backend(name).available():
        pytest.skip(f"{name} is not installed")
    assert load_config(_with_table(synthesizer=name)).tables[0].backend == name


@pytest.mark.parametrize("name", names("sequence"))
def test_a_sequence_backend_for_a_single_table_names_the_setting_and_the_fix(name):
    with pytest.raises(ConfigError, match=re.escape(f"table 'adult': synthesizer {name!r} needs `sequence: {{entity_key: ..., order_by: ...}}`.")):
        load_config(_with_table(synthesizer=name))
    assert load_config(_with_table(synthesizer=name, sequence=SEQUENCE)).tables[0].backend == name


@pytest.mark.parametrize("name", names("group"))
def test_a_group_backend_is_refused_for_a_single_table(name):
    with pytest.raises(ConfigError, match=re.escape(f"table 'adult': unknown `synthesizer` {name!r}; choose one of")):
        load_config(_with_table(synthesizer=name))


@pytest.mark.parametrize("name", [n for n in names("table") if n != "argn"])  # `argn` has a sequence model too
def test_a_single_table_backend_for_a_sequential_table_names_the_one_to_use(name):
    message = f"table 'adult': a sequential table is synthesized with 'par', 'argn', not {name!r}; remove `synthesizer`."
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(_with_table(synthesizer=name, sequence=SEQUENCE))


RULE_SUITE = "suite: rules\nrules:\n  - inequality: {low: capital-loss, high: capital-gain}\n"


@pytest.mark.parametrize("name", names("table") + names("sequence"))
def test_enforced_rules_need_a_backend_that_enforces_them(tmp_path, name):
    # Setup
    (tmp_path / "rules.yaml").write_text(RULE_SUITE)
    table = {"synthesizer": name, "expectation_suites": ["rules.yaml"], **({"sequence": SEQUENCE} if backend(name).kind == "sequence" else {})}
    raw = {**_with_table(**table), "expectations_dir": str(tmp_path)}
    if not backend(name).available():
        pytest.skip(f"{name} is not installed")

    # Run / Assert
    if backend(name).capabilities.rules:
        assert len(load_config(raw).tables[0].enforced_rules) == 1
    else:
        with pytest.raises(ConfigError, match=re.escape(f"not by {backend(name).label}; set `enforce: false` on rules.yaml, rules[0] (line 3)")):
            load_config(raw)


def test_a_sequential_table_with_an_enforced_rule_is_refused(tmp_path):
    # Setup: PAR takes no constraints and does not redraw
    (tmp_path / "rules.yaml").write_text(RULE_SUITE)
    raw = {**_with_table(sequence=SEQUENCE, expectation_suites=["rules.yaml"]), "expectations_dir": str(tmp_path)}

    # Run / Assert
    with pytest.raises(ConfigError, match=re.escape("table 'adult': rules are enforced by SDV's single-table constraints, not by PAR; set `enforce: false`")):
        load_config(raw)


def test_registry_and_validation_import_no_backend():
    # Setup: a fresh interpreter, so modules other tests imported do not count
    code = textwrap.dedent(
        """
        import sys
        import synthpipe.config, synthpipe.resources.backends as backends
        light = sorted(m for m in ("pandas", "numpy", "sdv", "torch", "mostlyai") if m in sys.modules)
        from synthpipe.validation import load_config
        backends.available()
        load_config({"source": {"database": "a.duckdb"}, "tables": [{"name": "a", "synthesizer": "auto"}, {"name": "b", "synthesizer": "par", "sequence": {"entity_key": "e", "order_by": "o"}}]})
        heavy = sorted(m for m in ("sdv", "torch", "mostlyai.engine", "rdt", "copulas") if m in sys.modules)
        print(light, heavy)
        """
    )

    # Run
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]", "[]"]


@pytest.mark.parametrize("name", list(BACKENDS))
def test_each_backend_implements_the_protocol_and_declares_what_its_class_does(name):
    # Setup
    entry = backend(name)
    if not entry.available():
        pytest.skip(f"{name} is not installed")

    # Run
    cls = entry.synthesizer_class()

    # Assert: the model class satisfies `Synthesizer` as it is; the declared kind and capabilities hold
    assert isinstance(entry, Backend) and issubclass(cls, Synthesizer)
    assert cls.__name__ == entry.class_name and cls.__module__.startswith(entry.module)
    assert hasattr(cls, "sample_sequences") is (entry.kind == "sequence") is entry.capabilities.sequences
    assert hasattr(cls, "sample_scale") is (entry.kind == "group") is entry.capabilities.relations
    assert hasattr(cls, "add_rules") is entry.capabilities.rules_by_rejection
    assert (not entry.capabilities.constraints) or hasattr(cls, "add_constraints")
    parameters = inspect.signature(cls.__init__).parameters
    assert entry.capabilities.time_budget is None or entry.capabilities.time_budget in parameters
    assert getattr(cls, "TIME_BUDGET_PARAM", None) == entry.capabilities.time_budget
    assert getattr(cls, "FILE_SUFFIX", ".pkl") == entry.file_suffix
    assert (entry.extra is None) is (entry.install_hint is None)


def test_unknown_names_and_kinds_are_named_with_the_known_ones():
    with pytest.raises(SynthesizerError, match=re.escape("Unknown synthesizer 'gausian_copula'; choose one of gaussian_copula, ctgan")) as raised:
        backend("gausian_copula")
    assert "Did you mean 'gaussian_copula'?" in str(raised.value)
    with pytest.raises(SynthesizerError, match=re.escape("Unknown kind of table 'tree'; choose one of table, sequence, group, generated.")):
        names("tree")  # type: ignore[arg-type]
    assert set(available()) <= set(names()) and "gaussian_copula" in available("table")


@pytest.fixture(scope="module")
def fitted(adult_slice: pd.DataFrame) -> Synthesizer:
    synthesizer = build_synthesizer("copula_gan", {"epochs": 1}, detect_metadata("adult", adult_slice.head(300), {}), "adult")
    fit_synthesizer(synthesizer, "adult", adult_slice.head(300))
    return synthesizer


def test_a_model_knows_its_backend_and_a_stranger_is_refused(fitted):
    # CopulaGAN is a GaussianCopula subclass in SDV: the most derived class decides
    assert backend_of(fitted).name == "copula_gan" and backend_of(fitted).capabilities.torch
    with pytest.raises(SynthesizerError, match=re.escape("DataFrame is not a registered synthesizer backend; registered: gaussian_copula")):
        backend_of(pd.DataFrame())


def test_saved_model_loads_back_through_its_file_suffix_and_samples_the_same_rows(fitted, tmp_path):
    # Run
    path = backend_of(fitted).save(fitted, tmp_path)
    loaded = backend_for_file(str(path)).load(str(path))

    # Assert
    assert path.name == "synthesizer.pkl" and type(loaded) is type(fitted)
    pd.testing.assert_frame_equal(sample_rows(loaded, 50, seed=3), sample_rows(fitted, 50, seed=3))
    assert backend_for_file("model/synthesizer.argn.pkl").name == "argn"


def test_argn_on_a_sequential_table_is_its_sequence_model():
    config = load_config(_with_table(synthesizer="argn", sequence=SEQUENCE))
    assert config.tables[0].backend == "argn_sequence" and backend("argn_sequence").kind == "sequence"
    assert load_config(_with_table(synthesizer="argn")).tables[0].backend == "argn"
