"""The time budget of `synthesizer: auto` (`assets.auto`): how long a candidate's epochs take
(`EpochProbe`), how many fit in what is left (`plan_epochs`), the stage's clock, and the
deadline that stops a torch training loop at its next optimizer step (`stop_at`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["Clock", "EpochProbe", "MARGIN", "MIN_EPOCHS", "OVERRUN", "PROBE_EPOCHS", "PastDeadline", "Stopped", "plan_epochs", "stop_at"]

# Plans leave this share of what is left unspent, for timing noise and estimates that run over.
MARGIN = 1.2
# No torch-based SDV fit (after the first candidate's) runs past this multiple of the budget.
OVERRUN = 1.1
# The longer of the two probe fits; the shorter is one epoch.
PROBE_EPOCHS = 4
# Fewer epochs than this teach a GAN or VAE next to nothing: the candidate is skipped instead.
MIN_EPOCHS = 5

@dataclass(frozen=True)
class EpochProbe:
    """Two timed fits of one candidate on the fit rows: `epochs` epochs, then one epoch.

    The longer probe runs first, so that the one-time start-up of torch inflates it (and with it
    the estimated seconds per epoch, the safe side) rather than the one-epoch probe.
    """

    epochs: int
    seconds: float
    one_epoch_seconds: float

    @property
    def seconds_per_epoch(self) -> float:
        """The probes' difference per epoch, floored at a quarter of the longer probe's average
        epoch so that timing noise cannot make epochs look free."""
        return max((self.seconds - self.one_epoch_seconds) / (self.epochs - 1), self.seconds / self.epochs / 4)

    def predicted_seconds(self, epochs: int) -> float:
        """Fit seconds of `epochs` epochs: the one-epoch fit (start-up and preprocessing
        included) and every further epoch."""
        return self.one_epoch_seconds + (epochs - 1) * self.seconds_per_epoch


def plan_epochs(
    probe: EpochProbe,
    seconds_left: float,
    scoring_seconds: float,
    configured: int,
    minimum: int = MIN_EPOCHS,
    margin: float = MARGIN,
) -> int:
    """The most epochs, at most `configured`, whose fit and scoring take no more than
    `seconds_left / margin`; 0 when fewer than `minimum` (or `configured`, if smaller) would.

    Examples:
        >>> plan_epochs(EpochProbe(4, 4.0, 1.0), seconds_left=120, scoring_seconds=10, configured=300)
        90
    """
    room = seconds_left / margin - scoring_seconds - probe.one_epoch_seconds
    epochs = 0 if room < 0 else min(configured, 1 + math.floor(room / probe.seconds_per_epoch))
    return epochs if epochs >= min(minimum, configured) else 0


class PastDeadline(Exception):
    """Raised from torch's optimizer-step hook to cut a fit short."""


class Stopped(Exception):
    def __init__(self, seconds: float):
        super().__init__(f"stopped after {seconds:.1f} s")
        self.seconds = seconds


@contextmanager
def stop_at(deadline: float | None) -> Iterator[None]:
    """Stops every torch training loop at its first optimizer step past `deadline`
    (`perf_counter` time): SDV's GAN and VAE fits have no time limit of their own."""
    if deadline is None:
        yield
        return
    from torch.optim.optimizer import register_optimizer_step_post_hook

    def check(optimizer: Any, args: Any, kwargs: Any) -> None:
        if time.perf_counter() > deadline:
            raise PastDeadline

    handle = register_optimizer_step_post_hook(check)
    try:
        yield
    finally:
        handle.remove()


class Clock:
    def __init__(self, budget: float):
        self.budget = budget
        self.started = time.perf_counter()

    @property
    def spent(self) -> float:
        return time.perf_counter() - self.started

    @property
    def left(self) -> float:
        return self.budget - self.spent
