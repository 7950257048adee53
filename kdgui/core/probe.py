"""Probing a digit: shift, rotate, thicken or thin it, for a batch of settings at once, to see where a network changes its mind."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch
import torch.nn.functional as F

from .augment import affine_from, affine_grid, resample
from .config import IMAGE_PIXELS, IMAGE_SIDE

# What the Draw tab's sliders allow: a few pixels either way, a quarter turn, two pixels of pen either way.
LIMITS = {"dx": 8.0, "dy": 8.0, "angle": 90.0, "thickness": 2.0}


@dataclass(frozen=True)
class Probe:
    """One way to change a digit: move it ``dx`` pixels right and ``dy`` down, rotate it ``angle`` degrees clockwise
    about the centre, and thicken its strokes by ``thickness`` pixels a side (negative: thin them)."""

    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0
    thickness: float = 0.0

    @property
    def identity(self) -> bool:
        return self.dx == 0 and self.dy == 0 and self.angle == 0 and self.thickness == 0


def dilate(images: torch.Tensor) -> torch.Tensor:
    """Every pixel of [N, 1, H, W] images becomes the brightest of its 3x3 neighbourhood: strokes grow a pixel a side."""
    return F.max_pool2d(images, 3, stride=1, padding=1)


def erode(images: torch.Tensor) -> torch.Tensor:
    """Every pixel becomes the darkest of its 3x3 neighbourhood (outside the frame counts as background)."""
    return -F.max_pool2d(-F.pad(images, (1, 1, 1, 1)), 3, stride=1)


def thicken(images: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
    """[N, 1, H, W] images with strokes ``amounts[i]`` pixels a side thicker (negative: thinner), per image.

    Whole pixels are repeated dilations (erosions); a fraction blends with the next step, so a slider moves smoothly.
    """
    out = images
    most = int(math.ceil(float(amounts.abs().max()))) if len(amounts) else 0
    grow = amounts.view(-1, 1, 1, 1)
    for step in range(most):
        # How much of this step each image takes: 1 for whole pixels still to go, the fraction for the last one.
        weight_grow = (grow - step).clamp(0, 1)
        weight_thin = (-grow - step).clamp(0, 1)
        if bool((weight_grow > 0).any()):
            out = out + weight_grow * (dilate(out) - out)
        if bool((weight_thin > 0).any()):
            out = out + weight_thin * (erode(out) - out)
    return out


def apply_probes(pixels: torch.Tensor, probes: Sequence[Probe]) -> torch.Tensor:
    """[len(probes), 784]: the one digit ``pixels`` ([784], values in [0, 1]) changed by each probe, in one batch.

    Thickness first (on the digit as drawn), then rotation and shift about the centre, bilinear, background coming
    in at the edges (augment's affine maps, so these move a digit exactly as augmentation does).
    """
    n = len(probes)
    if n == 0:
        return torch.zeros(0, IMAGE_PIXELS)
    image = pixels.reshape(1, 1, IMAGE_SIDE, IMAGE_SIDE).float().cpu()
    values = torch.tensor([[p.dx, p.dy, p.angle, p.thickness] for p in probes], dtype=torch.float64)
    images = thicken(image.expand(n, 1, IMAGE_SIDE, IMAGE_SIDE), values[:, 3].float())
    moved = values[:, :3].abs().sum(1) > 0
    if bool(moved.any()):
        theta = affine_from(torch.deg2rad(values[:, 2]), torch.ones(n, dtype=torch.float64),
                            torch.zeros(n, dtype=torch.float64), values[:, :2])
        warped = resample(images, affine_grid(theta))
        # Untouched images stay bit for bit what they were: bilinear sampling at the pixel centres is exact only
        # up to rounding, and "identity at zero" should be exact.
        images = torch.where(moved.view(-1, 1, 1, 1), warped, images)
    return images.reshape(n, IMAGE_PIXELS).clamp(0, 1)


def apply_probe(pixels: torch.Tensor, probe: Probe) -> torch.Tensor:
    """The digit ``pixels`` [784] changed by ``probe``: [784]."""
    return apply_probes(pixels, [probe])[0]


def sweep(probe: Probe, name: str, values: Sequence[float]) -> list[Probe]:
    """``probe`` with its setting ``name`` (dx, dy, angle or thickness) set to each of ``values`` in turn."""
    if name not in LIMITS:
        raise ValueError(f"no probe setting {name!r}: choose one of {', '.join(LIMITS)}")
    return [replace(probe, **{name: float(v)}) for v in values]


def ink(pixels: torch.Tensor) -> torch.Tensor:
    """Total ink of [..., 784] images: the sum of their pixel values."""
    return pixels.reshape(*pixels.shape[:-1], -1).sum(-1)
