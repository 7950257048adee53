"""The Experiments tab: a tiny sweep fills the plot, Stop ends it, bad input is refused, a study reports, results export.

The panel is built on its own, as the window builds it: a JobRunner and ExperimentInputs over a runs folder
in tmp, synthetic data, and a teacher and a student from labels trained quickly with core.training.execute.
"""

import csv
import json
import os
import stat
import time

import pytest
from PySide6.QtCore import Qt

from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError
from kdgui.core.events import Cancelled, Finished
from kdgui.core.runs import RunStore
from kdgui.core.training import execute
from kdgui.ui.jobs import JobRunner
from kdgui.ui.panels.experiments import ExperimentInputs, ExperimentsPanel
from kdgui.ui.panels.results_table import RESULT_COLUMNS
from kdgui.ui.widgets.plot_export import export_plot

WAIT_MS = 20_000
TEACHER_LABEL = "big teacher"


def train_quickly(store, kind, spec, data):
    """A finished run of ``kind`` in well under a second; returns its id."""
    job = Job(kind, spec, TrainConfig(epochs=2, lr=0.01, batch_size=50, eval_every=5, device="cpu"))
    finished = [e for e in execute(job, store, data=data) if isinstance(e, Finished)]
    return finished[-1].run_id


class FakeWindow:
    """What the window would give the panel: its store, data, teacher, student and labels; tests change them."""

    def __init__(self, store, data):
        self.store, self.data = store, data
        self.ready = True
        self.teacher_id = None
        self.student_spec = NetSpec(hidden=(8,))

    def teacher(self):
        if self.teacher_id is None:
            return None, "No teacher yet: train one first (Networks › Train teacher)"
        return self.teacher_id, f"Teacher: {TEACHER_LABEL} (chosen in the Distillation panel)"

    def student(self):
        if self.student_spec is None:
            raise ConfigError("the student network is not valid: see the Networks panel")
        return self.student_spec

    def inputs(self):
        return ExperimentInputs(store=self.store, data=lambda: (self.data, None), data_ready=lambda: self.ready,
                                teacher=self.teacher, student=self.student,
                                labels=lambda: {self.teacher_id: TEACHER_LABEL} if self.teacher_id else {})


@pytest.fixture
def runner(qtbot):
    runner = JobRunner()
    yield runner
    if runner.running:  # a failed test must not leave a thread behind
        runner.shutdown(5000)


@pytest.fixture
def fake_window(tmp_path, synthetic_splits):
    return FakeWindow(RunStore(tmp_path / "runs"), synthetic_splits)


@pytest.fixture
def make_panel(qtbot, runner, fake_window):
    def make():
        panel = ExperimentsPanel(runner, fake_window.inputs())
        qtbot.addWidget(panel)
        panel.show()
        return panel

    return make


@pytest.fixture
def trained(fake_window, make_panel):
    """A panel with a finished teacher and a student from labels (the sweep's two reference lines)."""
    w = fake_window
    w.teacher_id = train_quickly(w.store, "teacher", NetSpec(hidden=(32, 32), dropout=(0.0, 0.1)), w.data)
    train_quickly(w.store, "student", NetSpec(hidden=(8,)), w.data)
    return make_panel()


def quick_sweep(panel, temperatures="1, 4, 20", epochs=1, limit=200):
    assert panel.sweep.sweep_limit.text() == "all" and panel.sweep.sweep_limit.value() == 0  # 0 means every image
    panel.sweep.temperatures_edit.setText(temperatures)
    panel.sweep.sweep_epochs.setValue(epochs)
    panel.sweep.sweep_limit.setValue(limit)


def wait_for_stop(token):
    """A stand-in training run: it does nothing until stopped."""
    while not token.cancelled:
        time.sleep(0.005)
    yield Cancelled("fake", 0, 0.0)


