"""What changed, Confusion, Hidden units and the Draw tab's probe: each shows exactly what core.insight and core.probe compute."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from kdgui import app as kdgui_app
from kdgui.core.config import NetSpec
from kdgui.core.events import Evaluation, Started
from kdgui.core.insight import confusion_matrix, lineup_insight
from kdgui.core.models import build_model
from kdgui.core.predict import NamedModel
from kdgui.core.probe import Probe, apply_probe
from kdgui.panel_names import PANELS, VIEWS
from kdgui.ui.panels.insight.confusion import DIFFERENCE
from kdgui.ui.panels.insight.hidden import HiddenView
from kdgui.ui.widgets.probe_sliders import SETTINGS
from ui_helpers import train

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]


@pytest.fixture
def shown(qtbot, window):
    """The window on What changed once the lineup's answers on the (synthetic) test set have come back."""
    source = window.lineup_views.source
    with qtbot.waitSignal(source.ready, check_params_cb=lambda insight: insight is not None, timeout=20_000):
        window.show_panel("changed")
    return window


def expected(window):
    models = {m.key: m.model for m in window.soft_targets_panel.models}
    return lineup_insight(models, window.soft_targets_panel.test_x, window.soft_targets_panel.test_y)


def click_cell(qtbot, view, name, row, col):
    view.graphics.resize(700, 700)  # room enough for four maps whatever the window's size
    qtbot.wait_until(lambda: view.plots[name].vb.width() > 50)
    scene = view.plots[name].vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))
    point = view.graphics.mapFromScene(scene)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_what_changed_lists_the_digits_distillation_fixed_and_broke(shown):
    want = expected(shown).what_changed
    view = shown.insight_panel.changed
    assert view.fixed_button.text() == f"Fixed {len(want.fixed):,}" and view.broke_button.text() == f"Broke {len(want.broke):,}"
    assert f"<b>{len(want.fixed):,}</b>" in view.summary.text() and f"net <b>{want.net:+,}</b>" in view.summary.text()
    assert view.list.indices() == list(want.fixed)
    view.broke_button.click()
    assert view.list.indices() == list(want.broke)
    assert len(want.fixed) + len(want.broke) > 0  # the synthetic digits leave the bundled students something to differ on


def test_the_selected_digit_shows_every_networks_soft_targets_at_the_viewing_temperature(shown):
    view = shown.insight_panel.changed
    insight = expected(shown)
    index = view.list.indices()[0] if view.list.indices() else None
    if index is None:
        view.show_list("broke")
        index = view.list.indices()[0]
    assert view.detail.index == index  # the first digit is selected at once
    for t in (1.0, 5.0):
        shown.temperature.setTemperature(t)
        for role in ("teacher", "student", "distilled"):
            want = torch.softmax(insight.logits[role][index] / t, 0).numpy()
            np.testing.assert_allclose(view.detail.bars.heights(role), want, rtol=1e-4, atol=1e-6)


def test_opening_a_digit_selects_it_in_soft_targets(shown):
    view = shown.insight_panel.changed
    view.show_list("fixed" if view.list.indices() else "broke")
    index = view.list.indices()[-1]
    assert view.list.select(index)
    view.open_button.click()
    assert shown.tabs.currentWidget() is shown.soft_targets_panel
    panel = shown.soft_targets_panel
    assert [d[2] for d in panel.digits] == [f"test #{index}, a {int(panel.test_y[index])}"]
    assert panel.mode.currentData() == "index" and panel.choice.text() == str(index)


def test_soft_targets_get_the_teachers_test_logits_from_the_same_computation(shown):
    torch.testing.assert_close(shown.soft_targets_panel.teacher_test_logits, expected(shown).logits["teacher"])
    assert shown.soft_targets_panel.similarity is not None


def test_each_confusion_map_is_its_networks_confusion_matrix(shown):
    insight = expected(shown)
    view = shown.insight_panel.confusion
    n = len(insight.labels)
    for role in ("teacher", "student", "distilled"):
        want = confusion_matrix(insight.predictions[role], insight.labels).numpy()
        assert np.array_equal(view.matrices[role], want) and int(view.matrices[role].sum()) == n == 200
        np.testing.assert_allclose(view.images[role].image, np.log1p(want))
    assert np.array_equal(view.matrices[DIFFERENCE], view.matrices["distilled"] - view.matrices["student"])
    assert int(view.matrices[DIFFERENCE].sum()) == 0
    assert "true 3, answer 5" in view.describe_cell("teacher", 3, 5)


