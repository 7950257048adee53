"""Inputs are refused where they are typed, with the reason shown; settings and window geometry survive a restart."""

import pytest
from PySide6.QtCore import Qt

from kdgui.core.errors import ConfigError
from kdgui.core.runs import RunStore


def type_into(qtbot, field, text):
    field.clear()
    qtbot.keyClicks(field, text)


def test_a_negative_width_is_refused_with_the_reason(qtbot, window):
    width = window.networks_panel.teacher.layers.width_fields()[0]
    type_into(qtbot, width, "-5")
    assert width.value() is None
    assert "between 1 and 8192" in width.problem() and "-5" in width.problem()
    assert width.toolTip().startswith("teacher: width of hidden layer 1 must be between 1 and 8192")
    label = window.networks_panel.problem_label
    assert label.isVisible() and "width of hidden layer 1" in label.text()
    teacher_button = window.run_controls.start_buttons["teacher"]
    assert not teacher_button.isEnabled()
    assert "between 1 and 8192" in teacher_button.toolTip()
    assert window.run_controls.start_buttons["student"].isEnabled()  # the student is fine
    assert "fix the inputs" in window.networks_panel.ratio_label.text()
    type_into(qtbot, width, "64")
    assert teacher_button.isEnabled() and not label.isVisible()


@pytest.mark.parametrize("text, reason", [("0", "greater than 0"), ("-0.1", "greater than 0"), ("fast", "must be a number"),
                                          ("", "is empty")])
def test_a_bad_learning_rate_never_reaches_the_engine(qtbot, window, text, reason):
    lr = window.training_panel.forms["student"].lr
    type_into(qtbot, lr, text)
    assert lr.value() is None and reason in lr.problem()
    assert window.training_panel.train_config("student") is None
    assert not window.run_controls.start_buttons["student"].isEnabled()
    with pytest.raises(ConfigError, match="learning rate"):
        window.build_job("student")
    assert window.start_stage("student") is False
    assert window.banner.isVisible() and "learning rate" in window.banner.text.text()
    assert RunStore().list() == []


def test_temperature_must_be_above_zero(qtbot, window):
    field = window.distillation_panel.slider.field
    type_into(qtbot, field, "0")
    assert "greater than 0" in field.problem()
    assert window.distillation_panel.distill_config() is None
    assert window.training_temperature.temperature == 4.0  # the training T keeps its last good value
    type_into(qtbot, field, "2.5")
    assert window.training_temperature.temperature == 2.5
    assert window.temperature.temperature == 4.0  # the viewing T of Soft targets and Draw is another
    assert window.distillation_panel.distill_config().temperature == 2.5


def test_cross_field_rules_come_from_the_core_configs(qtbot, window):
    panel = window.distillation_panel
    panel.transfer_combo.setCurrentIndex(panel.transfer_combo.findData("noise"))
    type_into(qtbot, panel.alpha, "0.5")
    assert panel.problem_label.isVisible()
    assert "Random noise has no labels: alpha must be 1" in panel.problem_label.text()
    panel.transfer_combo.setCurrentIndex(panel.transfer_combo.findData("leave_out"))
    assert "Choose at least one class to leave out" in panel.problem_label.text()
    assert panel.leave_out_widget.isVisibleTo(panel) and not panel.jitter.isVisibleTo(panel)
    panel.leave_out_boxes[3].setChecked(True)
    assert panel.distill_config().leave_out == (3,)


def test_layer_count_limits_and_parameter_counts(qtbot, window):
    teacher = window.networks_panel.teacher
    teacher.set_spec(teacher.preset)
    assert "2,395,210 parameters" in teacher.summary.text()
    window.networks_panel.student.set_spec(window.networks_panel.student.preset)
    assert "39,760 parameters" in window.networks_panel.student.summary.text()
    assert "60.2×" in window.networks_panel.ratio_label.text()
    layers = window.networks_panel.student.layers
    assert layers.layer_count() == 1
    assert not layers._rows[0][3].isEnabled() and "at least one" in layers._rows[0][3].toolTip()
    while layers.add_button.isEnabled():
        layers.add_button.click()
    assert layers.layer_count() == 8 and "At most 8" in layers.add_button.toolTip()
    layers._rows[2][3].click()
    assert layers.layer_count() == 7
    assert [f.name for f in layers.width_fields()][2] == "student: width of hidden layer 3"


def test_up_and_down_keys_step_whole_numbers(qtbot, window):
    epochs = window.training_panel.forms["teacher"].epochs
    epochs.setValue(1)
    qtbot.keyClick(epochs, Qt.Key.Key_Down)
    assert epochs.value() == 1  # never below the minimum
    qtbot.keyClick(epochs, Qt.Key.Key_Up)
    assert epochs.value() == 2


def test_last_configuration_and_geometry_are_remembered(qtbot, make_window, monkeypatch):
    from kdgui.ui.main_window import QtMainWindow

    first = make_window(quick=False)
    first.networks_panel.teacher.layers.width_fields()[0].setValue(640)
    first.training_panel.forms["distilled"].epochs.setValue(7)
    first.training_panel.set_train_limit(10_000)
    first.distillation_panel.slider.setTemperature(8.0)
    first.temperature.setTemperature(12.0)
    first.distillation_panel.loss_combo.setCurrentIndex(first.distillation_panel.loss_combo.findData("hinton"))
    first.curves_panel.smoothing_slider.setValue(30)
    first.resize(1111, 777)
    first.docks["runs"].hide()
    saved_geometry = first.saveGeometry()
    first.close()

    restored = []
    real_restore = QtMainWindow.restoreGeometry
    monkeypatch.setattr(QtMainWindow, "restoreGeometry", lambda self, g: restored.append(bytes(g)) or real_restore(self, g))
    second = make_window(quick=False)
    # The offscreen screen is 800x600, so Qt fits the size to it: check the saved geometry was applied, and the docks.
    assert restored == [bytes(saved_geometry)]
    assert not second.docks["runs"].isVisible() and second.docks["data"].isVisible()
    assert second.networks_panel.teacher_spec().hidden == (640, 1200)
    assert second.training_panel.forms["distilled"].epochs.value() == 7
    assert second.training_panel.train_limit() == 10_000
    assert second.distillation_panel.distill_config().temperature == 8.0
    assert second.training_temperature.temperature == 8.0
    assert second.temperature.temperature == 12.0  # the viewing temperature is remembered too
    assert second.distillation_panel.distill_config().loss == "hinton"
    assert second.curves_panel.smoothing_slider.value() == 30


def test_a_corrupt_remembered_configuration_falls_back_to_defaults(qtbot, make_window):
    from PySide6.QtCore import QSettings

    settings = QSettings()
    settings.setValue("config/last", '{"version": 1, "networks": {"teacher": {"hidden": [-3]}}, "training": {"device": "cuda:9"}}')
    settings.sync()
    window = make_window(quick=False)
    assert window.networks_panel.teacher_spec().hidden == (1200, 1200)
    assert window.training_panel.device() == "auto"
    assert "cuda:9" in window.statusBar().currentMessage()
