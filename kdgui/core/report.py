"""The compression report: what distillation bought, in parameters, bytes, CPU latency and test accuracy."""

from __future__ import annotations

import io
import math
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .config import IMAGE_PIXELS, KIND_TITLES, KINDS
from .models import parameter_count
from .threads import requested_threads, torch_threads

ROLES = KINDS
ROLE_TITLES = KIND_TITLES

# Latency is timed with one CPU thread for every network. The same count for all makes the ratio compare the
# networks, not torch's thread pool; one is the count that cannot be starved: with two threads on a shared
# 2-core machine a 40k-parameter network at batch 1 took 7-8 ms (waiting for a descheduled thread) instead of
# about 0.02 ms, and "N x faster on one image" swung from 2x to 584x run to run. One is also what serving a
# single image on a busy CPU gets.
LATENCY_THREADS = 1
BLOCK_SECONDS = 0.002  # passes are timed in blocks of at least this long: the clock's resolution is no issue
WARMUP_SECONDS = 0.02  # untimed passes first (and at least ``warmup``): allocations, caches, the first call's set-up
BLOCK_QUANTILE = 0.1  # the figure: this quantile of the blocks' times, a minimum that one lucky block cannot set
DEFAULT_REPEATS = 50
MAX_REPEATS = 1000  # timed blocks per measurement; the fastest are kept, so more only take longer


def latency_method(threads: int = LATENCY_THREADS) -> str:
    """How latency is measured, in one line (the report's footnote; the app's Compare tab can show the same)."""
    return (f"Latency: the fastest tenth of many timed blocks of forward passes on the CPU, {threads} thread"
            f"{'' if threads == 1 else 's'} for every network, inference mode, batch 1 and batch 256.")


def latency_threads() -> int:
    """The thread count latency is measured with: ``LATENCY_THREADS``, unless --threads asked for another."""
    return requested_threads() or LATENCY_THREADS


@dataclass(frozen=True)
class ModelFigures:
    """One network's row in the report."""

    role: str
    label: str
    parameters: int
    bytes_on_disk: int  # a float32 state_dict saved with torch.save
    latency_batch1_ms: float  # milliseconds for one image (fastest block, one thread: see cpu_latency_ms)
    latency_batch256_ms_per_image: float  # milliseconds per image in a batch of 256 (the same way)
    test_acc: float | None
    latency_threads: int = LATENCY_THREADS  # CPU threads the latencies were measured with


def network_label(role: str, model: nn.Module, fallback: str) -> str:
    """'Teacher 784-1200-1200-10': the role's title and the architecture, for a report row."""
    spec = getattr(model, "spec", None)
    return f"{ROLE_TITLES.get(role, role)} {spec.describe()}" if spec is not None else fallback


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of the float32 state_dict as torch.save writes it: the size of the weights file a user ships."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().float().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getbuffer().nbytes


def cpu_latency_ms(model: nn.Module, batch: int, repeats: int = DEFAULT_REPEATS, warmup: int = 5) -> float:
    """Milliseconds of one forward pass of ``batch`` images on the CPU: robust to other programs on the machine.

    One thread (``latency_threads()``: ``LATENCY_THREADS`` unless --threads asks for another), inference mode,
    dropout off. After a warm-up, ``repeats`` blocks of passes are timed, each block at least ``BLOCK_SECONDS``
    long; the result is the time per pass of the block at the ``BLOCK_QUANTILE`` quantile (the 5th fastest of 50).
    Other programs only ever add time, so the fastest blocks are the network's own cost; not the very fastest, so
    that one lucky block (a moment when everything else on the machine paused) does not set the figure.
    Measured with 50 repeats on a shared 2-core machine (load 4 to 7), "N x faster on one image" stayed within
    about 10% run to run; with the median of 30 single passes on two threads it ranged from 2x to 584x.
    """
    model = model.to("cpu").eval()
    x = torch.rand(batch, IMAGE_PIXELS, generator=torch.Generator().manual_seed(batch))
    with torch_threads(latency_threads()), torch.inference_mode():
        passes, start = 0, time.perf_counter()
        while passes < max(1, warmup) or time.perf_counter() - start < WARMUP_SECONDS:
            model(x)
            passes += 1
        per_block = max(1, math.ceil(BLOCK_SECONDS / ((time.perf_counter() - start) / passes)))
        times = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            for _ in range(per_block):
                model(x)
            times.append((time.perf_counter() - start) / per_block)
    times.sort()
    return times[int(BLOCK_QUANTILE * (len(times) - 1))] * 1000


