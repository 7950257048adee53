"""The training engine on small synthetic data: learning, events, cancel/pause/close, seeds, failures, distillation."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from kdgui.core import training
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError, RunError
from kdgui.core.events import Cancelled, Evaluation, Finished, Progress, Started
from kdgui.core.models import MLP, build_model
from kdgui.core.training import CancelToken, execute, resolve_device, run_to_end

STUDENT = NetSpec(hidden=(32,))
TEACHER = NetSpec(hidden=(64,), dropout=(0.5,))
FAST = TrainConfig(epochs=2, lr=1e-2, batch_size=40, seed=0, eval_every=0, device="cpu")  # 400 images: 10 batches


def student(**train) -> Job:
    return Job("student", STUDENT, TrainConfig(**{**FAST.__dict__, **train}))


def events_of(job, store, data, token=None):
    return list(execute(job, store, token, data=data))


def losses_of(events):
    return [e.loss for e in events if isinstance(e, Progress)]


def weights_of(store, run_id):
    return store.get(run_id).load_model().state_dict()


def same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def train_teacher(store, data, **train) -> str:
    job = Job("teacher", TEACHER, TrainConfig(**{**FAST.__dict__, **train}))
    last = run_to_end(execute(job, store, data=data))
    assert isinstance(last, Finished)
    return last.run_id


def distilled(teacher_run, transfer="train", **distill) -> Job:
    d = DistillConfig(**{"temperature": 4.0, "transfer": transfer, **distill})
    return Job("distilled", STUDENT, FAST, d, teacher_run=teacher_run)


# --- learning and events -------------------------------------------------------------------------------------


def test_loss_falls_and_the_student_learns(store, data):
    events = events_of(student(epochs=3, batch_size=20), store, data)
    started, finished = events[0], events[-1]
    assert isinstance(started, Started) and started.total_steps == 60 and started.device == "cpu"
    assert started.kind == "student" and started.label == "student"
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == list(range(1, 61))
    assert progress[-1].fraction == 1.0 and progress[-1].seconds_left == 0.0
    assert [(p.epoch, p.batch) for p in progress[:21:10]] == [(1, 1), (1, 11), (2, 1)]
    losses = losses_of(events)
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert isinstance(finished, Finished) and finished.val_acc > 0.8 and finished.test_acc > 0.8

    run = store.get(finished.run_id)
    assert run.status == "finished"
    assert run.summary["test_acc"] == finished.test_acc and run.summary["steps"] == 60
    assert run.summary["train_acc"] == finished.train_acc
    metrics = run.metrics()
    assert [m["loss"] for m in metrics if m["type"] == "loss"] == losses
    assert [m["step"] for m in metrics if m["type"] == "eval"] == [20, 40, 60]
    # The saved weights are the trained ones: they reproduce the reported test accuracy.
    acc = training.evaluate(run.load_model(), data.test_x, data.test_y)[1]
    assert acc == pytest.approx(finished.test_acc)


@pytest.mark.parametrize(("eval_every", "steps"), [(4, [4, 8, 10, 12, 16, 20]), (5, [5, 10, 15, 20]), (0, [10, 20])])
def test_evaluations_come_every_eval_every_batches_and_at_epoch_ends(store, data, eval_every, steps):
    events = events_of(student(eval_every=eval_every), store, data)
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert [e.step for e in evals] == steps
    for e in evals:
        assert e.epoch_end == (e.step % 10 == 0)
        assert (e.train_acc is not None) == e.epoch_end
        assert e.epoch == pytest.approx(e.step / 10)
        assert 0.0 <= e.val_acc <= 1.0 and 0.0 <= e.test_acc <= 1.0
    # Each evaluation directly follows the Progress of its step, and reports the mean loss since the last one.
    previous = 0
    for i, e in enumerate(events):
        if isinstance(e, Evaluation):
            assert isinstance(events[i - 1], Progress) and events[i - 1].step == e.step
            window = [p.loss for p in events if isinstance(p, Progress) and previous < p.step <= e.step]
            assert e.train_loss == pytest.approx(sum(window) / len(window))
            previous = e.step


def test_keep_best_restores_the_epoch_with_the_best_validation_accuracy(store, data):
    events = events_of(student(epochs=4, keep_best=True, lr=0.2), store, data)  # lr so high validation peaks early
    ends = [e for e in events if isinstance(e, Evaluation) and e.epoch_end]
    best = max(ends, key=lambda e: e.val_acc)  # first of equals, as the engine keeps only strictly better ones
    best = next(e for e in ends if e.val_acc == best.val_acc)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.epoch < 4, "the setting must make an earlier epoch best, or this test shows nothing"
    assert (finished.epoch, finished.val_acc, finished.test_acc) == (round(best.epoch), best.val_acc, best.test_acc)
    model = store.get(finished.run_id).load_model()
    assert training.evaluate(model, data.val_x, data.val_y)[1] == pytest.approx(best.val_acc)
    assert training.evaluate(model, data.val_x, data.val_y)[1] != pytest.approx(ends[-1].val_acc)  # not the last
    assert store.get(finished.run_id).summary["epoch"] == finished.epoch


def test_without_keep_best_the_last_epoch_is_kept(store, data):
    events = events_of(student(epochs=3), store, data)
    last = [e for e in events if isinstance(e, Evaluation) and e.epoch_end][-1]
    assert (events[-1].epoch, events[-1].test_acc) == (3, last.test_acc)


def test_same_seed_same_run_different_seed_different_run(store, data):
    a = events_of(student(seed=1), store, data)
    b = events_of(student(seed=1), store, data)
    c = events_of(student(seed=2), store, data)
    assert losses_of(a) == losses_of(b)
    assert [e.val_acc for e in a if isinstance(e, Evaluation)] == [e.val_acc for e in b if isinstance(e, Evaluation)]
    assert same_weights(weights_of(store, a[0].run_id), weights_of(store, b[0].run_id))
    assert losses_of(a) != losses_of(c)
    assert not same_weights(weights_of(store, a[0].run_id), weights_of(store, c[0].run_id))


# --- cancel, pause, close, failure ---------------------------------------------------------------------------


def test_cancel_from_inside_the_loop_stops_within_one_batch(store, data):
    token = CancelToken()
    gen = execute(student(eval_every=100), store, token, data=data)
    started = next(gen)
    for event in gen:
        if isinstance(event, Progress) and event.step == 3:
            token.cancel()
            break
    after = next(gen)
    assert isinstance(after, Cancelled) and after.step == 3 and after.run_id == started.run_id
    with pytest.raises(StopIteration):
        next(gen)
    run = store.get(started.run_id)
    assert run.status == "stopped" and run.summary["steps"] == 3
    assert [m["step"] for m in run.metrics() if m["type"] == "loss"] == [1, 2, 3]
    assert run.has_weights
    trained = run.load_model().state_dict()
    assert not same_weights(trained, build_model(STUDENT, seed=0).state_dict())


def test_cancel_before_the_first_batch(store, data):
    token = CancelToken()
    token.cancel()
    events = events_of(student(), store, data, token)
    assert [type(e) for e in events] == [Started, Cancelled] and events[1].step == 0
    run = store.get(events[0].run_id)
    assert run.status == "stopped" and run.has_weights
    assert same_weights(run.load_model().state_dict(), build_model(STUDENT, seed=0).state_dict())


def test_pause_before_start_then_resume_from_another_thread(store, data):
    reference = losses_of(events_of(student(), store, data))
    token = CancelToken()
    token.pause()
    assert token.paused
    gen = execute(student(), store, token, data=data)
    assert isinstance(next(gen), Started)  # the run is created even while paused
    fired = []
    timer = threading.Timer(0.05, lambda: (fired.append(token.paused), token.resume()))
    timer.start()
    first = next(gen)  # blocks until the timer resumes the run
    assert fired == [True]  # the run waited for the resume: no batch ran while paused
    assert isinstance(first, Progress) and first.step == 1
    rest = list(gen)
    timer.join()
    assert not token.paused
    assert isinstance(rest[-1], Finished)
    assert losses_of([first, *rest]) == reference  # pausing changes nothing about the result


def test_pause_mid_run_then_resume(store, data):
    token = CancelToken()
    gen = execute(student(), store, token, data=data)
    events = [next(gen)]
    while not (isinstance(events[-1], Progress) and events[-1].step == 4):
        events.append(next(gen))
    token.pause()
    fired = []
    timer = threading.Timer(0.05, lambda: (fired.append(token.paused), token.resume()))
    timer.start()
    nxt = next(gen)
    assert fired == [True]
    assert isinstance(nxt, Progress) and nxt.step == 5
    events += [nxt, *gen]
    timer.join()
    assert isinstance(events[-1], Finished)
    assert store.get(events[0].run_id).status == "finished"


def test_cancel_wakes_a_paused_run(store, data):
    token = CancelToken()
    gen = execute(student(), store, token, data=data)
    started = next(gen)
    next(gen)
    token.pause()
    timer = threading.Timer(0.05, token.cancel)
    timer.start()
    after = next(gen)
    timer.join()
    assert isinstance(after, Cancelled) and after.step == 1
    assert store.get(started.run_id).status == "stopped"


def test_cancel_token_states():
    token = CancelToken()
    assert not token.paused and not token.cancelled
    assert token.wait_while_paused() == 0.0
    token.pause()
    assert token.paused
    token.resume()
    assert not token.paused
    token.pause()
    token.cancel()
    assert token.cancelled and not token.paused  # a stopped run is woken up
    token.pause()
    assert not token.paused  # a cancelled run cannot be paused again


def test_closing_the_generator_mid_run_marks_the_run_stopped(store, data):
    gen = execute(student(), store, data=data)
    started = next(gen)
    for event in gen:
        if isinstance(event, Progress) and event.step == 12:
            break
    gen.close()
    run = store.get(started.run_id)
    assert run.status == "stopped" and run.summary["steps"] == 12 and run.has_weights
    assert [m["step"] for m in run.metrics() if m["type"] == "loss"] == list(range(1, 13))


def test_closing_the_generator_right_after_started_marks_the_run_stopped(store, data):
    gen = execute(student(), store, data=data)
    started = next(gen)
    gen.close()
    run = store.get(started.run_id)
    assert run.status == "stopped" and run.summary["steps"] == 0


def test_closing_an_unstarted_generator_creates_no_run(store, data):
    execute(student(), store, data=data).close()
    assert store.list() == []


def test_an_exception_inside_training_marks_the_run_failed(store, data, monkeypatch):
    def broken(*args):
        raise RuntimeError("out of memory, pretend")

    monkeypatch.setattr(training, "evaluate", broken)
    gen = execute(student(eval_every=3), store, data=data)
    started = next(gen)
    seen = []
    with pytest.raises(RuntimeError, match="pretend"):
        for event in gen:
            seen.append(event)
    assert [e.step for e in seen] == [1, 2, 3]
    run = store.get(started.run_id)
    assert run.status == "failed"
    assert run.summary["error"] == "RuntimeError: out of memory, pretend" and run.summary["steps"] == 3
    # The losses of the steps before the failure are on disk, for the curves of a failed run.
    assert [r["step"] for r in run.metrics() if r["type"] == "loss"] == [1, 2, 3]


def test_ctrl_c_inside_training_keeps_the_partial_run(store, data, monkeypatch):
    real_evaluate = training.evaluate
    calls = []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:  # the first epoch end's train evaluation (after val; test figures come from its logits)
            raise KeyboardInterrupt
        return real_evaluate(*args)

    monkeypatch.setattr(training, "evaluate", interrupted)
    gen = execute(student(), store, data=data)
    started = next(gen)
    with pytest.raises(KeyboardInterrupt):
        list(gen)
    run = store.get(started.run_id)
    assert run.status == "stopped" and run.summary["steps"] == 10 and run.has_weights


def test_errors_before_training_create_no_run(store, data):
    with pytest.raises(RunError):
        next(execute(distilled("20990101-000000-teacher-0000"), store, data=data))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            next(execute(student(device="cuda"), store, data=data))
    assert store.list() == []


def test_an_empty_transfer_set_is_refused_before_a_run_exists(store, data):
    teacher = train_teacher(store, data)
    runs_before = len(store.list())
    present = tuple(sorted(set(data.train_y[:5].tolist())))  # leave out every class the first 5 images have
    job = Job("distilled", STUDENT, TrainConfig(**{**FAST.__dict__, "train_limit": 5}),
              DistillConfig(transfer="leave_out", leave_out=present), teacher_run=teacher)
    with pytest.raises(ConfigError, match="transfer set is empty"):
        next(execute(job, store, data=data))
    assert len(store.list()) == runs_before


# --- devices -------------------------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_is_a_config_error_without_a_gpu():
    for name in ("cuda", "cuda:0", "cuda:3"):
        with pytest.raises(ConfigError, match="not available here"):
            resolve_device(name)


def test_cpu_and_bad_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="not a device name"):
        resolve_device("banana")
    with pytest.raises(ConfigError, match="not supported"):
        resolve_device("meta")


@pytest.mark.skipif(
    torch.cuda.is_available() or torch.backends.mps.is_available(), reason="this machine has a GPU"
)
def test_auto_is_the_cpu_without_a_gpu():
    assert resolve_device("auto") == torch.device("cpu")
    assert training.available_devices() == [("cpu", "CPU")]


# --- distillation --------------------------------------------------------------------------------------------


def _count_teacher_calls(monkeypatch):
    calls = []
    real = training.teacher_logits

    def spy(teacher, x):
        calls.append(tuple(x.shape))
        return real(teacher, x)

    monkeypatch.setattr(training, "teacher_logits", spy)
    return calls


@pytest.mark.parametrize(
    ("transfer", "extra", "per_batch"),
    [
        ("train", {}, False),
        ("train", {"loss": "hinton", "alpha": 0.5}, False),
        ("leave_out", {"leave_out": (3, 7)}, False),
        ("noise", {"loss": "hinton"}, True),
        ("jitter", {"jitter_pixels": 2, "alpha": 0.7}, True),
    ],
    ids=["train", "train-hinton-mixed", "leave_out", "noise", "jitter"],
)
def test_distillation_with_each_transfer_set(store, data, monkeypatch, transfer, extra, per_batch):
    teacher = train_teacher(store, data)
    calls = _count_teacher_calls(monkeypatch)
    job = distilled(teacher, transfer, **extra)
    events = events_of(job, store, data)
    assert isinstance(events[-1], Finished)
    n_items = len(data.train_y)
    if transfer == "leave_out":
        n_items = int((~torch.isin(data.train_y, torch.tensor([3, 7]))).sum())
    batches = -(-n_items // FAST.batch_size)
    assert events[0].total_steps == batches * FAST.epochs
    if per_batch:
        assert len(calls) == batches * FAST.epochs  # fresh images every batch: fresh targets
        assert calls[0] == (FAST.batch_size, 784)
    else:
        assert calls == [(n_items, 784)]  # computed once for the whole run
        events_of(job, store, data)
        assert len(calls) == 1  # and reused by the next distillation from the same teacher
    run = store.get(events[-1].run_id)
    assert run.status == "finished" and run.job == job and run.job.teacher_run == teacher
    assert all(math.isfinite(loss) and loss >= 0 for loss in losses_of(events))


def test_a_student_learns_from_soft_targets_alone(store, data):
    teacher = train_teacher(store, data, epochs=3)
    teacher_acc = store.get(teacher).summary["test_acc"]
    result = run_to_end(execute(Job("distilled", STUDENT, TrainConfig(**{**FAST.__dict__, "epochs": 3}),
                                    DistillConfig(temperature=2.0, loss="hinton"), teacher_run=teacher), store, data=data))
    assert result.test_acc > 0.8 and teacher_acc > 0.8


def test_the_teacher_makes_its_targets_in_eval_mode(store, data, monkeypatch):
    teacher_id = train_teacher(store, data)
    from kdgui.core.runs import Run

    real_load = Run.load_model
    monkeypatch.setattr(Run, "load_model", lambda self, device="cpu": real_load(self, device).train())  # left in train mode
    modes = []
    real_forward = MLP.forward

    def spy(self, x):
        if self.spec == TEACHER:
            modes.append(self.training)
        return real_forward(self, x)

    monkeypatch.setattr(MLP, "forward", spy)
    for transfer in ("train", "jitter"):
        modes.clear()
        run_to_end(execute(distilled(teacher_id, transfer), store, data=data))
        assert modes and not any(modes), f"teacher forward ran in train mode with transfer={transfer}"

    # The cached targets are exactly the eval-mode logits: dropout did not touch them.
    (cached,) = [v for k, v in training._LOGIT_CACHE.items() if k[0] == teacher_id]
    clean = real_load(store.get(teacher_id))
    with torch.no_grad():
        assert torch.allclose(cached, real_forward(clean, data.train_x))


def test_distillation_refuses_a_teacher_from_another_dataset(store, data):
    teacher = train_teacher(store, data)
    job = Job("distilled", STUDENT, FAST, DistillConfig(), dataset="kmnist", teacher_run=teacher)
    with pytest.raises(ConfigError, match="trained on mnist"):
        next(execute(job, store, data=data))


def test_distillation_from_a_teacher_with_broken_weights(store, data):
    teacher = train_teacher(store, data)
    store.get(teacher).weights_path.write_bytes(b"garbage")
    with pytest.raises(RunError, match="not a readable weights file"):
        next(execute(distilled(teacher), store, data=data))
    assert [r.id for r in store.list()] == [teacher]


# --- a status only once it is on disk; nothing lost on any save path -----------------------------------------


def on_disk(store, run_id):
    """What a fresh reader sees: run.json's status, the derived status, and whether the weights load."""
    from kdgui.core.runs import Run

    run = Run.open(store.root / run_id)
    weights = run.has_weights and run.load_model() is not None
    return run.stored_status, run.status, weights


