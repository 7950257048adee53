"""Many MLP students of one network as stacked tensors, trained as one batched computation (sweeps, the best recipe)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import NetSpec
from .errors import ConfigError
from .models import build_model

_EVAL_ELEMENTS = 8_000_000  # hidden activations per evaluation chunk (32 MB of float32), whatever the student count
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    # The functional forms of models._ACTIVATIONS with the same defaults, so a stacked student equals an MLP.
    "relu": F.relu,
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "sigmoid": torch.sigmoid,
    "leaky_relu": F.leaky_relu,
}


class StackedStudents:
    """K MLPs of one NetSpec as stacked tensors; student k is in group k // per_group, and a group shares its batches.

    Everything is laid out class-major, [K, features, batch]: a group's first layer is one
    [per_group * width, 784] matrix (the students' nn.Linear weights one under another), so students
    that see the same batch share one big matmul, later layers are batched matmuls, and the logits come
    out as [K, classes, batch], where softmax over classes is a fast reduction (a last dim of 10 is slow).
    Every student starts from exactly the weights ``build_model(spec, seed)`` gives for its group's seed.
    """

    def __init__(self, spec: NetSpec, group_seeds: Sequence[int], per_group: int, device: torch.device | str = "cpu") -> None:
        if spec.is_cnn:
            raise ConfigError("stacked students are MLPs")
        if spec.input_dropout > 0 or any(p > 0 for p in spec.dropout):
            raise ConfigError("stacked students train without dropout")
        self.spec = spec
        self.groups = len(group_seeds)
        self.per_group = per_group
        self.count = self.groups * per_group
        self._act = _ACTIVATIONS[spec.activation]
        templates = [build_model(spec, seed=s) for s in group_seeds]
        self._keys = [f"layers.{name}" for name, m in templates[0].layers.named_children() if isinstance(m, nn.Linear)]
        linears = [[m for m in t.layers if isinstance(m, nn.Linear)] for t in templates]
        with torch.no_grad():
            weights = [torch.stack([lin[0].weight.repeat(per_group, 1) for lin in linears])]  # [S, P*H, 784]
            biases = [torch.stack([lin[0].bias.repeat(per_group) for lin in linears]).unsqueeze(2)]  # [S, P*H, 1]
            for i in range(1, len(self._keys)):
                per_student = [lin[i] for lin in linears for _ in range(per_group)]
                weights.append(torch.stack([m.weight for m in per_student]))  # [K, out, in]
                biases.append(torch.stack([m.bias for m in per_student]).unsqueeze(2))  # [K, out, 1]
        self.weights = [w.detach().clone().contiguous().to(device).requires_grad_() for w in weights]
        self.biases = [b.detach().clone().contiguous().to(device).requires_grad_() for b in biases]

    def parameters(self) -> list[torch.Tensor]:
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [K, classes, B] from per-group batches x [groups, B, 784], or from one batch [B, 784] for all."""
        w0, b0 = self.weights[0], self.biases[0]
        width = self.spec.hidden[0]
        if x.dim() == 2:
            # Everyone sees the same images (evaluation): all students' first layers are one matmul.
            h = torch.addmm(b0.reshape(-1, 1), w0.reshape(-1, w0.shape[-1]), x.t())
        else:
            h = torch.baddbmm(b0, w0, x.transpose(1, 2))
        h = self._act(h.view(self.count, width, -1))
        last = len(self.weights) - 1
        for i in range(1, last + 1):
            h = torch.baddbmm(self.biases[i], self.weights[i], h)
            if i < last:
                h = self._act(h)
        return h

    def state_dict_of(self, k: int) -> dict[str, torch.Tensor]:
        """Student k's weights with the keys of ``MLP.state_dict()`` (a copy, on the CPU)."""
        group, member = divmod(k, self.per_group)
        width = self.spec.hidden[0]
        rows = slice(member * width, (member + 1) * width)
        state = {
            f"{self._keys[0]}.weight": self.weights[0][group, rows],
            f"{self._keys[0]}.bias": self.biases[0][group, rows, 0],
        }
        for key, w, b in zip(self._keys[1:], self.weights[1:], self.biases[1:]):
            state[f"{key}.weight"] = w[k]
            state[f"{key}.bias"] = b[k, :, 0]
        return {name: t.detach().cpu().clone().contiguous() for name, t in state.items()}

    def _chunk(self, n: int) -> int:
        """Images per evaluation chunk: about _EVAL_ELEMENTS hidden activations, whatever the student count."""
        return max(1, min(n, _EVAL_ELEMENTS // (self.count * max(self.spec.hidden))))

    @torch.no_grad()
    def accuracies(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Each student's accuracy on ``x, y``."""
        chunk = self._chunk(len(x))
        correct = torch.zeros(self.count, dtype=torch.long, device=x.device)
        for i in range(0, len(x), chunk):
            correct += (self(x[i : i + chunk]).argmax(1) == y[i : i + chunk]).sum(1)
        return (correct.double() / max(1, len(x))).tolist()

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Each student's mean cross-entropy and accuracy on ``x, y``."""
        chunk = self._chunk(len(x))
        loss = torch.zeros(self.count, dtype=torch.float64, device=x.device)
        correct = torch.zeros(self.count, dtype=torch.long, device=x.device)
        for i in range(0, len(x), chunk):
            logits, labels = self(x[i : i + chunk]), y[i : i + chunk]  # [K, C, b], [b]
            loss += F.cross_entropy(logits, labels.expand(self.count, -1), reduction="none").sum(1).double()
            correct += (logits.argmax(1) == labels).sum(1)
        n = max(1, len(x))
        return (loss / n).tolist(), (correct.double() / n).tolist()


def soft_targets(kind: str, teacher_logits: torch.Tensor, temperatures: Sequence[float]) -> torch.Tensor:
    """The teacher's softened outputs [N, T, C] per image and temperature: probabilities for soft_mse,
    log-probabilities for hinton.

    They never change during a sweep, so computing them once saves a softmax per batch; row by row
    they are what losses.py computes from the same logits. Image-major, so a batch is one index_select.
    """
    t = torch.tensor(list(temperatures), dtype=teacher_logits.dtype, device=teacher_logits.device).view(1, -1, 1)
    scaled = teacher_logits.unsqueeze(1) / t
    return (F.log_softmax(scaled, -1) if kind == "hinton" else F.softmax(scaled, -1)).contiguous()


def batched_distillation_loss(
    kind: str, logits: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor | None, temperatures: torch.Tensor,
    alpha: float | torch.Tensor,
) -> torch.Tensor:
    """Per-student losses [K] for class-major logits [K, C, B], soft_targets [K, C, B] and labels [K, B].

    ``alpha`` is one for all, or per student [K] (then the label term is added whenever ``labels`` are given: checking
    the alphas here would wait for the GPU every batch). Student k's loss equals
    ``losses.distillation_loss(kind, logits[k].T, teacher_k.T, labels[k], T_k, alpha_k)``.
    """
    t = temperatures.view(-1, 1, 1)
    batch = logits.shape[2]
    if kind == "soft_mse":
        loss = alpha * (F.softmax(logits / t, 1) - targets).pow(2).mean((1, 2))
    elif kind == "hinton":
        kl = F.kl_div(F.log_softmax(logits / t, 1), targets, reduction="none", log_target=True)
        loss = alpha * temperatures.pow(2) * kl.sum((1, 2)) / batch
    else:
        raise ValueError(f"unknown loss {kind!r}")
    # Per student, alpha 1 makes the label term 0 * CE: nothing, to the value and the gradient, as a solo run skips it.
    if (labels is not None) if isinstance(alpha, torch.Tensor) else alpha < 1:
        if labels is None:
            raise ValueError(f"{kind} loss with alpha < 1 needs labels")
        loss = loss + (1 - alpha) * F.cross_entropy(logits, labels, reduction="none").mean(1)
    return loss
