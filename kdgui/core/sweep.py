"""Temperature sweep (or alpha x temperature grid): one student per point and seed, all trained as one batched computation."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from .config import LOSSES, SEED_DISTILL_TRAIN, SWEEP_TEMPERATURES, STUDENT_SPEC, DistillConfig, Job, NetSpec, TrainConfig
from .data import DISPLAY_NAMES, Splits, load_splits
from .errors import ConfigError, RunError
from .events import Progress
from .experiments import finish_record, new_record, save_experiment
from .history import MNIST_TRAIN_IMAGES
from .lineup import study_origin
from .runs import Run, RunStore
from .stacked import StackedStudents, batched_distillation_loss, soft_targets
from .threads import step_work, with_threads
from .training import CancelToken, cached_teacher_logits, evaluate, make_adam, resolve_device

DEFAULT_TEMPERATURES = SWEEP_TEMPERATURES
MAX_STUDENTS = 1024
MAX_SEEDS = 100

@dataclass(frozen=True)
class SweepConfig:
    """A temperature sweep: every temperature times every seed, all students distilled from one teacher.

    With ``alphas`` it is a grid: every alpha times every temperature times every seed; ``alpha`` is then unused.
    """

    teacher_run: str
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    seeds: int = 1  # how many seeds: seed, seed + 1, ..., seed + seeds - 1
    seed: int = 0
    epochs: int = 14
    lr: float = 5e-3
    batch_size: int = 100
    loss: str = "soft_mse"
    alpha: float = 1.0
    alphas: tuple[float, ...] = ()  # a grid's alphas (1 - alpha goes to the labels); empty: the one ``alpha``
    student: NetSpec = STUDENT_SPEC
    eval_every: int = 0  # also evaluate every N batches; epoch ends are always evaluated
    train_limit: int | None = None
    keep_best: bool = SEED_DISTILL_TRAIN.keep_best  # report each student at its best-validation epoch, like execute
    device: str = "auto"
    student_run: str | None = "latest"  # the student-from-labels reference line: a run id, "latest" or None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperatures", tuple(self.temperatures))
        try:
            object.__setattr__(self, "alphas", tuple(self.alphas))
        except TypeError:
            raise ConfigError("alphas must be a list of numbers") from None
        if not self.teacher_run or not isinstance(self.teacher_run, str):
            raise ConfigError("a sweep needs a trained teacher: train one first or pick a teacher run")
        if not self.temperatures:
            raise ConfigError("give at least one temperature")
        if len(set(self.temperatures)) != len(self.temperatures):
            raise ConfigError(f"each temperature once, please: got {', '.join(f'{t:g}' for t in self.temperatures)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if len(set(self.alphas)) != len(self.alphas):
            raise ConfigError(f"each alpha once, please: got {', '.join(f'{a:g}' for a in self.alphas)}")
        if self.alphas and self.alpha != 1.0:
            raise ConfigError("give one alpha or a list of alphas for a grid, not both")
        for t in self.temperatures:
            for a in self.alpha_list:
                DistillConfig(temperature=t, alpha=a, loss=self.loss)  # range checks with the usual messages
        if not (isinstance(self.seeds, int) and not isinstance(self.seeds, bool) and 1 <= self.seeds <= MAX_SEEDS):
            raise ConfigError(f"number of seeds must be a whole number from 1 to {MAX_SEEDS}, got {self.seeds!r}")
        self.train_config(self.seed)
        self.train_config(self.seed + self.seeds - 1)
        if self.student.is_cnn:
            raise ConfigError("sweep students are MLPs (a CNN can be the teacher)")
        if self.student.input_dropout > 0 or any(p > 0 for p in self.student.dropout):
            raise ConfigError("sweep students train without dropout: set the student's dropout to 0")
        if len(self.members) > MAX_STUDENTS:
            raise ConfigError(f"at most {MAX_STUDENTS} students per sweep, got {len(self.members)}")
        if self.student_run is not None and not isinstance(self.student_run, str):
            raise ConfigError("the reference student is a run id, 'latest' or none")
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError("a sweep name is text of at most 200 characters")

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.seed, self.seed + self.seeds))

    @property
    def alpha_list(self) -> tuple[float, ...]:
        """The alphas swept: the grid's, or the one ``alpha``."""
        return self.alphas or (self.alpha,)

    @property
    def is_grid(self) -> bool:
        """More than one alpha: the results are a grid of alphas x temperatures."""
        return len(self.alpha_list) > 1

    @property
    def members(self) -> tuple[tuple[float, float, int], ...]:
        """(alpha, temperature, seed) of each student: seed-major, then alpha, then temperature."""
        return tuple((a, t, s) for s in self.seed_list for a in self.alpha_list for t in self.temperatures)

    @property
    def students(self) -> tuple[tuple[float, int], ...]:
        """(temperature, seed) of each student; without a grid student k is seed k // len(temperatures), temperature k % len."""
        return tuple((t, s) for _, t, s in self.members)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=seed, eval_every=self.eval_every,
            device=self.device, train_limit=self.train_limit, keep_best=self.keep_best,
        )

    def student_job(self, temperature: float, seed: int, dataset: str = "mnist", standardize: bool = False,
                    alpha: float | None = None) -> Job:
        """The solo distillation that sweep student (temperature, seed) equals (``alpha``: a grid's, else the sweep's)."""
        alpha = self.alpha_list[0] if alpha is None else alpha
        distill = DistillConfig(temperature=temperature, alpha=alpha, loss=self.loss, transfer="train")
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
    """One temperature's (or grid point's) accuracies summarised over its seeds (std is the sample std; 0 with one seed).

    ``alpha`` is the point's alpha (None in records saved before grids existed).
    """

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
    alpha: float | None = None


