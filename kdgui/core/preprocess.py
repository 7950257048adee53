"""Turn a drawn digit (any size, ink high on zero) into a 784-pixel MNIST-style input, the way MNIST itself was made."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .config import IMAGE_PIXELS

FRAME = 28  # MNIST images are 28x28
FIT = 20  # MNIST scaled each digit so its longer side fits a 20x20 box, keeping the aspect ratio
# Centre of mass target, in pixel-index coordinates (pixel (r, c) sits at (r, c), so a 28-pixel frame spans
# 0..27 and its geometric centre is 13.5). MNIST's own digits have their centre of mass at (14.0, 14.0) with a
# spread of 0.29 px (measured on the seed split's 50,000 training images), half a pixel past the geometric
# centre; the networks learnt that placement, so we copy it rather than 13.5.
CENTRE = 14.0
INK_LEVEL = 0.1  # pixels at least this bright (of 1) are ink when finding the bounding box; fainter is smudge
MIN_EXTENT_FRACTION = 0.1  # ink spanning less than a tenth of the canvas is a dot or a tap, not a digit ...
MIN_EXTENT_PIXELS = 3  # ... and on any canvas, 1-2 pixels of ink cannot be a digit
MIN_MASS = 4.0  # a 28x28 result with less ink than 4 full pixels is scatter (MNIST's faintest digit holds 20)


@dataclass(frozen=True)
class Preprocessed:
    """The 784 pixels in [0,1], or None with the reason the canvas counts as empty (fit to show a user)."""

    pixels: torch.Tensor | None
    reason: str = ""


def to_unit_image(image: Any) -> np.ndarray:
    """A 2-D float32 copy in [0,1]: uint8 and anything brighter than 1 are read as 0..255, else as 0..1."""
    # numpy rather than torch up to the crop: on a few hundred thousand pixels its per-call overhead is far
    # lower, and torch's intra-op threads only add latency to such small work (the budget is milliseconds).
    if isinstance(image, torch.Tensor):
        t = image.detach().to("cpu")
        image = (t.float() if t.dtype == torch.bfloat16 else t).numpy()  # numpy has no bfloat16
    try:
        a = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"expected a 2-D image array or tensor, got {type(image).__name__}") from exc
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"expected a 2-D image (height x width), got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"expected an image of numbers, got dtype {a.dtype}")
    eight_bit = a.dtype == np.uint8
    a = a.astype(np.float32, copy=True)  # a copy: the caller's canvas buffer is never modified
    if not np.isfinite(a).all():
        raise ValueError("the image holds NaN or infinite values")
    # Canvases come as uint8 0..255 or float 0..1; a float image brighter than 1 can only be on the 0..255 scale.
    if eight_bit or float(a.max()) > 1.0:
        a *= np.float32(1 / 255)
    return np.clip(a, 0.0, 1.0, out=a)


def _span(line: np.ndarray) -> tuple[int, int]:
    """First and one-past-last index where ``line`` is True (it has at least one)."""
    return int(line.argmax()), len(line) - int(line[::-1].argmax())


def _resize(crop: torch.Tensor, height: int, width: int) -> torch.Tensor:
    # Bilinear with antialias=True is a proper low-pass (triangle) filter when shrinking, so every output pixel
    # averages the ink it covers and strokes turn into MNIST-like grey edges instead of aliased stairs; when
    # enlarging (a tiny drawing) it is plain bilinear interpolation, which keeps edges soft as well.
    out = F.interpolate(crop[None, None], size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return out[0, 0].clamp_(0.0, 1.0)  # the filter can overshoot 1 by rounding; MNIST pixels stay in [0,1]


def preprocess_detailed(
    image: Any, *, min_extent_fraction: float = MIN_EXTENT_FRACTION, min_mass: float = MIN_MASS
) -> Preprocessed:
    """:func:`preprocess`, but an empty canvas comes with the reason (blank, too small, too faint)."""
    img = to_unit_image(image)
    height, width = img.shape

    # 1. Find the ink. Only clearly drawn pixels count, so faint smudges or antialiasing halos far from the
    #    strokes cannot stretch the bounding box.
    mask = img >= INK_LEVEL
    if not bool(mask.any()):
        return Preprocessed(None, "the canvas is empty: draw a digit")

    # 2. Crop to the ink's bounding box: MNIST normalised the digit itself, so where on the canvas it was
    #    drawn, and how much empty space surrounds it, must not matter.
    top, bottom = _span(mask.any(1))
    left, right = _span(mask.any(0))
    h, w = bottom - top, right - left
    longest = max(h, w)
    # A dot or a tap would otherwise be blown up to a 20x20 blob and classified with confidence: refuse it.
    if longest < max(MIN_EXTENT_PIXELS, min_extent_fraction * min(height, width)):
        return Preprocessed(None, "too little ink to be a digit: draw a bigger digit")
    crop = torch.from_numpy(np.ascontiguousarray(img[top:bottom, left:right]))

    # 3. Scale the longer side to 20 pixels keeping the aspect ratio (a "1" stays thin), anti-aliased. Each
    #    side is at least one pixel so a perfectly straight stroke survives.
    scale = FIT / longest
    fh, fw = max(1, min(FIT, math.floor(h * scale + 0.5))), max(1, min(FIT, math.floor(w * scale + 0.5)))
    fitted = _resize(crop, fh, fw)
    mass = float(fitted.sum())
    if mass < min_mass:
        return Preprocessed(None, "the drawing is too faint or scattered to be a digit")

    # 4. Place it in the 28x28 frame so its centre of mass lands on MNIST's centre. MNIST translated by whole
    #    pixels (no resampling blur), so we do too: rounding leaves the centre of mass within half a pixel of
    #    the target. Like MNIST, centring wins over keeping every pixel: a very lopsided digit (a "7" with a
    #    heavy top bar) may have the far end of its stroke cut by the frame. MNIST's own digits point that way:
    #    all but one in 50,000 have their centre of mass within half a pixel of (14, 14), yet 723 of the 60,000
    #    training digits touch the bottom row (2 touch the top), so placement was never traded for fitting.
    weights = fitted.double()  # float64 so a symmetric stroke's centre is exactly on the half pixel it should be
    cy = float((weights.sum(1) * torch.arange(fh, dtype=torch.float64)).sum() / weights.sum())
    cx = float((weights.sum(0) * torch.arange(fw, dtype=torch.float64)).sum() / weights.sum())
    row, col = math.floor(CENTRE - cy + 0.5), math.floor(CENTRE - cx + 0.5)
    frame = torch.zeros(FRAME, FRAME)
    r0, r1 = max(0, -row), min(fh, FRAME - row)  # the fitted rows and columns that fall inside the frame
    c0, c1 = max(0, -col), min(fw, FRAME - col)
    frame[row + r0 : row + r1, col + c0 : col + c1] = fitted[r0:r1, c0:c1]
    return Preprocessed(frame.reshape(IMAGE_PIXELS))


def preprocess(image: Any) -> torch.Tensor | None:
    """A 2-D image (H x W, numpy or torch, 0..255 or 0..1, ink high on a zero background) as MNIST's 784 pixels.

    Returns a float32 tensor of shape [784] with values in [0,1], laid out like an MNIST digit: the ink's
    bounding box scaled (aspect kept, anti-aliased) so its longer side is 20 pixels, placed in a 28x28 frame
    with its centre of mass within half a pixel of (14, 14) (pixel-index coordinates, MNIST's own placement;
    as in MNIST, the frame may cut the far end of a very lopsided digit, which moves the remaining ink's centre
    a little).
    Returns None when the canvas is empty or nearly so: no pixel reaches 0.1; or the ink's bounding box spans
    less than a tenth of the canvas's shorter side (or under 3 pixels) - a dot, not a digit; or the 28x28
    result holds less ink than 4 full pixels.
    """
    return preprocess_detailed(image).pixels