@pytest.mark.parametrize("name", ["teacher", "student", DIFFERENCE])
def test_clicking_a_cell_lists_exactly_its_digits(qtbot, shown, name):
    shown.show_panel("confusion")
    view = shown.insight_panel.confusion
    insight = expected(shown)
    labels, pred = insight.labels, insight.predictions
    # The busiest off-diagonal cell of the student's map: a cell with digits in it in every map but perhaps the teacher's.
    off = view.matrices["student"].copy()
    np.fill_diagonal(off, -1)
    row, col = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
    click_cell(qtbot, view, name, row, col)
    if name == DIFFERENCE:
        only_distilled = ((labels == row) & (pred["distilled"] == col) & (pred["student"] != col)).nonzero().flatten()
        only_student = ((labels == row) & (pred["student"] == col) & (pred["distilled"] != col)).nonzero().flatten()
        want = only_distilled.tolist() + only_student.tolist()
    else:
        want = ((labels == row) & (pred[name] == col)).nonzero().flatten().tolist()
    assert view.selected == (name, row, col)
    assert view.list.indices() == want
    assert view.marks[name].isVisible() and view.marks[name].rect().topLeft() == QPointF(col, row)


def test_hidden_units_are_the_students_first_layer_weights(shown):
    view = shown.insight_panel.hidden
    for m in shown.soft_targets_panel.models:
        if m.key in ("student", "distilled"):
            weight = next(m.model.parameters()).detach()
            assert weight.shape == (50, 784)
            np.testing.assert_array_equal(view.tiles[m.key], weight.reshape(50, 28, 28).numpy())
            assert "50 units" in view.titles[m.key].text()


def test_tiles_follow_a_students_evaluations_and_a_cnn_says_why_it_has_none(qtbot):
    view = HiddenView()
    qtbot.addWidget(view)
    mlp = NamedModel("student", "student", build_model(NetSpec(hidden=(12,)), seed=0))
    cnn = NamedModel("distilled", "distilled", build_model(NetSpec(hidden=(16,), arch="cnn", conv=(4,)), seed=0))
    view.set_models([mlp, cnn])
    assert view.tiles["student"].shape == (12, 28, 28) and view.tiles["distilled"] is None
    assert "CNN" in view.titles["distilled"].text() and view.images["distilled"].image is None
    live = torch.randn(7, 784)
    view.training_event(Started("run-1", "distil", "distilled", 100, "cpu"))
    view.training_event(Evaluation(10, 0.5, 1.0, 0.5, 1.0, 0.5, first_layer=live))
    np.testing.assert_array_equal(view.tiles["distilled"], live.reshape(7, 28, 28).numpy())
    assert "training now, epoch 0.50" in view.titles["distilled"].text()
    view.training_ended()
    assert view.tiles["distilled"] is None and view.tiles["student"].shape == (12, 28, 28)


def test_tiles_move_while_a_student_trains_in_the_window(qtbot, window):
    seen = []

    def check(event):
        if isinstance(event, Evaluation) and event.first_layer is not None:
            seen.append(np.array_equal(window.insight_panel.hidden.tiles["student"],
                                       event.first_layer.reshape(-1, 28, 28).numpy()))

    window.runner.occurred.connect(check)  # connected after the window's own handler: it sees the tiles updated
    outcome, run_id = train(qtbot, window, "student")
    assert outcome == "finished" and seen and all(seen)
    model = window.store.get(run_id).load_model()
    np.testing.assert_array_equal(window.insight_panel.hidden.tiles["student"],
                                  next(model.parameters()).detach().reshape(8, 28, 28).numpy())


def test_probe_sliders_change_what_the_networks_are_asked(qtbot, window):
    window.show_panel("probe")
    panel = window.canvas_panel
    panel.canvas.draw_stroke(SEVEN)
    drawn = panel.drawn.clone()
    assert torch.equal(panel.prediction.pixels, drawn)  # zero settings: the digit as drawn
    panel.probe.sliders["dx"].setValue(panel.probe.sliders["dx"].value() + 3)
    panel.probe.sliders["angle"].setValue(panel.probe.sliders["angle"].value() - 2)
    assert panel.probe.probe() == Probe(dx=3, angle=-10)
    torch.testing.assert_close(panel.prediction.pixels, apply_probe(drawn, Probe(dx=3, angle=-10)))
    np.testing.assert_allclose(panel.preview_image.image, panel.prediction.pixels.reshape(28, 28).numpy())
    with qtbot.waitSignal(panel.strips_timer.timeout, timeout=2000):
        pass
    probe = panel.probe.probe()
    for s in SETTINGS:
        strip = panel.probe.strips[s.name]
        assert set(strip.answers) == {"teacher", "student", "distilled"}
        assert all(len(a) == s.positions for a in strip.answers.values())
        # At the slider's own position the strip holds the answer the networks give now.
        position = panel.probe.sliders[s.name].value()
        assert {r: a[position] for r, a in strip.answers.items()} == panel.prediction.classes, (s.name, probe)
    panel.probe.reset_button.click()
    assert panel.probe.probe().identity and torch.equal(panel.prediction.pixels, drawn)


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_name_screenshots(qtbot, window, tmp_path, name):
    assert name in PANELS
    path = kdgui_app.take_screenshot(window, tmp_path / f"{name}.png", name)
    assert QImage(str(path)).width() == kdgui_app.SCREENSHOT_SIZE[0]
    tab = VIEWS[name][0]
    assert window.tabs.currentWidget() is window.tab_pages[tab]
    if tab == "insight":
        assert window.insight_panel.current_view() == name
        assert window.insight_panel.insight is not None  # the screenshot waited for the answers
