"""Transfer-set studies from Hinton et al. (2015): a left-out digit, only some classes, noise, jitter, another dataset."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch

from .config import (
    NUM_CLASSES, OTHER_TRANSFER_SETS, SEED_DISTILL, SEED_DISTILL_TRAIN, STUDENT_SPEC, STUDIES, STUDY_DEFAULT_CLASSES,
    STUDY_TITLES, DistillConfig, Job, NetSpec, TrainConfig,
)
from .data import Splits, keep_classes, load_splits, other_images
from .errors import ConfigError
from .events import Cancelled, Evaluation, Finished, Progress, Started
from .experiments import finish_record, new_record, save_experiment
from .runs import RunStore
from .sweep import Reference, student_reference, teacher_reference
from .training import CancelToken, execute, predict_logits, resolve_device
from .verdicts import (
    accuracy_headline, leave_out_bias_line, leave_out_headline, only_classes_bias_line, only_classes_headline,
)

DEFAULT_CLASSES = STUDY_DEFAULT_CLASSES
TITLES = STUDY_TITLES  # one table of titles, in config
PARAGRAPH = "\n\n"  # a summary's paragraphs: the headline first, then the numbers, then the bias shift explained
# Hinton, Vinyals and Dean (2015), section 3; their student was 784-800-800-10 and their shifts were tuned on test.
PAPER = {
    "leave-out": {"digit": 3, "test_errors_before": 206, "class_errors_before": 133, "class_count": 1010,
                  "shift": 3.5, "test_errors_after": 109, "class_errors_after": 14},
    "only-classes": {"classes": [7, 8], "test_error_before": 0.473, "shift": -7.6, "test_error_after": 0.132},
}
SEED_NOISE_ACC = 0.40  # the seed experiment's student reached about 40% learning from noise
TRANSFERS = {"leave-out": "leave_out", "only-classes": "leave_out", "noise": "noise", "jitter": "jitter",
             "other-dataset": "other"}  # each study's transfer set (config.TRANSFER_SETS)


@dataclass(frozen=True)
class StudyConfig:
    """One study: which, from which teacher, and the distillation settings (the seed's by default)."""

    study: str
    teacher_run: str
    classes: tuple[int, ...] = ()  # leave-out: the classes left out (default 3); only-classes: those kept (default 7, 8)
    temperature: float = SEED_DISTILL.temperature
    alpha: float = SEED_DISTILL.alpha
    loss: str = SEED_DISTILL.loss
    epochs: int = SEED_DISTILL_TRAIN.epochs
    lr: float = SEED_DISTILL_TRAIN.lr
    batch_size: int = SEED_DISTILL_TRAIN.batch_size
    seed: int = 0
    eval_every: int = SEED_DISTILL_TRAIN.eval_every
    train_limit: int | None = None
    keep_best: bool = SEED_DISTILL_TRAIN.keep_best  # analyse the epoch-end weights best on validation, like distill
    device: str = "auto"
    jitter_pixels: int = 2
    other_dataset: str = "letters"  # other-dataset: whose images (config.OTHER_TRANSFER_SETS)
    student: NetSpec = STUDENT_SPEC
    name: str = ""

    def __post_init__(self) -> None:
        if self.study not in STUDIES:
            raise ConfigError(f"study must be one of {', '.join(STUDIES)}, got {self.study!r}")
        if not self.teacher_run or not isinstance(self.teacher_run, str):
            raise ConfigError("a study needs a trained teacher: train one first or pick a teacher run")
        classes = tuple(sorted(set(self.classes))) or DEFAULT_CLASSES.get(self.study, ())
        object.__setattr__(self, "classes", classes)
        if self.study not in DEFAULT_CLASSES and self.classes:
            raise ConfigError(f"the {self.study} study takes no classes")
        for c in classes:
            if not (isinstance(c, int) and 0 <= c < NUM_CLASSES):
                raise ConfigError(f"classes are digits 0 to {NUM_CLASSES - 1}, got {c!r}")
        if self.study == "only-classes" and len(classes) >= NUM_CLASSES:
            raise ConfigError("keep fewer than all ten classes, or the study is ordinary distillation")
        self.job()  # every other check, with the usual messages

    @property
    def leave_out(self) -> tuple[int, ...]:
        if self.study == "only-classes":
            return tuple(c for c in range(NUM_CLASSES) if c not in self.classes)
        return self.classes

    def distill_config(self) -> DistillConfig:
        transfer = TRANSFERS[self.study]
        return DistillConfig(
            temperature=self.temperature, alpha=self.alpha, loss=self.loss, transfer=transfer,
            leave_out=self.leave_out if transfer == "leave_out" else (), jitter_pixels=self.jitter_pixels,
            other_dataset=self.other_dataset,
        )

    def job(self, dataset: str = "mnist", standardize: bool = False) -> Job:
        train = TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=self.seed,
                            eval_every=self.eval_every, device=self.device, train_limit=self.train_limit,
                            keep_best=self.keep_best)
        return Job("distilled", self.student, train, self.distill_config(), dataset=dataset, teacher_run=self.teacher_run,
                   name=self.name or f"study: {self.describe()}", standardize=standardize)

    def describe(self) -> str:
        if self.study == "leave-out":
            return f"no {_and(self.classes)} in the transfer set"
        if self.study == "only-classes":
            return f"only {_and(self.classes)} in the transfer set"
        if self.study == "noise":
            return "uniform noise as the transfer set"
        if self.study == "other-dataset":
            return f"{in_sentence(OTHER_TRANSFER_SETS[self.other_dataset])} as the transfer set, no digit and no label"
        return f"images jittered by up to {self.jitter_pixels} px"


    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- events ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyStarted:
    study_id: str
    study: str
    title: str
    description: str


