"""The synthesizer backend on real SDV: metadata overrides, parameter errors, seeded sampling."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines.errors import SynthesizerError
from resources.synthesizers import (
    SYNTHESIZER_NAMES,
    build_synthesizer,
    detect_metadata,
    fit_synthesizer,
    sample_rows,
    synthesizer_class,
)

pytestmark = pytest.mark.unit


def test_registry_maps_every_name_to_an_sdv_class():
    assert SYNTHESIZER_NAMES == ("gaussian_copula", "ctgan", "tvae", "copula_gan", "par")
    assert [synthesizer_class(n).__name__ for n in SYNTHESIZER_NAMES] == [
        "GaussianCopulaSynthesizer",
        "CTGANSynthesizer",
        "TVAESynthesizer",
        "CopulaGANSynthesizer",
        "PARSynthesizer",
    ]


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
