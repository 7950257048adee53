"""The drawn-digit robustness set: thinning, the pen, deterministic variants, preprocessed as the canvas's digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdgui.core import drawn
from kdgui.core.config import NetSpec
from kdgui.core.models import build_model
from kdgui.core.preprocess import CENTRE, preprocess


def strokes() -> tuple[torch.Tensor, torch.Tensor]:
    """Three thick digit-like strokes as flat MNIST images: a 1 (bar), a 7 (bar and diagonal), a 0 (ring)."""
    x = torch.zeros(3, 28, 28)
    x[0, 4:24, 13:16] = 1.0
    x[1, 4:7, 7:21] = 1.0
    for r in range(7, 24):
        c = 20 - (r - 7) * 10 // 17
        x[1, r, c - 1 : c + 2] = 1.0
    rr, cc = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    radius = ((rr - 14) ** 2 / 81 + (cc - 14) ** 2 / 36).sqrt()
    x[2][(radius > 0.75) & (radius < 1.05)] = 1.0
    return x.view(3, 784), torch.tensor([1, 7, 0])


def reference_thin(img: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning, pixel by pixel, to check the batched version against."""
    img = img.astype(np.uint8).copy()
    while True:
        changed = False
        for first in (True, False):
            p = np.pad(img, 1)
            remove = []
            for r, c in zip(*np.nonzero(img)):
                n = [p[r, c + 1], p[r, c + 2], p[r + 1, c + 2], p[r + 2, c + 2], p[r + 2, c + 1], p[r + 2, c], p[r + 1, c], p[r, c]]
                b = sum(n)
                a = sum(1 for i in range(8) if n[i] == 0 and n[(i + 1) % 8] == 1)
                c1 = n[0] * n[2] * n[4] if first else n[0] * n[2] * n[6]
                c2 = n[2] * n[4] * n[6] if first else n[0] * n[4] * n[6]
                if 2 <= b <= 6 and a == 1 and c1 == 0 and c2 == 0:
                    remove.append((r, c))
            for r, c in remove:
                img[r, c] = 0
            changed = changed or bool(remove)
        if not changed:
            return img.astype(bool)


def test_batched_thinning_equals_zhang_suen_pixel_by_pixel():
    x, _ = strokes()
    big = torch.nn.functional.interpolate(x.view(-1, 1, 28, 28), scale_factor=2, mode="bilinear", align_corners=False)[:, 0] >= 0.5
    thin = drawn.zhang_suen_thin(big)
    for i in range(len(big)):
        assert np.array_equal(thin[i].numpy(), reference_thin(big[i].numpy()))


def test_a_skeleton_is_one_pixel_wide_and_keeps_the_strokes_extent():
    x, _ = strokes()
    sk = drawn.skeletons(x)
    assert sk.shape == (3, 112, 112) and sk.dtype == torch.bool
    blocks = sk[:, :-1, :-1] & sk[:, 1:, :-1] & sk[:, :-1, 1:] & sk[:, 1:, 1:]
    assert not bool(blocks.any())  # no 2x2 square of ink anywhere
    rows = sk[0].any(1).nonzero()
    assert int(rows.max() - rows.min()) > 60  # the 1 stays about 20 MNIST pixels (80 here) tall


def test_the_pen_is_a_disk_of_its_width_and_the_digit_its_size():
    point = torch.zeros(1, 112, 112, dtype=torch.bool)
    point[0, 50, 50] = True
    ink = drawn.draw(point, drawn.DrawnVariant("dot", pen=22.0))
    assert abs(float(ink.sum()) - np.pi * 11**2) < 0.05 * np.pi * 11**2
    rows, cols = ink[0].nonzero().T
    assert int(rows.max() - rows.min()) + 1 in (22, 23) and int(cols.max() - cols.min()) + 1 in (22, 23)
    x, _ = strokes()
    canvas = drawn.draw(drawn.skeletons(x), drawn.DrawnVariant("big", size=200.0))
    for c in canvas:
        rows, cols = c.nonzero().T
        longest = max(int(rows.max() - rows.min()), int(cols.max() - cols.min())) + 1
        assert 190 <= longest <= 210