@dataclass(frozen=True)
class StudyFinished:
    """The study's result in words (``summary``) and numbers (``result``, JSON-ready: please do not mutate)."""

    study_id: str
    study: str
    run_id: str
    summary: str
    result: dict[str, Any]
    seconds: float
    path: str


@dataclass(frozen=True)
class StudyCancelled:
    study_id: str
    study: str
    run_id: str
    path: str


StudyEvent = StudyStarted | Started | Progress | Evaluation | Finished | Cancelled | StudyFinished | StudyCancelled


# --- bias shifts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BiasShift:
    """A shared amount added to some classes' output biases, chosen on validation, and test errors before and after."""

    classes: tuple[int, ...]
    shift: float
    val_acc_before: float
    val_acc_after: float
    test_errors_before: int
    test_errors_after: int
    class_errors_before: int  # test errors on images whose label is one of ``classes``
    class_errors_after: int
    class_count: int  # test images whose label is one of ``classes``
    test_count: int


def shift_logits(logits: torch.Tensor, classes: Sequence[int], shift: float) -> torch.Tensor:
    """``logits`` with ``shift`` added to the given classes (the same as adding it to their output biases)."""
    out = logits.clone()
    out[:, list(classes)] += shift
    return out


def best_bias_shift(logits: torch.Tensor, labels: torch.Tensor, classes: Sequence[int], margin: float = 1.0) -> float:
    """The shift of ``classes``' logits that maximises accuracy, found exactly rather than on a grid.

    A shared shift only decides *whether* the best in-``classes`` logit beats the best other one, so
    sample i flips at ``d_i = max_other - max_in``; accuracy is constant between consecutive d's. We
    return 0 when no shift beats the unshifted accuracy, else the middle of the best interval nearest
    to 0 (``margin`` past the last breakpoint when that interval is unbounded).
    """
    logits, labels = logits.detach().double().cpu(), labels.cpu()
    inside = torch.zeros(logits.shape[1], dtype=torch.bool)
    inside[list(classes)] = True
    if inside.all() or not inside.any() or len(labels) == 0:
        return 0.0
    in_ids, out_ids = inside.nonzero().squeeze(1), (~inside).nonzero().squeeze(1)
    max_in, arg_in = logits[:, inside].max(1)
    max_out, arg_out = logits[:, ~inside].max(1)
    right_in = (in_ids[arg_in] == labels).long()
    right_out = (out_ids[arg_out] == labels).long()
    d, order = torch.sort(max_out - max_in)
    right_in, right_out = right_in[order], right_out[order]
    zero = torch.zeros(1, dtype=torch.long)
    # acc[j]: the j smallest d's are predicted inside (shift in (d[j-1], d[j])), the rest outside.
    acc = torch.cat([zero, right_in.cumsum(0)]) + right_out.sum() - torch.cat([zero, right_out.cumsum(0)])
    lower = torch.cat([torch.tensor([-torch.inf], dtype=d.dtype), d])
    upper = torch.cat([d, torch.tensor([torch.inf], dtype=d.dtype)])
    feasible = lower < upper
    j_zero = int((d < 0).sum())
    best = int(acc[feasible].max())
    if int(acc[j_zero]) >= best:
        return 0.0
    candidates = (acc == best) & feasible
    distance = torch.where(lower > 0, lower, torch.where(upper < 0, -upper, torch.zeros_like(lower)))
    distance[~candidates] = torch.inf
    j = int(distance.argmin())
    lo, hi = float(lower[j]), float(upper[j])
    if lo == -float("inf"):
        return hi - margin
    if hi == float("inf"):
        return lo + margin
    return (lo + hi) / 2


