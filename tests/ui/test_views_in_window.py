"""The Soft targets and Draw tabs in the main window: bundled networks on first launch, the user's runs once trained."""

import torch

from ui_helpers import train

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]


def test_first_launch_shows_the_bundled_networks(window):
    window.show_panel("draw")
    assert window.tabs.currentIndex() == 2
    assert all(m.source == "bundled" for m in window.canvas_panel.predictor.models)
    window.canvas_panel.canvas.draw_stroke(SEVEN)
    assert window.canvas_panel.prediction is not None
    assert set(window.canvas_panel.prediction.classes) == {"teacher", "student", "distilled"}


def test_a_trained_teacher_replaces_the_bundled_one(qtbot, window):
    outcome, run_id = train(qtbot, window, "teacher")
    assert outcome == "finished"
    sources = {m.key: m.source for m in window.canvas_panel.predictor.models}
    assert sources["teacher"] == run_id and sources["student"] == "bundled"
    # One choice (View › Show the bundled networks) puts the bundled networks back.
    window.lineup_model.choose_bundled()
    assert {m.source for m in window.canvas_panel.predictor.models} == {"bundled"}


def test_soft_targets_tab_loads_the_test_set_when_first_shown(window, synthetic_splits):
    assert window.soft_targets_panel.test_x is None
    window.show_panel("soft_targets")
    assert torch.equal(window.soft_targets_panel.test_y, synthetic_splits.test_y)
    assert len(window.soft_targets_panel.cells) >= 1  # default digits are shown straight away


def test_a_drawn_digit_goes_to_the_soft_targets_tab(window):
    window.show_panel("draw")
    window.canvas_panel.canvas.draw_stroke(SEVEN)
    window.canvas_panel.add_button.click()
    assert window.tabs.currentIndex() == 1
    pixels, label, title = window.soft_targets_panel.digits[-1]
    assert torch.equal(pixels, window.canvas_panel.prediction.pixels) and label is None and title == "drawn"
