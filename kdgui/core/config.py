"""Frozen, validated configuration dataclasses for networks, training and distillation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid", "leaky_relu")
LOSSES = ("soft_mse", "hinton")
TRANSFER_SETS = ("train", "leave_out", "noise", "jitter")
KINDS = ("teacher", "student", "distilled")
KIND_TITLES = {"teacher": "Teacher", "student": "Student from labels", "distilled": "Distilled student"}
# Display titles, one table per list of names: every view and table shows these, never the identifiers.
LOSS_TITLES = {"soft_mse": "Soft-target MSE", "hinton": "Hinton: α·T²·KL + (1−α)·CE"}
TRANSFER_TITLES = {
    "train": "Training images",
    "leave_out": "Training images without some classes",
    "noise": "Random noise images",
    "jitter": "Training images shifted a few pixels",
}
STUDY_TITLES = {  # the studies of kdgui.core.studies, in this order
    "leave-out": "Leave a digit out of the transfer set",
    "only-classes": "A transfer set of only some classes",
    "noise": "Uniform random noise as the transfer set",
    "jitter": "Jittered images as the transfer set",
}
STUDIES = tuple(STUDY_TITLES)
STUDY_DEFAULT_CLASSES = {"leave-out": (3,), "only-classes": (7, 8)}  # the paper's: no 3s; only 7s and 8s
SWEEP_TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0)  # a sweep's temperatures unless told
EXPORT_SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}  # export formats and their file suffixes
DATASETS = ("mnist", "fashion-mnist", "kmnist")
NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    _require(_is_int(value), f"{name} must be a whole number, got {value!r}")
    _require(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


def _check_float(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> None:
    _require(_is_number(value), f"{name} must be a finite number, got {value!r}")
    if low_open:
        _require(low < value <= high, f"{name} must be greater than {low} and at most {high}, got {value}")
    else:
        _require(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


@dataclass(frozen=True)
class NetSpec:
    """An MLP: 784 inputs, hidden layers with dropout after each, 10 outputs."""

    hidden: tuple[int, ...]
    dropout: tuple[float, ...] = ()
    activation: str = "relu"
    input_dropout: float = 0.0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "hidden", tuple(self.hidden))
            dropout = tuple(self.dropout) if self.dropout else (0.0,) * len(self.hidden)
        except TypeError:
            raise ConfigError("hidden layer widths and dropouts must be lists of numbers") from None
        object.__setattr__(self, "dropout", dropout)
        _require(1 <= len(self.hidden) <= 8, f"a network needs 1 to 8 hidden layers, got {len(self.hidden)}")
        for i, width in enumerate(self.hidden, 1):
            _check_int(f"width of hidden layer {i}", width, 1, 8192)
        _require(
            len(self.dropout) == len(self.hidden),
            f"give one dropout per hidden layer ({len(self.hidden)}), got {len(self.dropout)}",
        )
        for i, p in enumerate(self.dropout, 1):
            _check_float(f"dropout after hidden layer {i}", p, 0.0, 0.95)
        _check_float("input dropout", self.input_dropout, 0.0, 0.95)
        _require(self.activation in ACTIVATIONS, f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (IMAGE_PIXELS, *self.hidden, NUM_CLASSES)

    def describe(self) -> str:
        return "-".join(str(n) for n in self.layer_sizes)


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise: Adam with these settings, evaluated every ``eval_every`` batches."""

    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 100
    seed: int = 0
    eval_every: int = 100
    device: str = "auto"
    train_limit: int | None = None  # use only the first N training images (quick runs, tests)
    keep_best: bool = False  # keep the epoch-end weights with the best validation accuracy, not the last


    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, 10_000)
        _check_float("learning rate", self.lr, 0.0, 10.0, low_open=True)
        _check_int("batch size", self.batch_size, 1, 65_536)
        _check_int("seed", self.seed, 0, 2**32 - 1)
        _check_int("evaluation interval", self.eval_every, 0, 10_000_000)
        _require(isinstance(self.device, str) and self.device != "", f"device must be a name like cpu or cuda:0, got {self.device!r}")
        if self.train_limit is not None:
            _check_int("training image limit", self.train_limit, 1, 10_000_000)
        _require(isinstance(self.keep_best, bool), "keep_best must be true or false")


