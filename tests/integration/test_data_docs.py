"""Data Docs built by real Great Expectations render offline: no page loads anything from the
network, every file a page loads is in the site, and validations name their asset and run."""

import re
from pathlib import Path

import pytest

from synthpipe.expectations.offline import external_resources
from synthpipe.expectations.profile import ExpectationSpec
from synthpipe.expectations.runner import validate

pytestmark = pytest.mark.integration

_LOCAL = re.compile(r"<(?:link|script|img)\b[^>]*?\b(?:href|src)=\"((?:\.\./|static/)[^\"]+)\"")


def test_a_site_loads_nothing_from_the_network_and_names_its_asset_and_run(tmp_path, adult_slice):
    # Setup: one failing and one passing expectation on real Adult rows
    site = tmp_path / "data_docs" / "adult" / "0f1e2d3c-run"
    specs = [
        ExpectationSpec("expect_column_values_to_not_be_null", {"column": "age"}),
        ExpectationSpec("expect_column_values_to_be_between", {"column": "age", "min_value": 20, "max_value": 60}),
    ]

    # Run: two validations into the same site, as a refresh does
    first = validate(adult_slice, "adult", "adult.derived", specs, docs_dir=site)
    validate(adult_slice, "adult", "adult.guard.contract", specs[:1], docs_dir=site)

    # Assert
    pages = sorted(p for p in site.rglob("*.html") if "static" not in p.parts)
    assert len(pages) >= 3  # the index and both validation pages
    for page in pages:
        text = page.read_text()
        assert external_resources(text) == [], page
        for local in _LOCAL.findall(text):
            assert (page.parent / local.split("?")[0]).resolve().is_file(), (page, local)
    validation = Path(first.docs_url.removeprefix("file://"))
    text = validation.read_text()
    assert "Data asset: adult" in text and "dagster-run-0f1e2d3c" in text and "__none__" not in str(validation)
    assert (site / "static" / "vendor" / "jquery-3.7.1.min.js").is_file() and (site / "static" / "LICENSES.txt").is_file()
