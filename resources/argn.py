"""TabularARGN, the open-source engine of MOSTLY AI (`mostlyai-engine`), as a synthpipe backend.

`ArgnSynthesizer` takes the same SDV metadata as every other backend and answers the calls
synthpipe makes of an SDV single-table synthesizer (`fit`, `sample`, `get_metadata`,
`get_parameters`, `save`/`load`, seeded sampling), so it goes through the same stages, checks,
gates, registry and reproduction. The engine itself is optional (`synthpipe[argn]`); it is
imported only when a model is fitted or sampled.

What the metadata decides: ID columns (`sdtype: id`) are never learned; they are numbered like
SDV's formatted IDs. Columns marked `pii` are never learned either; Faker fills them with the
provider the configuration names, seeded by the sampling seed. Every other column is encoded
by its sdtype (categorical, numerical, datetime, boolean as categorical).
"""

from __future__ import annotations

import inspect
import math
import random
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthpipe.errors import SynthesizerError
from synthpipe.resources.argn_workspace import engine_seed, load_pickled, read_model_files, read_privacy_spent, save_pickled, write_model_files
from synthpipe.resources.argn_engine import DEFAULT_MAX_EPOCHS, DEFAULT_TRAINING_MINUTES, cast_like, fake_values, require_engine

__all__ = ["DP_SETTINGS", "ArgnModel", "ArgnSynthesizer"]


_MODEL_SIZES = ("MOSTLY_AI/Small", "MOSTLY_AI/Medium", "MOSTLY_AI/Large")
_UNBOUNDED_MINUTES = 14_400.0  # `engine.train`'s own default
# The keys of `ArgnSynthesizer`'s `differential_privacy`: the engine's `DifferentialPrivacyConfig`.
DP_SETTINGS = ("max_epsilon", "delta", "noise_multiplier", "max_grad_norm", "value_protection_epsilon")
# Rule enforcement by rejection: at most this many further draws, and none once fewer than this
# share of the drawn rows obey the rules (the model has not learned them).
_MAX_REDRAWS = 10
_MIN_ACCEPTANCE = 0.05

_ENCODING = {
    "categorical": "TABULAR_CATEGORICAL",
    "boolean": "TABULAR_CATEGORICAL",
    "numerical": "TABULAR_NUMERIC_AUTO",
    "datetime": "TABULAR_DATETIME",
}

ProgressHandler = Callable[[dict[str, Any]], None]