def _errors(logits: torch.Tensor, labels: torch.Tensor, classes: Sequence[int]) -> tuple[int, int, int]:
    wrong = logits.argmax(1) != labels
    mine = torch.isin(labels, torch.tensor(list(classes), dtype=labels.dtype, device=labels.device))
    return int(wrong.sum()), int((wrong & mine).sum()), int(mine.sum())


def bias_shift_report(
    val_logits: torch.Tensor, val_y: torch.Tensor, test_logits: torch.Tensor, test_y: torch.Tensor, classes: Sequence[int],
) -> BiasShift:
    """Choose the shift on validation, then count test errors (all, and on ``classes``) before and after it."""
    classes = tuple(classes)
    shift = best_bias_shift(val_logits, val_y, classes)
    val_before = float((val_logits.argmax(1) == val_y).float().mean())
    val_after = float((shift_logits(val_logits, classes, shift).argmax(1) == val_y).float().mean())
    errors_before, class_before, count = _errors(test_logits, test_y, classes)
    errors_after, class_after, _ = _errors(shift_logits(test_logits, classes, shift), test_y, classes)
    return BiasShift(classes, shift, val_before, val_after, errors_before, errors_after, class_before, class_after, count, len(test_y))


# --- the studies -------------------------------------------------------------------------------------------


def in_sentence(title: str) -> str:
    """A title inside a sentence: 'Drawn Latin letters' -> 'drawn Latin letters'; 'KMNIST …', 'Fashion-MNIST …' stay."""
    first = title.split()[0] if title.split() else ""
    return title if any(c.isupper() for c in first[1:]) else title[:1].lower() + title[1:]


