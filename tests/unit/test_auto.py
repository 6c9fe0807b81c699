"""The rule `auto` picks a champion by: gates first, then quality, then fit time."""

from __future__ import annotations

import pytest

from assets.auto import Candidate, rank

pytestmark = pytest.mark.unit


def candidate(name: str, quality: float, seconds: float, passed: bool = True) -> Candidate:
    return Candidate(name, seconds, {"quality_score": quality}, passed, run_id=name)


@pytest.mark.parametrize(
    ("candidates", "winner"),
    [
        ([candidate("a", 0.80, 5), candidate("b", 0.85, 50)], "b"),  # quality before time
        ([candidate("a", 0.90, 5, passed=False), candidate("b", 0.70, 50)], "b"),  # gates before quality
        ([candidate("a", 0.85, 50), candidate("b", 0.85, 5)], "b"),  # time breaks a tie
        ([candidate("a", 0.60, 5, passed=False), candidate("b", 0.50, 5, passed=False)], "a"),  # none pass: best quality
    ],
)
def test_rank(candidates, winner):
    assert rank(candidates)[0].name == winner
