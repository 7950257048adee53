"""Helpers the UI tests share: synthetic data, tiny fast settings, and pressing a stage's button until its run ends."""

from pathlib import Path

import torch

from kdgui.core.config import NetSpec, TrainConfig
from kdgui.core.data import Splits, splits_from_arrays
from kdgui.ui.main_window import QtMainWindow
from kdgui.ui.panels.training import STAGES

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def make_synthetic_splits(n_train: int = 1000, n_test: int = 200, seed: int = 0) -> Splits:
    """Ten noisy prototype images, one per class: a tiny MLP learns them in a few batches."""
    g = torch.Generator().manual_seed(seed)
    prototypes = (torch.rand(10, 28, 28, generator=g) > 0.7).float() * 200

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 10, (n,), generator=g)
        images = prototypes[labels] + torch.rand(n, 28, 28, generator=g) * 55
        return images.clamp(0, 255).to(torch.uint8), labels.to(torch.uint8)

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    return splits_from_arrays("mnist", train_x, train_y, test_x, test_y, val_size=200)


def configure_quick(window: QtMainWindow, *, epochs: int = 2, batch_size: int = 50, eval_every: int = 5) -> None:
    """Tiny networks and short runs: a teacher trains in well under a second."""
    window.networks_panel.teacher.set_spec(NetSpec(hidden=(32, 32), dropout=(0.0, 0.1)))
    window.networks_panel.student.set_spec(NetSpec(hidden=(8,)))
    quick = TrainConfig(epochs=epochs, lr=0.01, batch_size=batch_size, eval_every=eval_every)  # no schedule, no augmentation
    for stage in STAGES:
        window.training_panel.forms[stage].set_config(quick)
    window.training_panel.set_train_limit(None)


def train(qtbot, window: QtMainWindow, stage: str, timeout: int = 20_000) -> tuple[str, str]:
    """Press a stage's button and wait for the run to end; returns (outcome, run id)."""
    with qtbot.waitSignal(window.runEnded, timeout=timeout) as blocker:
        assert window.run_controls.start_buttons[stage].isEnabled(), window.run_controls.start_buttons[stage].toolTip()
        window.run_controls.start_buttons[stage].click()
    return tuple(blocker.args)
