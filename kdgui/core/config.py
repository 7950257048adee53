"""Frozen, validated configuration dataclasses for networks, training and distillation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid", "leaky_relu")
LOSSES = ("soft_mse", "hinton")
TRANSFER_SETS = ("train", "leave_out", "noise", "jitter", "other")
KINDS = ("teacher", "student", "distilled")
KIND_TITLES = {"teacher": "Teacher", "student": "Student from labels", "distilled": "Distilled student"}
# Display titles, one table per list of names: every view and table shows these, never the identifiers.
LOSS_TITLES = {"soft_mse": "Soft-target MSE", "hinton": "Hinton: α·T²·KL + (1−α)·CE"}
TRANSFER_TITLES = {
    "train": "Training images",
    "leave_out": "Training images without some classes",
    "noise": "Random noise images",
    "jitter": "Training images shifted a few pixels",
    "other": "Images of another dataset (no digits, no labels)",
}
# The "other" transfer set's images, by name: never MNIST, never labelled. "letters" is drawn by kdgui.core.data and
# always there; the others are read from the data folder like any dataset (their images only).
OTHER_TRANSFER_SETS = {
    "letters": "Drawn Latin letters",
    "fashion-mnist": "Fashion-MNIST clothing",
    "kmnist": "KMNIST Japanese characters",
}
STUDY_TITLES = {  # the studies of kdgui.core.studies, in this order
    "leave-out": "Leave a digit out of the transfer set",
    "only-classes": "A transfer set of only some classes",
    "noise": "Uniform random noise as the transfer set",
    "jitter": "Jittered images as the transfer set",
    "other-dataset": "Another dataset's images as the transfer set",
}
STUDIES = tuple(STUDY_TITLES)
STUDY_DEFAULT_CLASSES = {"leave-out": (3,), "only-classes": (7, 8)}  # the paper's: no 3s; only 7s and 8s
SWEEP_TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0)  # a sweep's temperatures unless told
EXPORT_SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}  # export formats and their file suffixes
DATASETS = ("mnist", "fashion-mnist", "kmnist")
NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28
IMAGE_SIDE = 28
# Network architectures, one table: every network takes the flat [N, 784] pixels and gives 10 logits.
ARCHITECTURES = {
    "mlp": "Fully connected (MLP)",  # 784 -> hidden... -> 10
    "cnn": "Convolutional (CNN)",  # conv blocks (conv k x k, activation, 2x2 pooling) -> dense hidden... -> 10
}
POOLINGS = {"max": "Max pooling", "avg": "Average pooling"}
CONV_KERNELS = (3, 5)
MAX_CONV_BLOCKS = 4  # each block halves the side: 28 -> 14 -> 7 -> 3 -> 1
# Augmentation of the training images (or of the transfer set: the teacher answers on the same images).
AUGMENTATIONS = {
    "none": "None",
    "affine": "Random affine: shift, rotation, scale, shear",
    "affine+elastic": "Random affine and elastic distortion",
}
# Learning-rate schedules over all of a run's batches (see training.scheduled_lr for the curves).
SCHEDULES = {
    "constant": "Constant",
    "cosine": "Cosine decay to 0",
    "one_cycle": "One cycle: warm up for 30% of the steps, then cosine decay",
}


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
    """A network taking 784 pixels to 10 logits.

    ``arch="mlp"`` (the default; run files without ``arch`` are MLPs): hidden layers with an activation and
    dropout after each. ``arch="cnn"``: first a block per entry of ``conv`` (a ``kernel`` x ``kernel``
    convolution with that many channels, "same" padding, the activation, 2x2 ``pool``ing), then dense
    ``hidden`` layers (dropout after each, none needed), then 10 outputs. ``input_dropout`` drops pixels.
    """

    hidden: tuple[int, ...]
    dropout: tuple[float, ...] = ()
    activation: str = "relu"
    input_dropout: float = 0.0
    arch: str = "mlp"
    conv: tuple[int, ...] = ()  # CNN only: channels of each conv block
    kernel: int = 3  # CNN only
    pool: str = "max"  # CNN only

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "hidden", tuple(self.hidden))
            dropout = tuple(self.dropout) if self.dropout else (0.0,) * len(self.hidden)
        except TypeError:
            raise ConfigError("hidden layer widths and dropouts must be lists of numbers") from None
        try:
            object.__setattr__(self, "conv", tuple(self.conv))
        except TypeError:
            raise ConfigError("conv block channels must be a list of numbers") from None
        object.__setattr__(self, "dropout", dropout)
        _require(self.arch in ARCHITECTURES, f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.arch!r}")
        cnn = self.arch == "cnn"
        if cnn:
            _require(1 <= len(self.conv) <= MAX_CONV_BLOCKS,
                     f"a CNN needs 1 to {MAX_CONV_BLOCKS} conv blocks, got {len(self.conv)}")
            for i, width in enumerate(self.conv, 1):
                _check_int(f"channels of conv block {i}", width, 1, 1024)
            _require(self.kernel in CONV_KERNELS,
                     f"conv kernel must be one of {', '.join(map(str, CONV_KERNELS))}, got {self.kernel!r}")
            _require(self.pool in POOLINGS, f"pooling must be one of {', '.join(POOLINGS)}, got {self.pool!r}")
        else:
            _require(not self.conv, "conv blocks belong to a CNN: set the architecture to cnn, or give no conv widths")
        low = 0 if cnn else 1
        _require(low <= len(self.hidden) <= 8, f"a network needs {low} to 8 hidden layers, got {len(self.hidden)}")
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
    def is_cnn(self) -> bool:
        return self.arch == "cnn"

    @property
    def conv_side(self) -> int:
        """The feature maps' side after the conv blocks (28 halved, rounding down, per block); 28 for an MLP."""
        side = IMAGE_SIDE
        for _ in self.conv:
            side //= 2
        return side

    @property
    def inputs(self) -> int:
        """Pixels the network takes: 784 for every architecture (a CNN reshapes them to 28x28 inside)."""
        return IMAGE_PIXELS

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """The dense layers' sizes: 784 inputs (an MLP's, or a CNN's flattened conv output) ... 10 outputs."""
        first = self.conv[-1] * self.conv_side**2 if self.is_cnn else IMAGE_PIXELS
        return (first, *self.hidden, NUM_CLASSES)

    def describe(self) -> str:
        """'784-50-10' for an MLP; 'CNN 32-64 conv, 128 dense' for a CNN (kernel and pooling when not 3x3 max)."""
        if not self.is_cnn:
            return "-".join(str(n) for n in self.layer_sizes)
        extras = [f"{self.kernel}x{self.kernel}"] if self.kernel != 3 else []
        if self.pool != "max":
            extras.append(f"{self.pool} pool")
        conv = "-".join(map(str, self.conv)) + " conv" + (f" ({', '.join(extras)})" if extras else "")
        dense = f", {'-'.join(map(str, self.hidden))} dense" if self.hidden else ""
        return f"CNN {conv}{dense}"