@torch.no_grad()
def test_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model = model.to("cpu").eval()
    correct = sum(int((model(x[i : i + 2000]).argmax(1) == y[i : i + 2000]).sum()) for i in range(0, len(y), 2000))
    return correct / len(y)


def measure(role: str, label: str, model: nn.Module, test_acc: float | None, repeats: int = DEFAULT_REPEATS) -> ModelFigures:
    return ModelFigures(
        role=role, label=label, parameters=parameter_count(model), bytes_on_disk=state_dict_bytes(model),
        latency_batch1_ms=cpu_latency_ms(model, 1, repeats),
        latency_batch256_ms_per_image=cpu_latency_ms(model, 256, repeats) / 256,
        test_acc=test_acc, latency_threads=latency_threads(),
    )


def _times(a: float, b: float) -> str:
    ratio = a / b if b else float("inf")
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def summary_sentence(rows: dict[str, ModelFigures]) -> str:
    """One computed sentence: how much smaller and faster the (distilled) student is, and what it costs in accuracy."""
    teacher = rows.get("teacher")
    student = rows.get("distilled") or rows.get("student")
    if teacher is None or student is None:
        return "Train (or load) a teacher and a student to compare them."
    name = "distilled student" if student.role == "distilled" else "student"
    parts = [
        f"{_times(teacher.parameters, student.parameters)} smaller",
        f"{_times(teacher.latency_batch1_ms, student.latency_batch1_ms)} faster on one image",
    ]
    sentence = f"The {name} is " + ", ".join(parts)
    if teacher.test_acc is not None and student.test_acc is not None:
        gap = (teacher.test_acc - student.test_acc) * 100
        sentence += f", and {abs(gap):.2f} points {'less' if gap >= 0 else 'more'} accurate than its teacher"
    sentence += "."
    baseline = rows.get("student")
    if student.role == "distilled" and baseline is not None and student.test_acc is not None and baseline.test_acc is not None:
        gain = (student.test_acc - baseline.test_acc) * 100
        sentence += (f" Distillation {'gained' if gain >= 0 else 'lost'} {abs(gain):.2f} points over the same "
                     f"network trained on labels alone.")
    return sentence


def report_dict(rows: dict[str, ModelFigures]) -> dict:
    return {"summary": summary_sentence(rows), "models": {role: asdict(r) for role, r in rows.items()}}


def format_report(rows: dict[str, ModelFigures]) -> str:
    header = f"{'Model':<30} {'Parameters':>11} {'On disk':>10} {'1 image':>10} {'per image @256':>15} {'Test':>7}"
    lines = [summary_sentence(rows), "", header]
    for role in ROLES:
        r = rows.get(role)
        if r is None:
            continue
        acc = f"{r.test_acc:.2%}" if r.test_acc is not None else "-"
        lines.append(f"{r.label:<30} {r.parameters:>11,} {r.bytes_on_disk / 1e6:>8.2f}MB {r.latency_batch1_ms:>8.3f}ms "
                     f"{r.latency_batch256_ms_per_image * 1000:>12.1f}µs {acc:>7}")
    counts = sorted({r.latency_threads for r in rows.values()}) or [LATENCY_THREADS]
    lines.append(latency_method(counts[0]) if len(counts) == 1 else
                 f"{latency_method(counts[0])} (rows measured with {' and '.join(map(str, counts))} threads)")
    return "\n".join(lines)
