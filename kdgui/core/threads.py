"""How many CPU threads torch gets for a piece of work: one rule, used by every engine that trains or measures.

torch's intra-op pool (OpenMP) splits each operation over all threads and waits for the slowest. For a small
network a training step is a few million multiply-adds: splitting it costs more than it saves, and when another
program keeps one core busy, every step waits for the descheduled thread (a 784-50-10 distillation epoch on a
2-core machine beside a busy core: 13 s with two threads, 1.6 s with one; tests/benchmarks/bench_busy_core.py). So:

* small work (under ``SMALL_WORK`` multiply-adds per step: the 784-50-10 student, 12 million at batch 100,
  and a sweep of up to 12 of them) gets one thread;
* large work (the 784-1200-1200-10 teacher, CNNs) gets the cores that are free now, at most the thread count
  torch had when the work began (the app lowers that to leave a core for the window), at least one;
* ``--threads N`` (``requested``) overrides the rule.

On a GPU the CPU only queues kernels: one thread. ``threads_for`` is the rule; ``torch_threads`` and
``work_threads`` apply it for the length of a job and put the previous count back. torch's count is per
thread here (OpenMP), so a job in a worker thread leaves the GUI thread's count alone (MKL's, which torch sets
as well, is process-wide: that only changes how fast, never what is computed).

The rule itself imports nothing heavy (torch only inside the functions that set threads).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

# Multiply-adds per step below which one thread is used. Measured on this 2-core machine under load (4 to 7), ms
# per step with 1 / 2 threads: student 2.2 / 33, a 9-student sweep 5.2 / 67, 784-800-10 7.9 / 81, the teacher
# 33 / 210: one thread won everywhere there; on an idle machine only large work gains from more.
SMALL_WORK = 150_000_000
TRAIN_FACTOR = 3  # a training step: forward, and a backward of about twice its cost
MAX_THREADS = 256
BUSY_SAMPLE_S = 0.1  # how long /proc/stat is watched to see how many cores other programs keep busy

_local = threading.local()  # per thread: .requested (--threads), .ceiling (torch's count before the outermost job)
Gen = TypeVar("Gen", bound=Callable[..., Iterator[Any]])


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def threads_problem(value: Any) -> str | None:
    """Why ``value`` is not a thread count (None: it is one): a whole number from 1 to 256."""
    n = _as_int(value)
    if n is None or not 1 <= n <= MAX_THREADS:
        return f"threads must be a whole number from 1 to {MAX_THREADS}, got {value!r}"
    return None


# --- how much work ----------------------------------------------------------------------------------------


def multiply_adds(spec: Any) -> int:
    """Multiply-adds of one forward pass of one image through a NetSpec's network (convolutions included)."""
    total, side, channels = 0, 28, 1
    kernel = getattr(spec, "kernel", 3)
    for width in getattr(spec, "conv", ()) if getattr(spec, "arch", "mlp") == "cnn" else ():
        total += side * side * kernel * kernel * channels * width
        side, channels = side // 2, width
    sizes = spec.layer_sizes
    return total + sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def step_work(spec: Any, batch_size: int, *, training: bool = True, copies: int = 1) -> int:
    """Multiply-adds of one step: ``copies`` networks of ``spec`` on ``batch_size`` images, trained or only run."""
    return multiply_adds(spec) * max(1, batch_size) * max(1, copies) * (TRAIN_FACTOR if training else 1)


def job_work(job: Any, teacher: Any = None) -> int:
    """Multiply-adds of one training step of a ``Job``; ``teacher`` (a NetSpec) adds its forward pass when the
    teacher answers every batch (noise or jitter transfer, or augmented images) rather than once from a cache."""
    batch = job.train.batch_size
    work = step_work(job.net, batch)
    if teacher is not None and job.distill is not None:
        augment = getattr(job.train, "augment", None)
        per_batch = job.distill.transfer in ("noise", "jitter") or bool(getattr(augment, "active", False))
        if per_batch:
            work += step_work(teacher, batch, training=False)
    return work


