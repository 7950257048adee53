"""The drawing canvas and its panel: strokes make ink, undo/clear work, predictions follow the drawing, disagreement is said."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from kdgui.core.config import NetSpec
from kdgui.core.models import build_model
from kdgui.core.predict import NamedModel
from kdgui.core.preprocess import preprocess
from kdgui.ui.panels.canvas import CanvasPanel
from kdgui.ui.temperature_model import TemperatureModel
from kdgui.ui.widgets.drawing_canvas import CANVAS_SIZE, DrawingCanvas

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]


def mouse(widget, kind, x, y, button=Qt.MouseButton.LeftButton):
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(x, y), widget.mapToGlobal(QPointF(x, y)), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(widget, points):
    mouse(widget, QEvent.Type.MouseButtonPress, *points[0])
    for p in points[1:]:
        mouse(widget, QEvent.Type.MouseMove, *p)
    mouse(widget, QEvent.Type.MouseButtonRelease, *points[-1])


@pytest.fixture
def canvas(qtbot):
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    return widget


def test_a_mouse_stroke_leaves_thick_antialiased_ink(qtbot, canvas):
    with qtbot.waitSignal(canvas.strokeFinished):
        drag(canvas, [(50, 140), (230, 140)])
    ink = canvas.ink_array()
    assert ink.shape == (CANVAS_SIZE, CANVAS_SIZE) and ink.max() == pytest.approx(1.0)
    column = ink[:, 140]
    assert 18 <= int((column > 0.5).sum()) <= 26  # about STROKE_WIDTH pixels thick
    assert ink[:100].max() == 0 and ink[180:].max() == 0  # nothing far from the stroke
    drag(canvas, [(40, 40), (90, 240)])  # a slanted stroke cannot sit on the pixel grid
    ink = canvas.ink_array()
    assert ((ink > 0.05) & (ink < 0.95)).sum() > 100  # soft edges: anti-aliased


def test_undo_takes_back_the_last_stroke_and_clear_empties(qtbot, canvas):
    drag(canvas, [(50, 50), (230, 50)])
    first = canvas.ink_array()
    drag(canvas, [(50, 200), (230, 200)])
    assert not np.array_equal(canvas.ink_array(), first)
    canvas.undo()
    np.testing.assert_array_equal(canvas.ink_array(), first)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z undoes too
    assert canvas.is_empty() and canvas.ink_array().max() == 0
    drag(canvas, [(50, 50), (230, 50)])
    with qtbot.waitSignal(canvas.cleared):
        mouse(canvas, QEvent.Type.MouseButtonPress, 10, 10, Qt.MouseButton.RightButton)  # right click clears
    assert canvas.is_empty() and canvas.ink_array().max() == 0
    drag(canvas, [(50, 50), (230, 50)])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty()


@pytest.fixture
def panel(qtbot, models):
    widget = CanvasPanel(TemperatureModel(1.0))
    qtbot.addWidget(widget)
    widget.set_models(models)
    return widget


def test_an_empty_canvas_gets_no_prediction(panel):
    assert panel.prediction is None
    assert all(a.digit.text() == "–" for a in panel.answers.values())
    assert "Draw a digit" in panel.status.text() and not panel.add_button.isEnabled()


def test_a_drawn_digit_is_preprocessed_and_every_model_answers(panel, models):
    panel.canvas.draw_stroke(SEVEN)
    pixels = preprocess(panel.canvas.ink_array())
    assert torch.equal(panel.prediction.pixels, pixels)
    for m in models:
        with torch.no_grad():
            logits = m.model.eval()(pixels[None])[0]
        answer = panel.answers[m.key]
        assert answer.digit.text() == str(int(logits.argmax()))
        np.testing.assert_allclose(panel.bars.heights(m.key), torch.softmax(logits, 0).numpy(), rtol=1e-5, atol=1e-7)
    assert panel.add_button.isEnabled()


def test_the_temperature_changes_the_bars_not_the_answer(panel):
    panel.canvas.draw_stroke(SEVEN)
    before = {r: (a.digit.text(), panel.bars.heights(r).copy()) for r, a in panel.answers.items()}
    panel.temperature.setTemperature(10.0)
    assert panel.slider.temperature() == pytest.approx(10.0)
    for role, answer in panel.answers.items():
        assert answer.digit.text() == before[role][0]
        assert panel.bars.heights(role).max() < before[role][1].max()


def test_disagreement_is_called_out(panel, models):
    panel.canvas.draw_stroke(SEVEN)
    classes = panel.prediction.classes
    if len(set(classes.values())) > 1:
        assert panel.verdict.text().startswith("They disagree")
    else:
        assert panel.verdict.text().startswith("All say")
    # Force a disagreement: a network whose output bias makes it always answer another class.
    stubborn = build_model(NetSpec(hidden=(16,)), seed=0)
    with torch.no_grad():
        stubborn.output_layer.bias[(classes["teacher"] + 1) % 10] = 1e6
    panel.set_models([models[0], NamedModel("student", "stubborn", stubborn)])
    assert panel.verdict.text().startswith("They disagree") and "student" in panel.verdict.text()
    assert not panel.answers["distilled"].isEnabled()


def test_live_predictions_while_drawing_are_throttled(qtbot, panel):
    mouse(panel.canvas, QEvent.Type.MouseButtonPress, 70, 60)
    for x in range(80, 200, 10):
        mouse(panel.canvas, QEvent.Type.MouseMove, x, 60)
    assert panel.live_timer.isActive()  # many moves, one pending update
    with qtbot.waitSignal(panel.live_timer.timeout, timeout=2000):
        pass
    assert panel.prediction is not None  # answered before the stroke ended
    mouse(panel.canvas, QEvent.Type.MouseButtonRelease, 190, 60)


def test_add_to_soft_targets_sends_what_the_networks_saw(qtbot, panel):
    panel.canvas.draw_stroke(SEVEN)
    with qtbot.waitSignal(panel.addToSoftTargets) as blocker:
        panel.add_button.click()
    assert torch.equal(blocker.args[0], panel.prediction.pixels)


def test_without_models_the_panel_says_what_to_do(qtbot):
    widget = CanvasPanel(TemperatureModel(1.0))
    qtbot.addWidget(widget)
    widget.set_models([])
    widget.canvas.draw_stroke(SEVEN)
    assert widget.prediction is None and "could be loaded" in widget.status.text()
