"""JobRunner: one job slot for training runs, sweeps and studies, with batched progress, pause, stop and shutdown."""

import dataclasses
import threading

import pytest

from kdgui.core import config as C
from kdgui.core import training
from kdgui.core.errors import ConfigError
from kdgui.core.events import Cancelled, Evaluation, Finished, Progress, Started
from kdgui.core.runs import RunStore
from kdgui.core.studies import StudyCancelled, StudyFinished, StudyStarted
from kdgui.core.sweep import SweepCancelled, SweepFinished, SweepStarted
from kdgui.ui.jobs import JobRunner

WAIT_MS = 10_000


# -- helpers ---------------------------------------------------------------------------------------------
def fake_events(token, steps=10, *, evaluate_at=(), fail_at=None, hook=None, run_id="fake-1"):
    """A tiny job in the core's shape: Started, one Progress per step (pause and stop honoured), Finished."""
    yield Started(run_id, "fake", "student", steps, "cpu")
    for step in range(1, steps + 1):
        if hook:
            hook(step)
        token.wait_while_paused()
        if token.cancelled:
            yield Cancelled(run_id, step - 1, 0.0)
            return
        if step == fail_at:
            raise ValueError("boom")
        yield Progress(step, steps, 1, 1, step, steps, 1.0 / step, 0.0)
        if step in evaluate_at:
            yield Evaluation(step, step / steps, 0.1, 0.5, 0.1, 0.5)
    yield Finished(run_id, 0.9, 0.9, 0.9, 0.0)


def replay(events):
    """make_events for a fixed list of events (the token is ignored)."""
    return lambda token: iter(events)


def quick_job(epochs=2, eval_every=5):
    train = dataclasses.replace(C.SEED_STUDENT_TRAIN, epochs=epochs, eval_every=eval_every, batch_size=50, device="cpu")
    return C.Job("student", C.NetSpec(hidden=(8,)), train)


def real_run(job, data):
    return lambda token: training.execute(job, RunStore(), token, data=data)


class Recorder:
    """Every signal of a runner, in arrival order."""

    def __init__(self, runner):
        self.items = []
        self.states = []
        runner.started.connect(lambda kind: self.items.append(("started", kind)))
        runner.progressed.connect(lambda p, losses: self.items.append(("progress", p, list(losses))))
        runner.occurred.connect(lambda e: self.items.append(("event", e)))
        runner.failed.connect(lambda kind, message: self.items.append(("failed", kind, message)))
        runner.ended.connect(lambda kind, outcome: self.items.append(("ended", kind, outcome)))
        runner.stateChanged.connect(lambda: self.states.append((runner.running, runner.paused)))

    def of(self, name):
        return [item for item in self.items if item[0] == name]

    def losses(self):
        return [pair for item in self.of("progress") for pair in item[2]]

    def events(self):
        return [item[1] for item in self.of("event")]


@pytest.fixture
def runner(qtbot):
    runner = JobRunner()
    yield runner
    if runner.running:  # a failed test must not leave a thread behind
        runner.shutdown(0)
        qtbot.waitUntil(lambda: not runner.running, timeout=WAIT_MS)


def run_to_end(qtbot, runner, kind, make_events, title="a job"):
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
        assert runner.start(kind, title, make_events)
    return recorder, ended.args


# -- tests -----------------------------------------------------------------------------------------------
def test_events_arrive_in_order_and_the_job_ends_finished(qtbot, runner):
    recorder, ended = run_to_end(qtbot, runner, "student", fake_events, "Student")
    assert ended == ["student", "finished"]
    names = [item[0] for item in recorder.items]
    assert names[0] == "started" and names[-1] == "ended" and "failed" not in names
    events = recorder.events()
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    assert names.index("event") < names.index("progress")  # Started before any progress
    assert recorder.losses() == [(s, 1.0 / s) for s in range(1, 11)]
    assert recorder.states[0] == (True, False) and recorder.states[-1] == (False, False)
    # The job's description stays readable after it ended.
    assert not runner.running and not runner.paused
    assert (runner.kind, runner.title, runner.run_id, runner.device) == ("student", "Student", "fake-1", "cpu")