# --- the rule -----------------------------------------------------------------------------------------------


def choose_threads(work: int, device: str = "cpu", requested: int | None = None, *, ceiling: int = 1,
                   cores: int = 1, busy: float | None = 0.0) -> int:
    """The rule, pure: ``requested`` if given; one thread on a GPU or for work under ``SMALL_WORK``
    multiply-adds per step; else the cores free now (``cores - busy``, rounded), from 1 to ``ceiling``."""
    if requested is not None:
        return requested
    if str(device).split(":")[0] != "cpu" or work < SMALL_WORK:
        return 1
    free = cores if busy is None else cores - busy
    return max(1, min(int(ceiling), int(free + 0.5)))


def busy_cores(sample_s: float = BUSY_SAMPLE_S) -> float | None:
    """How many cores other programs keep busy now: /proc/stat over ``sample_s`` (Linux), else the 1-minute
    load average, else None (unknown)."""
    def times() -> tuple[int, int]:
        with open("/proc/stat", "rb") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = times()
        time.sleep(sample_s)
        total1, idle1 = times()
        span = total1 - total0
        if span > 0:
            return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / span)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def requested_threads() -> int | None:
    """The thread count asked for (``--threads``) for jobs of this thread, or None: the rule decides."""
    return getattr(_local, "requested", None)


@contextlib.contextmanager
def requesting(threads: int | None) -> Iterator[None]:
    """Jobs run by this thread inside the block use ``threads`` (None: the rule decides), whatever their size."""
    if threads is not None:
        problem = threads_problem(threads)
        if problem:
            from .errors import ConfigError

            raise ConfigError(problem)
    previous = requested_threads()
    _local.requested = threads
    try:
        yield
    finally:
        _local.requested = previous


def threads_for(work: int, device: Any = "cpu", requested: int | None = None) -> int:
    """The thread count for ``work`` multiply-adds per step on ``device`` (see the module's rule).

    ``requested`` (else the one set with ``requesting``) wins. For large CPU work the free cores are sampled
    (a tenth of a second); small work and GPUs decide at once.
    """
    import torch

    if requested is None:
        requested = requested_threads()
    device_type = getattr(device, "type", None) or str(device).split(":")[0]
    if requested is not None or device_type != "cpu" or work < SMALL_WORK:
        return choose_threads(work, device_type, requested)
    ceiling = getattr(_local, "ceiling", None) or torch.get_num_threads()  # a job inside a job: the outer's ceiling
    return choose_threads(work, device_type, requested, ceiling=ceiling, cores=os.cpu_count() or 1, busy=busy_cores())


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """torch uses ``threads`` intra-op threads inside the block (in this thread); the previous count is put back."""
    import torch

    previous = torch.get_num_threads()
    outermost = getattr(_local, "ceiling", None) is None
    if outermost:
        _local.ceiling = previous
    if threads != previous:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
        if outermost:
            _local.ceiling = None


@contextlib.contextmanager
def work_threads(work: int, device: Any = "cpu", requested: int | None = None) -> Iterator[int]:
    """``torch_threads(threads_for(work, device, requested))``: the rule applied for the length of a job."""
    with torch_threads(threads_for(work, device, requested)) as n:
        yield n


def with_threads(choose: Callable[..., tuple[int, Any]]) -> Callable[[Gen], Gen]:
    """Decorate an engine's generator function so that it runs in ``work_threads``: ``choose`` gets the same
    arguments and returns ``(work, device)``. The count is set when the generator starts and put back when it
    ends, is closed or fails."""

    def decorate(run: Gen) -> Gen:
        @functools.wraps(run)
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            work, device = choose(*args, **kwargs)
            with work_threads(work, device):
                return (yield from run(*args, **kwargs))

        return wrapper  # type: ignore[return-value]

    return decorate
