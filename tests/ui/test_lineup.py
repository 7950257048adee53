"""One lineup on stage: studies and sweeps never replace the networks the views show; the user chooses in one place."""

import json

import pytest

from kdgui.core.config import NetSpec
from kdgui.core.runs import RunStore
from kdgui.core.studies import StudyConfig, run_study
from kdgui.core.sweep import SweepConfig, run_sweep
from kdgui.ui.main_window import QtMainWindow
from kdgui.ui.widgets.temperature_slider import temperature_to_slider
from ui_helpers import train

STUDENT = NetSpec(hidden=(8,))


def run_experiment(qtbot, window, kind, make_events):
    """Run a study or sweep through the window's one job runner, as the Experiments tab does."""
    with qtbot.waitSignal(window.runner.ended, timeout=30_000) as ended:
        assert window.runner.start(kind, kind, make_events)
    assert ended.args == [kind, "finished"]


def sources(window):
    """Which network each view shows, role -> run id or 'bundled'."""
    draw = {m.key: m.source for m in window.canvas_panel.predictor.models}
    soft = {m.key: m.source for m in window.soft_targets_panel.models}
    compare = {m.key: m.source for m in window.report_panel.models}
    assert draw == soft == compare, (draw, soft, compare)
    return draw


@pytest.fixture
def trained(qtbot, window, synthetic_splits):
    """Teacher, student from labels and a Distil at T=4 in the window, then two studies and a sweep."""
    ids = {stage: train(qtbot, window, stage)[1] for stage in ("teacher", "student", "distilled")}
    store, teacher = window.store, ids["teacher"]
    for study, classes in (("leave-out", (3,)), ("only-classes", (7, 8))):
        config = StudyConfig(study=study, teacher_run=teacher, classes=classes, epochs=1, student=STUDENT, device="cpu")
        run_experiment(qtbot, window, "study", lambda token, c=config: run_study(c, store, token, data=synthetic_splits))
    sweep = SweepConfig(teacher_run=teacher, temperatures=(1.0, 4.0), epochs=1, student=STUDENT, device="cpu")
    run_experiment(qtbot, window, "sweep", lambda token: run_sweep(sweep, store, token, data=synthetic_splits))
    return ids


def test_studies_and_sweeps_never_replace_the_distilled_student_on_stage(qtbot, trained, window, capsys):
    from kdgui.cli import main as cli

    assert len([r for r in window.runs_model.runs if r.job.kind == "distilled"]) == 3  # the T=4 run and two study runs
    assert sources(window) == trained
    lineup = window.lineup_model.lineup
    assert [m.how for m in lineup.members] == ["default"] * 3
    assert window.lineup_bar.combos["distilled"].currentText().startswith("Automatic: distilled T=4")
    # The curves tick the lineup when the app starts again, not the newest (study) runs.
    again = QtMainWindow(RunStore(), data=window.data_override, restore=False)
    qtbot.addWidget(again)
    assert again.curves_panel.shown_run_ids() == set(trained.values())
    # The command line takes the same networks.
    assert cli(["report", "--repeats", "1", "--json", str(window.store.root / "report.json")]) == 0
    report = json.loads((window.store.root / "report.json").read_text())
    assert {role: report["models"][role]["run_id"] for role in trained} == trained
    out = capsys.readouterr().out
    assert trained["distilled"] in out
    assert cli(["export", "distilled", str(window.store.root / "student.pt")]) == 0
    assert trained["distilled"] in capsys.readouterr().out


def test_putting_a_run_on_stage_updates_every_view_survives_a_restart_and_falls_back_when_deleted(qtbot, window, synthetic_splits):
    first = train(qtbot, window, "teacher")[1]
    second = train(qtbot, window, "teacher")[1]
    assert sources(window)["teacher"] == second
    window.runs_panel.select(first)
    assert window.runs_panel.stage_button.isEnabled() and window.runs_panel.stage_button.text() == "Show as teacher"
    window.runs_panel.stage_button.click()
    assert sources(window)["teacher"] == first
    assert window.lineup_bar.combos["teacher"].currentData() == first
    assert "★" in window.runs_panel.item_for(first).text(1)
    # A restart keeps the choice (it lives in the runs folder, shared with kdgui-cli).
    again = QtMainWindow(RunStore(), data=synthetic_splits, restore=False)
    qtbot.addWidget(again)
    assert sources(again)["teacher"] == first
    # Choosing in the lineup bar works the same way; "Automatic" goes back to the default rule.
    combo = window.lineup_bar.combos["teacher"]
    combo.setCurrentIndex(combo.findData("bundled"))
    combo.activated.emit(combo.currentIndex())
    assert sources(window)["teacher"] == "bundled"
    combo.setCurrentIndex(combo.findData(first))
    combo.activated.emit(combo.currentIndex())
    # Deleting the run on stage gives its role back to the default rule, without a warning.
    window.runs_view.delete(first)
    assert sources(window)["teacher"] == second
    assert window.lineup_model.lineup["teacher"].how == "default" and not window.lineup_bar.note.isVisible()


def test_a_run_deleted_behind_the_apps_back_falls_back_and_says_so(qtbot, window):
    import shutil

    run_id = train(qtbot, window, "student")[1]
    window.lineup_model.choose("student", run_id)
    shutil.rmtree(window.store.root / run_id)
    window.runs_model.refresh()
    assert sources(window)["student"] == "bundled"
    assert window.lineup_bar.note.isVisible() and run_id in window.lineup_bar.note.text()


def drag(slider, t):
    """Move a temperature slider as a user would (its signals fire, unlike setTemperature)."""
    slider.slider.setValue(temperature_to_slider(t))
    assert slider.temperature() == t


def test_the_viewing_temperature_is_not_the_training_temperature(window):
    assert window.distillation_panel.distill_config().temperature == 4.0
    drag(window.soft_targets_panel.slider, 19.5)
    drag(window.canvas_panel.slider, 0.5)
    assert window.temperature.temperature == 0.5 and window.soft_targets_panel.slider.temperature() == 0.5
    assert window.distillation_panel.distill_config().temperature == 4.0
    button = window.canvas_panel.viewing.use_button
    assert button.text() == "Use T=0.5 for the next Distil" and button.isEnabled()
    assert "next Distil trains at T=4" in window.canvas_panel.viewing.note.text()
    button.click()
    assert window.distillation_panel.distill_config().temperature == 0.5
    assert not window.soft_targets_panel.viewing.use_button.isEnabled()  # already the training T
    # And the other way: the Distillation panel's slider leaves what the views show alone.
    drag(window.distillation_panel.slider, 8.0)
    assert window.training_temperature.temperature == 8.0 and window.temperature.temperature == 0.5


def test_tabs_are_addressed_by_name(window):
    for name in ("curves", "soft_targets", "draw", "experiments", "report"):
        window.show_panel(name)
        assert window.tabs.currentWidget() is window.tab_pages[name]
    with pytest.raises(ValueError, match="no panel"):
        window.show_panel("nonsense")

