"""Temperature sweep: one student per (temperature, seed), all trained as one batched computation on teacher logits computed once."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import LOSSES, SEED_DISTILL_TRAIN, SWEEP_TEMPERATURES, STUDENT_SPEC, DistillConfig, Job, NetSpec, TrainConfig
from .data import DISPLAY_NAMES, Splits, load_splits
from .errors import ConfigError, RunError
from .events import Progress
from .experiments import finish_record, new_record, save_experiment
from .history import MNIST_TRAIN_IMAGES
from .lineup import study_origin
from .models import build_model
from .runs import Run, RunStore
from .threads import step_work, with_threads
from .training import CancelToken, cached_teacher_logits, evaluate, make_adam, resolve_device

DEFAULT_TEMPERATURES = SWEEP_TEMPERATURES
MAX_STUDENTS = 1024
MAX_SEEDS = 100
_EVAL_ELEMENTS = 8_000_000  # hidden activations per evaluation chunk (32 MB of float32), whatever the student count

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    # The functional forms of models._ACTIVATIONS with the same defaults, so a stacked student equals an MLP.
    "relu": F.relu,
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "sigmoid": torch.sigmoid,
    "leaky_relu": F.leaky_relu,
}


@dataclass(frozen=True)
class SweepConfig:
    """A temperature sweep: every temperature times every seed, all students distilled from one teacher."""

    teacher_run: str
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    seeds: int = 1  # how many seeds: seed, seed + 1, ..., seed + seeds - 1
    seed: int = 0
    epochs: int = 14
    lr: float = 5e-3
    batch_size: int = 100
    loss: str = "soft_mse"
    alpha: float = 1.0
    student: NetSpec = STUDENT_SPEC
    eval_every: int = 0  # also evaluate every N batches; epoch ends are always evaluated
    train_limit: int | None = None
    keep_best: bool = SEED_DISTILL_TRAIN.keep_best  # report each student at its best-validation epoch, like execute
    device: str = "auto"
    student_run: str | None = "latest"  # the student-from-labels reference line: a run id, "latest" or None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperatures", tuple(self.temperatures))
        if not self.teacher_run or not isinstance(self.teacher_run, str):
            raise ConfigError("a sweep needs a trained teacher: train one first or pick a teacher run")
        if not self.temperatures:
            raise ConfigError("give at least one temperature")
        if len(set(self.temperatures)) != len(self.temperatures):
            raise ConfigError(f"each temperature once, please: got {', '.join(f'{t:g}' for t in self.temperatures)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        for t in self.temperatures:
            DistillConfig(temperature=t, alpha=self.alpha, loss=self.loss)  # range checks with the usual messages
        if not (isinstance(self.seeds, int) and not isinstance(self.seeds, bool) and 1 <= self.seeds <= MAX_SEEDS):
            raise ConfigError(f"number of seeds must be a whole number from 1 to {MAX_SEEDS}, got {self.seeds!r}")
        self.train_config(self.seed)
        self.train_config(self.seed + self.seeds - 1)
        if self.student.is_cnn:
            raise ConfigError("sweep students are MLPs (a CNN can be the teacher)")
        if self.student.input_dropout > 0 or any(p > 0 for p in self.student.dropout):
            raise ConfigError("sweep students train without dropout: set the student's dropout to 0")
        if len(self.temperatures) * self.seeds > MAX_STUDENTS:
            raise ConfigError(f"at most {MAX_STUDENTS} students per sweep, got {len(self.temperatures) * self.seeds}")
        if self.student_run is not None and not isinstance(self.student_run, str):
            raise ConfigError("the reference student is a run id, 'latest' or none")
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError("a sweep name is text of at most 200 characters")

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.seed, self.seed + self.seeds))

    @property
    def students(self) -> tuple[tuple[float, int], ...]:
        """(temperature, seed) of each student; student k is seed k // len(temperatures), temperature k % len."""
        return tuple((t, s) for s in self.seed_list for t in self.temperatures)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=seed, eval_every=self.eval_every,
            device=self.device, train_limit=self.train_limit, keep_best=self.keep_best,
        )

    def student_job(self, temperature: float, seed: int, dataset: str = "mnist", standardize: bool = False) -> Job:
        """The solo distillation that sweep student (temperature, seed) equals."""
        distill = DistillConfig(temperature=temperature, alpha=self.alpha, loss=self.loss, transfer="train")
        return Job("distilled", self.student, self.train_config(seed), distill, dataset=dataset,
                   teacher_run=self.teacher_run, standardize=standardize)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- events ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A horizontal line on the accuracy-vs-T plot: the teacher, or a student trained from labels.

    ``comparable`` is False when the label-trained student was not trained like the sweep's (or study's)
    students; ``note`` then says what differs, in words ("" when comparable). The teacher is always the
    teacher that was distilled from, so it carries neither. Records saved before these fields existed
    lack them: read those with ``Reference.from_dict`` (missing means comparable, no note).
    """

    label: str
    run_id: str
    val_acc: float
    test_acc: float
    comparable: bool = True
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        """A reference from a saved record (old records lack ``comparable`` and ``note``; unknown keys are ignored)."""
        return cls(
            str(data.get("label", "")), str(data.get("run_id", "")), float(data.get("val_acc", math.nan)),
            float(data.get("test_acc", math.nan)), bool(data.get("comparable", True)), str(data.get("note") or ""),
        )

    def describe(self) -> str:
        """One line: label, accuracies, run, and the note when not like for like."""
        note = f"; {self.note}" if self.note else ""
        return f"{self.label}: validation {self.val_acc:.2%}, test {self.test_acc:.2%} (run {self.run_id}{note})"


@dataclass(frozen=True)
class TemperaturePoint:
    """One temperature's accuracies summarised over its seeds (std is the sample std; 0 with one seed)."""

    temperature: float
    n: int
    val_mean: float
    val_std: float
    val_min: float
    val_max: float
    test_mean: float
    test_std: float
    test_min: float
    test_max: float


