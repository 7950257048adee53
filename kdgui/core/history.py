"""A run's learning curves as plain lists (loss per batch, evaluations), TensorBoard-style smoothing, final accuracies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import Job
from .data import VALIDATION_SIZE

MNIST_TRAIN_IMAGES = 60_000 - VALIDATION_SIZE


@dataclass
class RunHistory:
    """Loss per optimiser step and one row per evaluation, growing as a run trains or read back from disk."""

    batches_per_epoch: float = 1.0
    loss_steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: Iterable[Any], job: Job | None = None) -> RunHistory:
        """Build from ``Run.metrics()`` records; the epoch length comes from the evaluations, else from the job.

        Records of any shape are tolerated: one that is not a dict, or whose step, loss, epoch or accuracies
        are not numbers, is skipped.
        """
        history = cls()
        for record in records:
            if not isinstance(record, dict):
                continue
            kind = record.get("type")
            if kind == "loss":
                step, loss = _int(record.get("step")), _number(record.get("loss"))
                if step is not None and loss is not None:
                    history.add_loss(step, loss)
            elif kind == "eval":
                evaluation = _evaluation(record)
                if evaluation is not None:
                    history.add_evaluation(evaluation)
        per_epoch = [e["step"] / e["epoch"] for e in history.evaluations if e.get("epoch")]
        per_epoch = [p for p in per_epoch if math.isfinite(p) and p > 0]
        if per_epoch:
            history.batches_per_epoch = per_epoch[-1]
        elif job is not None:
            history.batches_per_epoch = estimated_batches_per_epoch(job)
        return history

    def add_loss(self, step: int, loss: float) -> None:
        self.loss_steps.append(step)
        self.losses.append(loss)

    def add_evaluation(self, record: dict[str, Any]) -> None:
        self.evaluations.append(dict(record))

    def loss_epochs(self) -> list[float]:
        return [s / self.batches_per_epoch for s in self.loss_steps]

    def eval_column(self, name: str) -> list[float]:
        values = [_number(e.get(name)) for e in self.evaluations]
        return [math.nan if v is None else v for v in values]

    def last_evaluation(self) -> dict[str, Any] | None:
        return self.evaluations[-1] if self.evaluations else None


def estimated_batches_per_epoch(job: Job) -> float:
    """Batches per epoch from the job alone (MNIST-sized training set), for runs stopped before any evaluation."""
    images = min(job.train.train_limit or MNIST_TRAIN_IMAGES, MNIST_TRAIN_IMAGES)
    return float(max(1, math.ceil(images / job.train.batch_size)))


def final_accuracies(summary: Any, records: Iterable[Any] | None) -> dict[str, float]:
    """val_acc/test_acc (and train_acc when known) from a finished run's summary, else its last evaluation.

    Values that are not numbers (hand-edited files) are left out, never raised about.
    """
    summary = summary if isinstance(summary, dict) else {}
    found = {k: v for k in ("train_acc", "val_acc", "test_acc") if (v := _number(summary.get(k))) is not None}
    if "test_acc" in found or records is None:
        return found
    last = None
    for record in records:
        if isinstance(record, dict) and record.get("type") == "eval":
            last = record
    if last is not None:
        found.update({k: v for k in ("val_acc", "test_acc") if (v := _number(last.get(k))) is not None})
    return found


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (not a bool, not text, not too large for a float), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _int(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53
    return value if ok else None


EVAL_FIELDS = ("epoch", "val_loss", "val_acc", "test_loss", "test_acc", "train_loss", "train_acc", "elapsed", "agreement", "teacher_kl")


def _evaluation(record: dict[str, Any]) -> dict[str, Any] | None:
    """An evaluation record with its numbers as floats, or None when its step, its epoch or a present value is not a number."""
    if _int(record.get("step")) is None or _number(record.get("epoch")) is None:
        return None
    clean = dict(record)
    for key in EVAL_FIELDS:
        value = record.get(key)
        if value is None:
            continue
        number = _number(value)
        if number is None:
            return None
        clean[key] = number
    return clean


class EmaSmoother:
    """TensorBoard's debiased exponential moving average, fed incrementally: weight 0 is no smoothing."""

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
        self.weight = weight
        self._last = 0.0
        self._count = 0

    def feed(self, values: Iterable[float]) -> list[float]:
        out = []
        w = self.weight
        for v in values:
            if not math.isfinite(v):
                out.append(v)  # a NaN or inf loss is shown as it is and does not poison the average
                continue
            self._last = self._last * w + (1.0 - w) * v
            self._count += 1
            out.append(self._last / (1.0 - w**self._count))
        return out


def smooth(values: Iterable[float], weight: float) -> list[float]:
    return EmaSmoother(weight).feed(values)
