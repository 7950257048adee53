"""Training from the main window: runs start, stream curves, stop, close, fail and reload like a user expects."""

import dataclasses
import time

import pytest
import torch

from kdgui.core.runs import RunStore
from kdgui.ui import worker as worker_module

from ui_helpers import REAL_DATA, configure_quick, train


def test_teacher_run_streams_curves_and_lands_on_disk(qtbot, window):
    started, states = [], []
    window.runStarted.connect(started.append)
    # While it trains, the other buttons say why they are disabled.
    window.runStarted.connect(lambda _: states.append((window.is_training(), window.run_controls.start_buttons["student"].isEnabled(),
                                                       window.run_controls.start_buttons["student"].toolTip())))
    outcome, run_id = train(qtbot, window, "teacher")
    assert outcome == "finished" and started == [run_id]
    assert states[0][:2] == (True, False) and "in progress" in states[0][2]
    window.curves_panel.flush()
    losses, evaluations = window.curves_panel.point_counts(run_id)
    assert losses == 2 * 16  # 800 images / batch 50 = 16 batches per epoch, every batch drawn
    assert evaluations == 2 + 2 * 3  # epoch ends plus every 5 batches within each epoch
    run = RunStore().get(run_id)
    assert run.status == "finished" and run.has_weights
    assert window.runs_panel.item_for(run_id).text(5).endswith("%")
    assert "finished" in window.run_controls.progress.format()
    assert window.step_bar.states["teacher"] == "done"


def test_curves_gain_points_while_training(qtbot, window):
    window.training_panel.forms["teacher"].epochs.setValue(500)
    with qtbot.waitSignal(window.runStarted, timeout=10_000) as started:
        window.run_controls.start_buttons["teacher"].click()
    run_id = started.args[0]
    qtbot.waitUntil(lambda: window.curves_panel.point_counts(run_id)[0] > 0, timeout=10_000)
    first = window.curves_panel.point_counts(run_id)[0]
    qtbot.waitUntil(lambda: window.curves_panel.point_counts(run_id)[0] > first, timeout=10_000)
    assert "epoch" in window.run_controls.progress.format() and "left" in window.run_controls.progress.format()
    with qtbot.waitSignal(window.runEnded, timeout=10_000):
        window.run_controls.stop_button.click()


def test_distil_needs_a_teacher_then_uses_the_new_one(qtbot, window):
    distil = window.run_controls.start_buttons["distilled"]
    assert not distil.isEnabled()
    assert "Train a teacher first" in distil.toolTip()
    outcome, teacher_id = train(qtbot, window, "teacher")
    assert outcome == "finished"
    assert distil.isEnabled()
    assert window.distillation_panel.teacher_run_id() == teacher_id
    outcome, distilled_id = train(qtbot, window, "distilled")
    assert outcome == "finished"
    run = RunStore().get(distilled_id)
    assert run.job.teacher_run == teacher_id and run.job.distill.temperature == 4.0
    assert window.labels[distilled_id] == "distilled T=4"
    assert window.step_bar.states["distilled"] == "done"


def has_losses(window, run_id) -> bool:
    """The run's curves hold losses (the curves take a run up when the Runs list reads it, a moment after it started)."""
    curves = window.curves_panel.runs.get(run_id)
    return curves is not None and bool(curves.history.losses)


def test_stop_ends_the_run_and_keeps_it_marked_stopped(qtbot, window):
    window.training_panel.forms["teacher"].epochs.setValue(500)
    with qtbot.waitSignal(window.runStarted, timeout=10_000) as started:
        window.run_controls.start_buttons["teacher"].click()
    run_id = started.args[0]
    qtbot.waitUntil(lambda: has_losses(window, run_id), timeout=10_000)
    window.run_controls.pause_button.click()
    assert window.runner.paused
    assert window.run_controls.pause_button.text() == "Resume"
    with qtbot.waitSignal(window.runEnded, timeout=10_000) as ended:
        window.run_controls.stop_button.click()
    assert ended.args == ["stopped", run_id]
    run = RunStore().get(run_id)
    assert run.status == "stopped" and run.has_weights
    assert run.summary["steps"] > 0
    assert window.runs_panel.item_for(run_id).text(3) == "stopped"
    assert window.run_controls.start_buttons["teacher"].isEnabled()


