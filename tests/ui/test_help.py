"""Help: the distillation page's bars are the bundled teacher's soft targets, About names version and licence, shortcuts act."""

import numpy as np
import torch

from kdgui import __version__
from kdgui.core.predict import bundled_models
from kdgui.ui.panels.help import ExplainDialog, about_text, draw_seven


def test_explain_page_shows_the_teachers_soft_targets_at_two_temperatures(qtbot):
    dialog = ExplainDialog()
    qtbot.addWidget(dialog)
    teacher = next(m.model for m in bundled_models() if m.key == "teacher")
    with torch.no_grad():
        logits = teacher(draw_seven()[None])[0]
    for t, bars in dialog.charts.items():
        np.testing.assert_allclose(bars.heights("teacher"), torch.softmax(logits / t, 0).numpy(), rtol=1e-4, atol=1e-6)
    assert int(np.argmax(dialog.charts[1.0].heights("teacher"))) == 7  # the drawn 7 is read as a 7
    assert dialog.charts[5.0].heights("teacher").max() < dialog.charts[1.0].heights("teacher").max()


def test_about_names_version_licence_and_links():
    text = about_text()
    assert __version__ in text and "MIT" in text and "arxiv.org/abs/1503.02531" in text


def test_keyboard_shortcuts_start_and_respect_the_buttons_rules(qtbot, window):
    assert window.shortcut_actions["teacher"].shortcut().toString() == "Ctrl+1"
    assert not window.run_controls.start_buttons["distilled"].isEnabled()
    window.shortcut_actions["distilled"].trigger()  # no teacher yet: nothing starts
    assert not window.is_training()
    with qtbot.waitSignal(window.runEnded, timeout=20_000) as blocker:
        window.shortcut_actions["teacher"].trigger()
    assert blocker.args[0] == "finished"


def test_every_control_that_takes_a_number_has_a_tooltip(window):
    from PySide6.QtWidgets import QAbstractSpinBox, QSlider

    from kdgui.ui.widgets.number_field import NumberField

    controls = [c for cls in (NumberField, QAbstractSpinBox, QSlider) for c in window.findChildren(cls)]
    assert len(controls) > 15
    bare = [c for c in controls if not (c.toolTip() or (c.parent() is not None and c.parent().toolTip()))]
    assert bare == []
