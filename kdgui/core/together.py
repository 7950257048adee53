"""Students trained together as one batched computation on shared batches, each kept as a run of its own.

Several 784-...-10 MLP students (students from labels and distilled students, any seeds) see exactly the same
batches: one shuffled order, one augmentation of each batch and one teacher forward pass on it, shared by
all. That is what makes a fair comparison cheap: the label-trained students and the distilled students learn
from the very same augmented images under the same schedule, and the teacher (a CNN costs far more than the
students) answers once per batch, not once per student. The students are ``kdgui.core.stacked.StackedStudents``
(stacked weights, batched matmuls); one Adam (or AdamW) over the stacked tensors is one independent optimiser
per student, because both are elementwise.

Student k starts from ``build_model(job_k.net, seed=job_k.train.seed)``, like ``execute``; the batch order and
the augmentation come from the first job's seed (so jobs that differ only in seed differ in their initial
weights alone). Each student is saved as an ordinary run (job, metrics, weights, status), exactly as
``execute`` saves one: finished, stopped or failed, with the epoch-end weights best on validation when
``keep_best``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn.functional as F

from .augment import augment
from .config import Job
from .data import Splits
from .errors import ConfigError
from .events import Cancelled, Finished, Progress
from .losses import softmax_t
from .runs import Run, RunStore
from .stacked import StackedStudents, batched_distillation_loss
from .threads import step_work, with_threads
from .training import (
    CancelToken, _persist, cached_teacher_logits, job_data, job_teacher, make_adam, resolve_device, set_lr, signals_deferred,
    teacher_logits,
)

MAX_TOGETHER = 64


@dataclass(frozen=True)
class GroupStarted:
    """Every student's run exists on disk; training is about to begin."""

    run_ids: tuple[str, ...]
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    total_steps: int
    device: str


@dataclass(frozen=True)
class GroupEvaluation:
    """Every student's accuracies at one evaluation point (train accuracy at epoch ends only)."""

    step: int
    epoch: float
    epoch_end: bool
    run_ids: tuple[str, ...]
    val_acc: tuple[float, ...]
    test_acc: tuple[float, ...]
    train_acc: tuple[float, ...] | None = None


GroupEvent = GroupStarted | Progress | GroupEvaluation | Finished | Cancelled


def check_together(jobs: Sequence[Job]) -> None:
    """Raise ConfigError unless ``jobs`` can train together: MLP students without dropout, the same network,
    data and training settings (the seed and name aside), learning from labels or from one teacher's answers
    on the training images."""
    if not 1 <= len(jobs) <= MAX_TOGETHER:
        raise ConfigError(f"train 1 to {MAX_TOGETHER} students together, got {len(jobs)}")
    first = jobs[0]
    distilled = [j for j in jobs if j.kind == "distilled"]
    for job in jobs:
        if job.kind not in ("student", "distilled"):
            raise ConfigError(f"only students train together, not a {job.kind}")
        if job.net != first.net:
            raise ConfigError(f"students trained together share one network: {job.net.describe()} is not {first.net.describe()}")
        if dataclasses.replace(job.train, seed=0) != dataclasses.replace(first.train, seed=0):
            raise ConfigError("students trained together share their training settings (all but the seed)")
        if (job.dataset, job.standardize) != (first.dataset, first.standardize):
            raise ConfigError("students trained together learn from the same dataset")
    if first.net.is_cnn or first.net.input_dropout > 0 or any(p > 0 for p in first.net.dropout):
        raise ConfigError("students trained together are MLPs without dropout")
    for job in distilled:
        if (job.distill, job.teacher_run) != (distilled[0].distill, distilled[0].teacher_run):
            raise ConfigError("distilled students trained together share their teacher and distillation settings")
        if job.distill.transfer != "train":
            raise ConfigError("students trained together learn from the training images (transfer set 'train')")



def _together_threads(jobs: Sequence[Job], store: RunStore, *args: Any, **kwargs: Any) -> tuple[int, torch.device]:
    """For kdgui.core.threads: every student's step, plus the teacher's forward pass when it answers every batch."""
    first = jobs[0]
    work = step_work(first.net, first.train.batch_size, copies=len(jobs))
    teacher_run = next((j.teacher_run for j in jobs if j.kind == "distilled"), None)
    if teacher_run and first.train.augment.active:
        with contextlib.suppress(Exception):  # a teacher that cannot be read: train_together says why
            work += step_work(store.get(teacher_run).job.net, first.train.batch_size, training=False)
    return work, resolve_device(first.train.device)


