"""The synthesizer backend on real SDV: metadata overrides, parameter errors, seeded sampling."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from synthpipe.errors import SynthesizerError
from synthpipe.resources.synthesizers import (
    SYNTHESIZER_NAMES,
    chunk_plan,
    build_synthesizer,
    cap_time_budget,
    detect_metadata,
    fit_synthesizer,
    sample_chunks,
    sample_rows,
    synthesizer_class,
)

pytestmark = pytest.mark.unit


def test_registry_maps_every_name_to_a_backend_class():
    assert SYNTHESIZER_NAMES == ("gaussian_copula", "ctgan", "tvae", "copula_gan", "argn", "par", "argn_sequence")
    assert [synthesizer_class(n).__name__ for n in SYNTHESIZER_NAMES] == [
        "GaussianCopulaSynthesizer",
        "CTGANSynthesizer",
        "TVAESynthesizer",
        "CopulaGANSynthesizer",
        "ArgnSynthesizer",
        "PARSynthesizer",
        "ArgnSequenceSynthesizer",
    ]


@pytest.mark.parametrize(
    "name, params, seconds, expected",
    [
        ("argn", {}, 90, {"max_training_time": 1.5}),  # the default 10 minutes, cut to what is left
        ("argn", {"max_training_time": 0.5, "random_state": 3}, 90, {"max_training_time": 0.5, "random_state": 3}),
        ("argn", {"max_training_time": 4}, 0, {"max_training_time": 1 / 60}),  # never zero: the engine needs > 0
        ("argn", {"max_training_time": None}, 90, {"max_training_time": 1.5}),  # no budget of its own: `auto`'s is left
        ("tvae", {"epochs": 20}, 5, {"epochs": 20}),  # no time budget of its own: left alone
    ],
)
def test_auto_caps_a_candidates_own_time_budget_to_what_is_left(name, params, seconds, expected):
    assert cap_time_budget(name, params, seconds) == pytest.approx(expected)


def test_column_override_changes_the_detected_sdtype(adult_slice):
    detected = detect_metadata("adult", adult_slice, {})
    overridden = detect_metadata("adult", adult_slice, {"educational-num": {"sdtype": "categorical"}})
    assert detected.tables["adult"].columns["educational-num"]["sdtype"] == "numerical"
    assert overridden.tables["adult"].columns["educational-num"]["sdtype"] == "categorical"


def test_override_of_an_unknown_column_is_named(adult_slice):
    with pytest.raises(SynthesizerError, match=re.escape("['educationnum']")) as raised:
        detect_metadata("adult", adult_slice, {"educationnum": {"sdtype": "categorical"}})
    assert "Did you mean" in str(raised.value) and "'educational-num'" in str(raised.value)


def test_unknown_synthesizer_parameter_lists_the_valid_ones(adult_slice):
    metadata = detect_metadata("adult", adult_slice, {})
    with pytest.raises(SynthesizerError) as raised:
        build_synthesizer("gaussian_copula", {"default_distrib": "norm"}, metadata, "adult")
    message = str(raised.value)
    assert "['default_distrib'] are not parameters of 'gaussian_copula'" in message
    assert "Did you mean 'default_distribution'?" in message


def test_same_seed_same_rows_other_seed_other_rows(adult_slice):
    # Setup
    synthesizer = build_synthesizer("gaussian_copula", {}, detect_metadata("adult", adult_slice, {}), "adult")
    fit_synthesizer(synthesizer, "adult", adult_slice)

    # Run
    first = sample_rows(synthesizer, 300, seed=5, chunk_rows=100)
    again = sample_rows(synthesizer, 300, seed=5, chunk_rows=100)
    other = sample_rows(synthesizer, 300, seed=6, chunk_rows=100)

    # Assert
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert len(first) == 300 and list(first.columns) == list(adult_slice.columns)


def test_pii_columns_are_marked_and_bad_ones_named(adult_slice):
    metadata = detect_metadata("adult", adult_slice, {}, pii={"native-country": "country"})
    assert metadata.tables["adult"].columns["native-country"] == {"sdtype": "country", "pii": True}
    with pytest.raises(SynthesizerError, match=re.escape("`pii` names column 'native_country'")):
        detect_metadata("adult", adult_slice, {}, pii={"native_country": "country"})


@pytest.fixture(scope="module")
def keyed_model(adult_slice):
    """A Gaussian copula fitted on the Adult slice with a row-number primary key, as tables usually have."""
    keyed = adult_slice.assign(row_id=range(1, len(adult_slice) + 1))
    metadata = detect_metadata("adult", keyed, {})
    synthesizer = build_synthesizer("gaussian_copula", {}, metadata, "adult")
    fit_synthesizer(synthesizer, "adult", keyed)
    return synthesizer


def test_detected_id_columns_get_a_fast_format_of_their_own_shape(keyed_model):
    # Assert: the key gets a regex (SDV would otherwise call Faker once per row)
    spec = keyed_model.get_metadata().tables["adult"].columns["row_id"]
    assert spec == {"sdtype": "id", "regex_format": "[1-9][0-9]{5}"}


def test_chunks_have_their_own_seeds_and_workers_do_not_change_the_rows(keyed_model):
    # Run
    plan = chunk_plan(2_500, seed=9, chunk_rows=1_000)
    alone = sample_rows(keyed_model, 2_500, seed=9, chunk_rows=1_000, workers=1)
    forked = sample_rows(keyed_model, 2_500, seed=9, chunk_rows=1_000, workers=2)

    # Assert: three chunks with distinct seeds; the same rows however many processes sampled them
    assert [(rows, start) for rows, _, start in plan] == [(1_000, 0), (1_000, 1_000), (500, 2_000)]
    assert len({seed for _, seed, _ in plan}) == 3
    pd.testing.assert_frame_equal(alone, forked)
    # no chunk repeats another: the chunks' non-key columns differ, and every key is unique
    first, second = (alone.iloc[i * 1_000 : (i + 1) * 1_000].drop(columns="row_id").reset_index(drop=True) for i in (0, 1))
    assert not first.equals(second)
    assert alone["row_id"].is_unique and alone["row_id"].min() >= 100_000


def test_a_chunked_sample_equals_its_streamed_chunks(keyed_model):
    # Run
    streamed = list(sample_chunks(keyed_model, 2_100, seed=4, chunk_rows=700, workers=2))

    # Assert
    assert [len(c) for c in streamed] == [700, 700, 700]
    pd.testing.assert_frame_equal(pd.concat(streamed, ignore_index=True), sample_rows(keyed_model, 2_100, seed=4, chunk_rows=700))


def test_a_time_budget_is_reported_with_what_is_left_of_it(adult_slice):
    import time

    from synthpipe.resources.argn import ArgnSynthesizer

    # Setup: training that started 30 s ago, with a 10-minute budget and with none
    metadata = detect_metadata("adult", adult_slice, {})
    started = time.perf_counter() - 30
    budgeted, unbounded = ArgnSynthesizer(metadata, max_training_time=10), ArgnSynthesizer(metadata, max_training_time=None)

    # Run: one epoch report each
    for synthesizer in (budgeted, unbounded):
        synthesizer._progress_callback(started)(message={"epoch": 1, "trn_loss": 0.5, "val_loss": 0.6, "is_checkpoint": 1})

    # Assert: the budget and the time left of it; none without a budget
    report = budgeted.training_report
    assert report["budget_seconds"] == 600.0 and report["seconds_left"] == pytest.approx(600.0 - report["elapsed_seconds"], abs=0.2)
    assert report["elapsed_seconds"] >= 30
    assert unbounded.training_report["budget_seconds"] is None and unbounded.training_report["seconds_left"] is None


@pytest.mark.parametrize(
    ("params", "minutes", "epochs"),
    [
        ({}, 10.0, 100.0),  # neither: the production default, ten minutes
        ({"max_epochs": 3}, None, 3.0),  # epochs asked for: they bound training, not the clock
        ({"max_epochs": 3, "max_training_time": 2}, 2.0, 3.0),  # both: whichever ends first
        ({"max_training_time": None}, None, 100.0),
    ],
)
def test_argn_trains_by_the_clock_only_when_asked_or_by_default(adult_slice, params, minutes, epochs):
    pytest.importorskip("mostlyai.engine")
    from synthpipe.resources.argn import ArgnSynthesizer

    # Run
    synthesizer = ArgnSynthesizer(detect_metadata("adult", adult_slice, {}), **params)

    # Assert
    assert synthesizer._parameters["max_training_time"] == minutes
    assert synthesizer._parameters["max_epochs"] == epochs
