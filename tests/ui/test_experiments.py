"""The Experiments tab: a tiny sweep fills the plot, Stop ends it, bad input is refused, a study reports, results export."""

import csv

import pytest
from PySide6.QtCore import Qt

from kdgui.core.events import Progress
from kdgui.ui.panels.experiments import RESULT_COLUMNS
from kdgui.ui.widgets.plot_export import export_plot
from ui_helpers import train


@pytest.fixture
def trained(qtbot, window):
    """A window with a finished teacher and a student from labels (the sweep's two reference lines)."""
    assert train(qtbot, window, "teacher")[0] == "finished"
    assert train(qtbot, window, "student")[0] == "finished"
    window.show_panel("experiments")
    return window


def quick_sweep(panel, temperatures="1, 4, 20", epochs=1, limit=200):
    panel.temperatures_edit.setText(temperatures)
    panel.sweep_epochs.setValue(epochs)
    panel.sweep_limit.setValue(limit)


def test_sweep_fills_plot_with_one_point_per_temperature_and_references(qtbot, trained, tmp_path):
    panel = trained.experiments_panel
    quick_sweep(panel)
    assert panel.run_sweep_button.isEnabled(), panel.run_sweep_button.toolTip()
    assert "Distillation panel" in panel.sweep_teacher.text()
    with qtbot.waitSignal(panel.jobEnded, timeout=20_000) as blocker:
        panel.run_sweep_button.click()
        assert trained.is_training()
        assert not trained.run_controls.start_buttons["teacher"].isEnabled()
    assert blocker.args == ["finished"]
    assert not trained.is_training()
    x, y = panel.val_curve.getData()
    assert len(x) == 3 and len(panel.test_curve.getData()[1]) == 3
    assert list(x) == pytest.approx([0.0, 0.60206, 1.30103], abs=1e-4)  # log10 of 1, 4, 20
    assert all(0 <= v <= 1 for v in y)
    assert panel.reference_lines["teacher"].isVisible() and panel.reference_lines["student"].isVisible()
    assert "teacher" in panel.reference_lines["teacher"].label.format
    assert panel.sweep_table.rowCount() == 3
    assert "finished" in panel.sweep_status.text()
    for suffix in (".png", ".svg"):
        path = export_plot(panel.sweep_plot.getPlotItem(), tmp_path / f"sweep{suffix}")
        assert path.stat().st_size > 0


def test_stop_ends_sweep(qtbot, trained):
    panel = trained.experiments_panel
    quick_sweep(panel, epochs=200, limit=0)
    with qtbot.waitSignal(panel.jobEnded, timeout=20_000) as blocker:
        panel.run_sweep_button.click()
        # Stop mid-training: after the first batch has been reported.
        qtbot.waitSignal(panel.worker.event, timeout=10_000, check_params_cb=lambda e: isinstance(e, Progress)).wait()
        assert panel.stop_sweep_button.isEnabled()
        panel.stop_sweep_button.click()
    assert blocker.args == ["stopped"]
    assert "stopped" in panel.sweep_status.text()
    assert panel.run_sweep_button.isEnabled()


@pytest.mark.parametrize("text, reason", [
    ("1, 2, x", "not a number"),
    ("", "at least one temperature"),
    ("1, 2, 2", "each temperature once"),
    ("0, 2", "positive"),
])
def test_invalid_temperatures_are_refused_with_a_reason(qtbot, trained, text, reason):
    panel = trained.experiments_panel
    panel.temperatures_edit.setText(text)
    assert not panel.run_sweep_button.isEnabled()
    assert reason in panel.run_sweep_button.toolTip()
    assert panel.sweep_problem.isVisibleTo(panel) and reason in panel.sweep_problem.toolTip()
    assert panel.start_sweep() is False


def test_no_teacher_means_no_sweep(window):
    panel = window.experiments_panel
    assert not panel.run_sweep_button.isEnabled()
    assert "teacher" in panel.run_sweep_button.toolTip()
    assert "No teacher yet" in panel.sweep_teacher.text()


def test_leave_out_study_finishes_and_says_what_happened(qtbot, trained):
    panel = trained.experiments_panel
    assert panel.study_choice.currentData() == "leave-out"
    assert panel.study_loss.currentText() == "hinton" and panel.study_temperature.value() == 20
    panel.study_epochs.setValue(1)
    panel.study_limit.setValue(300)
    with qtbot.waitSignal(panel.jobEnded, timeout=20_000) as blocker:
        panel.run_study_button.click()
    assert blocker.args == ["finished"]
    words = panel.study_words.text()
    assert "Without any 3s in the transfer set" in words and "The paper: 206 errors" in words
    keys = [panel.study_numbers.item(r, 0).text() for r in range(panel.study_numbers.rowCount())]
    assert "test errors before shift" in keys and "test errors after shift" in keys


def test_results_table_lists_filters_sorts_and_exports(qtbot, trained, tmp_path):
    panel = trained.experiments_panel
    quick_sweep(panel)
    with qtbot.waitSignal(panel.jobEnded, timeout=20_000):
        panel.run_sweep_button.click()
    panel.tabs.setCurrentIndex(2)
    kinds = sorted(row[0] for row in panel.visible_rows())
    assert kinds == ["student", "sweep", "teacher"]
    panel.results_filter.setText("SWEEP")
    assert [row[0] for row in panel.visible_rows()] == ["sweep"]
    panel.results_filter.setText("")
    test_col = RESULT_COLUMNS.index("test acc")
    panel.results_view.sortByColumn(test_col, Qt.SortOrder.DescendingOrder)
    accs = [float(row[test_col].rstrip("%")) for row in panel.visible_rows()]
    assert accs == sorted(accs, reverse=True)
    path = panel.export_csv(tmp_path / "results.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(RESULT_COLUMNS)
    assert rows[1:] == panel.visible_rows()
    assert not list(tmp_path.glob(".results.csv.*"))  # the temp file was replaced, not left behind


def test_experiments_wait_while_a_training_run_trains(qtbot, trained):
    panel = trained.experiments_panel
    quick_sweep(panel)
    with qtbot.waitSignal(trained.runEnded, timeout=20_000):
        trained.run_controls.start_buttons["student"].click()
        assert trained.is_training()
        assert not panel.run_sweep_button.isEnabled() and not panel.run_study_button.isEnabled()
        assert "training run is in progress" in panel.run_sweep_button.toolTip()
        assert panel.start_sweep() is False
    assert panel.run_sweep_button.isEnabled()