@with_threads(_together_threads)  # the teacher's forward pass dominates: the cores that are free (core.threads)
def train_together(
    jobs: Sequence[Job],
    store: RunStore,
    token: CancelToken | None = None,
    *,
    data: Splits | None = None,
    data_dir: str | None = None,
    download: bool = False,
    origin: str = "",
    on_runs_created: Callable[[list[Run]], None] | None = None,
) -> Iterator[GroupEvent]:
    """Train every job's student together and yield events; each is saved under ``store`` as a run of its own.

    Stopping through ``token`` (checked every batch), closing the generator or Ctrl-C saves every student's
    partial weights and marks the runs stopped; an error marks them failed and propagates.
    """
    check_together(jobs)
    token = token or CancelToken()
    first = jobs[0]
    cfg = first.train
    device = resolve_device(cfg.device)
    distilled = [k for k, j in enumerate(jobs) if j.kind == "distilled"]
    labelled = [k for k, j in enumerate(jobs) if j.kind == "student"]
    teacher = job_teacher(jobs[distilled[0]], store, device) if distilled else None
    data = job_data(first, device, data, data_dir, download)  # check_together: every job has the same data settings
    x, y = data.train_x, data.train_y
    n_items = len(y)
    if n_items == 0:
        raise ConfigError("the training set is empty")

    generator = torch.Generator().manual_seed(cfg.seed)  # shuffling and augmentation, shared by every student
    students = StackedStudents(first.net, [j.train.seed for j in jobs], 1, device)
    optimizer = make_adam(students.parameters(), cfg.lr, device, cfg.weight_decay)
    batches = -(-n_items // cfg.batch_size)
    total = batches * cfg.epochs
    count = len(jobs)
    d = jobs[distilled[0]].distill if distilled else None
    cached = None
    if teacher is not None and not cfg.augment.active:
        key = (jobs[distilled[0]].teacher_run, data.dataset, first.standardize, cfg.train_limit, ())
        cached = cached_teacher_logits(key, teacher, x)  # the same cache execute uses for this teacher and set
    d_index = torch.tensor(distilled, dtype=torch.long, device=device)
    l_index = torch.tensor(labelled, dtype=torch.long, device=device)
    temperatures = torch.full((len(distilled),), d.temperature if d else 1.0, device=device)

    runs: list[Run] = []
    started = time.perf_counter()
    paused = 0.0
    step = 0
    window = torch.zeros(count, dtype=torch.float64)
    window_n = 0
    pending: list[list[dict]] = [[] for _ in jobs]
    best_val: list[float | None] = [None] * count
    best_eval: list[dict | None] = [None] * count
    best_state: list[dict | None] = [None] * count

    def elapsed() -> float:
        return time.perf_counter() - started - paused

    def flush() -> None:
        for run, records in zip(runs, pending):
            run.append_metrics(records)
            records.clear()

    def evaluation(epoch_end: bool) -> GroupEvaluation:
        nonlocal window, window_n
        val_loss, val_acc = students.evaluate(data.val_x, data.val_y)
        test_loss, test_acc = students.evaluate(data.test_x, data.test_y)
        train_acc = students.evaluate(x, y)[1] if epoch_end else None
        train_loss = (window / window_n).tolist() if window_n else [None] * count
        for k in range(count):
            pending[k].append({
                "type": "eval", "elapsed": round(elapsed(), 3), "step": step, "epoch": step / batches,
                "val_loss": val_loss[k], "val_acc": val_acc[k], "test_loss": test_loss[k], "test_acc": test_acc[k],
                "train_loss": train_loss[k], "train_acc": train_acc[k] if train_acc else None, "epoch_end": epoch_end,
            })
        window, window_n = torch.zeros(count, dtype=torch.float64), 0
        flush()
        return GroupEvaluation(step, step / batches, epoch_end, tuple(r.id for r in runs), tuple(val_acc),
                               tuple(test_acc), tuple(train_acc) if train_acc else None)

    def settle(status: str, states: list[dict | None], summaries: list[dict[str, Any]]) -> None:
        """Per run: metrics (best effort), weights when given, then the status; signals held back meanwhile."""

        def flush_if_possible() -> None:
            try:
                flush()
            except Exception:  # noqa: BLE001 - a full disk must not keep the weights and status from disk
                for records in pending:
                    records.clear()

        steps: list[Callable[[], None]] = [flush_if_possible]
        for run, state, summary in zip(runs, states, summaries):
            if state is not None:
                steps.append(lambda run=run, state=state: run.save_weights(state))
            steps.append(lambda run=run, summary=summary: run.set_status(status, **summary))
        with signals_deferred():
            _persist(steps)

    def keep_partial() -> None:
        states = [students.state_dict_of(k) for k in range(count)]
        summary = {"steps": step, "seconds": round(elapsed(), 2), "device": str(device)}
        settle("stopped", states, [summary] * count)

    try:
        for job in jobs:
            runs.append(store.create(job, origin))
        if on_runs_created:
            on_runs_created(list(runs))
        yield GroupStarted(tuple(r.id for r in runs), tuple(j.label() for j in jobs), tuple(j.kind for j in jobs),
                           total, str(device))
        started = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(n_items, generator=generator).to(device)
            for b in range(batches):
                paused += token.wait_while_paused()
                if token.cancelled:
                    keep_partial()
                    for run in runs:
                        yield Cancelled(run.id, step, elapsed())
                    return
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                xb, yb = x.index_select(0, idx), y.index_select(0, idx)
                if cfg.augment.active:
                    xb = augment(xb, cfg.augment, generator, mean=data.mean, std=data.std)
                set_lr(optimizer, cfg, step, total)
                logits = students(xb)  # [K, C, B]
                size = len(idx)
                per_student = torch.zeros(count, device=device)
                if distilled:
                    tb = cached.index_select(0, idx) if cached is not None else teacher_logits(teacher, xb)
                    # The teacher's soft targets once per batch, class-major, shared by every distilled student.
                    soft = F.log_softmax(tb / d.temperature, 1) if d.loss == "hinton" else softmax_t(tb, d.temperature)
                    targets = soft.t().unsqueeze(0).expand(len(distilled), -1, -1)
                    labels = yb.unsqueeze(0).expand(len(distilled), size) if d.alpha < 1 else None
                    losses = batched_distillation_loss(d.loss, logits.index_select(0, d_index), targets, labels,
                                                       temperatures, d.alpha)
                    per_student = per_student.index_add(0, d_index, losses)
                if labelled:
                    ce = F.cross_entropy(logits.index_select(0, l_index), yb.unsqueeze(0).expand(len(labelled), size),
                                         reduction="none").mean(1)
                    per_student = per_student.index_add(0, l_index, ce)
                optimizer.zero_grad(set_to_none=True)
                per_student.sum().backward()  # student k's parameters reach only its own term
                optimizer.step()
                step += 1
                values = per_student.detach().double().cpu()
                window += values
                window_n += 1
                for k, v in enumerate(values.tolist()):
                    pending[k].append({"type": "loss", "step": step, "loss": v})
                yield Progress(step, total, epoch, cfg.epochs, b + 1, batches, float(values.mean()), elapsed())
                if cfg.eval_every and step % cfg.eval_every == 0 and b + 1 < batches:
                    yield evaluation(epoch_end=False)
            event = evaluation(epoch_end=True)
            for k in range(count):
                record = pending_record(event, k)
                if not cfg.keep_best or best_val[k] is None or event.val_acc[k] > best_val[k]:
                    best_val[k], best_eval[k] = event.val_acc[k], record
                    best_state[k] = students.state_dict_of(k)
                    if epoch < cfg.epochs:  # a checkpoint at each improving epoch end: a killed run keeps it
                        runs[k].save_weights(best_state[k])
            yield event
        seconds = elapsed()
        summaries = [
            {"train_acc": e["train_acc"], "val_acc": e["val_acc"], "test_acc": e["test_acc"], "seconds": round(seconds, 2),
             "steps": step, "device": str(device), "epoch": e["epoch"]}
            for e in best_eval
        ]
        settle("finished", best_state, summaries)
        for run, s in zip(runs, summaries):
            yield Finished(run.id, s["train_acc"], s["val_acc"], s["test_acc"], seconds, epoch=s["epoch"])
    except (GeneratorExit, KeyboardInterrupt):
        if runs and any(r.stored_status == "running" for r in runs):
            keep_partial()
        raise
    except BaseException as exc:
        failed = [r for r in runs if r.stored_status == "running"]
        if failed:
            try:
                error = f"{type(exc).__name__}: {exc}"
                steps = [lambda r=r: r.set_status("failed", error=error, steps=step) for r in failed]
                with signals_deferred():
                    _persist(steps)
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
        raise
    finally:
        for run in runs:
            run.release_lock()


def pending_record(event: GroupEvaluation, k: int) -> dict[str, Any]:
    """Student k's accuracies at an epoch end, as a run summary holds them."""
    return {"train_acc": event.train_acc[k] if event.train_acc else None, "val_acc": event.val_acc[k],
            "test_acc": event.test_acc[k], "epoch": round(event.epoch)}


def group_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation, min and max of per-seed figures."""
    import statistics

    values = list(values)
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}

