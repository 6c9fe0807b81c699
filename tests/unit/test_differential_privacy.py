"""Differential privacy's plumbing: which backends give the guarantee, the budget a model is
built with, what `auto` tries, and how the ε spent travels (metrics, tags, commit)."""

from __future__ import annotations

import logging

import pytest

from synthpipe import metadata_keys as keys
from synthpipe.assets.auto import private_candidates
from synthpipe.config import TableConfig
from synthpipe.resources.argn import ArgnSynthesizer
from synthpipe.resources.backends import BACKENDS
from synthpipe.resources.differential_privacy import (
    dp_names,
    privacy_from_tags,
    privacy_metadata,
    privacy_metrics,
    privacy_spent,
    privacy_tags,
    with_privacy,
)
from synthpipe.resources.synthesizers import build_synthesizer, detect_metadata
from synthpipe.table_config import PrivacyConfig

pytestmark = pytest.mark.unit

SPENT = {"epsilon": 1.93, "delta": 1e-5, "value_epsilon": 0.2}


def test_only_tabular_argn_on_single_tables_declares_the_guarantee():
    assert dp_names("table") == ("argn",)
    assert [name for name, entry in BACKENDS.items() if entry.capabilities.differential_privacy] == ["argn"]


@pytest.mark.parametrize(
    ("privacy", "value_budget"),
    [({"epsilon": 2.0}, 0.2), ({"epsilon": 30.0}, 1.0), ({"epsilon": 2.0, "value_epsilon": 0.5}, 0.5)],
)
def test_the_value_analysis_gets_a_tenth_of_epsilon_at_most_one_unless_set(privacy, value_budget):
    # Run
    params = with_privacy("argn", {"max_epochs": 3}, PrivacyConfig(**privacy))

    # Assert: the whole budget is the engine's `max_epsilon`; the value analysis's share is in it
    assert params["max_epochs"] == 3
    assert params["differential_privacy"] == {
        "max_epsilon": privacy["epsilon"], "value_protection_epsilon": value_budget, "delta": 1e-5, "noise_multiplier": 1.5, "max_grad_norm": 1.0,
    }


def test_a_backend_without_the_guarantee_or_a_table_without_privacy_gets_its_params_unchanged():
    assert with_privacy("gaussian_copula", {"enforce_rounding": False}, PrivacyConfig(epsilon=2.0)) == {"enforce_rounding": False}
    assert with_privacy("argn", {"max_epochs": 3}, None) == {"max_epochs": 3}


def test_the_budget_is_a_constructor_parameter_kept_with_the_model(adult_slice):
    # Setup
    metadata = detect_metadata("adult", adult_slice.head(50), {})
    budget = with_privacy("argn", {}, PrivacyConfig(epsilon=2.0))

    # Run
    private = build_synthesizer("argn", budget, metadata, "adult")
    plain = build_synthesizer("argn", {}, metadata, "adult")

    # Assert: a plain mapping in the parameters (what MLflow logs); nothing spent before a fit
    assert private.get_parameters()["differential_privacy"]["max_epsilon"] == 2.0 and private.differentially_private
    assert "differential_privacy" not in plain.get_parameters() and not plain.differentially_private
    assert privacy_spent(private) == {} and privacy_spent(plain) == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"differential_privacy": {"epsilon": 2.0}}, "`differential_privacy` takes max_epsilon, delta, noise_multiplier"),
        ({"differential_privacy": {"max_epsilon": 2.0}, "value_protection": False}, "needs `value_protection: true`"),
    ],
)
def test_a_bad_budget_is_refused_when_the_model_is_built(adult_slice, params, message):
    from synthpipe.errors import SynthesizerError

    metadata = detect_metadata("adult", adult_slice.head(50), {})
    with pytest.raises(SynthesizerError, match=message):
        build_synthesizer("argn", params, metadata, "adult")


def test_a_model_fitted_before_the_budget_existed_reports_nothing_spent():
    # Setup: an unpickled model of an earlier release has none of the new attributes
    old = ArgnSynthesizer.__new__(ArgnSynthesizer)

    # Assert
    assert privacy_spent(old) == {}


def test_with_privacy_auto_tries_only_candidates_with_the_guarantee(caplog):
    # Setup
    table = TableConfig(name="adult", synthesizer="auto", auto_candidates=["gaussian_copula", "argn", "tvae"], privacy={"epsilon": 2.0})
    log = logging.getLogger("auto-test")

    # Run
    with caplog.at_level(logging.INFO, logger="auto-test"):
        kept = private_candidates(log, table)

    # Assert
    assert kept == ["argn"]
    assert "trying argn only, not gaussian_copula, tvae (no differential-privacy guarantee)" in caplog.text
    assert private_candidates(log, TableConfig(name="adult", synthesizer="auto", auto_candidates=["tvae"])) == ["tvae"]


def test_what_was_spent_becomes_metrics_tags_and_commit_metadata():
    # Run
    tags = privacy_tags(SPENT)

    # Assert: the tags read back (a reused champion), the commit keys are namespaced
    assert privacy_from_tags(tags) == {"epsilon": 1.93, "delta": 1e-5}
    assert privacy_metrics(SPENT) == {"dp_epsilon_spent": 1.93, "dp_delta": 1e-5, "dp_value_epsilon_spent": 0.2}
    assert privacy_metadata(SPENT) == {keys.DP_EPSILON: 1.93, keys.DP_DELTA: 1e-5}
    assert privacy_tags({}) == {} and privacy_from_tags({keys.TABLE: "adult"}) == {} and privacy_metadata(None) == {}
