"""Distillation losses: the formulas, the T^2 gradient scaling, KL vs soft cross-entropy, teacher in eval mode."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdgui.core import losses, training
from kdgui.core.config import NetSpec
from kdgui.core.models import build_model


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 10, generator=g) * 3, torch.randn(64, 10, generator=g) * 3, torch.randint(0, 10, (64,), generator=g)


def _kl_by_hand(s, t, temperature):
    p = torch.exp(t / temperature) / torch.exp(t / temperature).sum(1, keepdim=True)
    q = torch.exp(s / temperature) / torch.exp(s / temperature).sum(1, keepdim=True)
    return (p * (p.log() - q.log())).sum() / len(s)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_soft_mse_is_the_mean_squared_difference_of_softened_probabilities(logits, temperature):
    s, t, _ = logits
    p = torch.exp(t / temperature) / torch.exp(t / temperature).sum(1, keepdim=True)
    q = torch.exp(s / temperature) / torch.exp(s / temperature).sum(1, keepdim=True)
    expected = ((q - p) ** 2).sum() / (64 * 10)
    assert torch.allclose(losses.soft_mse(s, t, temperature), expected, rtol=1e-5, atol=1e-8)
    assert losses.soft_mse(t, t, temperature).item() == 0.0


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0, 8.0])
def test_hinton_at_alpha_1_is_t_squared_times_batchmean_kl(logits, temperature):
    s, t, _ = logits
    expected = temperature**2 * _kl_by_hand(s, t, temperature)
    assert torch.allclose(losses.hinton(s, t, None, temperature, 1.0), expected, rtol=1e-4)
    assert torch.allclose(losses.soft_kl(s, t, temperature), _kl_by_hand(s, t, temperature), rtol=1e-4)


def _grad_norm(fn, s, t, temperature):
    s = s.clone().requires_grad_(True)
    fn(s, t, temperature).backward()
    return s.grad.norm().item()


def test_t_squared_keeps_the_soft_gradient_comparable_across_temperatures(logits):
    s, t, _ = logits
    with_t2 = lambda a, b, T: losses.hinton(a, b, None, T, 1.0)  # noqa: E731
    ratio_scaled = _grad_norm(with_t2, s, t, 2.0) / _grad_norm(with_t2, s, t, 8.0)
    ratio_plain = _grad_norm(losses.soft_kl, s, t, 2.0) / _grad_norm(losses.soft_kl, s, t, 8.0)
    assert 1 / 2 < ratio_scaled < 2
    assert 12 < ratio_plain < 20  # ~ (8/2)^2 = 16 without the T^2 factor


@pytest.mark.parametrize("temperature", [1.0, 3.0, 10.0])
def test_kl_and_soft_cross_entropy_give_the_same_gradient(logits, temperature):
    s, t, _ = logits
    s1, s2 = s.clone().requires_grad_(True), s.clone().requires_grad_(True)
    losses.soft_kl(s1, t, temperature).backward()
    losses.soft_cross_entropy(s2, t, temperature).backward()
    assert torch.allclose(s1.grad, s2.grad, atol=1e-7)
    # They differ by the teacher's entropy, a constant for the student.
    p = losses.softmax_t(t, temperature)
    entropy = -(p * p.log()).sum(1).mean()
    assert torch.allclose(losses.soft_cross_entropy(s, t, temperature), losses.soft_kl(s, t, temperature) + entropy, rtol=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.9])
def test_hinton_below_alpha_1_mixes_in_label_cross_entropy(logits, alpha):
    s, t, y = logits
    T = 4.0
    expected = alpha * T**2 * _kl_by_hand(s, t, T) + (1 - alpha) * F.cross_entropy(s, y)
    assert torch.allclose(losses.hinton(s, t, y, T, alpha), expected, rtol=1e-4)
    assert torch.allclose(losses.distillation_loss("hinton", s, t, y, T, alpha), expected, rtol=1e-4)
    # The CE part really depends on the labels.
    assert not torch.allclose(losses.hinton(s, t, (y + 1) % 10, T, alpha), expected)


def test_soft_mse_loss_below_alpha_1_mixes_in_label_cross_entropy(logits):
    s, t, y = logits
    expected = 0.6 * losses.soft_mse(s, t, 2.0) + 0.4 * F.cross_entropy(s, y)
    assert torch.allclose(losses.distillation_loss("soft_mse", s, t, y, 2.0, 0.6), expected)
    assert torch.allclose(losses.distillation_loss("soft_mse", s, t, None, 2.0, 1.0), losses.soft_mse(s, t, 2.0))


def test_alpha_below_1_without_labels_and_unknown_losses_are_errors(logits):
    s, t, _ = logits
    with pytest.raises(ValueError, match="needs labels"):
        losses.hinton(s, t, None, 4.0, 0.5)
    with pytest.raises(ValueError, match="needs labels"):
        losses.distillation_loss("soft_mse", s, t, None, 4.0, 0.5)
    with pytest.raises(ValueError, match="unknown loss"):
        losses.distillation_loss("l1", s, t, None, 4.0, 1.0)


def test_teacher_targets_are_computed_in_eval_mode():
    teacher = build_model(NetSpec(hidden=(64, 64), dropout=(0.5, 0.5)), seed=1)
    teacher.train()  # a teacher left in training mode: dropout would corrupt its targets
    x = torch.rand(300, 784, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        noisy_a, noisy_b = teacher(x), teacher(x)
    assert not torch.allclose(noisy_a, noisy_b)  # dropout is really active in train mode

    first = training.teacher_logits(teacher, x)
    second = training.teacher_logits(teacher, x)
    teacher.eval()
    with torch.no_grad():
        clean = teacher(x)
    assert torch.equal(first, second)
    assert torch.allclose(first, clean)
    assert not first.requires_grad


def test_predict_logits_restores_the_training_mode():
    model = build_model(NetSpec(hidden=(8,), dropout=(0.5,)), seed=0)
    model.train()
    training.predict_logits(model, torch.rand(5, 784), batch_size=2)
    assert model.training
