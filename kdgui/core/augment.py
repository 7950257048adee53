"""Random affine and elastic distortions of whole batches of flat MNIST images, as batched tensor ops.

One call distorts a whole batch: the per-image affine matrices are built as tensors, ``F.affine_grid`` turns
them into one sampling grid, an elastic displacement field (Simard, Steinkraus and Platt, 2003: uniform
noise in [-1, 1] smoothed by a Gaussian of sigma pixels, scaled by alpha pixels) is added to that grid, and
one ``F.grid_sample`` resamples every image (bilinear, zero outside the frame). There is no per-image Python.
All randomness comes from the ``torch.Generator`` given (drawn on the CPU, so a seed gives the same images on
every device), so a run is reproducible from its seed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import IMAGE_PIXELS, IMAGE_SIDE, AugmentConfig

_PIXEL = 2.0 / IMAGE_SIDE  # one pixel in grid_sample's normalised coordinates (align_corners=False)


def affine_matrices(n: int, config: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """[n, 2, 3] matrices mapping output to input coordinates (normalised, as ``F.affine_grid`` takes them).

    Per image, uniformly at random: a rotation within ±rotate degrees, a scale factor in 1 ± scale (the digit
    grows by it), a horizontal shear within ±shear degrees, and a shift within ±shift pixels each way.
    """
    u = torch.rand(n, 5, generator=generator, dtype=torch.float64) * 2 - 1  # [-1, 1): angle, scale, shear, dx, dy
    return affine_from(u[:, 0] * math.radians(config.rotate), 1 + u[:, 1] * config.scale,
                       torch.tan(u[:, 2] * math.radians(config.shear)), u[:, 3:5] * config.shift)


def affine_from(angle: torch.Tensor, zoom: torch.Tensor, shear: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """[n, 2, 3] matrices (as ``F.affine_grid`` takes them) that rotate each image by ``angle`` radians (clockwise
    on screen), grow it by ``zoom``, shear it by ``shear`` (a tangent) and move it by ``shift`` [n, 2] pixels
    (right, down); all about the image's centre. Every argument holds one value per image."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Forward map (input -> output) = translate . rotate . shear . scale; grid_sample needs its inverse.
    # Inverse of scale . shear . rotate: (1/zoom) * [[1, -shear], [0, 1]] @ [[cos, sin], [-sin, cos]].
    a = (cos + shear * sin) / zoom
    b = (sin - shear * cos) / zoom
    c = -sin / zoom
    d = cos / zoom
    linear = torch.stack([torch.stack([a, b], 1), torch.stack([c, d], 1)], 1)  # [n, 2, 2]
    offset = shift * _PIXEL  # the shift, in normalised units
    translation = -(linear @ offset.unsqueeze(2))  # sample at A (p - t): the digit moves by +t
    return torch.cat([linear, translation], 2).float()


def gaussian_matrix(sigma: float, side: int = IMAGE_SIDE) -> torch.Tensor:
    """[side, side] matrix G with G @ v = v convolved with a normalised Gaussian of ``sigma`` pixels (radius 3 sigma),
    zero beyond the frame: smoothing a field f is then two small matmuls, G @ f @ G.T."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    i = torch.arange(side)
    offset = i.view(1, -1) - i.view(-1, 1)  # column - row
    inside = offset.abs() <= radius
    return torch.where(inside, k[(offset + radius).clamp(0, 2 * radius)], torch.zeros((), dtype=torch.float64)).float()


def elastic_field(n: int, alpha: float, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """[n, 28, 28, 2] displacements in pixels (x, y): uniform noise in [-1, 1], Gaussian-smoothed, times alpha.

    The smoothing is separable, zero beyond the frame (as Simard et al. convolve), done as G @ noise @ G.T.
    """
    noise = torch.rand(n, 2, IMAGE_SIDE, IMAGE_SIDE, generator=generator) * 2 - 1
    g = gaussian_matrix(sigma)
    smooth = g @ noise @ g.T
    return (smooth * alpha).permute(0, 2, 3, 1)


_BASE: torch.Tensor | None = None


def _base_grid() -> torch.Tensor:
    """[28 * 28, 3] rows (x, y, 1): every pixel centre in normalised coordinates, as F.affine_grid lays them."""
    global _BASE
    if _BASE is None:
        c = (torch.arange(IMAGE_SIDE, dtype=torch.float32) * 2 + 1) / IMAGE_SIDE - 1
        ys, xs = torch.meshgrid(c, c, indexing="ij")
        _BASE = torch.stack([xs.reshape(-1), ys.reshape(-1), torch.ones(IMAGE_SIDE**2)], 1)
    return _BASE


def sampling_grid(n: int, config: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """The [n, 28, 28, 2] grid ``F.grid_sample`` reads each output pixel from (CPU, normalised coordinates).

    Equal to ``F.affine_grid(affine_matrices(...), align_corners=False)``, as one matmul (affine_grid is slow on
    small images), plus the elastic field when the config has one.
    """
    grid = affine_grid(affine_matrices(n, config, generator))
    if config.kind == "affine+elastic" and config.elastic_alpha > 0:
        grid = grid + elastic_field(n, config.elastic_alpha, config.elastic_sigma, generator) * _PIXEL
    return grid


def affine_grid(theta: torch.Tensor) -> torch.Tensor:
    """``F.affine_grid(theta, [n, 1, 28, 28], align_corners=False)`` for [n, 2, 3] ``theta``, as one matmul (CPU)."""
    return (_base_grid() @ theta.transpose(1, 2)).view(len(theta), IMAGE_SIDE, IMAGE_SIDE, 2)


def resample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Images [N, 1, 28, 28] read at ``grid`` [N, 28, 28, 2]: bilinear, background (0) outside the frame."""
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment(
    x: torch.Tensor, config: AugmentConfig, generator: torch.Generator | None = None, *, mean: float = 0.0,
    std: float = 1.0,
) -> torch.Tensor:
    """A freshly distorted copy of the batch ``x`` [N, 784] (or [N, 1, 28, 28]) as [N, 784], on x's device.

    ``mean`` and ``std`` undo a standardisation first (and redo it after), so the area the distortion
    brings into the frame is background, as in MNIST. An inactive config (kind none, or every strength 0)
    returns ``x`` itself, untouched, and draws nothing from the generator.
    """
    n = len(x)
    if not config.active or n == 0:
        return x
    grid = sampling_grid(n, config, generator).to(x.device)
    images = x.reshape(n, 1, IMAGE_SIDE, IMAGE_SIDE).float()
    if mean != 0.0 or std != 1.0:
        images = images * std + mean
    out = resample(images, grid)
    if mean != 0.0 or std != 1.0:
        out = (out - mean) / std
    return out.reshape(n, IMAGE_PIXELS).to(x.dtype)