def test_progress_is_batched_but_every_loss_arrives_once_and_the_newest_before_other_events(qtbot):
    runner = JobRunner(progress_interval=60.0)  # longer than the job: progress goes out only before other events
    recorder, ended = run_to_end(qtbot, runner, "student", lambda t: fake_events(t, 200, evaluate_at=(50, 120)))
    assert ended == ["student", "finished"]
    assert recorder.losses() == [(s, 1.0 / s) for s in range(1, 201)]
    progress = recorder.of("progress")
    assert len(progress) <= 4  # perhaps the first batch, then one before each evaluation and before Finished
    for i, item in enumerate(recorder.items):
        if item[0] == "event" and isinstance(item[1], (Evaluation, Finished)):
            before = recorder.items[i - 1]
            assert before[0] == "progress" and before[1].step == (item[1].step if isinstance(item[1], Evaluation) else 200)
            assert before[2][-1][0] == before[1].step


def test_a_second_start_while_running_is_refused(qtbot, runner):
    gate = threading.Event()
    second_called = []
    recorder = Recorder(runner)
    assert runner.start("sweep", "Sweep", lambda t: fake_events(t, 3, hook=lambda step: gate.wait(WAIT_MS / 1000)))
    try:
        assert runner.running and runner.kind == "sweep"
        assert not runner.start("study", "Study", lambda t: second_called.append(t) or fake_events(t))
        assert runner.kind == "sweep" and runner.title == "Sweep"
    finally:
        with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
            gate.set()
    assert ended.args == ["sweep", "finished"] and second_called == []
    assert recorder.of("started") == [("started", "sweep")]


def test_pause_holds_the_job_until_resume(qtbot):
    runner = JobRunner(progress_interval=0.0)  # every Progress is sent at once
    reached, go, blocked = threading.Event(), threading.Event(), threading.Event()
    waited = []

    def events(token):
        def hook(step):
            if step == 3:
                reached.set()
                go.wait(WAIT_MS / 1000)
            waited.append(step)
            if token.paused:
                blocked.set()

        yield from fake_events(token, 6, hook=hook)

    recorder = Recorder(runner)
    assert runner.start("student", "Student", events)
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    runner.pause()
    assert runner.paused and recorder.states[-1] == (True, True)
    go.set()
    qtbot.waitUntil(blocked.is_set, timeout=WAIT_MS)  # the job reached its next batch and waits there
    qtbot.waitUntil(lambda: len(recorder.losses()) == 2, timeout=WAIT_MS)
    assert waited == [1, 2, 3]  # step 3 waits inside wait_while_paused: no step has run since the pause
    assert [s for s, _ in recorder.losses()] == [1, 2] and runner.paused
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
        runner.resume()
        assert not runner.paused and recorder.states[-1] == (True, False)
    assert ended.args == ["student", "finished"]
    assert [s for s, _ in recorder.losses()] == [1, 2, 3, 4, 5, 6]


def test_stop_while_paused_wakes_the_job_and_ends_stopped(qtbot, runner):
    gate = threading.Event()
    recorder = Recorder(runner)
    assert runner.start("student", "Student", lambda t: fake_events(t, 5, hook=lambda step: gate.wait(WAIT_MS / 1000)))
    runner.pause()
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
        runner.stop()
        assert runner.stopping and not runner.paused
        runner.pause()  # ignored: the job is stopping
        assert not runner.paused
        gate.set()
    assert ended.args == ["student", "stopped"]
    assert isinstance(recorder.events()[-1], Cancelled) and recorder.losses() == []


def test_stop_keeps_a_real_partial_run_marked_stopped(qtbot, runner, synthetic_splits):
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.progressed, timeout=WAIT_MS):
        assert runner.start("student", "Student", real_run(quick_job(epochs=500), synthetic_splits))
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
        runner.stop()
    assert ended.args == ["student", "stopped"]
    cancelled = [e for e in recorder.events() if isinstance(e, Cancelled)]
    assert len(cancelled) == 1 and cancelled[0].run_id == runner.run_id
    run = RunStore().get(runner.run_id)
    assert run.status == "stopped" and run.has_weights


def test_a_real_run_finishes(qtbot, runner, synthetic_splits):
    recorder, ended = run_to_end(qtbot, runner, "student", real_run(quick_job(epochs=1), synthetic_splits))
    assert ended == ["student", "finished"]
    events = recorder.events()
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished) and runner.device == "cpu"
    total = events[0].total_steps
    assert [s for s, _ in recorder.losses()] == list(range(1, total + 1))
    assert RunStore().get(runner.run_id).status == "finished"


