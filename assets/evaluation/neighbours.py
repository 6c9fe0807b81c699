"""The nearest-row search behind Anonymeter's linkability and inference attacks, compiled once.

Anonymeter finds each attacked row's nearest synthetic rows with numba code that computes the
row's distance to every synthetic row and then sorts all of them (`argsort`) to keep the first
one to five. The sort costs more than the distances: on 20,000 synthetic rows of 14 columns,
500 searches took 0.97 s, of which the distances are about a quarter. `nearest_rows` keeps the
closest `n_neighbors` while it measures (an insertion into a list of at most five), which gives
the same distances and, among rows at the same distance, the first one (a stable sort's order),
in 0.25 s.

Both functions are compiled with numba's on-disk cache, so a process loads their machine code
instead of compiling Anonymeter's again (about 5 s a process). Imported only where Anonymeter
is installed (it brings numba): `attacks._anonymeter` installs them in its module.
"""

from __future__ import annotations

import numba
import numpy as np
import anonymeter.evaluators  # noqa: F401 - first: imported alone, the neighbours module's own imports go in a circle
from anonymeter.neighbors import mixed_types_kneighbors as _anonymeter_knn

__all__ = ["gower_distance", "nearest_rows"]

# Anonymeter's own distance (numbers: L1 on columns scaled to [0, 1]; categories: 0 or 1; both
# missing: 1), compiled with the cache.
gower_distance = numba.njit(cache=True, nogil=True)(_anonymeter_knn.gower_distance.py_func)


@numba.njit(cache=True, nogil=True)
def nearest_rows(
    queries: np.ndarray, candidates: np.ndarray, cat_cols_index: int, n_neighbors: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `queries`, the indices of its `n_neighbors` nearest `candidates` and
    their distances, nearest first; the signature and result of Anonymeter's
    `_nearest_neighbors`, with ties in index order."""
    idx = np.zeros((queries.shape[0], n_neighbors), dtype=np.int64)
    dists = np.zeros((queries.shape[0], n_neighbors), dtype=np.float64)
    for ix in range(queries.shape[0]):
        best_dist = np.full(n_neighbors, np.inf)
        best_idx = np.full(n_neighbors, -1, dtype=np.int64)
        for iy in range(candidates.shape[0]):
            dist = gower_distance(queries[ix], candidates[iy], cat_cols_index)
            if dist < best_dist[n_neighbors - 1]:
                slot = n_neighbors - 1
                while slot > 0 and best_dist[slot - 1] > dist:  # strictly: an earlier row keeps its place on a tie
                    best_dist[slot] = best_dist[slot - 1]
                    best_idx[slot] = best_idx[slot - 1]
                    slot -= 1
                best_dist[slot] = dist
                best_idx[slot] = iy
        idx[ix] = best_idx
        dists[ix] = best_dist
    return idx, dists