def test_slant_and_offset_move_the_ink_as_told():
    x, _ = strokes()
    sk = drawn.skeletons(x[:1])  # the upright 1
    upright = drawn.draw(sk, drawn.DrawnVariant("up"))[0]
    slanted = drawn.draw(sk, drawn.DrawnVariant("slant", slant=0.35))[0]
    moved = drawn.draw(sk, drawn.DrawnVariant("corner", offset=(-50.0, -40.0)))[0]

    def centre_col(img, rows):
        return float(img[rows].nonzero()[:, 1].float().mean())

    top, bottom = slice(40, 80), slice(200, 240)
    assert centre_col(slanted, top) - centre_col(slanted, bottom) > 40  # the top leans right
    assert abs(centre_col(upright, top) - centre_col(upright, bottom)) < 5
    com = lambda img: img.nonzero().float().mean(0)  # noqa: E731
    assert torch.allclose(com(moved) - com(upright), torch.tensor([-40.0, -50.0]), atol=1.0)


def test_the_set_is_deterministic_and_preprocessed_exactly_like_a_canvas_digit():
    x, y = strokes()
    first = drawn.drawn_set(x, y, ["canvas", "slant-left", "small"])
    again = drawn.drawn_set(x, y, ["canvas", "slant-left", "small"])
    assert list(first) == ["canvas", "slant-left", "small"]
    for name, (xs, ys) in first.items():
        assert torch.equal(xs, again[name][0]) and torch.equal(ys, y)
        canvases = drawn.draw(drawn.skeletons(x), drawn.VARIANTS[name])
        for i, canvas in enumerate(canvases):
            assert torch.equal(xs[i], preprocess(canvas.numpy()))  # the Draw tab's own preprocessing
        img = xs.view(-1, 28, 28)
        mass = img.sum((1, 2))
        com_r = (img.sum(2) * torch.arange(28.0)).sum(1) / mass
        com_c = (img.sum(1) * torch.arange(28.0)).sum(1) / mass
        assert float((com_r - CENTRE).abs().max()) <= 1.0 and float((com_c - CENTRE).abs().max()) <= 1.0
        assert float(xs.min()) >= 0.0 and float(xs.max()) <= 1.0


def test_variants_change_one_thing_and_unknown_ones_are_refused():
    canvas = drawn.VARIANTS["canvas"]
    assert (canvas.pen, canvas.size, canvas.slant, canvas.offset) == (drawn.CANVAS_PEN, 200.0, 0.0, (0.0, 0.0))
    for name, v in drawn.VARIANTS.items():
        differs = [v.pen != canvas.pen, v.size != canvas.size, v.slant != canvas.slant, v.offset != canvas.offset]
        assert sum(differs) <= 2 and v.title, name  # off-centre also shrinks the digit, to keep it on the canvas
    with pytest.raises(ValueError, match="unknown drawn-digit variant"):
        drawn.drawn_set(*strokes(), ["upside-down"])


def test_accuracy_per_variant_and_the_mean():
    x, y = strokes()
    sets = drawn.drawn_set(x, y, ["canvas", "thick-pen"])
    model = build_model(NetSpec(hidden=(8,)), seed=0)
    acc = drawn.drawn_accuracy(model, sets)
    assert set(acc) == {"canvas", "thick-pen", "mean"}
    assert all(0.0 <= v <= 1.0 for v in acc.values())
    assert acc["mean"] == pytest.approx((acc["canvas"] + acc["thick-pen"]) / 2)
    with torch.no_grad():
        expected = float((model(sets["canvas"][0]).argmax(1) == y).float().mean())
    assert acc["canvas"] == pytest.approx(expected)


def test_real_mnist_digits_all_survive_every_variant(mnist_dir):
    sets = drawn.mnist_drawn_set(12, str(mnist_dir))
    assert list(sets) == list(drawn.VARIANTS)
    assert all(len(ys) == 12 and xs.shape == (12, 784) for xs, ys in sets.values())