@dataclass(frozen=True)
class DistillConfig:
    """What the student learns from: temperature, loss, mix with labels, transfer set."""

    temperature: float = 4.0
    alpha: float = 1.0
    loss: str = "soft_mse"
    transfer: str = "train"
    leave_out: tuple[int, ...] = ()
    jitter_pixels: int = 2

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "leave_out", tuple(sorted(set(self.leave_out))))
        except TypeError:
            raise ConfigError("left-out classes must be a list of whole numbers") from None
        _check_float("temperature", self.temperature, 0.0, 1000.0, low_open=True)
        _check_float("alpha", self.alpha, 0.0, 1.0)
        _require(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        _require(
            self.transfer in TRANSFER_SETS,
            f"transfer set must be one of {', '.join(TRANSFER_SETS)}, got {self.transfer!r}",
        )
        for c in self.leave_out:
            _check_int("left-out class", c, 0, NUM_CLASSES - 1)
        if self.transfer == "leave_out":
            _require(len(self.leave_out) >= 1, "choose at least one class to leave out of the transfer set")
            _require(len(self.leave_out) < NUM_CLASSES, "at least one class must stay in the transfer set")
        _check_int("jitter", self.jitter_pixels, 0, 8)
        if self.transfer == "noise":
            # Noise images have no labels, so only the teacher's soft targets can teach.
            _require(self.alpha == 1.0, "random noise has no labels: alpha must be 1 (soft targets only)")


@dataclass(frozen=True)
class Job:
    """One training run: what to train, on which data, how, and (for distillation) from which teacher."""

    kind: str
    net: NetSpec
    train: TrainConfig
    distill: DistillConfig | None = None
    dataset: str = "mnist"
    teacher_run: str | None = None
    name: str = ""
    standardize: bool = False  # subtract the training mean, divide by the std (the seed did not)

    def __post_init__(self) -> None:
        _require(self.kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        _require(self.dataset in DATASETS, f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.kind == "distilled":
            _require(self.distill is not None, "a distillation needs its temperature, loss and transfer set")
            _require(bool(self.teacher_run), "a distillation needs a trained teacher: train one first or pick a teacher run")
        else:
            _require(self.distill is None, f"a {self.kind} learns from labels and takes no distillation settings")
        _require(isinstance(self.name, str) and len(self.name) <= 200, "a run name is text of at most 200 characters")
        _require(self.teacher_run is None or isinstance(self.teacher_run, str), "teacher_run must be a run id (text)")
        _require(isinstance(self.standardize, bool), "standardize must be true or false")

    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "distilled" and self.distill is not None:
            return f"distilled T={self.distill.temperature:g}"
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        """Build a Job from JSON-like data; any problem becomes a ConfigError."""
        _require(isinstance(data, dict), "a job must be a JSON object")
        try:
            fields = dict(data)
            fields["net"] = _build(NetSpec, fields.get("net"))
            fields["train"] = _build(TrainConfig, fields.get("train"))
            if fields.get("distill") is not None:
                fields["distill"] = _build(DistillConfig, fields["distill"])
            return _build(cls, fields)
        except TypeError as exc:
            raise ConfigError(f"not a valid kdgui job: {exc}") from None


def _build(cls: type, data: Any) -> Any:
    _require(isinstance(data, dict), f"{cls.__name__} must be a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    _require(not unknown, f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    return cls(**values)


# The seed experiment's networks and hyperparameters (see README: "Reproducing the seed").
TEACHER_SPEC = NetSpec(hidden=(1200, 1200), dropout=(0.0, 0.4))
STUDENT_SPEC = NetSpec(hidden=(50,))
SEED_TEACHER_TRAIN = TrainConfig(epochs=20, lr=5e-4, batch_size=100, eval_every=100, keep_best=True)
SEED_STUDENT_TRAIN = TrainConfig(epochs=20, lr=2.5e-3, batch_size=100, eval_every=100, keep_best=True)
SEED_DISTILL_TRAIN = TrainConfig(epochs=14, lr=5e-3, batch_size=100, eval_every=100, keep_best=True)
SEED_DISTILL = DistillConfig(temperature=4.0, alpha=1.0, loss="soft_mse", transfer="train")


def seed_jobs(teacher_run: str = "pending", seed: int = 0, device: str = "auto") -> dict[str, Job]:
    """The seed's three stages; the distilled job's teacher_run is filled in once the teacher exists."""
    t = {"seed": seed, "device": device}
    return {
        "teacher": Job("teacher", TEACHER_SPEC, dataclasses.replace(SEED_TEACHER_TRAIN, **t)),
        "student": Job("student", STUDENT_SPEC, dataclasses.replace(SEED_STUDENT_TRAIN, **t)),
        "distilled": Job(
            "distilled", STUDENT_SPEC, dataclasses.replace(SEED_DISTILL_TRAIN, **t), SEED_DISTILL, teacher_run=teacher_run
        ),
    }

