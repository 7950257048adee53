"""Networks built from a NetSpec (MLPs and CNNs), with parameter counts and sizes for comparing teacher and student."""

from __future__ import annotations

import torch
from torch import nn

from .config import IMAGE_SIDE, NetSpec

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def _dense_layers(spec: NetSpec, *, input_dropout: bool) -> list[nn.Module]:
    """Linear layers over ``spec.layer_sizes``, the activation and dropout after each hidden one."""
    layers: list[nn.Module] = []
    if input_dropout and spec.input_dropout > 0:
        layers.append(nn.Dropout(spec.input_dropout))
    sizes = spec.layer_sizes
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(spec.hidden):
            layers.append(_ACTIVATIONS[spec.activation]())
            if spec.dropout[i] > 0:
                layers.append(nn.Dropout(spec.dropout[i]))
    return layers


class MLP(nn.Module):
    """784 -> hidden... -> 10 with an activation and dropout after every hidden layer; outputs logits."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        if spec.is_cnn:
            raise ValueError(f"{spec.describe()} is a CNN: build it with build_model")
        self.spec = spec
        layers = _dense_layers(spec, input_dropout=True)
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))

    @property
    def output_layer(self) -> nn.Linear:
        return self.layers[-1]


class CNN(nn.Module):
    """Flat [N, 784] pixels (or [N, 1, 28, 28]) -> conv blocks -> dense hidden... -> 10 logits.

    Each conv block is a ``kernel`` x ``kernel`` convolution with "same" padding, the activation and 2x2
    pooling; the images are reshaped inside, so the rest of kdgui feeds a CNN exactly as it feeds an MLP.
    """

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        if not spec.is_cnn:
            raise ValueError(f"{spec.describe()} is not a CNN")
        self.spec = spec
        blocks: list[nn.Module] = [nn.Dropout(spec.input_dropout)] if spec.input_dropout > 0 else []
        channels = 1
        for width in spec.conv:
            blocks += [nn.Conv2d(channels, width, spec.kernel, padding=spec.kernel // 2),
                       _ACTIVATIONS[spec.activation](), _POOLS[spec.pool](2)]
            channels = width
        self.features = nn.Sequential(*blocks)
        self.layers = nn.Sequential(*_dense_layers(spec, input_dropout=False))
        # Channels-last weights: oneDNN convolves about twice as fast on a CPU. The same numbers in another memory
        # layout: outputs and state_dict are unchanged, and exports and saved weights are ordinary tensors.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # -1, not len(x): a traced or exported graph keeps a dynamic batch dimension.
        return self.layers(self.features(x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)).flatten(1))

    @property
    def output_layer(self) -> nn.Linear:
        return self.layers[-1]


Network = MLP | CNN


def _new(spec: NetSpec) -> Network:
    return CNN(spec) if spec.is_cnn else MLP(spec)


def build_model(spec: NetSpec, seed: int | None = None) -> Network:
    """A fresh network of ``spec``'s architecture; with a seed its initial weights are reproducible."""
    if seed is None:
        return _new(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _new(spec)


def parameter_count(spec_or_model: NetSpec | nn.Module) -> int:
    """Weights plus biases, computed from the spec without building the network."""
    if isinstance(spec_or_model, nn.Module):
        return sum(p.numel() for p in spec_or_model.parameters())
    spec = spec_or_model
    channels, conv = (1, *spec.conv), 0
    for fan_in, fan_out in zip(channels[:-1], channels[1:]):
        conv += fan_in * fan_out * spec.kernel**2 + fan_out
    sizes = spec.layer_sizes
    return conv + sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def size_bytes(spec_or_model: NetSpec | nn.Module, bytes_per_parameter: int = 4) -> int:
    """Bytes the parameters take (float32 by default), the bulk of a saved state_dict."""
    return parameter_count(spec_or_model) * bytes_per_parameter


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"

