"""Drawn-digit robustness set: MNIST test digits re-rendered the way the Draw tab's canvas draws a digit.

A digit drawn on the canvas is not an MNIST digit: it is a pen trace of one fixed width, often slanted, of any
size, anywhere on a 280x280 canvas, which ``preprocess`` then crops, scales and centres. To measure how well a
network reads such digits without asking anyone to draw thousands of them, each test digit is

1. enlarged 4x and thinned to a one-pixel skeleton (Zhang and Suen's 1984 thinning, every image of the batch
   at once as tensor ops),
2. traced again on a 280x280 canvas with a round pen (the skeleton's points, placed with the variant's size,
   slant and position, stamped with a disk of the pen's width, by FFT convolution, for the whole batch), and
3. run through ``preprocess.preprocess`` exactly as a canvas drawing is (crop to the ink, longest side to 20
   pixels, centre of mass at MNIST's centre).

Everything is deterministic (no randomness at all) and computed on demand; the set is never stored. Variants
change one thing at a time from the canvas's own drawing (pen 22 px, a digit 200 px tall, upright, centred).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import IMAGE_PIXELS, IMAGE_SIDE
from .preprocess import preprocess

CANVAS = 280  # the canvas's ink image (kdgui.ui.widgets.drawing_canvas.CANVAS_SIZE)
CANVAS_PEN = 22.0  # the canvas's stroke width (drawing_canvas.STROKE_WIDTH)
UPSCALE = 4  # the digit is thinned at 4x MNIST's resolution, so the skeleton follows the stroke closely
INK = 0.5  # an enlarged MNIST pixel at least this bright is stroke when thinning


@dataclass(frozen=True)
class DrawnVariant:
    """How a digit is redrawn: pen width and the digit's size (its longer side, ink included) in canvas pixels,
    slant (a shear: the top moves right by ``slant`` times its height above the centre for a positive slant),
    and the digit's centre offset from the canvas centre."""

    title: str
    pen: float = CANVAS_PEN
    size: float = 200.0
    slant: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)  # (right, down) in canvas pixels


VARIANTS: dict[str, DrawnVariant] = {
    "canvas": DrawnVariant("As the canvas draws: pen 22 px, 200 px across, upright, centred"),
    "thin-pen": DrawnVariant("Thin pen (10 px)", pen=10.0),
    "thick-pen": DrawnVariant("Thick pen (36 px)", pen=36.0),
    "slant-right": DrawnVariant("Slanted right (shear 0.35, about 19°)", slant=0.35),
    "slant-left": DrawnVariant("Slanted left (shear -0.35)", slant=-0.35),
    "small": DrawnVariant("Small: 100 px across (the pen looks thicker once scaled)", size=100.0),
    "large": DrawnVariant("Large: 260 px across (the pen looks thinner once scaled)", size=260.0),
    "off-centre": DrawnVariant("Off-centre: 150 px across, near the top-left corner", size=150.0, offset=(-55.0, -55.0)),
}


