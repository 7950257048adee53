"""What the lineup learned on the test set: confusion, what distillation fixed and broke, fidelity, first-layer tiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from .config import IMAGE_PIXELS, IMAGE_SIDE, KINDS
from .losses import soft_kl
from .training import EVAL_BATCH, predict_logits

NUM_CLASSES = 10
STUDENT_ROLES = ("student", "distilled")


def test_logits(model: nn.Module, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    """[N, 10] logits of ``model`` on ``x`` in eval mode without gradients (training.predict_logits, on the CPU)."""
    return predict_logits(model.to("cpu"), x.to("cpu"), batch)


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """The predicted class of each row of [N, 10] logits: a LongTensor [N]."""
    return logits.argmax(1)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[10, 10] counts: row = true class, column = predicted class; it sums to N."""
    flat = labels.long().cpu() * NUM_CLASSES + predicted.long().cpu()
    return torch.bincount(flat, minlength=NUM_CLASSES * NUM_CLASSES).reshape(NUM_CLASSES, NUM_CLASSES)


@dataclass(frozen=True)
class WhatChanged:
    """Test-set indices distillation fixed (distilled right, label-trained student wrong) and broke (the reverse)."""

    fixed: tuple[int, ...]
    broke: tuple[int, ...]

    @property
    def net(self) -> int:
        return len(self.fixed) - len(self.broke)


def what_changed(labels: torch.Tensor, student_pred: torch.Tensor, distilled_pred: torch.Tensor) -> WhatChanged:
    student_right, distilled_right = student_pred == labels, distilled_pred == labels
    return WhatChanged(fixed=tuple((distilled_right & ~student_right).nonzero().flatten().tolist()),
                       broke=tuple((student_right & ~distilled_right).nonzero().flatten().tolist()))


def agreement(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> float:
    """The fraction of images on which the student's top-1 class is the teacher's."""
    return _fraction(teacher_logits.argmax(1) == student_logits.argmax(1))


def _fraction(hits: torch.Tensor) -> float:
    # A count over a length, not a float32 mean: 9,847 of 10,000 reads 0.9847, never 0.9847000241.
    return int(hits.sum()) / len(hits) if len(hits) else float("nan")


def mean_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean over images of KL(p_T(teacher) || p_T(student)) in nats: the distillation loss's own measure (losses.soft_kl)."""
    return float(soft_kl(student_logits.float(), teacher_logits.float(), temperature))


def first_linear(model: nn.Module) -> nn.Linear | None:
    """An MLP's first Linear layer when it takes the 784 pixels; None for a CNN (its first Linear sees features)."""
    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return None
    layer = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    return layer if layer is not None and layer.in_features == IMAGE_PIXELS else None


def hidden_unit_tiles(model: nn.Module) -> torch.Tensor | None:
    """[H, 28, 28]: each first-layer unit's weights on the pixels, the image it responds to; None when there is none."""
    layer = first_linear(model)
    if layer is None:
        return None
    return layer.weight.detach().cpu().reshape(-1, IMAGE_SIDE, IMAGE_SIDE).clone()


@dataclass(frozen=True)
class Fidelity:
    """How closely a student follows the teacher on the test set."""

    agreement: float  # fraction of images with the teacher's top-1 class
    kl: float  # mean KL(teacher || student) at T = 1, nats


@dataclass(frozen=True)
class LineupInsight:
    """The lineup on the test set, per role present (teacher, student, distilled, in that order)."""

    labels: torch.Tensor  # [N]
    logits: Mapping[str, torch.Tensor]  # role -> [N, 10]
    predictions: Mapping[str, torch.Tensor]  # role -> [N]
    confusion: Mapping[str, torch.Tensor]  # role -> [10, 10]
    what_changed: WhatChanged | None  # None unless both students are present
    fidelity: Mapping[str, Fidelity]  # student role -> fidelity to the teacher; empty without a teacher

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.logits)

    def accuracy(self, role: str) -> float:
        return _fraction(self.predictions[role] == self.labels)


def lineup_insight(models: Mapping[str, nn.Module], x_test: torch.Tensor, y_test: torch.Tensor) -> LineupInsight:
    """Logits, predictions, confusion, what changed and fidelity for the roles among teacher/student/distilled."""
    labels = y_test.long().cpu()
    logits = {role: test_logits(models[role], x_test) for role in KINDS if models.get(role) is not None}
    preds = {role: predictions(z) for role, z in logits.items()}
    confusion = {role: confusion_matrix(p, labels) for role, p in preds.items()}
    changed = what_changed(labels, preds["student"], preds["distilled"]) if set(STUDENT_ROLES) <= set(preds) else None
    fidelity = {role: Fidelity(agreement(logits["teacher"], logits[role]), mean_kl(logits["teacher"], logits[role]))
                for role in STUDENT_ROLES if role in logits and "teacher" in logits}
    return LineupInsight(labels, logits, preds, confusion, changed, fidelity)