def test_closing_while_training_stops_within_two_seconds(qtbot, make_window):
    window = make_window()
    window.training_panel.forms["teacher"].epochs.setValue(500)
    with qtbot.waitSignal(window.runStarted, timeout=10_000) as started:
        window.run_controls.start_buttons["teacher"].click()
    run_id = started.args[0]
    qtbot.waitUntil(lambda: has_losses(window, run_id), timeout=10_000)
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 2.0
    run = RunStore().get(run_id)
    assert run.status == "stopped" and run.has_weights


def test_a_worker_exception_reaches_the_ui_and_the_app_stays_usable(qtbot, window, monkeypatch):
    real_execute = worker_module.training.execute

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure in the engine")
        yield  # noqa: unreachable - makes this a generator like the real one

    monkeypatch.setattr(worker_module.training, "execute", broken)
    outcome, run_id = train(qtbot, window, "teacher")
    assert (outcome, run_id) == ("failed", "")
    assert window.banner.isVisible() and window.banner.level == "error"
    assert "simulated failure in the engine" in window.banner.text.text()
    assert not window.is_training()
    monkeypatch.setattr(worker_module.training, "execute", real_execute)
    assert train(qtbot, window, "student")[0] == "finished"


def test_a_run_that_fails_at_once_still_ends_cleanly(qtbot, window, monkeypatch):
    # The thread may end before start_in_thread returns: its end must still reach the window every time.
    def instantly_broken(*args, **kwargs):
        raise ValueError("nothing to train")
        yield  # noqa: unreachable

    monkeypatch.setattr(worker_module.training, "execute", instantly_broken)
    for _ in range(10):
        assert train(qtbot, window, "student", timeout=5_000) == ("failed", "")
        assert not window.is_training()


def test_an_engine_error_is_shown_in_words_and_the_run_marked_failed(qtbot, window):
    outcome, teacher_id = train(qtbot, window, "teacher")
    RunStore().get(teacher_id).weights_path.write_bytes(b"not a weights file")
    outcome, run_id = train(qtbot, window, "distilled")
    assert outcome == "failed"
    assert "not a readable weights file" in window.banner.text.text()
    assert "Traceback" not in window.banner.text.text()


def test_out_of_memory_on_a_gpu_falls_back_to_the_cpu(qtbot, window, monkeypatch):
    real_execute = worker_module.training.execute
    devices = []

    def fake_gpu_execute(job, *args, **kwargs):
        devices.append(job.train.device)
        if job.train.device != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        yield from real_execute(job, *args, **kwargs)

    monkeypatch.setattr(worker_module.training, "execute", fake_gpu_execute)
    monkeypatch.setattr("kdgui.ui.session.resolve_device", lambda name: None)  # pretend cuda:0 exists
    window.training_panel.device_combo.addItem("CUDA 0: pretend GPU", "cuda:0")
    window.training_panel.set_device("cuda:0")
    button = window.run_controls.start_buttons["teacher"]
    assert button.isEnabled(), button.toolTip()
    with qtbot.waitSignal(window.runEnded, timeout=10_000) as first:
        button.click()
    assert first.args[0] == "failed", window.banner.text.text()
    assert "Out of memory on cuda:0" in window.banner.text.text()
    with qtbot.waitSignal(window.runEnded, timeout=20_000) as second:
        pass
    assert second.args[0] == "finished"
    assert devices == ["cuda:0", "cpu"]


def test_a_missing_device_falls_back_to_the_cpu_with_a_message(qtbot, window):
    job = window.build_job("student")
    job = dataclasses.replace(job, train=dataclasses.replace(job.train, device="cuda:7"))
    with qtbot.waitSignal(window.runEnded, timeout=20_000) as ended:
        assert window.start_job(job)
    assert ended.args[0] == "finished"
    assert "not available" in window.banner.text.text() or RunStore().get(ended.args[1]).summary["device"] == "cpu"
    assert RunStore().get(ended.args[1]).job.train.device == "cpu"


