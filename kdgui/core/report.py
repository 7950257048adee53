"""The compression report: what distillation bought, in parameters, bytes, CPU latency and test accuracy."""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .config import IMAGE_PIXELS, KIND_TITLES, KINDS
from .models import parameter_count

ROLES = KINDS
ROLE_TITLES = KIND_TITLES


@dataclass(frozen=True)
class ModelFigures:
    """One network's row in the report."""

    role: str
    label: str
    parameters: int
    bytes_on_disk: int  # a float32 state_dict saved with torch.save
    latency_batch1_ms: float  # median milliseconds for one image
    latency_batch256_ms_per_image: float  # median milliseconds per image in a batch of 256
    test_acc: float | None


def network_label(role: str, model: nn.Module, fallback: str) -> str:
    """'Teacher 784-1200-1200-10': the role's title and the architecture, for a report row."""
    spec = getattr(model, "spec", None)
    return f"{ROLE_TITLES.get(role, role)} {spec.describe()}" if spec is not None else fallback


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of the float32 state_dict as torch.save writes it: the size of the weights file a user ships."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().float().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getbuffer().nbytes


def cpu_latency_ms(model: nn.Module, batch: int, repeats: int = 30, warmup: int = 5) -> float:
    """Median wall time of one forward pass on the CPU, in milliseconds (inference mode, dropout off)."""
    model = model.to("cpu").eval()
    x = torch.rand(batch, IMAGE_PIXELS, generator=torch.Generator().manual_seed(batch))
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@torch.no_grad()
def test_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model = model.to("cpu").eval()
    correct = sum(int((model(x[i : i + 2000]).argmax(1) == y[i : i + 2000]).sum()) for i in range(0, len(y), 2000))
    return correct / len(y)


def measure(role: str, label: str, model: nn.Module, test_acc: float | None, repeats: int = 30) -> ModelFigures:
    return ModelFigures(
        role=role, label=label, parameters=parameter_count(model), bytes_on_disk=state_dict_bytes(model),
        latency_batch1_ms=cpu_latency_ms(model, 1, repeats), latency_batch256_ms_per_image=cpu_latency_ms(model, 256, repeats) / 256,
        test_acc=test_acc,
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
    lines.append(f"Latency: median CPU time with {torch.get_num_threads()} thread(s), inference mode.")
    return "\n".join(lines)