@dataclass(frozen=True)
class SweepStarted:
    sweep_id: str
    temperatures: tuple[float, ...]  # per student, in student order
    seeds: tuple[int, ...]  # per student
    total_steps: int
    device: str
    teacher_run: str
    references: tuple[Reference, ...]
    alphas: tuple[float, ...] = ()  # per student


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
    alphas: tuple[float, ...] = ()  # per student

    def by_temperature(self) -> tuple[TemperaturePoint, ...]:
        """Per temperature, or per (alpha, temperature) of a grid."""
        return summarize(self.temperatures, self.val_acc, self.test_acc, self.alphas)


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


def summarize(
    temperatures: Sequence[float], val_acc: Sequence[float], test_acc: Sequence[float], alphas: Sequence[float] = (),
) -> tuple[TemperaturePoint, ...]:
    """Per temperature, or per (alpha, temperature) with ``alphas`` (per student), in first-seen order: mean, sample
    std, min and max over its students."""
    keys = list(zip(alphas, temperatures)) if alphas else [(None, t) for t in temperatures]
    points = []
    for a, t in dict.fromkeys(keys):
        val = [v for key, v in zip(keys, val_acc) if key == (a, t)]
        test = [v for key, v in zip(keys, test_acc) if key == (a, t)]

        def std(xs: list[float]) -> float:
            return statistics.stdev(xs) if len(xs) > 1 else 0.0

        points.append(TemperaturePoint(
            t, len(val), statistics.fmean(val), std(val), min(val), max(val),
            statistics.fmean(test), std(test), min(test), max(test), a,
        ))
    return tuple(points)


@dataclass(frozen=True)
class Grid:
    """A grid sweep's results as matrices: ``val[i][j]`` and ``test[i][j]`` (means over seeds) at alphas[i], temperatures[j].

    Both axes ascending; a point not (yet) measured is NaN.
    """

    alphas: tuple[float, ...]
    temperatures: tuple[float, ...]
    val: tuple[tuple[float, ...], ...]
    test: tuple[tuple[float, ...], ...]
    seeds: int

    def best(self) -> tuple[int, int] | None:
        """(i, j) of the best validation accuracy (ties: the smaller alpha, then the smaller T); None when empty."""
        cells = [(v, -i, -j) for i, row in enumerate(self.val) for j, v in enumerate(row) if not math.isnan(v)]
        if not cells:
            return None
        _, i, j = max(cells)
        return -i, -j

    def to_dict(self) -> dict[str, Any]:
        return {"alphas": list(self.alphas), "temperatures": list(self.temperatures), "seeds": self.seeds,
                "val": [list(r) for r in self.val], "test": [list(r) for r in self.test]}