def flaky_writer(monkeypatch, should_fail):
    """Patch the one atomic writer: ``should_fail(path, data, call)`` returns an exception to raise (or None)."""
    from kdgui.core import files, weights

    real = files.atomic_write_bytes
    calls = []

    def writer(path, data):
        calls.append(path.name)
        exc = should_fail(path, data, len(calls))
        if exc is not None:
            raise exc
        return real(path, data)

    # The one writer, where run.json and metrics (files) and weights (weights) reach it.
    monkeypatch.setattr(files, "atomic_write_bytes", writer)
    monkeypatch.setattr(weights, "atomic_write_bytes", writer)
    return calls


def test_an_io_error_at_the_final_status_write_is_retried(store, data, monkeypatch):
    failed = []

    def once(path, data, call):
        if path.name == "run.json" and b'"finished"' in data and not failed:
            failed.append(call)
            return OSError(5, "Input/output error")
        return None

    flaky_writer(monkeypatch, once)
    events = events_of(student(), store, data)
    assert failed and isinstance(events[-1], Finished)
    assert on_disk(store, events[0].run_id) == ("finished", "finished", True)


def test_a_status_that_cannot_be_written_leaves_the_weights_and_reads_interrupted(store, data, monkeypatch):
    from kdgui.core.errors import WriteError

    flaky_writer(monkeypatch, lambda path, data, call: WriteError(f"cannot write {path}: No space left on device")
                 if path.name == "run.json" and b'"running"' not in data else None)
    gen = execute(student(), store, data=data)
    started = next(gen)
    with pytest.raises(RunError, match="No space left on device"):
        list(gen)
    # The weights were written before the status; the status never was, and the process let go of the run.
    assert on_disk(store, started.run_id) == ("running", "interrupted", True)