@dataclass(frozen=True)
class AugmentConfig:
    """Random distortions of every training batch, drawn afresh each batch (kdgui.core.augment).

    ``kind`` "none" leaves the images alone; "affine" shifts by up to ``shift`` pixels each way, rotates by
    up to ``rotate`` degrees, scales by a factor in [1 - ``scale``, 1 + ``scale``] and shears by up to
    ``shear`` degrees; "affine+elastic" adds Simard et al.'s (2003) elastic distortion: a uniform random
    displacement field in [-1, 1] smoothed by a Gaussian of ``elastic_sigma`` pixels and scaled by
    ``elastic_alpha`` pixels. All strengths at 0 give the images unchanged.
    """

    kind: str = "none"
    shift: float = 2.0
    rotate: float = 10.0
    scale: float = 0.1
    shear: float = 10.0
    elastic_alpha: float = 34.0
    elastic_sigma: float = 4.0

    def __post_init__(self) -> None:
        _require(self.kind in AUGMENTATIONS, f"augmentation must be one of {', '.join(AUGMENTATIONS)}, got {self.kind!r}")
        _check_float("augmentation shift", self.shift, 0.0, 8.0)
        _check_float("augmentation rotation", self.rotate, 0.0, 90.0)
        _check_float("augmentation scale", self.scale, 0.0, 0.5)
        _check_float("augmentation shear", self.shear, 0.0, 45.0)
        _check_float("elastic alpha", self.elastic_alpha, 0.0, 200.0)
        _check_float("elastic sigma", self.elastic_sigma, 0.5, 16.0)

    @property
    def active(self) -> bool:
        """True when the images change at all (an augmentation with every strength 0 is the identity)."""
        if self.kind == "none":
            return False
        affine = any(v > 0 for v in (self.shift, self.rotate, self.scale, self.shear))
        return affine or (self.kind == "affine+elastic" and self.elastic_alpha > 0)

    def describe(self) -> str:
        if self.kind == "none":
            return "no augmentation"
        text = (f"shift {self.shift:g} px, rotate {self.rotate:g}°, scale ±{self.scale:g}, shear {self.shear:g}°")
        if self.kind == "affine+elastic":
            text += f", elastic α={self.elastic_alpha:g} σ={self.elastic_sigma:g}"
        return text


