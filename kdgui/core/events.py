"""Events a training generator yields: small frozen dataclasses the UI and CLI turn into progress."""

from __future__ import annotations

from dataclasses import dataclass


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