@dataclass(frozen=True)
class SweepStarted:
    sweep_id: str
    temperatures: tuple[float, ...]  # per student, in student order
    seeds: tuple[int, ...]  # per student
    total_steps: int
    device: str
    teacher_run: str
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class SweepEvaluation:
    """Validation and test accuracy of every student at one evaluation point."""

    step: int
    epoch: float
    epoch_end: bool
    temperatures: tuple[float, ...]
    seeds: tuple[int, ...]
    val_acc: tuple[float, ...]
    test_acc: tuple[float, ...]

    def by_temperature(self) -> tuple[TemperaturePoint, ...]:
        return summarize(self.temperatures, self.val_acc, self.test_acc)


@dataclass(frozen=True)
class SweepFinished:
    """The table: each student at its kept epoch (the best on validation with keep_best, else the last)."""

    sweep_id: str
    points: tuple[TemperaturePoint, ...]
    val_acc: tuple[float, ...]  # per student
    test_acc: tuple[float, ...]
    seconds: float
    teacher_seconds: float  # of which computing the teacher's logits
    path: str
    epochs: tuple[int, ...] = ()  # per student: the epoch whose accuracies are reported


@dataclass(frozen=True)
class SweepCancelled:
    sweep_id: str
    step: int
    seconds: float
    path: str


SweepEvent = SweepStarted | Progress | SweepEvaluation | SweepFinished | SweepCancelled


def summarize(temperatures: Sequence[float], val_acc: Sequence[float], test_acc: Sequence[float]) -> tuple[TemperaturePoint, ...]:
    """Per temperature (in first-seen order): mean, sample std, min and max over its students."""
    points = []
    for t in dict.fromkeys(temperatures):
        val = [v for tk, v in zip(temperatures, val_acc) if tk == t]
        test = [v for tk, v in zip(temperatures, test_acc) if tk == t]

        def std(xs: list[float]) -> float:
            return statistics.stdev(xs) if len(xs) > 1 else 0.0

        points.append(TemperaturePoint(
            t, len(val), statistics.fmean(val), std(val), min(val), max(val),
            statistics.fmean(test), std(test), min(test), max(test),
        ))
    return tuple(points)