def test_ctrl_c_inside_the_final_weights_save_still_finishes_the_run(store, data, monkeypatch):
    interrupted = []

    def once(path, data, call):
        if path.name == "weights.safetensors" and not interrupted:
            interrupted.append(call)
            return KeyboardInterrupt()
        return None

    flaky_writer(monkeypatch, once)
    gen = execute(student(epochs=1), store, data=data)
    started = next(gen)
    with pytest.raises(KeyboardInterrupt):
        list(gen)
    assert interrupted
    assert on_disk(store, started.run_id) == ("finished", "finished", True)


def test_a_second_ctrl_c_during_the_stop_save_keeps_the_run(store, data, monkeypatch):
    """The first Ctrl-C hits the loop; the second lands inside the save of the stopped run."""
    real_evaluate = training.evaluate

    def first_interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate", first_interrupt)
    second = []
    flaky_writer(monkeypatch, lambda path, data, call: (second.append(path.name) or KeyboardInterrupt())
                 if path.name in ("weights.safetensors", "run.json") and call > 1 and len(second) < 2 else None)
    gen = execute(student(), store, data=data)
    started = next(gen)
    with pytest.raises(KeyboardInterrupt):
        list(gen)
    monkeypatch.setattr(training, "evaluate", real_evaluate)
    assert second == ["weights.safetensors", "weights.safetensors"]  # interrupted twice, saved on the third try
    assert on_disk(store, started.run_id) == ("stopped", "stopped", True)
    run = store.get(started.run_id)
    assert run.summary["steps"] == 10 and not same_weights(run.load_model().state_dict(), build_model(STUDENT, seed=0).state_dict())