def grid_of(points: Sequence[TemperaturePoint]) -> Grid:
    """The points as an alpha x temperature grid (a 1-D sweep is a grid of one row)."""
    alphas = tuple(sorted({1.0 if p.alpha is None else p.alpha for p in points}))
    temperatures = tuple(sorted({p.temperature for p in points}))
    by = {(1.0 if p.alpha is None else p.alpha, p.temperature): p for p in points}
    nan = float("nan")

    def matrix(key: str) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(getattr(by[a, t], key) if (a, t) in by else nan for t in temperatures) for a in alphas)

    return Grid(alphas, temperatures, matrix("val_mean"), matrix("test_mean"), max((p.n for p in points), default=0))


def saved_results(record: dict[str, Any]) -> tuple[tuple[TemperaturePoint, ...], tuple[Reference, ...]]:
    """A saved sweep's table and reference lines ((), () for a record without them or not readable as a sweep)."""
    names = [f.name for f in dataclasses.fields(TemperaturePoint)]

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    try:
        points = []
        for row in record.get("table") or ():
            values = {k: row.get(k) for k in names}
            # A file from elsewhere may hold anything: every figure must be a number (alpha may be missing).
            alpha_ok = values["alpha"] is None or number(values["alpha"])
            if not alpha_ok or not all(number(v) for k, v in values.items() if k != "alpha"):
                return (), ()
            points.append(TemperaturePoint(**values))
        return tuple(points), tuple(Reference.from_dict(r) for r in record.get("references") or ())
    except (TypeError, ValueError, AttributeError):
        return (), ()


def is_grid(points: Sequence[TemperaturePoint]) -> bool:
    """The points span more than one alpha."""
    return len({p.alpha for p in points}) > 1


