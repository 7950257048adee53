"""Probing a digit: zero settings change nothing, a shift moves the ink by its pixels, thickening adds ink, thinning removes it."""

import pytest
import torch

from kdgui.core.probe import LIMITS, Probe, apply_probe, apply_probes, dilate, erode, ink, sweep


@pytest.fixture
def digit() -> torch.Tensor:
    """A 3-pixel-wide upright bar with a foot, well inside the frame: the kind of stroke a drawn 1 or 7 has."""
    image = torch.zeros(28, 28)
    image[6:22, 12:15] = 1.0
    image[19:22, 15:19] = 0.6
    return image.reshape(784)


def centre_of_ink(pixels: torch.Tensor) -> tuple[float, float]:
    image = pixels.reshape(28, 28)
    rows, cols = torch.arange(28.0), torch.arange(28.0)
    total = image.sum()
    return float((image.sum(1) * rows).sum() / total), float((image.sum(0) * cols).sum() / total)


def test_zero_settings_leave_the_digit_exactly_as_it_was(digit):
    assert Probe().identity
    assert torch.equal(apply_probe(digit, Probe()), digit)
    batch = apply_probes(digit, [Probe(), Probe(dx=2), Probe()])
    assert torch.equal(batch[0], digit) and torch.equal(batch[2], digit) and not torch.equal(batch[1], digit)


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (-4, 5)])
def test_a_whole_pixel_shift_moves_the_ink_by_exactly_those_pixels(digit, dx, dy):
    moved = apply_probe(digit, Probe(dx=dx, dy=dy)).reshape(28, 28)
    expected = torch.roll(digit.reshape(28, 28), shifts=(dy, dx), dims=(0, 1))  # the ink is far from the edges
    torch.testing.assert_close(moved, expected, atol=1e-5, rtol=0)
    row, col = centre_of_ink(digit)
    assert centre_of_ink(moved.reshape(784)) == pytest.approx((row + dy, col + dx), abs=1e-4)


def test_a_half_pixel_shift_moves_the_centre_of_ink_half_a_pixel(digit):
    row, col = centre_of_ink(digit)
    assert centre_of_ink(apply_probe(digit, Probe(dx=0.5)))[1] == pytest.approx(col + 0.5, abs=1e-4)


def test_rotating_a_quarter_turn_clockwise_lays_an_upright_bar_flat_and_keeps_its_ink(digit):
    bar = torch.zeros(28, 28)
    bar[4:24, 13:15] = 1.0  # upright, centred on the image's centre (13.5, 13.5)
    turned = apply_probe(bar.reshape(784), Probe(angle=90)).reshape(28, 28)
    torch.testing.assert_close(turned, bar.T, atol=1e-5, rtol=0)
    # Clockwise on screen: the foot at the bottom right of the digit goes to the bottom left.
    foot = apply_probe(digit, Probe(angle=90)).reshape(28, 28)
    assert float(foot[15:19, 6:9].sum()) > 5 and float(foot[15:19, 19:22].sum()) < 1e-4
    assert float(ink(apply_probe(digit, Probe(angle=30)))) == pytest.approx(float(ink(digit)), rel=0.02)


def test_thickening_adds_ink_and_thinning_removes_it_step_by_step(digit):
    amounts = [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
    out = apply_probes(digit, sweep(Probe(), "thickness", amounts))
    totals = ink(out).tolist()
    assert totals == sorted(totals) and len(set(totals)) == len(totals)
    assert totals[2] == pytest.approx(float(ink(digit)))
    image = digit.reshape(1, 1, 28, 28)
    # One pixel a side: the 3-wide bar becomes 5 wide, or 1 wide; half a pixel is halfway between.
    torch.testing.assert_close(out[4], dilate(image).reshape(784))
    torch.testing.assert_close(out[0], erode(image).reshape(784))
    torch.testing.assert_close(out[3], (digit + dilate(image).reshape(784)) / 2)
    assert int((out[4].reshape(28, 28)[10] > 0).sum()) == 5 and int((out[0].reshape(28, 28)[10] > 0).sum()) == 1


def test_every_probe_of_a_batch_is_the_same_as_alone(digit):
    probes = [Probe(dx=1.5, angle=-20), Probe(thickness=-0.7, dy=2), Probe(angle=45, thickness=1.2)]
    batch = apply_probes(digit, probes)
    for probe, row in zip(probes, batch):
        torch.testing.assert_close(row, apply_probe(digit, probe), atol=1e-6, rtol=0)
    assert batch.shape == (3, 784) and float(batch.min()) >= 0 and float(batch.max()) <= 1


def test_a_sweep_changes_one_setting_and_keeps_the_others():
    base = Probe(dx=1, angle=10)
    assert sweep(base, "dy", [-1, 0, 2]) == [Probe(dx=1, dy=-1, angle=10), Probe(dx=1, angle=10), Probe(dx=1, dy=2, angle=10)]
    assert set(LIMITS) == {"dx", "dy", "angle", "thickness"}
    with pytest.raises(ValueError, match="no probe setting"):
        sweep(base, "zoom", [1])