def test_real_sigints_during_the_save_wait_until_the_run_is_on_disk(store, data, monkeypatch):
    """Signals, not raised exceptions: a SIGINT arrives in the loop, then one at every write of the save."""
    import os
    import signal

    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        real_evaluate = training.evaluate

        def interrupted(*args):
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: KeyboardInterrupt at the next bytecode
            return real_evaluate(*args)

        monkeypatch.setattr(training, "evaluate", interrupted)
        sent = []
        flaky_writer(monkeypatch, lambda path, data, call: None if call == 1 else  # call 1: run.json at the start
                     sent.append(path.name) or os.kill(os.getpid(), signal.SIGINT))
        gen = execute(student(), store, data=data)
        started = next(gen)
        with pytest.raises(KeyboardInterrupt):
            list(gen)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "weights.safetensors" in sent and "run.json" in sent
    assert on_disk(store, started.run_id) == ("stopped", "stopped", True)


def test_a_failure_whose_status_cannot_be_written_reports_the_first_error(store, data, monkeypatch):
    def broken(*args):
        raise RuntimeError("out of memory, pretend")

    monkeypatch.setattr(training, "evaluate", broken)
    flaky_writer(monkeypatch, lambda path, data, call: OSError(28, "No space left on device") if call > 1 else None)
    gen = execute(student(), store, data=data)
    started = next(gen)
    with pytest.raises(RuntimeError, match="pretend"):
        list(gen)
    assert on_disk(store, started.run_id) == ("running", "interrupted", False)


