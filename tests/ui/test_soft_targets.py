"""The soft-target panel: every bar is softmax(z/T) of its model, the slider drives every bar, digits are chosen as asked."""

import numpy as np
import pytest
import torch

from kdgui.core.losses import softmax_t
from kdgui.core.predict import NamedModel
from kdgui.core.softtargets import class_similarity, entropy_bits
from kdgui.core.training import predict_logits
from kdgui.ui.panels.soft_targets import MAX_DIGITS, SoftTargetsPanel
from kdgui.ui.temperature_model import TemperatureModel
from ui_helpers import make_synthetic_splits


@pytest.fixture
def panel(qtbot, models):
    data = make_synthetic_splits(n_train=300, n_test=200)
    temperature = TemperatureModel(1.0)
    widget = SoftTargetsPanel(temperature)
    qtbot.addWidget(widget)
    widget.set_models(models)
    widget.set_test_set(data.test_x, data.test_y)
    widget.set_teacher_test_logits(predict_logits(models[0].model, data.test_x))  # the window's InsightSource does this
    widget.mode.setCurrentIndex(widget.mode.findData("index"))
    widget.choice.setText("0, 5, 17, 42")
    assert widget.show_chosen_digits()
    widget.data = data
    return widget


def expected_bars(panel, model, t):
    x = torch.stack([d[0] for d in panel.digits])
    with torch.no_grad():
        return softmax_t(model.eval()(x), t).numpy()


def test_each_bar_is_softmax_of_that_model_at_the_current_temperature(panel, models):
    for t in (1.0, 4.0, 12.5):
        panel.temperature.setTemperature(t)
        for m in models:
            want = expected_bars(panel, m.model, t)
            for i, cell in enumerate(panel.cells):
                np.testing.assert_allclose(cell.bars.heights(m.key), want[i], rtol=1e-5, atol=1e-7)


def test_at_t1_the_highest_bar_is_the_models_prediction(panel, models):
    panel.temperature.setTemperature(1.0)
    x = torch.stack([d[0] for d in panel.digits])
    for m in models:
        predicted = m.model.eval()(x).argmax(1).tolist()
        assert [int(np.argmax(c.bars.heights(m.key))) for c in panel.cells] == predicted


def test_raising_t_flattens_the_bars_and_raises_entropy(panel):
    heights, entropies = [], []
    for t in (1.0, 2.0, 5.0, 10.0, 20.0):
        panel.temperature.setTemperature(t)
        h = np.stack([c.bars.heights("teacher") for c in panel.cells])
        heights.append(h.max(1))
        entropies.append(entropy_bits(torch.from_numpy(h)).numpy())
    assert np.all(np.diff(np.stack(heights), axis=0) <= 1e-9)  # the top bar only falls
    assert np.all(np.diff(np.stack(entropies), axis=0) >= -1e-9)  # entropy only rises
    assert np.all(entropies[-1] > entropies[0])


def test_moving_the_slider_sets_the_shared_temperature_and_updates_the_bars(panel):
    before = panel.cells[0].bars.heights("teacher").copy()
    panel.slider.slider.setValue(panel.slider.slider.maximum())  # the user drags to T = 20
    assert panel.temperature.temperature == pytest.approx(20.0)
    assert panel.slider.field.text() == "20"  # the box beside the slider says it
    assert not np.allclose(panel.cells[0].bars.heights("teacher"), before)


def test_another_view_changing_t_moves_this_slider(panel):
    panel.temperature.setTemperature(8.0)
    assert panel.slider.temperature() == pytest.approx(8.0)


def test_a_slider_step_reuses_the_logits_computed_once(panel, models, monkeypatch):
    calls = []
    for m in models:
        forward = m.model.forward
        monkeypatch.setattr(m.model, "forward", lambda x, f=forward: calls.append(1) or f(x))
    for t in (1.5, 3.0, 6.0):
        panel.temperature.setTemperature(t)
    assert calls == []