def _removal_tables() -> torch.Tensor:
    """[2, 256] bool: for each sub-iteration of Zhang-Suen thinning, whether a stroke pixel whose 8 neighbours
    (bit i set: neighbour P(i+2) is ink, clockwise from north) form that code is removed."""
    tables = torch.zeros(2, 256, dtype=torch.bool)
    for code in range(256):
        n = [(code >> i) & 1 for i in range(8)]  # P2 (N), P3 (NE), P4 (E), P5 (SE), P6 (S), P7 (SW), P8 (W), P9 (NW)
        b = sum(n)
        a = sum(1 for i in range(8) if n[i] == 0 and n[(i + 1) % 8] == 1)
        p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
        if 2 <= b <= 6 and a == 1:
            tables[0, code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
            tables[1, code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return tables


_TABLES: torch.Tensor | None = None


def _codes(img: torch.Tensor) -> torch.Tensor:
    """Every pixel's 8-neighbour code (uint8, bit i: neighbour P(i+2), clockwise from north) of images [N, H, W]."""
    p = F.pad(img, (1, 1, 1, 1))
    neighbours = (p[:, :-2, 1:-1], p[:, :-2, 2:], p[:, 1:-1, 2:], p[:, 2:, 2:], p[:, 2:, 1:-1], p[:, 2:, :-2],
                  p[:, 1:-1, :-2], p[:, :-2, :-2])
    code = neighbours[0].clone()
    for bit, n in enumerate(neighbours[1:], 1):
        code |= n << bit
    return code


def zhang_suen_thin(ink: torch.Tensor, max_iterations: int = 200) -> torch.Tensor:
    """Thin binary images [N, H, W] (bool) to one-pixel-wide skeletons, every image at once (Zhang and Suen, 1984).

    Each sub-iteration gives every pixel its neighbourhood's 8-bit code (shifted views, bitwise or) and looks
    it up in a 256-entry table of the algorithm's removal conditions.
    """
    global _TABLES
    if _TABLES is None:
        _TABLES = _removal_tables()
    img = ink.to(torch.uint8)
    for _ in range(max_iterations):
        changed = False
        for table in _TABLES:
            remove = table[_codes(img).long()] & img.bool()
            if bool(remove.any()):
                img = img.masked_fill(remove, 0)
                changed = True
        if not changed:
            break
    return img.bool()


def skeletons(images: torch.Tensor) -> torch.Tensor:
    """The skeletons [N, 112, 112] (bool) of MNIST images [N, 784] or [N, 28, 28] in [0, 1], at 4x resolution."""
    x = images.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE).float()
    big = F.interpolate(x, scale_factor=UPSCALE, mode="bilinear", align_corners=False)[:, 0]
    return zhang_suen_thin(big >= INK)


def _disk(pen: float) -> torch.Tensor:
    r = pen / 2
    half = int(r) + 1
    t = torch.arange(-half, half + 1, dtype=torch.float32)
    return ((t.view(-1, 1) ** 2 + t.view(1, -1) ** 2) <= r * r).float()


def draw(skeleton: torch.Tensor, variant: DrawnVariant) -> torch.Tensor:
    """Canvas images [N, 280, 280] in [0, 1]: each skeleton traced with a round pen, placed as ``variant`` says.

    The skeleton is scaled so that the inked digit's longer side is ``variant.size`` pixels (pen included), slanted,
    and centred at the canvas centre plus the offset; its points are stamped with a disk of the pen's width.
    """
    n = len(skeleton)
    canvas = torch.zeros(n, CANVAS, CANVAS)
    idx, rows, cols = skeleton.nonzero(as_tuple=True)
    if n == 0 or len(idx) == 0:
        return canvas
    rows, cols = rows.float(), cols.float()
    top = torch.zeros(n).scatter_reduce(0, idx, rows, "amin", include_self=False)
    bottom = torch.zeros(n).scatter_reduce(0, idx, rows, "amax", include_self=False)
    left = torch.zeros(n).scatter_reduce(0, idx, cols, "amin", include_self=False)
    right = torch.zeros(n).scatter_reduce(0, idx, cols, "amax", include_self=False)
    span = torch.maximum(bottom - top, right - left).clamp_min(1.0)
    scale = ((variant.size - variant.pen) / span).clamp_min(0.1)[idx]
    v = (rows - ((top + bottom) / 2)[idx]) * scale  # down from the digit's centre, in canvas pixels
    u = (cols - ((left + right) / 2)[idx]) * scale - variant.slant * v  # a positive slant moves the top right
    row = (CANVAS / 2 + variant.offset[1] + v).round().long().clamp(0, CANVAS - 1)
    col = (CANVAS / 2 + variant.offset[0] + u).round().long().clamp(0, CANVAS - 1)
    canvas.view(-1).index_fill_(0, idx * CANVAS * CANVAS + row * CANVAS + col, 1.0)
    # Stamp the pen on every point: the disk convolved with the points, by FFT (a wide pen stays cheap).
    disk = _disk(variant.pen)
    size = CANVAS + disk.shape[0] - 1
    spectrum = torch.fft.rfft2(canvas, s=(size, size)) * torch.fft.rfft2(disk, s=(size, size))
    half = disk.shape[0] // 2
    ink = torch.fft.irfft2(spectrum, s=(size, size))[:, half : half + CANVAS, half : half + CANVAS]
    return (ink > 0.5).float()


def drawn_variant(images: torch.Tensor, labels: torch.Tensor, variant: DrawnVariant,
                  skeleton: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x [M, 784], y [M]): ``images`` redrawn as ``variant`` and preprocessed like a canvas drawing.

    M is N less any drawing ``preprocess`` refuses as empty (a digit that thins to almost nothing; none in
    MNIST's test set at the default variants, but the count is the caller's to check).
    """
    skeleton = skeletons(images) if skeleton is None else skeleton
    canvases = draw(skeleton, variant)
    xs, keep = [], []
    for i, canvas in enumerate(canvases):
        pixels = preprocess(canvas.numpy())
        if pixels is not None:
            xs.append(pixels)
            keep.append(i)
    x = torch.stack(xs) if xs else torch.zeros(0, IMAGE_PIXELS)
    return x, labels[torch.tensor(keep, dtype=torch.long)]


def drawn_set(images: torch.Tensor, labels: torch.Tensor, variants: Mapping[str, DrawnVariant] | Sequence[str] | None = None,
              ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Every variant's (x, y) for the digits ``images`` [N, 784] with ``labels`` [N] (thinned once, drawn per variant)."""
    if variants is None:
        variants = VARIANTS
    elif not isinstance(variants, Mapping):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown drawn-digit variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
        variants = {name: VARIANTS[name] for name in variants}
    skeleton = skeletons(images)
    return {name: drawn_variant(images, labels, variant, skeleton) for name, variant in variants.items()}


def mnist_drawn_set(n: int = 1000, data_dir: str | None = None, variants: Sequence[str] | None = None,
                    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The drawn-digit set of MNIST's first ``n`` test digits (pixels in [0, 1], never standardised)."""
    from .data import load_splits

    data = load_splits("mnist", data_dir)
    return drawn_set(data.test_x[:n], data.test_y[:n], variants)


@torch.no_grad()
def drawn_accuracy(model: nn.Module, sets: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """``model``'s accuracy (a fraction) on every variant, and ``"mean"`` over the variants. Eval mode, CPU."""
    model = model.to("cpu").eval()
    result = {}
    for name, (x, y) in sets.items():
        if len(y) == 0:
            continue
        correct = sum(int((model(x[i : i + 2000]).argmax(1) == y[i : i + 2000]).sum()) for i in range(0, len(y), 2000))
        result[name] = correct / len(y)
    if result:
        result["mean"] = sum(result.values()) / len(result)
    return result
