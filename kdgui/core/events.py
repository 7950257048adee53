"""Events a training generator yields: small frozen dataclasses the UI and CLI turn into progress."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # events are imported by `kdgui-cli --help`, which must not load torch
    import torch


@dataclass(frozen=True)
class Started:
    """The run exists on disk and training is about to begin."""

    run_id: str
    label: str
    kind: str
    total_steps: int
    device: str


@dataclass(frozen=True)
class Progress:
    """One optimiser step finished; ``loss`` is that batch's training loss."""

    step: int  # 1-based over the whole run
    total_steps: int
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    loss: float
    elapsed: float  # seconds of training so far, pauses excluded

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps

    @property
    def seconds_left(self) -> float:
        return self.elapsed / self.step * (self.total_steps - self.step) if self.step else float("nan")


class TimeLeft:
    """Seconds left in a run, from the recent pace: ``add(progress)``, then ``seconds_left()`` (None: still estimating).

    A run's pace changes (the first batches warm up, evaluations and epoch-end passes cost time, the window
    competes for the CPU), so the estimate uses the pace over the latest stretch of training: at least
    ``window_s`` seconds and one epoch when there is that much history. Until ``warmup_s`` seconds of
    training are in there is no estimate, rather than one that starts too low. ``elapsed`` excludes pauses,
    so a pause neither stretches the pace nor counts as time spent. A run whose step count starts again
    (a study's next run) starts a new estimate.
    """

    def __init__(self, warmup_s: float = 3.0, window_s: float = 15.0) -> None:
        self.warmup_s, self.window_s = warmup_s, window_s
        self.samples: deque[tuple[int, float]] = deque()  # (step, elapsed), oldest first
        self.total_steps = 0
        self.batches_per_epoch = 0

    def reset(self) -> None:
        self.samples.clear()
        self.total_steps = self.batches_per_epoch = 0

    def add(self, progress: Progress) -> None:
        if self.samples and (progress.step < self.samples[-1][0] or progress.total_steps != self.total_steps):
            self.reset()
        self.total_steps, self.batches_per_epoch = progress.total_steps, progress.batches_per_epoch
        self.samples.append((progress.step, progress.elapsed))
        # Keep one sample older than the window, so the pace always spans at least the window.
        span = max(self.window_s, 0.0)
        while len(self.samples) > 2 and self._covers(self.samples[1], span):
            self.samples.popleft()

    def _covers(self, start: tuple[int, float], span: float) -> bool:
        """True when the stretch from ``start`` to the newest sample is long enough on its own."""
        step, elapsed = self.samples[-1]
        return elapsed - start[1] >= span and step - start[0] >= self.batches_per_epoch

    def seconds_left(self) -> float | None:
        return estimate_seconds_left(list(self.samples), self.total_steps, warmup_s=self.warmup_s)


def estimate_seconds_left(samples: list[tuple[int, float]], total_steps: int, *, warmup_s: float = 3.0) -> float | None:
    """Seconds left after the newest of ``samples`` [(step, elapsed), oldest first], at the pace between the oldest
    and the newest; None while fewer than ``warmup_s`` seconds of training are in; 0.0 once the last step is done."""
    if not samples or total_steps <= 0:
        return None
    step, elapsed = samples[-1]
    if step >= total_steps:
        return 0.0
    if elapsed < warmup_s:
        return None
    first_step, first_elapsed = samples[0]
    if step > first_step and elapsed > first_elapsed:
        pace = (elapsed - first_elapsed) / (step - first_step)
    else:
        pace = elapsed / step if step else float("nan")
    if pace != pace:  # nan: nothing to go by
        return None
    return pace * (total_steps - step)


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy at an evaluation point; train figures only at epoch ends (a full pass is costly)."""

    step: int
    epoch: float  # fractional epoch, e.g. 1.2 after 600 of 500-batch epochs
    val_loss: float
    val_acc: float
    test_loss: float
    test_acc: float
    train_loss: float | None = None  # mean training-objective loss since the previous evaluation
    train_acc: float | None = None
    epoch_end: bool = False
    # Distillation only: fidelity to the teacher on the test set (top-1 agreement, mean KL(teacher || student) at T=1).
    agreement: float | None = None
    teacher_kl: float | None = None
    # MLPs only: a CPU copy of the first Linear weight [hidden, 784], for live hidden-unit tiles; never written to disk.
    first_layer: torch.Tensor | None = None

    def record(self) -> dict:
        """The numbers of this evaluation, as metrics.jsonl stores them (the first-layer weights left out)."""
        # Not asdict: it would deep-copy the weights only to drop them.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "first_layer"}


@dataclass(frozen=True)
class Finished:
    """Training ran to the end; weights and metrics are on disk."""

    run_id: str
    train_acc: float
    val_acc: float
    test_acc: float
    seconds: float
    epoch: int = 0  # the epoch whose weights were kept: the last, or the best on validation with keep_best


@dataclass(frozen=True)
class Cancelled:
    """Training was stopped by the user; the partial run is on disk, marked stopped."""

    run_id: str
    step: int
    seconds: float


Event = Started | Progress | Evaluation | Finished | Cancelled