def test_choosing_digits_by_class_index_random_and_interesting(panel):
    y = panel.data.test_y
    panel.mode.setCurrentIndex(panel.mode.findData("class"))
    panel.choice.setText("4, 9")
    panel.count.setValue(2)
    assert panel.show_chosen_digits()
    assert [d[1] for d in panel.digits] == [4, 4, 9, 9]
    panel.mode.setCurrentIndex(panel.mode.findData("index"))
    panel.choice.setText("3 7")
    assert panel.show_chosen_digits()
    assert [d[1] for d in panel.digits] == [int(y[3]), int(y[7])]
    panel.mode.setCurrentIndex(panel.mode.findData("random"))
    panel.count.setValue(5)
    assert panel.show_chosen_digits() and len(panel.cells) == 5
    panel.mode.setCurrentIndex(panel.mode.findData("interesting"))
    panel.count.setValue(3)
    assert panel.show_chosen_digits()
    # The teacher's least sure digits: none of the other test digits has a lower "misclassified-then-confidence" key.
    logits = panel.teacher_test_logits
    p = torch.softmax(logits, 1)
    key = p.max(1).values + (p.argmax(1) == y).float()
    shown = [int(title.split("#")[1].split(",")[0]) for _, _, title in panel.digits]
    assert sorted(key[shown].tolist()) == sorted(key.tolist())[:3]


def test_bad_choices_are_explained_and_change_nothing(panel):
    before = [d[2] for d in panel.digits]
    panel.mode.setCurrentIndex(panel.mode.findData("index"))
    panel.choice.setText("1, two")
    assert not panel.show_chosen_digits()
    assert "not a list of whole numbers" in panel.problem.text()
    panel.choice.setText("100000")
    assert not panel.show_chosen_digits()
    assert "outside" in panel.problem.text()
    assert [d[2] for d in panel.digits] == before


def test_at_most_twelve_digits_are_shown(panel):
    panel.mode.setCurrentIndex(panel.mode.findData("class"))
    panel.choice.setText("0,1,2,3,4,5,6,7,8,9")
    panel.count.setValue(2)
    assert panel.show_chosen_digits()
    assert len(panel.cells) == MAX_DIGITS and "first 12 of 20" in panel.problem.text()


def test_a_drawn_digit_can_be_added(panel):
    pixels = torch.zeros(784)
    pixels[300:320] = 1.0
    panel.add_drawn_digit(pixels)
    assert panel.digits[-1][1] is None and panel.digits[-1][2] == "drawn"
    assert len(panel.cells) == 5 and not panel.cells[-1].bars.true_class_bar.isVisible()


def test_heatmap_is_the_teachers_average_soft_target_per_class(panel, models):
    for t in (1.0, 6.0):
        panel.temperature.setTemperature(t)
        with torch.no_grad():
            want = class_similarity(models[0].model.eval()(panel.data.test_x), panel.data.test_y, t).numpy()
        np.testing.assert_allclose(panel.similarity, want, rtol=1e-5, atol=1e-7)


def test_without_a_test_set_digits_cannot_be_chosen(qtbot, models):
    widget = SoftTargetsPanel(TemperatureModel(2.0))
    qtbot.addWidget(widget)
    widget.set_models(models)
    assert not widget.show_button.isEnabled()
    assert not widget.show_chosen_digits() and "Data panel" in widget.problem.text()


def test_entropy_and_ranked_wrong_classes_follow_the_slider_when_it_rests(qtbot, panel):
    panel.temperature.setTemperature(7.0)
    with qtbot.waitSignal(panel.text_timer.timeout, timeout=2000):
        pass
    p = panel.probabilities()["teacher"][0]
    text = panel.cells[0].text.text
    assert f"entropy {float(entropy_bits(torch.from_numpy(p))):.2f} bits" in text
    true_class = panel.digits[0][1]
    wrong = [c for c in np.argsort(-p) if c != true_class][:3]
    assert "teacher's next: " + ", ".join(f"{c} ({p[c]:.1%})" for c in wrong) in text


def test_a_lineup_change_with_the_same_roles_keeps_the_cells_and_updates_their_bars(panel, models):
    cells, items = list(panel.cells), [cell.bars.bars["student"] for cell in panel.cells]
    swapped = [NamedModel(m.key, f"{m.key} again", models[(i + 1) % 3].model, f"run-{i}") for i, m in enumerate(models)]
    panel.set_models(swapped)
    assert panel.cells == cells and [cell.bars.bars["student"] for cell in panel.cells] == items
    for i, cell in enumerate(panel.cells):
        np.testing.assert_allclose(cell.bars.heights("student"), expected_bars(panel, models[2].model, 1.0)[i], rtol=1e-5)
    assert panel.teacher_test_logits is None  # another teacher: its logits come again from the window
    panel.set_models(swapped[1:])  # fewer roles: the cells are laid out again
    assert panel.cells != cells and set(panel.cells[0].bars.bars) == {"student", "distilled"}


def test_showing_a_test_digit_by_index_selects_it(panel):
    assert panel.show_test_digit(123)
    assert panel.mode.currentData() == "index" and panel.choice.text() == "123"
    assert [d[2] for d in panel.digits] == [f"test #123, a {int(panel.data.test_y[123])}"]