class ArgnModel:
    """TabularARGN behind synthpipe's synthesizer interface: one flat table (`ArgnSynthesizer`
    adds business rules by rejection; `argn_sequence.ArgnSequenceSynthesizer` models sequences).

    Args:
        metadata: SDV metadata of one table (the same object SDV backends get).
        model: Engine model size: ``MOSTLY_AI/Small``, ``MOSTLY_AI/Medium`` or ``MOSTLY_AI/Large``.
        max_training_time: Training budget in minutes (the engine's unit); training stops at the
            first epoch end past it and keeps the best checkpoint by validation loss. ``None``:
            no wall-clock limit, training ends by `max_epochs` or early stopping. Default: 10
            minutes, or none when `max_epochs` is given (epochs bound the work, so the result
            does not depend on the machine's load; what tests use).
        max_epochs: Upper bound on epochs (early stopping usually ends training before); default 100.
        batch_size: Training batch size; ``None`` lets the engine choose.
        value_protection: Keep rare categories and extreme values out of the model (the engine's
            privacy protection); on by default.
        enable_flexible_generation: Train for any column order (needed for conditional
            generation; off trains a little faster).
        sampling_temperature: Above 1 spreads samples wider, below 1 sharpens them.
        sampling_top_p: Nucleus sampling threshold, in (0, 1].
        rare_category_replacement: With value protection, a category too rare to learn is
            drawn from the learned ones (``sample``, the default: every value stays a real
            category) or written as the engine's ``_RARE_`` token (``constant``).
        random_state: Seed of training (weights, batches, validation split); ``None`` draws one.
        device: ``cpu`` or ``cuda``.

    Examples:
        >>> synthesizer = ArgnSynthesizer(metadata, max_training_time=4)  # doctest: +SKIP
        >>> synthesizer.fit({"adult": frame}); synthesizer.sample(100)["adult"]  # doctest: +SKIP
    """

    FILE_SUFFIX = ".argn.pkl"
    TIME_BUDGET_PARAM = "max_training_time"  # minutes; `auto` caps it by what is left of its budget

    def __init__(
        self,
        metadata: Any,
        model: str = "MOSTLY_AI/Medium",
        max_training_time: float | None = DEFAULT_TRAINING_MINUTES,
        max_epochs: float | None = None,
        batch_size: int | None = None,
        value_protection: bool = True,
        enable_flexible_generation: bool = True,
        sampling_temperature: float = 1.0,
        sampling_top_p: float = 1.0,
        rare_category_replacement: str = "sample",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        if model not in _MODEL_SIZES:
            raise ValueError(f"`model` must be one of {', '.join(_MODEL_SIZES)}; got {model!r}")
        if max_training_time is DEFAULT_TRAINING_MINUTES and max_epochs is not None:
            max_training_time = None  # epochs asked for: they, not the clock, bound training
        max_epochs = DEFAULT_MAX_EPOCHS if max_epochs is None else max_epochs
        if max_training_time is not None and (not max_training_time or max_training_time <= 0):
            raise ValueError(f"`max_training_time` is in minutes and must be above 0; got {max_training_time!r}")
        if not max_epochs or max_epochs <= 0:
            raise ValueError(f"`max_epochs` must be above 0; got {max_epochs!r}")
        if not 0 < sampling_top_p <= 1 or sampling_temperature <= 0:
            raise ValueError(
                f"`sampling_top_p` must be in (0, 1] and `sampling_temperature` above 0; got {sampling_top_p!r}, {sampling_temperature!r}"
            )
        if rare_category_replacement not in ("sample", "constant"):
            raise ValueError(f"`rare_category_replacement` must be 'sample' or 'constant'; got {rare_category_replacement!r}")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"`device` must be 'cpu' or 'cuda'; got {device!r}")
        self._metadata = metadata
        self._parameters = {
            "model": model,
            "max_training_time": None if max_training_time is None else float(max_training_time),
            "max_epochs": float(max_epochs),
            "batch_size": batch_size,
            "value_protection": bool(value_protection),
            "enable_flexible_generation": bool(enable_flexible_generation),
            "sampling_temperature": float(sampling_temperature),
            "sampling_top_p": float(sampling_top_p),
            "rare_category_replacement": rare_category_replacement,
            "random_state": random_state,
            "device": device,
        }
        self.on_progress: ProgressHandler | None = None
        self.training_report: dict[str, Any] = {}
        self._model_files: dict[str, bytes] = {}
        self._dtypes: dict[str, str] = {}
        self._sample_seed: int | None = None
        self._workspace: tempfile.TemporaryDirectory | None = None
        self._rules: list[Any] = []  # business rules (`synthpipe.expectations.suites.Rule`), enforced by rejection
        self._allowed: dict[int, frozenset[tuple[Any, ...]]] = {}
        self.rejected_share: float = 0.0  # of the rows the last `sample` drew, the share that broke a rule
        self._fairness: dict[str, Any] | None = None  # the engine's fairness objective for plain draws (`set_fairness`)
        # a fit with differential privacy: the ε (in all, the value analysis's share included) and δ it spent
        self.dp_epsilon_spent: float | None = None
        self.dp_delta: float | None = None
        self.dp_value_epsilon_spent: float | None = None

    # --- the interface synthpipe uses --------------------------------------------------------

    def get_metadata(self) -> Any:
        return self._metadata

    def get_parameters(self) -> dict[str, Any]:
        return dict(self._parameters)

    @property
    def table(self) -> str:
        return next(iter(self._metadata.tables))

    @property
    def differentially_private(self) -> bool:
        """Whether it fits with a differential-privacy budget (`ArgnSynthesizer`'s `differential_privacy`)."""
        return bool(self._parameters.get("differential_privacy"))

    def fit(self, data: Mapping[str, pd.DataFrame]) -> None:
        """Trains on `data[table]` within the time budget, reporting each epoch to `on_progress`."""
        engine = require_engine(f"Table {self.table!r}: synthesizer 'argn'")
        frame = data[self.table]
        modelled = self._modelled_columns(frame)
        if not modelled:
            raise SynthesizerError(
                f"Table {self.table!r}: every column is an ID or `pii`, so TabularARGN has nothing to learn."
            )
        self._dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
        with engine_seed(self._parameters["random_state"]):
            self._model_files = self._train(engine, frame[modelled].reset_index(drop=True), self._encoding_types(modelled), time.perf_counter())
        self._allowed = {i: r.allowed_combinations(frame) for i, r in enumerate(self._rules) if r.kind == "fixed_combinations"}
        self._drop_workspace()

    def _train(self, engine: Any, frame: pd.DataFrame, encodings: dict[str, str], started: float, **keys: Any) -> dict[str, bytes]:
        """One engine model trained on `frame` (`keys`: a context table and its keys); returns
        the files generation reads."""
        params, privacy = self._parameters, self._privacy_config()
        with tempfile.TemporaryDirectory(prefix="synthpipe-argn-") as folder:
            engine.split(tgt_data=frame, tgt_encoding_types=encodings, model_type="TABULAR", workspace_dir=folder, **keys)
            # with a budget, value ranges and categories come from noisy histograms (part of the ε)
            engine.analyze(value_protection=params["value_protection"], differential_privacy=privacy, workspace_dir=folder)
            engine.encode(workspace_dir=folder)
            engine.train(
                model=params["model"],
                # no budget: the engine's own ceiling (10 days), so epochs or early stopping end it
                max_training_time=_UNBOUNDED_MINUTES if params["max_training_time"] is None else params["max_training_time"],
                max_epochs=params["max_epochs"],
                batch_size=params["batch_size"],
                enable_flexible_generation=params["enable_flexible_generation"],
                device=params["device"],
                workspace_dir=folder,
                update_progress=self._progress_callback(started),
                differential_privacy=privacy,
            )
            if privacy is not None:
                spent = read_privacy_spent(Path(folder))
                self.dp_epsilon_spent, self.dp_delta, self.dp_value_epsilon_spent = spent["epsilon"], spent["delta"], spent["value_epsilon"]
            return read_model_files(Path(folder))

    def _privacy_config(self) -> Any:
        """The engine's DP settings for this fit, or None without a budget."""
        budget = self._parameters.get("differential_privacy")
        if not budget:
            return None
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        return DifferentialPrivacyConfig(**budget)

    def _modelled_columns(self, frame: pd.DataFrame) -> list[str]:
        skipped = set(self._id_columns()) | set(self._pii_columns())
        return [column for column in frame.columns if column not in skipped]

    def _columns(self) -> Mapping[str, Mapping[str, Any]]:
        return self._metadata.tables[self.table].columns

    def _id_columns(self) -> list[str]:
        return [c for c, spec in self._columns().items() if spec.get("sdtype") == "id"]

    def _pii_columns(self) -> dict[str, str]:
        return {c: spec["sdtype"] for c, spec in self._columns().items() if spec.get("pii")}

    def _encoding_types(self, columns: list[str]) -> dict[str, str]:
        specs = self._columns()
        return {c: _ENCODING[specs[c]["sdtype"]] for c in columns if specs.get(c, {}).get("sdtype") in _ENCODING}

    def _progress_callback(self, started: float) -> Callable[..., None]:
        minutes = self._parameters["max_training_time"]
        budget = None if minutes is None else minutes * 60

        def update(total: int | None = None, completed: int | None = None, message: Any = None, **_: Any) -> None:
            if message is None:
                return
            values = message if isinstance(message, dict) else message.model_dump(mode="json")
            elapsed = time.perf_counter() - started
            report = {
                "epoch": values.get("epoch"),
                "train_loss": values.get("trn_loss"),
                "validation_loss": values.get("val_loss"),
                "checkpoint": bool(values.get("is_checkpoint")),
                "dp_epsilon": values.get("dp_eps"),  # None without differential privacy
                "elapsed_seconds": round(elapsed, 1),
                "budget_seconds": None if budget is None else round(budget, 1),
                "seconds_left": None if budget is None else round(max(budget - elapsed, 0.0), 1),
            }
            self.training_report = report
            if self.on_progress is not None:
                self.on_progress(report)

        return update

    def reset_sampling(self) -> None:
        self._sample_seed = None

    def _set_random_state(self, seed: int) -> None:
        """The seed of the next `sample` calls (SDV's name for it, so `seed_synthesizer` works)."""
        self._sample_seed = int(seed)

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        """`num_rows` synthetic rows as ``{table: frame}``, in the source's columns and dtypes,
        every one obeying the rules (see `add_rules`)."""
        seed = self._sample_seed if self._sample_seed is not None else random.SystemRandom().randrange(2**31)
        rows = self._generate(num_rows, seed)
        if self._rules:
            rows = self._enforce_rules(rows, num_rows, seed)
            for column in self._id_columns():
                rows[column] = np.arange(len(rows), dtype=rows[column].dtype)
        return {self.table: rows}

    def sample_conditioned(self, values: Mapping[str, Any], num_rows: int, seed: int) -> pd.DataFrame:
        """`num_rows` rows that all have `values`, the other columns generated given them (the
        engine's seeded generation)."""
        seed_data = pd.DataFrame({column: [value] * int(num_rows) for column, value in values.items()})
        return self.sample_remaining(seed_data, seed)

    def sample_remaining(self, known: pd.DataFrame, seed: int) -> pd.DataFrame:
        """One row per row of `known`, its columns kept and the others generated given them (the
        engine's seeded generation; needs `enable_flexible_generation`, the default)."""
        engine = require_engine(f"Table {self.table!r}: sampling its 'argn' model")
        from mostlyai.engine._common import load_generated_data

        if not self._parameters["enable_flexible_generation"]:
            raise SynthesizerError(f"Table {self.table!r}: seeded generation needs TabularARGN's `enable_flexible_generation: true`.")
        folder, seed_data = self._workspace_dir(), known.reset_index(drop=True)
        with engine_seed(seed):
            engine.generate(
                seed_data=seed_data,
                workspace_dir=folder,
                **self._generation_options(),
            )
            rows = load_generated_data(folder)
        return self._restore_columns(rows.reset_index(drop=True), seed)

    def set_fairness(self, target: str | None, sensitive: Sequence[str] = ()) -> None:
        """Plain draws (`sample`) keep `target`'s rate equal across the `sensitive` columns'
        groups (the engine's fairness objective; the columns must be categorical); None turns it off."""
        self._fairness = {"target_column": target, "sensitive_columns": list(sensitive)} if target is not None else None

    def _generation_options(self) -> dict[str, Any]:
        """The sampling settings every `engine.generate` call of this model takes."""
        return {
            "sampling_temperature": self._parameters["sampling_temperature"],
            "sampling_top_p": self._parameters["sampling_top_p"],
            "rare_category_replacement_method": self._parameters["rare_category_replacement"].upper(),
            "device": self._parameters["device"],
        }

    def _rule_mask(self, rows: pd.DataFrame) -> np.ndarray:
        held = np.ones(len(rows), dtype=bool)
        for index, rule in enumerate(self._rules):
            held &= rule.holds(rows, self._allowed.get(index, frozenset()))
        return held

    def _enforce_rules(self, rows: pd.DataFrame, num_rows: int, seed: int) -> pd.DataFrame:
        kept, drawn = [rows[self._rule_mask(rows)]], len(rows)
        have = len(kept[0])
        for attempt in range(1, _MAX_REDRAWS + 1):
            if have >= num_rows:
                break
            acceptance = have / drawn
            if acceptance < _MIN_ACCEPTANCE:
                break
            more = self._generate(math.ceil((num_rows - have) / acceptance * 1.1) + 10, seed + attempt)
            drawn += len(more)
            kept.append(more[self._rule_mask(more)])
            have += len(kept[-1])
        if have < num_rows:
            rules = ", ".join(repr(r.describe()) for r in self._rules)
            raise SynthesizerError(
                f"Table {self.table!r}: only {have:,} of {drawn:,} rows sampled by TabularARGN obey the rules {rules}; the model has "
                "not learned them. Train longer (`max_training_time`), or set `enforce: false` on the rule to check it only."
            )
        self.rejected_share = 1 - have / drawn
        return pd.concat(kept, ignore_index=True).iloc[:num_rows].reset_index(drop=True)

    def _generate(self, num_rows: int, seed: int) -> pd.DataFrame:
        engine = require_engine(f"Table {self.table!r}: sampling its 'argn' model")
        from mostlyai.engine._common import load_generated_data

        folder = self._workspace_dir()
        with engine_seed(seed):
            engine.generate(
                sample_size=int(num_rows),
                workspace_dir=folder,
                fairness=getattr(self, "_fairness", None),  # models saved before it existed have none
                **self._generation_options(),
            )
            rows = load_generated_data(folder)
        return self._restore_columns(rows.reset_index(drop=True), seed)

    def _restore_columns(self, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
        for column in self._id_columns():
            rows[column] = np.arange(len(rows), dtype=np.int64)  # `_number_ids` formats them
        for column, kind in self._pii_columns().items():
            rows[column] = fake_values(kind, len(rows), seed + sum(map(ord, column)))
        rows = rows[list(self._dtypes)]
        return pd.DataFrame({column: cast_like(rows[column], dtype) for column, dtype in self._dtypes.items()})

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: str) -> None:
        save_pickled(self, path)

    @classmethod
    def load(cls, path: str) -> ArgnModel:
        return load_pickled(path, ArgnModel, "a TabularARGN model")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(on_progress=None, _workspace=None, _sample_seed=None)
        return state

    def _workspace_dir(self) -> str:
        """A workspace holding the trained model, unpacked once per process."""
        if not self._model_files:
            raise SynthesizerError(f"Table {self.table!r}: the TabularARGN model is not fitted; call `fit` first.")
        if self._workspace is None:
            self._workspace = tempfile.TemporaryDirectory(prefix="synthpipe-argn-")
            weakref.finalize(self, self._workspace.cleanup)
            write_model_files(Path(self._workspace.name), self._model_files)
        return self._workspace.name

    def _drop_workspace(self) -> None:
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None



