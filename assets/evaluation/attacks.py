"""Privacy risk measured by attacks on the real rows, with Anonymeter (Giomi et al., PoPETs 2023).

Three attacks, each run against the training rows (`ori`) and, as the same attack, against
real rows the model never saw (`control`, from the holdout). The risk is the attack's excess
success over the control, `(attack - control) / (1 - control)` clipped to [0, 1], with its
confidence interval, so what any good model of the population would allow does not count:

- **singling out**: predicates on 3 columns that match exactly one synthetic row
  (`age >= 61 & workclass == 'Private' & fnlwgt <= 41000`) also match exactly one real row;
- **linkability**: the columns split in two (alternate columns); both halves of a real row have the same
  nearest synthetic row, so the synthetic table joins two partial records of one person;
- **inference**: from every other column, the nearest synthetic row gives a real row's secret
  value (categories exactly, numbers within 5%).

The attacks run on seeded samples (`evaluate_attacks`: 2,000 training, 2,000 holdout and 4,000
synthetic rows by default): 4 to 6 s on 2 cores for Adult's 15 columns. Anonymeter's nearest-row
search is replaced by `neighbours.nearest_rows`: the same neighbours without sorting every
distance (4x faster), compiled once into numba's on-disk cache (Anonymeter's own compiled in
every process, about 5 s).

Anonymeter is optional and installed without its dependency metadata (it pins numpy below 1.27
and pyarrow below 22); `make install` does it, `ANONYMETER_INSTALL` is the line.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthpipe.assets.evaluation.privacy import MEASURED_SDTYPES
from synthpipe.errors import SynthpipeError

__all__ = [
    "ANONYMETER_INSTALL",
    "AttackDependencyError",
    "AttackInputError",
    "AttackResult",
    "AttackRisk",
    "attack_frames",
    "choose_secrets",
    "evaluate_attacks",
]

ANONYMETER_INSTALL = (
    'pip install --no-deps "anonymeter==1.1.0" "numba==0.68.1" "llvmlite==0.50.0" "polars==2.1.0" '
    '"polars-runtime-32==2.1.0"'
)
SINGLING_OUT_COLUMNS = 3
# Multivariate singling out draws batches of 1,000 queries until `n_attacks` of them single out
# a synthetic row; where few do, Anonymeter's own cap (10 million draws, 200 times this) keeps
# evaluating batches long after the answer is clear. Fewer queries found are noted in the result.
SINGLING_OUT_MAX_ATTEMPTS = 50_000
DEFAULT_MAX_SECRETS = 3
SYNTHETIC_ROWS_FACTOR = 2

AttackName = Literal["singling_out", "linkability", "inference"]


class AttackDependencyError(SynthpipeError):
    """Anonymeter, which runs the attacks, is not installed or does not import."""


class AttackInputError(SynthpipeError):
    """The tables cannot be attacked as given (too few measured columns or rows, unknown secrets)."""


@dataclass(frozen=True)
class AttackRisk:
    """One attack's outcome. Rates are success shares of `n_attacks` attempts each."""

    name: AttackName
    risk: float  # excess success over the control attack, in [0, 1]
    ci: tuple[float, float]  # the risk's confidence interval
    attack_rate: float  # against the training rows
    baseline_rate: float  # a random-guess attacker's, against the training rows (not seeded for singling out)
    control_rate: float  # the same attack against the control rows
    n_attacks: int
    detail: str  # the columns: the secret, the two halves, the query width