def grid_verdict(grid: Grid) -> str:
    """Which (alpha, T) was best on validation, its test accuracy, and the worst point, in one line."""
    best = grid.best()
    if best is None:
        return ""
    i, j = best
    seeds = f", mean of {grid.seeds} seeds" if grid.seeds > 1 else ""
    from .verdicts import SAME  # the words about results build on this module, so they are imported late

    cells = [(v, i2, j2) for i2, row in enumerate(grid.val) for j2, v in enumerate(row) if not math.isnan(v)]
    low, wi, wj = min(cells)
    if 100 * (grid.val[i][j] - low) < SAME:
        return (f"Every (α, T) did as well on validation ({low:.2%}{seeds}); α={grid.alphas[i]:g}, T={grid.temperatures[j]:g} "
                f"scores {grid.test[i][j]:.2%} on test.")
    return (f"α={grid.alphas[i]:g}, T={grid.temperatures[j]:g} was best on validation ({grid.val[i][j]:.2%}{seeds}), "
            f"{100 * (grid.val[i][j] - low):.2f} points above the worst, α={grid.alphas[wi]:g}, T={grid.temperatures[wj]:g} "
            f"({low:.2%}); on test it scores {grid.test[i][j]:.2%}.")


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

    alphas_per_student = tuple(a for a, _, _ in config.members)
    temps_per_student = tuple(t for _, t, _ in config.members)
    seeds_per_student = tuple(s for _, _, s in config.members)
    references = [teacher_reference(teacher_run, teacher, data)]
    target = config.student_job(config.temperatures[0], config.seed, dataset, standardize)  # as references compare
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
        students=[{"alpha": a, "temperature": t, "seed": s} for a, t, s in config.members], history=[],
    )
    path = save_experiment(store, record)
    yield SweepStarted(record["id"], temps_per_student, seeds_per_student, total, str(device), teacher_run.id, tuple(references),
                       alphas_per_student)

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
            points = summarize(temps_per_student, kept_val, kept_test, alphas_per_student)
            record["table"] = [dataclasses.asdict(p) for p in points]
            if config.is_grid:
                record["grid"] = grid_of(points).to_dict()
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

        per_group = len(config.alpha_list) * len(config.temperatures)
        students = StackedStudents(config.student, config.seed_list, per_group, device)
        if on_students:
            on_students(students)
        # Adam is elementwise, so one Adam over the stacked tensors is K independent Adams with this lr;
        # the fused kernel does the same arithmetic in one pass (equal to execute's Adam up to rounding).
        optimizer = make_adam(students.parameters(), config.lr, device)
        temperatures = torch.tensor(temps_per_student, dtype=torch.float32, device=device)
        softened = soft_targets(config.loss, targets, config.temperatures)  # [N, temperatures, C]
        # A grid's group member m has temperature m % len(temperatures): its soft targets are picked per batch.
        pick = torch.arange(per_group, device=device) % len(config.temperatures) if config.is_grid else None
        alpha: float | torch.Tensor = config.alpha_list[0]
        if config.is_grid:
            alpha = torch.tensor(alphas_per_student, dtype=torch.float32, device=device)
        needs_labels = min(config.alpha_list) < 1
        generators = [torch.Generator().manual_seed(s) for s in config.seed_list]
        groups = students.groups
        x, y = data.train_x, data.train_y

        def evaluation(epoch_end: bool) -> SweepEvaluation:
            nonlocal last
            last = SweepEvaluation(
                step, step / batches, epoch_end, temps_per_student, seeds_per_student,
                tuple(students.accuracies(data.val_x, data.val_y)), tuple(students.accuracies(data.test_x, data.test_y)),
                alphas_per_student,
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
                targets_b = softened.index_select(0, flat).view(groups, size, len(config.temperatures), -1)
                if pick is not None:
                    targets_b = targets_b.index_select(2, pick)
                targets_b = targets_b.permute(0, 2, 3, 1)
                targets_b = targets_b.reshape(students.count, -1, size)
                labels_b = None
                if needs_labels:
                    labels_b = y.index_select(0, flat).view(groups, 1, size).expand(groups, per_group, size).reshape(students.count, size)
                per_student = batched_distillation_loss(config.loss, logits, targets_b, labels_b, temperatures, alpha)
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
            record["id"], summarize(temps_per_student, kept_val, kept_test, alphas_per_student), tuple(kept_val),
            tuple(kept_test), seconds, teacher_seconds, str(path), tuple(kept_epoch),
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


def format_grid_table(grid: Grid) -> str:
    """A plain-text grid: alphas down, temperatures across, each cell validation accuracy with test in brackets."""
    width = 19  # "100.00% (100.00%)" and two spaces
    lines = [f"validation accuracy (test), {'mean over ' + str(grid.seeds) + ' seeds' if grid.seeds > 1 else 'one seed'}; "
             "alpha down, temperature across",
             f"{'alpha/T':>8}" + "".join(f"{t:>{width}g}" for t in grid.temperatures)]
    for a, val_row, test_row in zip(grid.alphas, grid.val, grid.test):
        cells = ["-" if math.isnan(v) else f"{v:.2%} ({w:.2%})" for v, w in zip(val_row, test_row)]
        lines.append(f"{a:>8g}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def format_sweep_table(points: Sequence[TemperaturePoint], references: Sequence[Reference] = ()) -> str:
    """A plain-text table: T, validation and test accuracy (mean, and +- std over seeds when there are several),
    the references, and in words which T was best on validation and by how much. Points of several alphas are
    a grid instead, with the best (alpha, T) in words."""
    if is_grid(points):
        grid = grid_of(points)
        return "\n".join([format_grid_table(grid), *(r.describe() for r in references), grid_verdict(grid)])
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