def _and(items: Sequence[Any], suffix: str = "s") -> str:
    words = [f"{i}{suffix}" for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _references_text(refs: Sequence[Reference]) -> str:
    return "; ".join(f"{r.label} {r.test_acc:.2%}" + (f" ({r.note})" if r.note else "") for r in refs)


def _for_reference(refs: Sequence[Reference]) -> str:
    return f" For reference: {_references_text(refs)}." if refs else ""


def _kept(config: StudyConfig, finished: Finished) -> str:
    return f"epoch {finished.epoch}, best on validation" if config.keep_best else f"last epoch, {finished.epoch}"


def _leave_out_words(config: StudyConfig, shift: BiasShift, transfer_size: int, kept: str) -> str:
    digits = _and(config.classes)
    n = shift.test_count
    numbers = (
        f"Without any {digits} in the transfer set ({transfer_size} images), the student ({kept}) makes "
        f"{shift.test_errors_before} test errors ({shift.test_errors_before / n:.2%}), {shift.class_errors_before} of them "
        f"on the {shift.class_count} test {digits}."
    )
    paragraphs = [leave_out_headline(shift), numbers, leave_out_bias_line(shift)]
    if config.classes == (PAPER["leave-out"]["digit"],):
        p = PAPER["leave-out"]
        paragraphs.append(
            f"The paper: {p['test_errors_before']} errors, {p['class_errors_before']} on the {p['class_count']} 3s; after "
            f"a bias of +{p['shift']} (tuned on test), {p['test_errors_after']} errors, {p['class_errors_after']} on 3s."
        )
    return PARAGRAPH.join(paragraphs)


def _only_classes_words(config: StudyConfig, shift: BiasShift, transfer_size: int, kept: str) -> str:
    digits = _and(config.classes)
    n = shift.test_count
    numbers = (
        f"Learning from only {digits} ({transfer_size} images), the student ({kept}) gets {shift.test_errors_before / n:.1%} of the "
        f"test set wrong ({shift.test_errors_before} errors, {shift.class_errors_before} of them on {digits})."
    )
    paragraphs = [only_classes_headline(shift), numbers, only_classes_bias_line(shift)]
    if list(config.classes) == PAPER["only-classes"]["classes"]:
        p = PAPER["only-classes"]
        paragraphs.append(f"The paper: {p['test_error_before']:.1%} error, {p['test_error_after']:.1%} after lowering the "
                          f"biases by {-p['shift']} (tuned on test).")
    return PARAGRAPH.join(paragraphs)


def _shift_result(config: StudyConfig, report: BiasShift, transfer_size: int) -> dict[str, Any]:
    result = {**dataclasses.asdict(report), "transfer_size": transfer_size,
              "test_error_before": report.test_errors_before / report.test_count,
              "test_error_after": report.test_errors_after / report.test_count}
    result["classes"] = list(report.classes)
    if config.study == "leave-out" and config.classes == (PAPER["leave-out"]["digit"],):
        result["paper"] = PAPER["leave-out"]
    if config.study == "only-classes" and list(config.classes) == PAPER["only-classes"]["classes"]:
        result["paper"] = PAPER["only-classes"]
    return result


def run_study(
    config: StudyConfig,
    store: RunStore,
    token: CancelToken | None = None,
    *,
    data: Splits | None = None,
    data_dir: str | None = None,
    download: bool = False,
) -> Iterator[StudyEvent]:
    """Distil with the study's transfer set (training.execute's events pass through), then analyse and save.

    The distilled student is an ordinary run in ``store``; the study's result (words and numbers) is an
    experiment file beside it. Stopping through ``token`` keeps both, marked stopped.
    """
    token = token or CancelToken()
    teacher_run = store.get(config.teacher_run)
    dataset, standardize = teacher_run.job.dataset, teacher_run.job.standardize
    job = config.job(dataset, standardize)
    device = resolve_device(config.device)
    if data is None:
        data = load_splits(dataset, data_dir, download=download, standardize=standardize)
    if config.study == "other-dataset":  # from this data folder, and a missing file is said before anything is saved
        other_images(config.other_dataset, len(data.limit_train(config.train_limit).train_y), data_dir)
    record = new_record("study", config.name, config.to_dict())
    record.update(study=config.study, title=TITLES[config.study], description=config.describe(), teacher_run=teacher_run.id)
    path = save_experiment(store, record)
    yield StudyStarted(record["id"], config.study, TITLES[config.study], config.describe())

    started = time.perf_counter()
    points: list[tuple[int, float]] = []
    finished: Finished | None = None
    events = execute(job, store, token, data=data, origin=f"study {record['id']}")
    try:
        for event in events:
            if isinstance(event, Started):
                record["run_id"] = event.run_id
                save_experiment(store, record)
            elif isinstance(event, Evaluation):
                points.append((event.step, event.test_acc))
            elif isinstance(event, Finished):
                finished = event
            yield event
            if isinstance(event, Cancelled):
                finish_record(record, "stopped", seconds=round(time.perf_counter() - started, 2),
                              points=[list(p) for p in points])
                save_experiment(store, record)
                yield StudyCancelled(record["id"], config.study, event.run_id, str(path))
                return
        assert finished is not None
        teacher = teacher_run.load_model(device)
        refs = [teacher_reference(teacher_run, teacher, data.to(device))]
        student_ref = student_reference(store, "latest", job, "study")
        if student_ref is not None:
            refs.append(student_ref)
        summary, result = _analyse(config, store, finished, data, device, points, refs)
        result["references"] = [dataclasses.asdict(r) for r in refs]
        seconds = time.perf_counter() - started
        finish_record(record, "finished", summary=summary, result=result, seconds=round(seconds, 2))
        save_experiment(store, record)
        yield StudyFinished(record["id"], config.study, finished.run_id, summary, result, seconds, str(path))
    except (GeneratorExit, KeyboardInterrupt):
        events.close()  # the run keeps its partial weights, marked stopped
        if record["status"] == "running":
            finish_record(record, "stopped", seconds=round(time.perf_counter() - started, 2))
            save_experiment(store, record)
        raise
    except BaseException as exc:
        if record["status"] == "running":
            finish_record(record, "failed", error=f"{type(exc).__name__}: {exc}")
            save_experiment(store, record)
        raise
    finally:
        events.close()


def _analyse(
    config: StudyConfig, store: RunStore, finished: Finished, data: Splits, device: torch.device,
    points: list[tuple[int, float]], refs: Sequence[Reference] = (),
) -> tuple[str, dict[str, Any]]:
    """The study's result in words (its headline first) and numbers, from the finished run."""
    base = {"run_id": finished.run_id, "val_acc": finished.val_acc, "test_acc": finished.test_acc,
            "epoch": finished.epoch, "keep_best": config.keep_best}
    kept = _kept(config, finished)
    if config.study in ("leave-out", "only-classes"):
        model = store.get(finished.run_id).load_model(device)
        val_x, val_y = data.val_x.to(device), data.val_y.to(device)
        test_x, test_y = data.test_x.to(device), data.test_y.to(device)
        report = bias_shift_report(predict_logits(model, val_x), val_y, predict_logits(model, test_x), test_y, config.classes)
        train = data.limit_train(config.train_limit)
        transfer_size = len(keep_classes(train.train_x, train.train_y, config.leave_out)[1])
        words = _leave_out_words if config.study == "leave-out" else _only_classes_words
        return words(config, report, transfer_size, kept), {**base, **_shift_result(config, report, transfer_size)}
    test_errors = round((1 - finished.test_acc) * len(data.test_y))
    if config.study == "noise":
        best_step, best_acc = max(points, key=lambda p: (p[1], -p[0]))
        steps, final_acc = points[-1]
        headline = accuracy_headline("Never shown a digit, only the teacher's answers on random noise",
                                     finished.test_acc, refs)
        summary = headline + PARAGRAPH + (
            f"Taught only the teacher's answers on uniform random noise, the student reached {final_acc:.2%} test "
            f"accuracy after {steps} iterations (highest {best_acc:.2%}, at iteration {best_step}; the kept weights, "
            f"{kept}, score {finished.test_acc:.2%}); the seed experiment reached about {SEED_NOISE_ACC:.0%}."
        ) + _for_reference(refs)
        return summary, {**base, "points": [list(p) for p in points], "iterations": steps, "best_test_acc": best_acc,
                         "best_step": best_step, "test_errors": test_errors, "seed_reference_acc": SEED_NOISE_ACC}
    if config.study == "other-dataset":
        transfer_size = len(data.limit_train(config.train_limit).train_y)
        return _other_dataset_words(config, finished, points, refs, kept, test_errors, transfer_size)
    headline = accuracy_headline(f"Taught on training images shifted by up to {config.jitter_pixels} pixels",
                                 finished.test_acc, refs)
    summary = headline + PARAGRAPH + (
        f"Taught on training images shifted by up to {config.jitter_pixels} pixels (new shifts every batch), the student "
        f"reached {finished.test_acc:.2%} test accuracy ({test_errors} errors; {kept}), {finished.val_acc:.2%} on validation."
    ) + _for_reference(refs)
    return summary, {**base, "jitter_pixels": config.jitter_pixels, "test_errors": test_errors,
                     "points": [list(p) for p in points]}


def _other_dataset_words(
    config: StudyConfig, finished: Finished, points: list[tuple[int, float]], refs: Sequence[Reference], kept: str,
    test_errors: int, transfer_size: int,
) -> tuple[str, dict[str, Any]]:
    name = in_sentence(OTHER_TRANSFER_SETS[config.other_dataset])
    best_step, best_acc = max(points, key=lambda p: (p[1], -p[0]))
    headline = accuracy_headline(f"Never shown a digit, only the teacher's answers on {name}", finished.test_acc, refs)
    summary = headline + PARAGRAPH + (
        f"Taught only the teacher's answers on {transfer_size:,} images of {name} (no MNIST image, no label), the "
        f"student reached {finished.test_acc:.2%} test accuracy ({test_errors} errors; {kept}), {finished.val_acc:.2%} on "
        f"validation; its highest test accuracy was {best_acc:.2%}, at iteration {best_step}. Taught on uniform noise, the "
        f"seed experiment's student reached about {SEED_NOISE_ACC:.0%}."
    ) + _for_reference(refs)
    return summary, {"run_id": finished.run_id, "val_acc": finished.val_acc, "test_acc": finished.test_acc,
                     "epoch": finished.epoch, "keep_best": config.keep_best, "other_dataset": config.other_dataset,
                     "transfer_size": transfer_size, "test_errors": test_errors, "best_test_acc": best_acc,
                     "best_step": best_step, "iterations": points[-1][0], "seed_reference_acc": SEED_NOISE_ACC,
                     "points": [list(p) for p in points]}
