"""Distillation losses: the seed's soft-target MSE and Hinton et al.'s temperature-scaled KL plus cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def softmax_t(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft targets ``softmax(z / T)``: T = 1 is the ordinary softmax, larger T flattens it."""
    return F.softmax(logits / temperature, dim=-1)


def soft_mse(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """The seed's loss: ``mean((softmax(s/T) - softmax(t/T))^2)`` over batch and classes; labels are unused."""
    return F.mse_loss(softmax_t(student_logits, temperature), softmax_t(teacher_logits, temperature))


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``KL(p_T(teacher) || p_T(student))`` averaged over the batch (PyTorch's ``batchmean``)."""
    return F.kl_div(
        F.log_softmax(student_logits / temperature, dim=-1),
        F.log_softmax(teacher_logits / temperature, dim=-1),
        reduction="batchmean",
        log_target=True,
    )


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``-sum p_T(teacher) log p_T(student)``, batch mean: KL plus the teacher's entropy, so the same gradient."""
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    return -(softmax_t(teacher_logits, temperature) * log_q).sum(-1).mean()


def _with_labels(soft: torch.Tensor, student_logits: torch.Tensor, labels: torch.Tensor | None, alpha: float, name: str) -> torch.Tensor:
    """``alpha * soft + (1 - alpha) * CE(student, labels)``; the label term is skipped at alpha = 1."""
    loss = alpha * soft
    if alpha < 1:
        if labels is None:
            raise ValueError(f"{name} loss with alpha < 1 needs labels")
        loss = loss + (1 - alpha) * F.cross_entropy(student_logits, labels)
    return loss


def hinton(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """Hinton et al. (2015): ``alpha * T^2 * KL(p_T(t) || p_T(s)) + (1 - alpha) * CE(s, y)``.

    The soft term's gradient shrinks as 1/T^2, so multiplying by T^2 keeps its size comparable as T
    changes. With ``alpha = 1`` only soft targets teach and ``labels`` may be None.
    """
    soft = temperature**2 * soft_kl(student_logits, teacher_logits, temperature)
    return _with_labels(soft, student_logits, labels, alpha, "hinton")


def distillation_loss(
    kind: str,
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """Dispatch on the configured loss; for ``soft_mse`` alpha < 1 mixes in label cross-entropy the same way."""
    if kind == "hinton":
        return hinton(student_logits, teacher_logits, labels, temperature, alpha)
    if kind == "soft_mse":
        return _with_labels(soft_mse(student_logits, teacher_logits, temperature), student_logits, labels, alpha, "soft_mse")
    raise ValueError(f"unknown loss {kind!r}")
