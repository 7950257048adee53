"""The compression report: what distillation bought, in parameters, bytes, CPU latency, accuracy and fidelity."""

from __future__ import annotations

import io
import math
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Mapping, Sequence

import torch
from torch import nn

from .config import IMAGE_PIXELS, KIND_TITLES, KINDS
from .drawn import drawn_accuracy, drawn_set
from .insight import LineupInsight, WhatChanged, lineup_insight
from .models import parameter_count
from .threads import requested_threads, torch_threads

if TYPE_CHECKING:
    from .predict import NamedModel

DrawnSets = Mapping[str, tuple[torch.Tensor, torch.Tensor]]  # variant -> (x, y), as kdgui.core.drawn.drawn_set makes

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
# MNIST test digits redrawn as canvas strokes (kdgui.core.drawn) for the "Drawn" column: 200 digits in each of the
# 8 variants is 1,600 drawings, about 8 s on a 2-core machine (1,000 took 32 s: thinning and drawing dominate).
DRAWN_DIGITS = 200


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
    agreement: float | None = None  # students: fraction of test digits with the teacher's top-1 class
    teacher_kl: float | None = None  # students: mean KL(teacher || student) on the test set at T = 1, nats
    confusion: tuple[tuple[int, ...], ...] | None = None  # test set, [true class][predicted class]
    drawn_acc: float | None = None  # accuracy on the drawn-digit set, the mean over its variants
    drawn_variants: Mapping[str, float] | None = None  # variant -> accuracy


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


def with_insight(rows: Mapping[str, ModelFigures], insight: LineupInsight | None,
                 drawn: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, ModelFigures]:
    """``rows`` with test accuracy, confusion and fidelity from ``insight``, and drawn-digit accuracy from ``drawn``
    (role -> kdgui.core.drawn.drawn_accuracy's dict, "mean" included)."""
    out = {}
    for role, row in rows.items():
        extra: dict = {}
        if insight is not None and role in insight.logits:
            extra.update(test_acc=insight.accuracy(role), confusion=tuple(map(tuple, insight.confusion[role].tolist())))
            if role in insight.fidelity:
                extra.update(agreement=insight.fidelity[role].agreement, teacher_kl=insight.fidelity[role].kl)
        if drawn and drawn.get(role):
            variants = {k: v for k, v in drawn[role].items() if k != "mean"}
            extra.update(drawn_acc=drawn[role].get("mean"), drawn_variants=variants)
        out[role] = replace(row, **extra)
    return out


def report_drawn_sets(test_x: torch.Tensor, test_y: torch.Tensor, n: int = DRAWN_DIGITS) -> DrawnSets | None:
    """The drawn-digit set of the first ``n`` test digits (pixels in [0, 1]) in every variant; None for n = 0."""
    return drawn_set(test_x[:n].cpu(), test_y[:n].cpu()) if n > 0 and len(test_y) else None


def measure_lineup(models: Sequence[NamedModel], test_set: tuple[torch.Tensor, torch.Tensor] | None = None,
                   repeats: int = DEFAULT_REPEATS, drawn_sets: DrawnSets | None = None,
                   insight: LineupInsight | None = None) -> tuple[dict[str, ModelFigures], WhatChanged | None]:
    """Every network's row (size, latency; with a test set accuracy, confusion and fidelity; with drawn sets the
    drawn-digit accuracy) and, with both students and a test set, what distillation changed.

    ``insight``: these networks' answers on ``test_set`` when they were computed already (the app's background pass);
    one for other roles or another test set is not used, and they are computed here.
    """
    if (insight is None or test_set is None or set(insight.roles) != {m.key for m in models}
            or not torch.equal(insight.labels, test_set[1].long().cpu())):
        insight = lineup_insight({m.key: m.model for m in models}, *test_set) if test_set is not None else None
    drawn = {m.key: drawn_accuracy(m.model, drawn_sets) for m in models} if drawn_sets else None
    rows = {m.key: measure(m.key, network_label(m.key, m.model, m.label), m.model, None, repeats) for m in models}
    return with_insight(rows, insight, drawn), insight.what_changed if insight is not None else None


def what_changed_dict(changed: WhatChanged) -> dict:
    return {"fixed": len(changed.fixed), "broke": len(changed.broke),
            "fixed_indices": list(changed.fixed), "broke_indices": list(changed.broke)}


def what_changed_sentence(changed: WhatChanged) -> str:
    return (f"What changed: fixed {len(changed.fixed)}, broke {len(changed.broke)} (net {changed.net:+d}): test digits "
            f"the distilled student gets right and the student from labels gets wrong, and the reverse.")


def report_dict(rows: dict[str, ModelFigures], changed: WhatChanged | None = None) -> dict:
    """The JSON report: the sentence, every row (confusion as a 10x10 list) and, with both students, what changed."""
    report = {"summary": summary_sentence(rows), "models": {role: asdict(r) for role, r in rows.items()}}
    for row in report["models"].values():
        if row["confusion"] is not None:
            row["confusion"] = [list(r) for r in row["confusion"]]
        if row["drawn_variants"] is not None:
            row["drawn_variants"] = dict(row["drawn_variants"])
    if changed is not None:
        report["what_changed"] = what_changed_dict(changed)
    return report


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "-"


def format_report(rows: dict[str, ModelFigures], changed: WhatChanged | None = None) -> str:
    header = (f"{'Model':<33} {'Parameters':>10} {'On disk':>8} {'1 image':>9} {'@256/img':>9} {'Test':>7} {'Drawn':>7} "
              f"{'Agree':>7} {'KL':>6}")
    lines = [summary_sentence(rows), "", header]
    for role in ROLES:
        r = rows.get(role)
        if r is None:
            continue
        kl = f"{r.teacher_kl:.3f}" if r.teacher_kl is not None else "-"
        lines.append(f"{r.label:<33} {r.parameters:>10,} {r.bytes_on_disk / 1e6:>6.2f}MB {r.latency_batch1_ms:>7.3f}ms "
                     f"{r.latency_batch256_ms_per_image * 1000:>7.1f}µs {_percent(r.test_acc):>7} {_percent(r.drawn_acc):>7} "
                     f"{_percent(r.agreement):>7} {kl:>6}")
    if changed is not None:
        lines.append(what_changed_sentence(changed))
    if any(r.agreement is not None for r in rows.values()):
        lines.append("Agree: test digits where a student's top-1 class is the teacher's; KL: mean KL(teacher || student) "
                     "at T = 1, nats.")
    variants = next((r.drawn_variants for r in rows.values() if r.drawn_variants), None)
    if variants:
        lines.append(f"Drawn: MNIST test digits redrawn as canvas strokes in {len(variants)} pen, size, slant and place "
                     "variants (kdgui.core.drawn), mean accuracy.")
    counts = sorted({r.latency_threads for r in rows.values()}) or [LATENCY_THREADS]
    lines.append(latency_method(counts[0]) if len(counts) == 1 else
                 f"{latency_method(counts[0])} (rows measured with {' and '.join(map(str, counts))} threads)")
    return "\n".join(lines)