def test_a_failing_job_reports_then_ends_failed(qtbot, runner):
    recorder, ended = run_to_end(qtbot, runner, "study", lambda token: fake_events(token, 5, fail_at=3))
    assert ended == ["study", "failed"]
    assert recorder.of("failed") == [("failed", "error", "ValueError: boom")]
    assert [item[0] for item in recorder.items][-3:] == ["progress", "failed", "ended"]
    assert [s for s, _ in recorder.losses()] == [1, 2]  # the losses so far all arrive before the failure


def test_a_failure_in_make_events_itself_is_caught(qtbot, runner):
    def make_events(token):
        raise ConfigError("device cuda:7 is not available here")

    recorder, ended = run_to_end(qtbot, runner, "teacher", make_events)
    assert ended == ["teacher", "failed"] and recorder.events() == []
    assert recorder.of("failed") == [("failed", "config", "device cuda:7 is not available here")]


SWEEP_STARTED = SweepStarted("s1", (1.0, 2.0), (0, 0), 10, "cpu", "t1", ())
STUDY_STARTED = StudyStarted("y1", "leave-out", "Leave out", "words")
RUN_STARTED = Started("r1", "student", "distilled", 10, "cpu")


@pytest.mark.parametrize("events, outcome", [
    ([SWEEP_STARTED, SweepFinished("s1", (), (), (), 1.0, 0.5, "p")], "finished"),
    ([SWEEP_STARTED, SweepCancelled("s1", 3, 1.0, "p")], "stopped"),
    ([STUDY_STARTED, RUN_STARTED, Finished("r1", 0.9, 0.9, 0.9, 1.0), StudyFinished("y1", "leave-out", "r1", "ok", {}, 1.0, "p")], "finished"),
    ([STUDY_STARTED, RUN_STARTED, Cancelled("r1", 3, 1.0), StudyCancelled("y1", "leave-out", "r1", "p")], "stopped"),
    # The study's own event decides, not its inner run's Finished.
    ([STUDY_STARTED, RUN_STARTED, Finished("r1", 0.9, 0.9, 0.9, 1.0)], "failed"),
    ([RUN_STARTED], "failed"),  # a job that ends without a verdict did not finish
])
def test_the_outcome_follows_the_outermost_verdict(qtbot, runner, events, outcome):
    recorder, ended = run_to_end(qtbot, runner, "study", replay(events))
    assert ended == ["study", outcome] and recorder.events() == events
    if SWEEP_STARTED in events:
        assert runner.device == "cpu" and runner.run_id is None
    if RUN_STARTED in events:
        assert runner.run_id == "r1"


def test_shutdown_stops_a_real_run_and_waits_until_it_is_on_disk(qtbot, runner, synthetic_splits):
    with qtbot.waitSignal(runner.progressed, timeout=WAIT_MS):
        assert runner.start("student", "Student", real_run(quick_job(epochs=500), synthetic_splits))
    run_id = runner.run_id
    runner.pause()  # a paused run must wake up to stop
    runner.shutdown(0)  # no grace at all: shutdown waits again without limit
    run = RunStore().get(run_id)  # already on disk when shutdown returns: the thread has ended
    assert run.status == "stopped" and run.has_weights
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as ended:
        pass
    assert ended.args == ["student", "stopped"] and not runner.running
    runner.shutdown(0)  # nothing running: nothing to do


def test_the_runner_is_reusable_and_an_ended_handler_may_start_the_next_job(qtbot, runner):
    chained = []

    def next_job(kind, outcome):
        if not chained:
            chained.append(runner.start("teacher", "Teacher", lambda t: fake_events(t, 2, run_id="fake-2")))

    runner.ended.connect(next_job)
    outcomes = []
    runner.ended.connect(lambda kind, outcome: outcomes.append((kind, outcome)))
    assert runner.start("student", "Student", lambda t: fake_events(t, 2))
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=WAIT_MS)
    assert outcomes == [("student", "finished"), ("teacher", "finished")] and chained == [True]
    assert (runner.kind, runner.title, runner.run_id) == ("teacher", "Teacher", "fake-2") and not runner.running