@dataclass(frozen=True)
class AttackResult:
    """Every attack's risk, and the rows it was measured on.

    `risks` holds one entry per attack, in the order singling out, linkability, inference; the
    inference entry is the riskiest secret of `inference_by_secret`.
    """

    risks: list[AttackRisk]
    inference_by_secret: list[AttackRisk]
    rows: tuple[int, int, int]  # (training, synthetic, control) rows attacked
    seconds: float
    notes: tuple[str, ...] = field(default=())  # Anonymeter's warnings (e.g. fewer queries found)

    def risk(self, name: AttackName) -> AttackRisk:
        return next(risk for risk in self.risks if risk.name == name)

    def as_metrics(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for risk in self.risks:
            metrics |= {f"{risk.name}_risk": risk.risk, f"{risk.name}_risk_high": risk.ci[1]}
        return metrics | {"attack_seconds": self.seconds}


def _anonymeter() -> Any:
    """The `anonymeter.evaluators` module, or an error naming the install line."""
    try:
        from anonymeter import evaluators
    except ImportError as error:  # missing, or numba/polars missing or built for another numpy
        raise AttackDependencyError(
            f"The privacy attacks need Anonymeter, which does not import ({error}). Install it with "
            f"`{ANONYMETER_INSTALL}` (`make install` does this; --no-deps because its metadata pins "
            "numpy<1.27 and pyarrow<22, which it does not need)."
        ) from error
    _cache_compiled_distance()
    return evaluators


def _cache_compiled_distance() -> None:
    """Installs `neighbours.nearest_rows` and its distance in Anonymeter's nearest-row search:
    the same neighbours, found without sorting every distance, and compiled with numba's
    on-disk cache instead of in every process."""
    from anonymeter.neighbors import mixed_types_kneighbors as knn

    if getattr(knn, "_synthpipe_cached", False):
        return
    from synthpipe.assets.evaluation import neighbours

    # `MixedTypeKNeighbors.kneighbors` calls the module's `_nearest_neighbors` by name
    knn.gower_distance = neighbours.gower_distance
    knn._nearest_neighbors = neighbours.nearest_rows
    knn._synthpipe_cached = True


def _measured(columns: Mapping[str, Mapping[str, Any]], frames: Sequence[pd.DataFrame]) -> dict[str, str]:
    """Measured column -> its sdtype, for the columns every frame has, in metadata order."""
    return {
        name: meta["sdtype"]
        for name, meta in columns.items()
        if meta.get("sdtype") in MEASURED_SDTYPES and all(name in frame.columns for frame in frames)
    }


def _as_text(series: pd.Series, sdtype: str) -> pd.Series:
    """Categories and booleans as strings, missing as None, spelled the same whatever the dtype
    (`1`, `1.0` and `True` of a boolean column are all "True"; `3` and `3.0` of a category "3.0")."""

    def spell(value: Any) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if sdtype == "boolean" and isinstance(value, (bool, np.bool_, int, float, np.number)):
            return str(bool(value))
        if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)):
            return str(float(value))
        return str(value)

    return pd.Series([spell(value) for value in series.to_numpy(dtype=object)], index=series.index, dtype=object)