def test_disk_full_while_saving_a_stopped_run_is_one_line_and_keeps_the_last_checkpoint(store, data, monkeypatch):
    from kdgui.core import files as F
    from kdgui.core import runs as R

    token = CancelToken()
    gen = execute(student(epochs=3), store, token, data=data)
    started = next(gen)
    for event in gen:
        if isinstance(event, Progress) and event.step == 15:  # after the checkpoint at the end of epoch 1
            break
    checkpoint = store.get(started.run_id).weights_path.read_bytes()
    token.cancel()

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R, "write_all", disk_full)  # appends to metrics.jsonl
    monkeypatch.setattr(F, "write_all", disk_full)  # the atomic writer
    with pytest.raises(RunError, match=r"^cannot write .*: No space left on device$"):
        next(gen)
    monkeypatch.undo()
    assert on_disk(store, started.run_id) == ("running", "interrupted", True)
    assert store.get(started.run_id).weights_path.read_bytes() == checkpoint


@pytest.mark.parametrize("keep_best", [False, True])
def test_each_epoch_end_saves_a_checkpoint_while_the_run_is_running(store, data, keep_best):
    gen = execute(student(epochs=3, keep_best=keep_best), store, data=data)
    started = next(gen)
    seen = []
    for event in gen:
        if isinstance(event, Evaluation) and event.epoch_end and event.epoch < 3:
            run = store.get(started.run_id)
            assert run.status == "running" and run.has_weights
            seen.append(training.evaluate(run.load_model(), data.val_x, data.val_y)[1])
            if not keep_best:
                assert seen[-1] == pytest.approx(event.val_acc)  # the weights of this epoch's end
    assert len(seen) == 2
    assert on_disk(store, started.run_id) == ("finished", "finished", True)
    assert not store.get(started.run_id).lock_held()