class ArgnSynthesizer(ArgnModel):
    """TabularARGN on one flat table, obeying business rules by rejection (see `add_rules`), and
    fitted with differential privacy when given a budget.

    Args:
        metadata: As `ArgnModel`.
        differential_privacy: The engine's DP settings (keys `DP_SETTINGS`: `max_epsilon`, the
            whole budget, and `value_protection_epsilon`, its share for value ranges and
            categories; `delta`, `noise_multiplier`, `max_grad_norm`), a plain mapping so the model
            pickles and its parameters log. Training runs DP-SGD (Opacus) and stops at the first
            epoch end past `max_epsilon`; the ε and δ spent are kept as `dp_epsilon_spent` and
            `dp_delta`. Needs `value_protection`. None (the default) trains without a guarantee.
        **params: As `ArgnModel`.

    Examples:
        >>> budget = {"max_epsilon": 2.0, "delta": 1e-5, "value_protection_epsilon": 0.2}
        >>> synthesizer = ArgnSynthesizer(metadata, differential_privacy=budget)  # doctest: +SKIP
        >>> synthesizer.fit({"adult": frame}); synthesizer.dp_epsilon_spent  # doctest: +SKIP
        1.98
    """

    def __init__(self, metadata: Any, *args: Any, differential_privacy: Mapping[str, float | None] | None = None, **params: Any) -> None:
        super().__init__(metadata, *args, **params)
        if differential_privacy is None:
            return  # left out of the parameters, as models fitted before it existed
        unknown = sorted(set(differential_privacy) - set(DP_SETTINGS))
        if unknown:
            raise ValueError(f"`differential_privacy` takes {', '.join(DP_SETTINGS)}; got {unknown}")
        if not self._parameters["value_protection"]:
            raise ValueError("`differential_privacy` finds value ranges and categories with noise, which needs `value_protection: true`")
        self._parameters["differential_privacy"] = {k: None if v is None else float(v) for k, v in differential_privacy.items()}

    __init__.__signature__ = inspect.signature(ArgnModel.__init__).replace(  # type: ignore[attr-defined]
        parameters=[
            *inspect.signature(ArgnModel.__init__).parameters.values(),
            inspect.Parameter("differential_privacy", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Mapping[str, float | None] | None"),
        ]
    )

    def add_rules(self, rules: Sequence[Any]) -> None:
        """Business rules the samples must obey. The engine takes no constraints, so a sampled row
        that breaks one is dropped and more rows are drawn (with seeds derived from the sampling
        seed, so sampling stays reproducible) until there are enough."""
        self._rules = list(rules)
