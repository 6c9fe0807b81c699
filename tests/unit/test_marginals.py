"""A fitted Gaussian copula inverts its beta marginals from a table: close to scipy's inverse,
kept through save and load, and reproducible by seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from copulas.univariate.beta import BetaUnivariate

from synthpipe.resources.backends import backend
from synthpipe.resources.marginals import TabulatedBetaUnivariate
from synthpipe.resources.synthesizers import build_synthesizer, detect_metadata, fit_synthesizer, sample_rows

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def fitted(adult_slice):
    synthesizer = build_synthesizer("gaussian_copula", {}, detect_metadata("adult", adult_slice, {}), "adult")
    fit_synthesizer(synthesizer, "adult", adult_slice)
    return synthesizer


def test_every_beta_marginal_is_tabulated_and_close_to_scipys_inverse(fitted):
    univariates = fitted._model.univariates
    u = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 20_001), [0.0, 1.0]])

    tabulated = [m for m in univariates if type(m) is TabulatedBetaUnivariate]

    # Assert: no beta marginal is left to scipy (SDV falls back to other families where a beta
    # does not fit a column of the slice)
    assert len(tabulated) >= 10 and not any(type(m) is BetaUnivariate for m in univariates)
    for marginal in tabulated:
        exact = BetaUnivariate.percent_point(marginal, u)
        span = marginal._params["scale"]
        # within 0.1% of the column's fitted range everywhere, however far into the tails
        assert np.max(np.abs(marginal.percent_point(u) - exact)) <= 1e-3 * span


def test_a_saved_model_keeps_its_tables_and_samples_the_same_rows(fitted, tmp_path):
    entry = backend("gaussian_copula")
    loaded = entry.load(str(entry.save(fitted, tmp_path)))

    # Run
    before = sample_rows(fitted, 500, seed=3, chunk_rows=250)
    after = sample_rows(loaded, 500, seed=3, chunk_rows=250)

    # Assert
    assert [type(m) for m in loaded._model.univariates] == [type(m) for m in fitted._model.univariates]
    assert any(type(m) is TabulatedBetaUnivariate for m in loaded._model.univariates)
    pd.testing.assert_frame_equal(before, after)


def test_other_synthesizers_are_left_as_they_are(adult_slice):
    synthesizer = build_synthesizer("gaussian_copula", {"default_distribution": "norm"}, detect_metadata("adult", adult_slice, {}), "adult")
    fit_synthesizer(synthesizer, "adult", adult_slice)
    assert not any(type(m) is TabulatedBetaUnivariate for m in synthesizer._model.univariates)