def test_runs_reload_after_a_restart(qtbot, make_window, synthetic_splits):
    first = make_window()
    _, teacher_id = train(qtbot, first, "teacher")
    first.training_panel.forms["student"].epochs.setValue(500)
    with qtbot.waitSignal(first.runStarted, timeout=10_000) as started:
        first.run_controls.start_buttons["student"].click()
    student_id = started.args[0]
    # The curves take the run up when the Runs list reads it, a moment after it started.
    qtbot.waitUntil(lambda: student_id in first.curves_panel.runs
                    and bool(first.curves_panel.runs[student_id].history.evaluations), timeout=10_000)
    first.close()

    second = make_window()
    ids = {r.id: r for r in second.runs_model.runs}
    assert ids[teacher_id].status == "finished" and ids[student_id].status == "stopped"
    assert second.runs_panel.item_for(teacher_id).text(5).endswith("%")
    assert second.runs_panel.item_for(student_id).text(5).endswith("%")  # from its last evaluation
    assert teacher_id in second.curves_panel.shown_run_ids()  # the lineup's runs are shown at start
    second.curves_panel.flush()
    assert second.curves_panel.point_counts(teacher_id) == (32, 8)
    second.runs_view.set_shown(student_id, True)
    second.curves_panel.flush()
    assert second.curves_panel.point_counts(student_id)[1] >= 1
    assert second.distillation_panel.teacher_run_id() == teacher_id


def test_rename_delete_reopen_and_choose_teacher(qtbot, window):
    _, first_id = train(qtbot, window, "teacher")
    window.networks_panel.teacher.set_spec(dataclasses.replace(window.networks_panel.teacher_spec(), hidden=(16,), dropout=(0.0,)))
    _, second_id = train(qtbot, window, "teacher")
    assert window.labels[first_id] == "teacher #1" and window.labels[second_id] == "teacher #2"
    assert window.distillation_panel.teacher_run_id() == second_id

    window.runs_panel.select(first_id)
    window.runs_panel.teacher_button.click()
    assert window.distillation_panel.teacher_run_id() == first_id

    window.runs_view.rename(first_id, "wide teacher")
    assert RunStore().get(first_id).name == "wide teacher"
    assert window.runs_panel.item_for(first_id).text(0) == "wide teacher"
    assert window.labels[second_id] == "teacher"

    window.runs_panel.select(first_id)
    window.runs_panel.reopen_button.click()
    assert window.networks_panel.teacher_spec().hidden == (32, 32)

    window.runs_view.delete(second_id)
    assert not (RunStore().root / second_id).exists()
    assert window.runs_panel.item_for(second_id) is None
    assert second_id not in window.curves_panel.runs


def test_runs_are_overlaid_with_a_legend(qtbot, window):
    _, teacher_id = train(qtbot, window, "teacher")
    _, student_id = train(qtbot, window, "student")
    legend = window.curves_panel.accuracy_item.legend
    names = [label.text for _, label in legend.items]
    assert names == ["teacher", "student"]
    window.runs_panel.set_shown(teacher_id, False)
    assert [label.text for _, label in legend.items] == ["student"]
    assert teacher_id not in window.curves_panel.shown_run_ids()


def test_real_mnist_subset_trains(qtbot, make_window, monkeypatch):
    if not (REAL_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip("real MNIST is not in ../shared/datasets")
    monkeypatch.setenv("KDGUI_DATA_DIR", str(REAL_DATA))
    window = make_window(data=None)
    assert window.data_panel.ready
    configure_quick(window, epochs=1, batch_size=100, eval_every=0)
    window.training_panel.set_train_limit(300)
    outcome, run_id = train(qtbot, window, "student", timeout=30_000)
    assert outcome == "finished"
    assert RunStore().get(run_id).job.train.train_limit == 300


def test_a_list_update_before_the_new_run_is_read_keeps_its_curves(qtbot, window):
    """The curves take a run up at Started; the Runs list reads its folder a moment later. A list update in between
    (another run's refresh) must not drop the live run's curves, or its plot would stay empty."""
    window.training_panel.forms["student"].epochs.setValue(500)
    with qtbot.waitSignal(window.runStarted, timeout=10_000) as started:
        window.run_controls.start_buttons["student"].click()
    run_id = started.args[0]
    window.runs_model.runs = [r for r in window.runs_model.runs if r.id != run_id]  # not read yet
    window.runs_model.changed.emit()
    assert run_id in window.curves_panel.runs
    qtbot.waitUntil(lambda: has_losses(window, run_id), timeout=10_000)
    with qtbot.waitSignal(window.runEnded, timeout=10_000):
        window.run_controls.stop_button.click()