# --- the batched students ----------------------------------------------------------------------------------


class StackedStudents:
    """K MLPs of one NetSpec as stacked tensors; student k is in group k // per_group, and a group shares its batches.

    Everything is laid out class-major, [K, features, batch]: a group's first layer is one
    [per_group * width, 784] matrix (the students' nn.Linear weights one under another), so students
    that see the same batch share one big matmul, later layers are batched matmuls, and the logits come
    out as [K, classes, batch], where softmax over classes is a fast reduction (a last dim of 10 is slow).
    Every student starts from exactly the weights ``build_model(spec, seed)`` gives for its group's seed.
    """

    def __init__(self, spec: NetSpec, group_seeds: Sequence[int], per_group: int, device: torch.device | str = "cpu") -> None:
        if spec.is_cnn:
            raise ConfigError("stacked students are MLPs")
        if spec.input_dropout > 0 or any(p > 0 for p in spec.dropout):
            raise ConfigError("stacked students train without dropout")
        self.spec = spec
        self.groups = len(group_seeds)
        self.per_group = per_group
        self.count = self.groups * per_group
        self._act = _ACTIVATIONS[spec.activation]
        templates = [build_model(spec, seed=s) for s in group_seeds]
        self._keys = [f"layers.{name}" for name, m in templates[0].layers.named_children() if isinstance(m, nn.Linear)]
        linears = [[m for m in t.layers if isinstance(m, nn.Linear)] for t in templates]
        with torch.no_grad():
            weights = [torch.stack([lin[0].weight.repeat(per_group, 1) for lin in linears])]  # [S, P*H, 784]
            biases = [torch.stack([lin[0].bias.repeat(per_group) for lin in linears]).unsqueeze(2)]  # [S, P*H, 1]
            for i in range(1, len(self._keys)):
                per_student = [lin[i] for lin in linears for _ in range(per_group)]
                weights.append(torch.stack([m.weight for m in per_student]))  # [K, out, in]
                biases.append(torch.stack([m.bias for m in per_student]).unsqueeze(2))  # [K, out, 1]
        self.weights = [w.detach().clone().contiguous().to(device).requires_grad_() for w in weights]
        self.biases = [b.detach().clone().contiguous().to(device).requires_grad_() for b in biases]

    def parameters(self) -> list[torch.Tensor]:
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [K, classes, B] from per-group batches x [groups, B, 784], or from one batch [B, 784] for all."""
        w0, b0 = self.weights[0], self.biases[0]
        width = self.spec.hidden[0]
        if x.dim() == 2:
            # Everyone sees the same images (evaluation): all students' first layers are one matmul.
            h = torch.addmm(b0.reshape(-1, 1), w0.reshape(-1, w0.shape[-1]), x.t())
        else:
            h = torch.baddbmm(b0, w0, x.transpose(1, 2))
        h = self._act(h.view(self.count, width, -1))
        last = len(self.weights) - 1
        for i in range(1, last + 1):
            h = torch.baddbmm(self.biases[i], self.weights[i], h)
            if i < last:
                h = self._act(h)
        return h

    def state_dict_of(self, k: int) -> dict[str, torch.Tensor]:
        """Student k's weights with the keys of ``MLP.state_dict()`` (a copy, on the CPU)."""
        group, member = divmod(k, self.per_group)
        width = self.spec.hidden[0]
        rows = slice(member * width, (member + 1) * width)
        state = {
            f"{self._keys[0]}.weight": self.weights[0][group, rows],
            f"{self._keys[0]}.bias": self.biases[0][group, rows, 0],
        }
        for key, w, b in zip(self._keys[1:], self.weights[1:], self.biases[1:]):
            state[f"{key}.weight"] = w[k]
            state[f"{key}.bias"] = b[k, :, 0]
        return {name: t.detach().cpu().clone().contiguous() for name, t in state.items()}

    @torch.no_grad()
    def accuracies(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Each student's accuracy on ``x, y``."""
        widest = max(self.spec.hidden)
        chunk = max(1, min(len(x), _EVAL_ELEMENTS // (self.count * widest)))
        correct = torch.zeros(self.count, dtype=torch.long, device=x.device)
        for i in range(0, len(x), chunk):
            correct += (self(x[i : i + chunk]).argmax(1) == y[i : i + chunk]).sum(1)
        return (correct.double() / max(1, len(x))).tolist()


def soft_targets(kind: str, teacher_logits: torch.Tensor, temperatures: Sequence[float]) -> torch.Tensor:
    """The teacher's softened outputs [N, T, C] per image and temperature: probabilities for soft_mse,
    log-probabilities for hinton.

    They never change during a sweep, so computing them once saves a softmax per batch; row by row
    they are what losses.py computes from the same logits. Image-major, so a batch is one index_select.
    """
    t = torch.tensor(list(temperatures), dtype=teacher_logits.dtype, device=teacher_logits.device).view(1, -1, 1)
    scaled = teacher_logits.unsqueeze(1) / t
    return (F.log_softmax(scaled, -1) if kind == "hinton" else F.softmax(scaled, -1)).contiguous()


def batched_distillation_loss(
    kind: str, logits: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor | None, temperatures: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """Per-student losses [K] for class-major logits [K, C, B], soft_targets [K, C, B] and labels [K, B].

    Student k's loss equals ``losses.distillation_loss(kind, logits[k].T, teacher_k.T, labels[k], T_k, alpha)``.
    """
    t = temperatures.view(-1, 1, 1)
    batch = logits.shape[2]
    if kind == "soft_mse":
        loss = alpha * (F.softmax(logits / t, 1) - targets).pow(2).mean((1, 2))
    elif kind == "hinton":
        kl = F.kl_div(F.log_softmax(logits / t, 1), targets, reduction="none", log_target=True)
        loss = alpha * temperatures.pow(2) * kl.sum((1, 2)) / batch
    else:
        raise ValueError(f"unknown loss {kind!r}")
    if alpha < 1:
        if labels is None:
            raise ValueError(f"{kind} loss with alpha < 1 needs labels")
        loss = loss + (1 - alpha) * F.cross_entropy(logits, labels, reduction="none").mean(1)
    return loss


# --- references --------------------------------------------------------------------------------------------


def teacher_reference(run: Run, teacher: nn.Module, data: Splits) -> Reference:
    """The teacher's accuracies: from its run summary when there, else measured on ``data``."""
    summary = run.summary
    if isinstance(summary.get("val_acc"), float) and isinstance(summary.get("test_acc"), float):
        return Reference("teacher", run.id, summary["val_acc"], summary["test_acc"])
    return Reference("teacher", run.id, evaluate(teacher, data.val_x, data.val_y)[1], evaluate(teacher, data.test_x, data.test_y)[1])


def training_images(train_limit: int | None) -> int:
    """How many training images a run with this ``train_limit`` learns from (None: all of them)."""
    return min(train_limit or MNIST_TRAIN_IMAGES, MNIST_TRAIN_IMAGES)


def _training_words(epochs: int, train_limit: int | None) -> str:
    images = training_images(train_limit)
    on = f"all {images:,} images" if images == MNIST_TRAIN_IMAGES else f"{images:,} images"
    return f"{epochs} epoch{'' if epochs == 1 else 's'} on {on}"


def _like_for_like_key(job: Job) -> tuple[Any, ...]:
    return job.dataset, job.net.layer_sizes, training_images(job.train.train_limit), job.train.epochs


def describe_difference(reference: Job, target: Job, what: str = "sweep") -> str:
    """What differs between a reference run's training and the ``what`` (sweep, study) it is drawn beside.

    "" when like for like: same dataset, layer sizes, number of training images and epochs. Otherwise one
    line such as "not like for like: trained 20 epochs on all 50,000 images; this sweep: 5 epochs on 5,000 images".
    """
    if _like_for_like_key(reference) == _like_for_like_key(target):
        return ""
    mine, theirs = [], []
    if reference.dataset != target.dataset:
        mine.append(f"on {DISPLAY_NAMES.get(reference.dataset, reference.dataset)}")
        theirs.append(f"on {DISPLAY_NAMES.get(target.dataset, target.dataset)}")
    if reference.net.layer_sizes != target.net.layer_sizes:
        mine.append(f"a {reference.net.describe()} network")
        theirs.append(f"a {target.net.describe()} network")
    mine.append(f"trained {_training_words(reference.train.epochs, reference.train.train_limit)}")
    theirs.append(_training_words(target.train.epochs, target.train.train_limit))
    return f"not like for like: {', '.join(mine)}; this {what}: {', '.join(theirs)}"


def student_reference(store: RunStore, which: str | None, target: Job, what: str = "sweep") -> Reference | None:
    """The student-from-labels line drawn beside ``target`` (the job a sweep's or study's students equal).

    ``which`` is a run id (used as given), None (no line) or "latest": the newest finished label-trained
    run with the same dataset, layer sizes, number of training images and epochs as ``target``; failing
    that, the newest with the same dataset and layer sizes. Runs made by a study or sweep are never
    picked. A reference not trained like ``target`` is marked not comparable, with what differs.
    """
    if which is None:
        return None
    if which == "latest":
        candidates = [
            r for r in store.list()
            if r.job.kind == "student" and r.status == "finished" and not study_origin(r)
            and r.job.dataset == target.dataset and r.job.net.layer_sizes == target.net.layer_sizes
            and "test_acc" in r.summary and "val_acc" in r.summary
        ]
        alike = [r for r in candidates if not describe_difference(r.job, target, what)]
        if not (alike or candidates):
            return None
        run = (alike or candidates)[-1]
    else:
        run = store.get(which)
        if "test_acc" not in run.summary or "val_acc" not in run.summary:
            raise RunError(f"run {run.id} has no final accuracies to draw as a reference (status {run.status})")
    note = describe_difference(run.job, target, what)
    return Reference(f"student from labels ({run.job.net.describe()})", run.id, run.summary["val_acc"],
                     run.summary["test_acc"], comparable=not note, note=note)


# --- the sweep ---------------------------------------------------------------------------------------------


def _sweep_threads(config: SweepConfig, *args: Any, **kwargs: Any) -> tuple[int, torch.device]:
    """A sweep's step, for kdgui.core.threads: every student on a batch, and the device."""
    return step_work(config.student, config.batch_size, copies=len(config.students)), resolve_device(config.device)


@with_threads(_sweep_threads)  # 9 students of 784-50-10 are still small work: one thread (core.threads)
def run_sweep(
    config: SweepConfig,
    store: RunStore,
    token: CancelToken | None = None,
    *,
    data: Splits | None = None,
    data_dir: str | None = None,
    download: bool = False,
    on_students: Callable[[StackedStudents], None] | None = None,
) -> Iterator[SweepEvent]:
    """Train every (temperature, seed) student together and yield events; the table is saved under ``store``.

    Student (T, s) equals ``execute(config.student_job(T, s, ...))``: same initial weights, same batch
    order (one shuffling generator per seed, drawn as execute draws it), same loss, an Adam of its own.
    The teacher's logits on the transfer set are computed once (and shared with execute's cache). Every
    batch checks ``token``; stopping saves the results so far, marked stopped.
    """
    token = token or CancelToken()
    device = resolve_device(config.device)
    teacher_run = store.get(config.teacher_run)
    dataset, standardize = teacher_run.job.dataset, teacher_run.job.standardize
    teacher = teacher_run.load_model(device)
    if teacher_run.job.net.inputs != config.student.inputs:
        raise ConfigError(f"teacher {teacher_run.id} takes {teacher_run.job.net.inputs} inputs, the student {config.student.inputs}")
    if data is None:
        data = load_splits(dataset, data_dir, download=download, standardize=standardize)
    data = data.limit_train(config.train_limit).to(device)

    temps_per_student = tuple(t for t, _ in config.students)
    seeds_per_student = tuple(s for _, s in config.students)
    references = [teacher_reference(teacher_run, teacher, data)]
    target = config.student_job(config.temperatures[0], config.seed, dataset, standardize)
    student_ref = student_reference(store, config.student_run, target, "sweep")
    if student_ref is not None:
        references.append(student_ref)

    n_items = len(data.train_y)
    if n_items == 0:
        raise ConfigError("the transfer set is empty: no training images are left after the limit")
    batches = -(-n_items // config.batch_size)
    total = batches * config.epochs
    record = new_record("sweep", config.name, config.to_dict())
    record.update(
        teacher_run=teacher_run.id, dataset=dataset, standardize=standardize, device=str(device),
        transfer_size=n_items, references=[dataclasses.asdict(r) for r in references],
        students=[{"temperature": t, "seed": s} for t, s in config.students], history=[],
    )
    path = save_experiment(store, record)
    yield SweepStarted(record["id"], temps_per_student, seeds_per_student, total, str(device), teacher_run.id, tuple(references))

    started = time.perf_counter()
    paused = 0.0
    step = 0
    last: SweepEvaluation | None = None
    # Per student, the epoch-end accuracies reported in the table: the best on validation (execute's
    # keep_best, strictly better replaces) or simply the last.
    kept_val: list[float] = []
    kept_test: list[float] = []
    kept_epoch: list[int] = []

    def elapsed() -> float:
        return time.perf_counter() - started - paused

    def keep(evaluation: SweepEvaluation) -> None:
        if not kept_val:
            kept_val.extend(evaluation.val_acc)
            kept_test.extend(evaluation.test_acc)
            kept_epoch.extend([round(evaluation.epoch)] * len(evaluation.val_acc))
            return
        for k, (val, test) in enumerate(zip(evaluation.val_acc, evaluation.test_acc)):
            if not config.keep_best or val > kept_val[k]:
                kept_val[k], kept_test[k], kept_epoch[k] = val, test, round(evaluation.epoch)

    def save(status: str | None = None, **fields: Any) -> None:
        if kept_val:
            record["table"] = [dataclasses.asdict(p) for p in summarize(temps_per_student, kept_val, kept_test)]
            for entry, val, test, epoch in zip(record["students"], kept_val, kept_test, kept_epoch):
                entry.update(val_acc=val, test_acc=test, epoch=epoch)
        if status is None:
            record.update(fields)
        else:
            finish_record(record, status, steps=step, seconds=round(elapsed(), 2), **fields)
        save_experiment(store, record)

    try:
        if token.cancelled:
            save("stopped")
            yield SweepCancelled(record["id"], 0, elapsed(), str(path))
            return
        # Same cache key as training.execute uses for this teacher and transfer set, so either reuses the other's.
        key = (teacher_run.id, data.dataset, standardize, config.train_limit, ())
        logits_start = time.perf_counter()
        targets = cached_teacher_logits(key, teacher, data.train_x)
        teacher_seconds = time.perf_counter() - logits_start
        record["teacher_seconds"] = round(teacher_seconds, 3)

        students = StackedStudents(config.student, config.seed_list, len(config.temperatures), device)
        if on_students:
            on_students(students)
        # Adam is elementwise, so one Adam over the stacked tensors is K independent Adams with this lr;
        # the fused kernel does the same arithmetic in one pass (equal to execute's Adam up to rounding).
        optimizer = make_adam(students.parameters(), config.lr, device)
        temperatures = torch.tensor(temps_per_student, dtype=torch.float32, device=device)
        softened = soft_targets(config.loss, targets, config.temperatures)  # [N, per_group, C]
        needs_labels = config.alpha < 1
        generators = [torch.Generator().manual_seed(s) for s in config.seed_list]
        groups, per_group = students.groups, students.per_group
        x, y = data.train_x, data.train_y

        def evaluation(epoch_end: bool) -> SweepEvaluation:
            nonlocal last
            last = SweepEvaluation(
                step, step / batches, epoch_end, temps_per_student, seeds_per_student,
                tuple(students.accuracies(data.val_x, data.val_y)), tuple(students.accuracies(data.test_x, data.test_y)),
            )
            record["history"].append({
                "step": step, "epoch": last.epoch, "epoch_end": epoch_end, "elapsed": round(elapsed(), 3),
                "val_acc": list(last.val_acc), "test_acc": list(last.test_acc),
            })
            if epoch_end:
                keep(last)
                save()
            return last

        for epoch in range(1, config.epochs + 1):
            # One permutation per seed per epoch, drawn exactly as execute draws its own.
            orders = torch.stack([torch.randperm(n_items, generator=g) for g in generators]).to(device)
            for b in range(batches):
                paused += token.wait_while_paused()
                if token.cancelled:
                    save("stopped")
                    yield SweepCancelled(record["id"], step, elapsed(), str(path))
                    return
                rows = orders[:, b * config.batch_size : (b + 1) * config.batch_size]  # [groups, B]
                size = rows.shape[1]
                flat = rows.reshape(-1)  # index_select: a plain gather, much cheaper than advanced indexing here
                logits = students(x.index_select(0, flat).view(groups, size, -1))
                # Student k = (group g, temperature i) learns softened[:, i] on its group's rows: [K, C, B].
                targets_b = softened.index_select(0, flat).view(groups, size, per_group, -1).permute(0, 2, 3, 1)
                targets_b = targets_b.reshape(students.count, -1, size)
                labels_b = None
                if needs_labels:
                    labels_b = y.index_select(0, flat).view(groups, 1, size).expand(groups, per_group, size).reshape(students.count, size)
                per_student = batched_distillation_loss(config.loss, logits, targets_b, labels_b, temperatures, config.alpha)
                optimizer.zero_grad(set_to_none=True)
                # Summing keeps the students apart: student k's parameters only reach its own loss term.
                per_student.sum().backward()
                optimizer.step()
                step += 1
                yield Progress(step, total, epoch, config.epochs, b + 1, batches, float(per_student.detach().mean()), elapsed())
                if config.eval_every and step % config.eval_every == 0 and b + 1 < batches:
                    yield evaluation(epoch_end=False)
            yield evaluation(epoch_end=True)
        seconds = elapsed()
        save("finished")
        yield SweepFinished(
            record["id"], summarize(temps_per_student, kept_val, kept_test), tuple(kept_val), tuple(kept_test), seconds,
            teacher_seconds, str(path), tuple(kept_epoch),
        )
    except (GeneratorExit, KeyboardInterrupt):
        # Closed by the consumer or interrupted from the terminal: keep what was measured so far.
        if record["status"] == "running":
            save("stopped")
        raise
    except BaseException as exc:
        if record["status"] == "running":
            save("failed", error=f"{type(exc).__name__}: {exc}")
        raise


def format_sweep_table(points: Sequence[TemperaturePoint], references: Sequence[Reference] = ()) -> str:
    """A plain-text table: T, validation and test accuracy (mean, and +- std over seeds when there are several),
    the references, and in words which T was best on validation and by how much."""
    several = any(p.n > 1 for p in points)
    head = f"{'T':>6}  {'seeds':>5}  {'validation':>16}  {'test':>16}" if several else f"{'T':>6}  {'validation':>10}  {'test':>7}"
    lines = [head]
    for p in points:
        if several:
            lines.append(f"{p.temperature:>6g}  {p.n:>5}  {p.val_mean:>8.2%} ±{p.val_std:>6.2%}  {p.test_mean:>8.2%} ±{p.test_std:>6.2%}")
        else:
            lines.append(f"{p.temperature:>6g}  {p.val_mean:>10.2%}  {p.test_mean:>7.2%}")
    for r in references:
        lines.append(r.describe())
    from .verdicts import sweep_verdict  # the words about results build on this module, so they are imported late

    verdict = sweep_verdict(points, references)
    if verdict:
        lines.append(verdict)
    return "\n".join(lines)