def _as_float(series: pd.Series, sdtype: str) -> pd.Series:
    """Numbers as float64 (nullable integers too: Anonymeter's numba distance needs floats),
    dates as float seconds since the epoch (its singling-out queries cannot compare dates)."""
    if sdtype == "datetime" or pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((stamps - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).astype("float64")
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _normalise(frame: pd.DataFrame, measured: Mapping[str, str]) -> pd.DataFrame:
    """The measured columns with one dtype each, identical across the frames Anonymeter compares."""
    data = {
        name: _as_float(frame[name], sdtype) if sdtype in ("numerical", "datetime") else _as_text(frame[name], sdtype)
        for name, sdtype in measured.items()
    }
    return pd.DataFrame(data, index=frame.index).reset_index(drop=True)


def attack_frames(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Mapping[str, Mapping[str, Any]],
    seed: int = 0,
    max_rows: int = 2_000,
    synthetic_rows: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The (ori, syn, control) frames the attacks run on: seeded samples, normalised.

    `ori` and `control` are distinct rows (Anonymeter's singling out counts distinct rows) of
    the same size, min(`max_rows`, training rows, holdout rows), less duplicates; `syn` is up to
    `synthetic_rows` synthetic rows (default `SYNTHETIC_ROWS_FACTOR * max_rows`).
    """
    measured = _measured(columns, [synthetic, training, holdout])
    if len(measured) < 2:
        raise AttackInputError(
            f"The privacy attacks need at least 2 measured columns (sdtype {', '.join(MEASURED_SDTYPES)}) "
            f"present in the synthetic, training and holdout rows; found {sorted(measured) or 'none'}."
        )
    size = min(max_rows, len(training), len(holdout))
    if size < 2 or len(synthetic) < 2:
        raise AttackInputError(
            f"The privacy attacks need at least 2 rows in each table; got {len(training)} training, "
            f"{len(holdout)} holdout and {len(synthetic)} synthetic rows."
        )

    # One stream per table: a verbatim copy sampled with the training rows' stream would line up
    # row for row with them, and Anonymeter's random-guess inference aligns guesses by index.
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(3)]

    def distinct_sample(frame: pd.DataFrame, rows: int, stream: np.random.Generator) -> pd.DataFrame:
        return _normalise(frame.sample(n=rows, random_state=stream), measured).drop_duplicates(ignore_index=True)

    ori, control = distinct_sample(training, size, streams[0]), distinct_sample(holdout, size, streams[1])
    size = min(len(ori), len(control))
    syn_rows = min(synthetic_rows or SYNTHETIC_ROWS_FACTOR * max_rows, len(synthetic))
    syn = _normalise(synthetic.sample(n=syn_rows, random_state=streams[2]), measured)
    return ori.iloc[:size].reset_index(drop=True), syn, control.iloc[:size].reset_index(drop=True)


def _entropy(series: pd.Series) -> float:
    shares = series.value_counts(normalize=True, dropna=False).to_numpy()
    return float(-(shares * np.log2(shares)).sum())


def choose_secrets(ori: pd.DataFrame, measured: Mapping[str, str], max_secrets: int = DEFAULT_MAX_SECRETS) -> list[str]:
    """The columns the inference attack guesses: categories and booleans with the highest entropy
    in the real rows, then numbers in metadata order if there are too few; never a column with
    one value (nothing to infer), nor a date (Anonymeter's 5% relative tolerance on seconds
    since 1970 is years wide).

    A high-entropy column is the one a random guess gets right least often, so recovering it
    shows the most; a near-constant one (Adult's `native-country`, 90% one value) is guessed by
    the control attack too and leaves no room to measure an excess.
    """
    varied = {name: sdtype for name, sdtype in measured.items() if ori[name].nunique(dropna=False) > 1}
    categorical = [name for name, sdtype in varied.items() if sdtype in ("categorical", "boolean")]
    ranked = sorted(categorical, key=lambda name: -_entropy(ori[name]))  # stable: ties keep metadata order
    ranked += [name for name, sdtype in varied.items() if sdtype == "numerical"]
    return ranked[:max_secrets]


@contextmanager
def _quiet(seed: int, notes: list[str]) -> Iterator[None]:
    """numpy's global RNG seeded (pandas' `.sample` in Anonymeter draws from it) and restored
    after; Anonymeter's warnings kept as notes instead of printed."""
    state = np.random.get_state()
    logger = logging.getLogger("anonymeter")

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append(record.getMessage())

    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # "attack is as good or worse than baseline": routine for a good twin
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        np.random.set_state(state)


def _risk(name: AttackName, results: Any, n_attacks: int, detail: str) -> AttackRisk:
    risk = results.risk()
    return AttackRisk(
        name=name,
        risk=float(risk.value),
        ci=(float(risk.ci[0]), float(risk.ci[1])),
        attack_rate=float(results.attack_rate.value),
        baseline_rate=float(results.baseline_rate.value),
        control_rate=float(results.control_rate.value),
        n_attacks=n_attacks,
        detail=detail,
    )


def _singling_out(
    evaluators: Any, ori: pd.DataFrame, syn: pd.DataFrame, control: pd.DataFrame, n_attacks: int, seed: int, level: float
) -> AttackRisk:
    n_cols = min(SINGLING_OUT_COLUMNS, ori.shape[1])
    evaluator = evaluators.SinglingOutEvaluator(
        ori=ori, syn=syn, control=control, n_attacks=n_attacks, n_cols=n_cols, max_attempts=SINGLING_OUT_MAX_ATTEMPTS, seed=seed
    )
    evaluator.evaluate(mode="multivariate")
    return _risk("singling_out", evaluator.results(confidence_level=level), n_attacks, f"multivariate, {n_cols} columns a query")


def _linkability(
    evaluators: Any, ori: pd.DataFrame, syn: pd.DataFrame, control: pd.DataFrame, n_attacks: int, seed: int, level: float
) -> AttackRisk:
    # Alternate columns, not the first and second half: tables tend to group related (and the
    # most identifying) columns together, and one half of only coarse columns links nothing.
    names = list(ori.columns)
    aux = (names[0::2], names[1::2])
    evaluator = evaluators.LinkabilityEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux, n_attacks=n_attacks, n_neighbors=1)
    evaluator.evaluate(n_jobs=1)
    results = evaluator.results(confidence_level=level)
    # Anonymeter draws the random-guess baseline from an unseeded generator; the same guess
    # (two uniform synthetic rows agree), drawn seeded, keeps the result reproducible.
    rng = np.random.default_rng(seed)
    guesses = rng.integers(len(syn), size=(2, n_attacks))
    from anonymeter.stats.confidence import EvaluationResults

    results = EvaluationResults(
        n_attacks=n_attacks,
        n_success=results.n_success,
        n_baseline=int((guesses[0] == guesses[1]).sum()),
        n_control=results.n_control,
        confidence_level=level,
    )
    return _risk("linkability", results, n_attacks, f"{', '.join(aux[0])} | {', '.join(aux[1])}")


def _inference(
    evaluators: Any,
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame,
    n_attacks: int,
    secret: str,
    sdtype: str,
    level: float,
) -> AttackRisk:
    aux = [name for name in ori.columns if name != secret]
    regression = sdtype in ("numerical", "datetime")  # a date only when the caller names one
    evaluator = evaluators.InferenceEvaluator(
        ori=ori, syn=syn, control=control, aux_cols=aux, secret=secret, regression=regression, n_attacks=n_attacks
    )
    evaluator.evaluate(n_jobs=1)
    detail = f"secret {secret}" + (" (within 5%)" if regression else "")
    return _risk("inference", evaluator.results(confidence_level=level), n_attacks, detail)


def evaluate_attacks(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Mapping[str, Mapping[str, Any]],
    seed: int = 0,
    max_rows: int = 2_000,
    synthetic_rows: int | None = None,
    n_attacks: int = 500,
    confidence_level: float = 0.95,
    secrets: Sequence[str] | None = None,
    max_secrets: int = DEFAULT_MAX_SECRETS,
) -> AttackResult:
    """Singling-out, linkability and inference risk of `synthetic` for the `training` rows.

    The attacks run on seeded samples, which bound the time on large tables: min(`max_rows`,
    training rows, holdout rows) distinct training rows and as many holdout rows (the control;
    equal sizes, so Anonymeter needs no size correction), and up to `synthetic_rows` synthetic
    rows (default `2 * max_rows`; the refresh passes its whole evaluation sample, so that a model
    copying its training rows shows in the sampled ones). A sample of a large training set holds only part of the rows the model learned, so a
    leak of rows outside it goes unseen; raise `max_rows` for a sharper measure (the nearest-row
    searches of linkability and inference grow with `n_attacks * synthetic rows`).

    Only measured columns take part (sdtype numerical, datetime, categorical or boolean; not ids,
    text or personal columns, which are generated, not learned): numbers and dates as float64
    (dates in seconds), categories and booleans as strings with missing as None.

    The same `seed` gives the same result (the samples, the singling-out queries, the rows
    attacked: Anonymeter's pandas sampling draws from numpy's global RNG, seeded here and restored
    after), but for one figure: singling out's `baseline_rate`, whose random queries pick values
    from polars' `unique()`, an unordered set. It never enters the risk, which compares the attack
    with the control.

    Args:
        synthetic: The candidate's rows.
        training: The real rows the model was fitted on.
        holdout: Real rows of the same population the model never saw.
        columns: SDV column metadata (`{"age": {"sdtype": "numerical"}, ...}`).
        seed: Seeds the samples and the attacks.
        max_rows: Training and holdout rows attacked at most.
        synthetic_rows: Synthetic rows the attacker holds at most; default `2 * max_rows`.
        n_attacks: Attacks per attack type (capped at the rows attacked).
        confidence_level: Of the risk's interval.
        secrets: The columns the inference attack guesses; by default `choose_secrets`.
        max_secrets: How many secrets `choose_secrets` picks.

    Returns:
        The three risks (inference: the riskiest secret's), each secret's, and the sizes.

    Raises:
        AttackDependencyError: Anonymeter is not installed.
        AttackInputError: Fewer than 2 measured columns or rows, or an unknown secret.

    Examples:
        >>> result = evaluate_attacks(synthetic, train, holdout, metadata["columns"], seed=0)
        >>> result.risk("singling_out").ci  # doctest: +SKIP
        (0.0, 0.012)
    """
    evaluators = _anonymeter()
    started = time.perf_counter()
    ori, syn, control = attack_frames(synthetic, training, holdout, columns, seed=seed, max_rows=max_rows, synthetic_rows=synthetic_rows)
    measured = _measured(columns, [synthetic, training, holdout])
    chosen = list(secrets) if secrets is not None else choose_secrets(ori, measured, max_secrets)
    unknown = [name for name in chosen if name not in measured]
    if unknown or not chosen:
        raise AttackInputError(
            f"`secrets` {unknown or chosen!r}: the inference attack guesses measured columns; choose from {list(measured)}."
        )
    attacks = min(n_attacks, len(ori))
    notes: list[str] = []
    with _quiet(seed, notes):
        singling = _singling_out(evaluators, ori, syn, control, attacks, seed, confidence_level)
    with _quiet(seed, notes):
        linkability = _linkability(evaluators, ori, syn, control, attacks, seed, confidence_level)
    by_secret = []
    for secret in chosen:
        with _quiet(seed, notes):
            by_secret.append(_inference(evaluators, ori, syn, control, attacks, secret, measured[secret], confidence_level))
    worst = max(by_secret, key=lambda risk: (risk.risk, risk.ci[1]))
    return AttackResult(
        risks=[singling, linkability, worst],
        inference_by_secret=by_secret,
        rows=(len(ori), len(syn), len(control)),
        seconds=time.perf_counter() - started,
        notes=tuple(dict.fromkeys(notes)),
    )
