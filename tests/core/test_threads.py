"""The thread rule (kdgui.core.threads): one thread for small work, the free cores for large, --threads over both;
and the engines run under it and put torch's count back."""

from __future__ import annotations

import threading

import pytest
import torch

from kdgui.core import threads as T
from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC, DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.events import Progress
from kdgui.core.models import parameter_count
from kdgui.core.sweep import SweepConfig, run_sweep
from kdgui.core.training import execute, run_to_end


def test_multiply_adds_of_the_seed_networks():
    # An MLP's multiply-adds per image are its weights (biases are additions only).
    assert T.multiply_adds(STUDENT_SPEC) == 784 * 50 + 50 * 10 == parameter_count(STUDENT_SPEC) - 60
    assert T.multiply_adds(TEACHER_SPEC) == 784 * 1200 + 1200 * 1200 + 1200 * 10
    cnn = NetSpec(hidden=(), arch="cnn", conv=(8,))
    assert T.multiply_adds(cnn) == 28 * 28 * 9 * 8 + 8 * 14 * 14 * 10  # convolutions count, not just their weights


def test_step_work_scales_with_batch_copies_and_training():
    one = T.multiply_adds(STUDENT_SPEC) * 100
    assert T.step_work(STUDENT_SPEC, 100, training=False) == one
    assert T.step_work(STUDENT_SPEC, 100) == 3 * one
    assert T.step_work(STUDENT_SPEC, 100, copies=9) == 27 * one


@pytest.mark.parametrize(("work", "device", "requested", "ceiling", "cores", "busy", "expected"), [
    (T.step_work(STUDENT_SPEC, 100), "cpu", None, 2, 2, 0.0, 1),  # the student: one thread, even on an idle machine
    (T.step_work(STUDENT_SPEC, 100), "cpu", None, 16, 16, 0.0, 1),
    (T.step_work(STUDENT_SPEC, 100, copies=9), "cpu", None, 2, 2, 0.0, 1),  # the default sweep: 9 students, still one
    (T.step_work(STUDENT_SPEC, 100, copies=27), "cpu", None, 2, 2, 0.0, 2),  # 3 seeds of it: large work
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 2, 2, 0.0, 2),  # the teacher on an idle 2-core machine: both
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 2, 2, 1.0, 1),  # ... with one core busy beside it: one
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 2, 2, 6.5, 1),  # ... on an overloaded machine: one
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 8, 16, 3.2, 8),  # never above the ceiling (torch's count)
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 16, 16, 3.6, 12),
    (T.step_work(TEACHER_SPEC, 100), "cpu", None, 2, 2, None, 2),  # load unknown: the ceiling
    (T.step_work(TEACHER_SPEC, 100), "cuda:0", None, 16, 16, 0.0, 1),  # a GPU: the CPU only queues kernels
    (T.step_work(STUDENT_SPEC, 100), "cpu", 4, 2, 2, 1.0, 4),  # --threads wins, both ways
    (T.step_work(TEACHER_SPEC, 100), "cpu", 1, 2, 2, 0.0, 1),
])
def test_the_rule(work, device, requested, ceiling, cores, busy, expected):
    assert T.choose_threads(work, device, requested, ceiling=ceiling, cores=cores, busy=busy) == expected


def test_threads_for_small_work_decides_without_sampling(monkeypatch):
    monkeypatch.setattr(T, "busy_cores", lambda *a: pytest.fail("small work must not sample the machine"))
    assert T.threads_for(T.step_work(STUDENT_SPEC, 100)) == 1
    with T.requesting(3):
        assert T.threads_for(T.step_work(TEACHER_SPEC, 100)) == 3
    assert T.requested_threads() is None


def test_requesting_checks_its_value():
    with pytest.raises(Exception, match="threads must be a whole number from 1 to 256"):
        with T.requesting(0):
            pass


def test_busy_cores_reads_a_number():
    busy = T.busy_cores(0.01)
    assert busy is None or 0.0 <= busy <= 1000


def test_torch_threads_restores_and_nested_jobs_keep_the_outer_ceiling(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(T, "busy_cores", lambda *a: 0.0)
    monkeypatch.setattr(T.os, "cpu_count", lambda: 64)
    torch.set_num_threads(2)
    try:
        with T.torch_threads(1):
            assert torch.get_num_threads() == 1
            # a large job inside a small one (the teacher's logits inside a distillation) may use the outer ceiling
            assert T.threads_for(T.step_work(TEACHER_SPEC, 50_000, training=False)) == 2
            with T.work_threads(T.step_work(TEACHER_SPEC, 50_000, training=False)) as n:
                assert n == 2 and torch.get_num_threads() == 2
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_another_threads_count_is_its_own(monkeypatch):
    """torch's count is per thread (OpenMP): a job in a worker thread leaves the GUI thread's count alone."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []

    def worker():
        with T.torch_threads(1):
            seen.append(torch.get_num_threads())

    try:
        thread = threading.Thread(target=worker)
        with T.torch_threads(2):
            thread.start()
            thread.join()
            seen.append(torch.get_num_threads())
        assert seen == [1, 2]
    finally:
        torch.set_num_threads(before)


def _threads_during(events) -> list[int]:
    counts = []
    for event in events:
        if isinstance(event, Progress):
            counts.append(torch.get_num_threads())
    return counts


def test_execute_trains_a_student_on_one_thread_and_puts_the_count_back(store, data):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        job = Job("student", STUDENT_SPEC, TrainConfig(epochs=1, batch_size=100, eval_every=0, device="cpu"))
        assert set(_threads_during(execute(job, store, data=data))) == {1}
        assert torch.get_num_threads() == 2
        with T.requesting(2):
            assert set(_threads_during(execute(job, store, data=data))) == {2}
        # closed half-way (the app quitting, Ctrl+C): the count is back as well
        events = execute(job, store, data=data)
        next(events), next(events)
        assert torch.get_num_threads() == 1
        events.close()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_distillation_and_sweep_run_under_the_rule(store, data):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        teacher = run_to_end(execute(Job("teacher", NetSpec(hidden=(32,)), TrainConfig(epochs=1, eval_every=0, device="cpu")),
                                     store, data=data)).run_id
        job = Job("distilled", STUDENT_SPEC, TrainConfig(epochs=1, eval_every=0, device="cpu"), DistillConfig(),
                  teacher_run=teacher)
        assert set(_threads_during(execute(job, store, data=data))) == {1}
        sweep = SweepConfig(teacher_run=teacher, temperatures=(1.0, 4.0), epochs=1, device="cpu", student_run=None)
        assert set(_threads_during(run_sweep(sweep, store, data=data))) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
