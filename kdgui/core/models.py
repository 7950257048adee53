"""MLPs built from a NetSpec, with parameter counts and sizes for comparing teacher and student."""

from __future__ import annotations

import torch
from torch import nn

from .config import NetSpec

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


class MLP(nn.Module):
    """784 -> hidden... -> 10 with an activation and dropout after every hidden layer; outputs logits."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        if spec.input_dropout > 0:
            layers.append(nn.Dropout(spec.input_dropout))
        sizes = spec.layer_sizes
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(spec.hidden):
                layers.append(_ACTIVATIONS[spec.activation]())
                if spec.dropout[i] > 0:
                    layers.append(nn.Dropout(spec.dropout[i]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))

    @property
    def output_layer(self) -> nn.Linear:
        return self.layers[-1]


def build_model(spec: NetSpec, seed: int | None = None) -> MLP:
    """A fresh MLP; with a seed its initial weights are reproducible."""
    if seed is None:
        return MLP(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(spec)


def parameter_count(spec_or_model: NetSpec | nn.Module) -> int:
    """Weights plus biases, computed from the spec without building the network."""
    if isinstance(spec_or_model, nn.Module):
        return sum(p.numel() for p in spec_or_model.parameters())
    sizes = spec_or_model.layer_sizes
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def size_bytes(spec_or_model: NetSpec | nn.Module, bytes_per_parameter: int = 4) -> int:
    """Bytes the parameters take (float32 by default), the bulk of a saved state_dict."""
    return parameter_count(spec_or_model) * bytes_per_parameter


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