NO_AUGMENT = AugmentConfig()


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise: Adam (AdamW with ``weight_decay`` > 0) with a learning-rate ``schedule``, evaluated every
    ``eval_every`` batches, on training images augmented by ``augment`` (for a distillation: the transfer set,
    and the teacher answers on exactly the augmented images the student sees)."""

    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 100
    seed: int = 0
    eval_every: int = 100
    device: str = "auto"
    train_limit: int | None = None  # use only the first N training images (quick runs, tests)
    keep_best: bool = False  # keep the epoch-end weights with the best validation accuracy, not the last
    schedule: str = "constant"  # the learning rate over the run's batches: one of SCHEDULES; lr is the peak
    weight_decay: float = 0.0  # decoupled weight decay (AdamW) when > 0
    augment: AugmentConfig = NO_AUGMENT

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
        _require(self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        _check_float("weight decay", self.weight_decay, 0.0, 10.0)
        _require(isinstance(self.augment, AugmentConfig), "augment must be an augmentation setting")


@dataclass(frozen=True)
class DistillConfig:
    """What the student learns from: temperature, loss, mix with labels, transfer set."""

    temperature: float = 4.0
    alpha: float = 1.0
    loss: str = "soft_mse"
    transfer: str = "train"
    leave_out: tuple[int, ...] = ()
    jitter_pixels: int = 2
    other_dataset: str = "letters"  # transfer "other": one of OTHER_TRANSFER_SETS

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
        _require(self.other_dataset in OTHER_TRANSFER_SETS,
                 f"the other dataset must be one of {', '.join(OTHER_TRANSFER_SETS)}, got {self.other_dataset!r}")
        if self.transfer == "other":
            _require(self.alpha == 1.0, "another dataset's images carry no digit labels: alpha must be 1 (soft targets only)")


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
            if self.train.augment.kind != "none":
                _require(self.distill.transfer != "noise", "random noise is no image to augment: set augmentation to none")
                _require(self.distill.transfer != "jitter",
                         "the jitter transfer set is already shifted images: use augmentation's shift instead, or none")
            if self.distill.transfer == "other":
                _require(self.distill.other_dataset != self.dataset,
                         f"the other transfer set must not be {self.dataset} itself: choose another dataset's images")
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
            train = fields.get("train")
            if isinstance(train, dict) and train.get("augment") is not None:
                train = {**train, "augment": _build(AugmentConfig, train["augment"])}
            fields["train"] = _build(TrainConfig, train)
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



# The "best student" recipe (kdgui-cli reproduce --recipe best): a CNN teacher trained on augmented images, then
# 784-50-10 students from labels and distilled students, BEST_SEEDS seeds each, all trained together
# (kdgui.core.together) on the same augmented batches with the same schedule, so the distilled students are
# compared with label-trained students of the very same recipe. Chosen by the measurements in the README.
BEST_AUGMENT = AugmentConfig(kind="affine", shift=2.0, rotate=10.0, scale=0.1, shear=10.0)
BEST_TEACHER_SPEC = NetSpec(hidden=(128,), dropout=(0.5,), arch="cnn", conv=(32, 64))
BEST_STUDENT_SPEC = STUDENT_SPEC
BEST_TEACHER_TRAIN = TrainConfig(epochs=12, lr=2e-3, batch_size=100, eval_every=0, keep_best=True, schedule="one_cycle",
                                 augment=BEST_AUGMENT)
BEST_STUDENT_TRAIN = TrainConfig(epochs=60, lr=5e-3, batch_size=100, eval_every=0, keep_best=True, schedule="one_cycle",
                                 augment=BEST_AUGMENT)  # the students from labels and the distilled students alike
BEST_DISTILL = DistillConfig(temperature=2.0, alpha=1.0, loss="hinton", transfer="train")
BEST_SEEDS = 3


def best_jobs(teacher_run: str = "pending", seed: int = 0, device: str = "auto", seeds: int = BEST_SEEDS) -> dict[str, Any]:
    """The best-student recipe: {"teacher": Job, "student": [Job per seed], "distilled": [Job per seed]}.

    The students of seeds ``seed`` ... ``seed + seeds - 1``; the distilled jobs' teacher_run is filled in once
    the teacher exists. Students from labels and distilled students share network, augmentation and schedule.
    """
    _check_int("number of seeds", seeds, 1, 64)
    teacher = Job("teacher", BEST_TEACHER_SPEC, dataclasses.replace(BEST_TEACHER_TRAIN, seed=seed, device=device),
                  name="best recipe: teacher")
    students, distilled = [], []
    for s in range(seed, seed + seeds):
        train = dataclasses.replace(BEST_STUDENT_TRAIN, seed=s, device=device)
        students.append(Job("student", BEST_STUDENT_SPEC, train, name=f"best recipe: student from labels, seed {s}"))
        distilled.append(Job("distilled", BEST_STUDENT_SPEC, train, BEST_DISTILL, teacher_run=teacher_run,
                             name=f"best recipe: distilled, seed {s}"))
    return {"teacher": teacher, "student": students, "distilled": distilled}
