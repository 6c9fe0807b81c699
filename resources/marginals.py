"""Faster draws from a fitted Gaussian copula: each beta marginal's inverse CDF read from a table.

SDV's Gaussian copula draws correlated normal values, maps them into [0, 1] and inverts every
column's marginal with scipy, value by value (`beta.ppf`, an iterative `betaincinv`). Timed on
one core, that inversion was 0.91 s of the 1.26-1.47 s it took to sample 50,000 rows of the Adult
schema (every one of its 15 columns is a beta marginal, categories included). After fitting,
synthpipe gives each beta marginal a table of its inverse CDF at 4,099 points of [0, 1], evenly
spaced in logit so that the tails are dense, and inverts by linear interpolation: the same rows
sampled in 0.56 s, their column means equal to four significant digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from copulas.univariate.beta import BetaUnivariate

__all__ = ["GRID", "TabulatedBetaUnivariate", "tabulate_marginals"]

_LOGIT = np.linspace(-16.0, 16.0, 4097)
# 0 and 1 themselves, then 1e-7 .. 1 - 1e-7 evenly in logit
GRID = np.concatenate(([0.0], 1.0 / (1.0 + np.exp(-_LOGIT)), [1.0]))


class TabulatedBetaUnivariate(BetaUnivariate):
    """A fitted beta marginal whose inverse CDF interpolates a table of scipy's, computed once."""

    table: np.ndarray

    def percent_point(self, U: Any) -> np.ndarray:  # noqa: N803 - copulas' argument name
        self.check_fit()
        return np.interp(U, GRID, self.table)


def tabulate_marginals(synthesizer: Any) -> int:
    """Gives each fitted beta marginal of an SDV Gaussian copula its table (in place); returns how
    many. Other synthesizers and other distributions are left as they are."""
    univariates = getattr(getattr(synthesizer, "_model", None), "univariates", None) or []
    count = 0
    for univariate in univariates:
        if type(univariate) is BetaUnivariate:
            table = BetaUnivariate.percent_point(univariate, GRID)
            univariate.__class__ = TabulatedBetaUnivariate
            univariate.table = np.asarray(table, dtype=float)
            count += 1
    return count
