"""QtJobWorker on a real training run: one signal per event, batched progress that never loses a batch, failures as messages."""

import dataclasses

import pytest
import shiboken6
from PySide6.QtCore import QObject

from kdgui.core import config as C
from kdgui.core import training
from kdgui.core.events import Cancelled, Evaluation, Finished, Started
from kdgui.core.runs import RunStore
from kdgui.ui.worker import QtJobWorker, describe_failure, start_in_thread


def quick_job(epochs=2, eval_every=5):
    train = dataclasses.replace(C.SEED_STUDENT_TRAIN, epochs=epochs, eval_every=eval_every, batch_size=50, device="cpu")
    return C.Job("student", C.NetSpec(hidden=(8,)), train)


def training_worker(job, data, **kwargs):
    return QtJobWorker(lambda token: training.execute(job, RunStore(), token, data=data), **kwargs)


NAMES = {Started: "started", Evaluation: "eval", Finished: "finished", Cancelled: "cancelled"}


class Recorder:
    def __init__(self, worker):
        self.events = []
        worker.progressed.connect(lambda p, losses: self.events.append(("progress", p, list(losses))))
        worker.occurred.connect(lambda e: self.events.append((NAMES[type(e)], e)))
        worker.failed.connect(lambda kind, message: self.events.append(("failed", kind, message)))

    def of(self, kind):
        return [e for e in self.events if e[0] == kind]


def run_worker(qtbot, worker, before_wait=None):
    owner = QObject()  # the thread's parent, alive until Qt has deleted the finished thread
    recorder = Recorder(worker)
    with qtbot.waitSignal(worker.finished, timeout=20_000):
        thread = start_in_thread(worker, owner)
        if before_wait:
            before_wait(recorder)
    qtbot.waitUntil(lambda: not shiboken6.isValid(thread) or thread.isFinished(), timeout=5_000)
    return recorder


def test_progress_is_batched_but_every_loss_arrives(qtbot, synthetic_splits):
    # An interval longer than the run: progress is only sent before other events, yet no batch is lost.
    worker = training_worker(quick_job(), synthetic_splits, progress_interval=60.0)
    recorder = run_worker(qtbot, worker)
    progress = recorder.of("progress")
    steps = [step for _, _, losses in progress for step, _ in losses]
    assert steps == list(range(1, 33))
    # The first batch at once (the bar moves immediately), then one batch of losses before each evaluation.
    assert len(progress) == 1 + len(recorder.of("eval"))
    assert progress[-1][1].step == progress[-1][1].total_steps == 32
    kinds = [e[0] for e in recorder.events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert recorder.of("finished")[0][1].run_id == recorder.of("started")[0][1].run_id


def test_progress_signals_are_rate_limited(qtbot, synthetic_splits):
    worker = training_worker(quick_job(epochs=4, eval_every=0), synthetic_splits)
    recorder = run_worker(qtbot, worker)
    elapsed = recorder.of("finished")[0][1].seconds
    # At most ~20 a second, plus the one always sent before each of the 4 epoch-end evaluations.
    assert len(recorder.of("progress")) <= 20 * elapsed + 4 + 2


def test_stop_cancels_and_the_partial_run_is_kept(qtbot, synthetic_splits):
    worker = training_worker(quick_job(epochs=500), synthetic_splits)

    def stop_after_first_progress(recorder):
        qtbot.waitUntil(lambda: bool(recorder.of("progress")), timeout=10_000)
        worker.stop()

    recorder = run_worker(qtbot, worker, stop_after_first_progress)
    cancelled = recorder.of("cancelled")
    assert len(cancelled) == 1 and not recorder.of("finished")
    assert RunStore().get(cancelled[0][1].run_id).status == "stopped"


def test_a_config_error_becomes_a_message(qtbot, synthetic_splits):
    job = dataclasses.replace(quick_job(), train=dataclasses.replace(quick_job().train, device="cuda:7"))
    recorder = run_worker(qtbot, training_worker(job, synthetic_splits))
    assert recorder.of("failed") == [("failed", "config", "device cuda:7 is not available here (0 CUDA device(s) seen)")]


@pytest.mark.parametrize("exc, kind", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "oom"),
    (C.ConfigError("bad"), "config"),
    (ValueError("boom"), "error"),
])
def test_failures_are_classified(exc, kind):
    assert describe_failure(exc)[0] == kind