def test_sweep_fills_plot_with_one_point_per_temperature_and_references(qtbot, trained, runner, tmp_path):
    panel, page = trained, trained.sweep
    quick_sweep(panel)
    assert page.run_button.isEnabled(), page.run_button.toolTip()
    assert "Distillation panel" in page.teacher_label.text()
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        page.run_button.click()
        assert panel.running() and runner.kind == "sweep"
        assert TEACHER_LABEL in page.status.text()
        assert not page.run_button.isEnabled() and not panel.study.run_button.isEnabled()
        assert runner.start("train", "Training the teacher", wait_for_stop) is False  # one job at a time
    assert blocker.args == ["sweep", "finished"]
    assert not panel.running() and not runner.running
    x, y = page.val_curve.getData()
    assert len(x) == 3 and len(page.test_curve.getData()[1]) == 3
    assert list(x) == pytest.approx([0.0, 0.60206, 1.30103], abs=1e-4)  # log10 of 1, 4, 20
    assert all(1 < v <= 100 for v in y)  # in %, as every chart shows accuracy
    assert page.reference_lines["teacher"].value() > 1
    assert page.reference_lines["teacher"].isVisible() and page.reference_lines["student"].isVisible()
    assert "teacher" in page.reference_lines["teacher"].label.format
    # The student from labels trained 2 epochs on all images, the sweep's students 1 epoch on 200: the label says so.
    student_label = page.reference_lines["student"].label.format
    assert "student from labels" in student_label and "not like for like" in student_label
    assert "not like for like" not in page.reference_lines["teacher"].label.format
    assert page.sweep_table.rowCount() == 3
    headers = [page.sweep_table.horizontalHeaderItem(c).text() for c in range(page.sweep_table.columnCount())]
    assert headers == ["T", "seeds", "validation", "test", "test range"]
    assert page.sweep_table.item(0, 2).text().endswith("%")
    # The verdict in words: the best T on validation and how it stands against the student from labels, with the caveat.
    verdict = page.verdict.text()
    assert page.verdict.isVisibleTo(panel) and "on validation" in verdict and "T=" in verdict
    assert "the student trained on labels" in verdict and "not like for like: trained 2 epochs" in verdict
    assert "finished" in page.status.text()
    assert page.run_button.isEnabled() and not page.stop_button.isEnabled()
    for suffix in (".png", ".svg"):
        path = export_plot(page.sweep_plot.getPlotItem(), tmp_path / f"sweep{suffix}")
        assert path.stat().st_size > 0


def test_stop_ends_sweep_through_the_runner(qtbot, trained, runner):
    panel, page = trained, trained.sweep
    quick_sweep(panel, epochs=200, limit=0)
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        page.run_button.click()
        # Stop mid-training: after the first batch has been reported.
        qtbot.waitSignal(runner.progressed, timeout=10_000).wait()
        assert page.stop_button.isEnabled() and not panel.study.stop_button.isEnabled()
        page.stop_button.click()
        assert "Stopping" in page.status.text()
    assert blocker.args == ["sweep", "stopped"]
    assert "stopped" in page.status.text()
    assert page.run_button.isEnabled()


@pytest.mark.parametrize("text, reason", [
    ("1, 2, x", "not a number"),
    ("", "at least one temperature"),
    ("1, 2, 2", "each temperature once"),
    ("0, 2", "positive"),
])
def test_invalid_temperatures_are_refused_with_a_reason(qtbot, trained, runner, text, reason):
    panel, page = trained, trained.sweep
    page.temperatures_edit.setText(text)
    assert not page.run_button.isEnabled()
    assert reason in page.run_button.toolTip()
    assert page.problem.isVisibleTo(panel) and reason in page.problem.toolTip()
    assert panel.start_sweep() is False
    assert not runner.running


def test_no_teacher_means_no_sweep(make_panel):
    panel = make_panel()
    assert not panel.sweep.run_button.isEnabled()
    assert "teacher" in panel.sweep.run_button.toolTip()
    assert "No teacher yet" in panel.sweep.teacher_label.text()


def test_missing_dataset_and_invalid_student_are_reasons(fake_window, make_panel):
    fake_window.teacher_id = "some-teacher"
    fake_window.ready = False
    fake_window.student_spec = None
    panel = make_panel()
    for page in (panel.sweep, panel.study):
        assert not page.run_button.isEnabled()
        assert "dataset is missing" in page.run_button.toolTip()
        assert "student network is not valid" in page.problem.toolTip()


def test_leave_out_study_finishes_and_says_what_happened(qtbot, trained, runner):
    page = trained.study
    assert page.study_choice.currentData() == "leave-out"
    assert page.study_loss.currentData() == "hinton" and page.study_temperature.value() == 20
    assert page.study_loss.currentText().startswith("Hinton")  # titles, not identifiers
    assert page.study_limit.text() == "all"
    page.study_epochs.setValue(1)
    page.study_limit.setValue(300)
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        page.run_button.click()
        assert runner.kind == "study" and page.stop_button.isEnabled() and not trained.sweep.stop_button.isEnabled()
    assert blocker.args == ["study", "finished"]
    words = page.study_words.text()
    assert "Without any 3s in the transfer set" in words and "The paper: 206 errors" in words
    # The headline leads, in bold, and the bias shift is explained.
    assert words.index("Without seeing a single 3, the student recognises") < words.index("Without any 3s")
    assert "font-weight: bold" in words.split("Without seeing")[0] and "Bias shift: " in words
    assert page.study_numbers.isVisibleTo(page) and page.study_numbers.verticalScrollBar().maximum() == 0
    numbers = {page.study_numbers.item(r, 0).text(): page.study_numbers.item(r, 1).text()
               for r in range(page.study_numbers.rowCount())}
    assert "test errors before shift" in numbers and "test errors after shift" in numbers
    student = [value for key, value in numbers.items() if key.startswith("student from labels")]
    assert len(student) == 1 and "not like for like" in student[0]
    assert "finished" in page.status.text()


def test_results_table_lists_filters_sorts_and_exports(qtbot, trained, runner, tmp_path):
    panel, results = trained, trained.results
    quick_sweep(panel)
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS):
        panel.sweep.run_button.click()
    panel.tabs.setCurrentWidget(results)
    kinds = sorted(row[0] for row in results.visible_rows())
    assert kinds == ["Student from labels", "Sweep", "Teacher"]
    loss_col = RESULT_COLUMNS.index("loss")
    assert [row[loss_col] for row in results.visible_rows() if row[0] == "Sweep"] == ["Soft-target MSE"]
    name_col = RESULT_COLUMNS.index("name")
    assert [row[name_col] for row in results.visible_rows() if row[0] == "Teacher"] == [TEACHER_LABEL]  # the window's label
    results.results_filter.setText("SWEEP")
    assert [row[0] for row in results.visible_rows()] == ["Sweep"]
    results.results_filter.setText("")
    test_col = RESULT_COLUMNS.index("test acc")
    results.results_view.sortByColumn(test_col, Qt.SortOrder.DescendingOrder)
    accs = [float(row[test_col].rstrip("%")) for row in results.visible_rows()]
    assert accs == sorted(accs, reverse=True)
    umask = os.umask(0o022)
    try:
        path = results.export_csv(tmp_path / "results.csv")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a normal file, not mkstemp's owner-only 0600
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(RESULT_COLUMNS)
    assert rows[1:] == results.visible_rows()
    assert not list(tmp_path.glob(".results.csv.*"))  # the temp file was replaced, not left behind


def test_experiments_wait_while_the_runner_trains(qtbot, trained, runner):
    panel = trained
    quick_sweep(panel)
    assert runner.start("train", "Training the student", wait_for_stop)
    for page in (panel.sweep, panel.study):
        assert not page.run_button.isEnabled() and not page.stop_button.isEnabled()
        assert page.run_button.toolTip() == "Training the student is running: stop it or wait for it to end"
    assert panel.start_sweep() is False and panel.start_study() is False
    assert "Training the student is running" in panel.sweep.problem.toolTip()
    assert not panel.running() and runner.kind == "train"
    panel.stop()  # the panel's Stop is for its own jobs only
    assert runner.running and not runner.stopping
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        runner.stop()
    assert blocker.args == ["train", "stopped"]
    assert panel.sweep.run_button.isEnabled() and panel.study.run_button.isEnabled()
    assert panel.sweep.status.text() == "" and panel.study.status.text() == ""  # the train job's events are not ours


def test_a_failed_sweep_says_why(qtbot, fake_window, make_panel, runner):
    fake_window.teacher_id = "no-such-run"
    panel = make_panel()
    quick_sweep(panel)
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        assert panel.start_sweep()
    assert blocker.args == ["sweep", "failed"]
    assert panel.sweep.status.text().startswith("The sweep failed: ") and "no-such-run" in panel.sweep.status.text()
    assert panel.sweep.run_button.isEnabled()


def test_the_forms_and_the_tab_in_front_come_back_in_a_second_panel(make_panel):
    first = make_panel()
    sweep, study = first.sweep, first.study
    sweep.temperatures_edit.setText("2, 8")
    sweep.sweep_epochs.setValue(3)
    sweep.sweep_seeds.setValue(2)
    sweep.sweep_loss.setCurrentIndex(sweep.sweep_loss.findData("hinton"))
    sweep.sweep_alpha.setValue(0.7)
    sweep.sweep_limit.setValue(500)
    study.study_choice.setCurrentIndex(study.study_choice.findData("only-classes"))
    study.study_classes.setText("1, 2")
    study.study_loss.setCurrentIndex(study.study_loss.findData("soft_mse"))
    study.study_temperature.setValue(8)
    study.study_epochs.setValue(4)
    study.study_limit.setValue(1000)
    first.tabs.setCurrentWidget(study)
    state = json.loads(json.dumps(first.state()))  # as the settings file keeps it

    second = make_panel()
    assert second.restore(state) is None  # nothing to tell the user
    assert second.state() == state
    assert second.tabs.currentWidget() is second.study
    student = lambda: NetSpec(hidden=(8,))  # noqa: E731
    assert second.sweep.sweep_config("t", student) == sweep.sweep_config("t", student)
    assert second.study.study_config("t", student) == study.study_config("t", student)
    assert second.sweep.sweep_limit.text() == "500" and second.study.study_classes.text() == "1, 2"

    state["sweep"]["training_images"] = "all"  # 'all' (every image) comes back as 'all'
    state["tab"] = "results"
    second.restore(state)
    assert second.sweep.sweep_limit.text() == "all" and second.sweep.sweep_limit.value() == 0
    assert second.tabs.currentWidget() is second.results


def test_remembered_values_the_forms_refuse_keep_the_defaults(make_panel):
    panel = make_panel()
    defaults = panel.state()
    bad = {
        "tab": "nowhere",
        "sweep": {"temperatures": "1, -2", "epochs": "0", "seeds": 2.5, "loss": "l2", "alpha": "2", "training_images": True},
        "study": {"study": "unknown", "classes": "3, 12", "loss": 7, "temperature": "-1", "epochs": [],
                  "training_images": "-5"},
    }
    assert panel.restore(bad) is None
    assert panel.state() == defaults
    for wrong in ({"sweep": "not a form", "study": None, "tab": 1}, {"sweep": {"temperatures": "1, " * 200 + "2"}},
                  {"sweep": {"temperatures": "4, 2000", "epochs": 1e9, "alpha": float("nan")}}, {}):
        panel.restore(wrong)
        assert panel.state() == defaults
    # A study that is known comes back; its values that are refused keep that study's own defaults.
    panel.restore({"study": {"study": "only-classes", "classes": "0, 1, 2, 3, 4, 5, 6, 7, 8, 9", "temperature": "5000",
                             "loss": "nonsense"}})
    study = panel.study
    assert study.study_choice.currentData() == "only-classes"
    assert study.study_classes.text() == "7, 8" and study.study_temperature.value() == 20
    assert study.study_loss.currentData() == "hinton"
    # Classes are not put back into a study that takes none.
    panel.restore({"study": {"study": "noise", "classes": "3"}})
    assert study.study_classes.text() == "" and not study.study_classes.isEnabled()
