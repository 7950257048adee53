"""Config validation: every bad value is a ConfigError naming the field; jobs round-trip through JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kdgui.core import config as C
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError, KdguiError


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: NetSpec(hidden=(-5,)), "width of hidden layer 1"),
        (lambda: NetSpec(hidden=(64, 0)), "width of hidden layer 2"),
        (lambda: NetSpec(hidden=(64, 9000)), "width of hidden layer 2"),
        (lambda: NetSpec(hidden=()), "hidden layers"),
        (lambda: NetSpec(hidden=(64,), dropout=(0.1, 0.2)), "dropout"),
        (lambda: NetSpec(hidden=(64,), dropout=(1.0,)), "dropout after hidden layer 1"),
        (lambda: NetSpec(hidden=(64,), input_dropout=-0.1), "input dropout"),
        (lambda: NetSpec(hidden=(64,), activation="swish"), "activation"),
        (lambda: NetSpec(hidden=(True,)), "width of hidden layer 1"),
        (lambda: TrainConfig(lr=0.0), "learning rate"),
        (lambda: TrainConfig(lr=-1e-3), "learning rate"),
        (lambda: TrainConfig(lr=float("nan")), "learning rate"),
        (lambda: TrainConfig(epochs=0), "epochs"),
        (lambda: TrainConfig(epochs=True), "epochs"),
        (lambda: TrainConfig(epochs=2.0), "epochs"),
        (lambda: TrainConfig(batch_size=0), "batch size"),
        (lambda: TrainConfig(batch_size=False), "batch size"),
        (lambda: TrainConfig(seed=-1), "seed"),
        (lambda: TrainConfig(eval_every=-1), "evaluation interval"),
        (lambda: TrainConfig(train_limit=0), "training image limit"),
        (lambda: TrainConfig(device=""), "device"),
        (lambda: DistillConfig(temperature=0.0), "temperature"),
        (lambda: DistillConfig(temperature=-2.0), "temperature"),
        (lambda: DistillConfig(temperature=float("inf")), "temperature"),
        (lambda: DistillConfig(alpha=-0.1), "alpha"),
        (lambda: DistillConfig(alpha=1.5), "alpha"),
        (lambda: DistillConfig(loss="l1"), "loss"),
        (lambda: DistillConfig(transfer="imagenet"), "transfer set"),
        (lambda: DistillConfig(transfer="leave_out", leave_out=tuple(range(10))), "at least one class must stay"),
        (lambda: DistillConfig(transfer="leave_out"), "at least one class to leave out"),
        (lambda: DistillConfig(transfer="leave_out", leave_out=(10,)), "left-out class"),
        (lambda: DistillConfig(transfer="noise", alpha=0.5), "alpha must be 1"),
        (lambda: DistillConfig(jitter_pixels=9), "jitter"),
        (lambda: Job("professor", C.STUDENT_SPEC, TrainConfig()), "kind"),
        (lambda: Job("student", C.STUDENT_SPEC, TrainConfig(), dataset="cifar"), "dataset"),
        (lambda: Job("distilled", C.STUDENT_SPEC, TrainConfig(), DistillConfig()), "teacher"),
        (lambda: Job("distilled", C.STUDENT_SPEC, TrainConfig(), teacher_run="t"), "temperature"),
        (lambda: Job("student", C.STUDENT_SPEC, TrainConfig(), DistillConfig()), "distillation settings"),
        (lambda: Job("student", C.STUDENT_SPEC, TrainConfig(), name="x" * 201), "run name"),
        (lambda: NetSpec(hidden=(64,), arch="transformer"), "architecture"),
        (lambda: NetSpec(hidden=(64,), arch="cnn"), "conv blocks"),
        (lambda: NetSpec(hidden=(64,), arch="cnn", conv=(32, 2000)), "channels of conv block 2"),
        (lambda: NetSpec(hidden=(64,), conv=(32,)), "conv blocks belong to a CNN"),
        (lambda: TrainConfig(schedule="linear"), "schedule"),
        (lambda: TrainConfig(weight_decay=float("inf")), "weight decay"),
        (lambda: C.AugmentConfig(kind="cutout"), "augmentation"),
        (lambda: C.AugmentConfig(kind="affine", rotate=91.0), "augmentation rotation"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_field(build, field):
    with pytest.raises(ConfigError) as info:
        build()
    message = str(info.value)
    assert field in message
    assert "\n" not in message
    assert isinstance(info.value, KdguiError) and isinstance(info.value, ValueError)


def test_valid_edge_values_are_accepted():
    assert DistillConfig(alpha=0.0).alpha == 0.0
    assert DistillConfig(alpha=1.0, transfer="noise").transfer == "noise"
    assert DistillConfig(transfer="leave_out", leave_out=(7, 3, 3)).leave_out == (3, 7)
    assert TrainConfig(eval_every=0, train_limit=1).eval_every == 0
    assert NetSpec(hidden=(8, 8)).dropout == (0.0, 0.0)


def test_seed_specs_describe_the_seed_networks():
    assert C.TEACHER_SPEC.describe() == "784-1200-1200-10"
    assert C.TEACHER_SPEC.dropout == (0.0, 0.4)
    assert C.STUDENT_SPEC.describe() == "784-50-10"
    jobs = C.seed_jobs(teacher_run="abc", seed=3, device="cpu")
    assert [jobs[k].train.epochs for k in ("teacher", "student", "distilled")] == [20, 20, 14]
    assert [jobs[k].train.lr for k in ("teacher", "student", "distilled")] == [5e-4, 2.5e-3, 5e-3]
    assert all(j.train.seed == 3 and j.train.device == "cpu" for j in jobs.values())
    assert jobs["distilled"].teacher_run == "abc"
    assert jobs["distilled"].distill == DistillConfig(temperature=4.0, alpha=1.0, loss="soft_mse", transfer="train")


JOBS = [
    Job("teacher", C.TEACHER_SPEC, TrainConfig(epochs=3, lr=5e-4, seed=7, train_limit=1000), name="big one"),
    Job(
        "distilled",
        NetSpec(hidden=(30, 20), dropout=(0.1, 0.0), activation="tanh", input_dropout=0.2),
        TrainConfig(eval_every=0, device="cpu"),
        DistillConfig(temperature=2.5, alpha=0.25, loss="hinton", transfer="leave_out", leave_out=(8, 3)),
        dataset="kmnist",
        teacher_run="20240101-000000-teacher-abcd",
        standardize=True,
    ),
    Job("teacher", C.BEST_TEACHER_SPEC, C.BEST_TEACHER_TRAIN),
    Job("student", C.STUDENT_SPEC, TrainConfig(schedule="cosine", weight_decay=1e-4,
                                               augment=C.AugmentConfig("affine+elastic", shift=1.5, elastic_alpha=20.0))),
]


@pytest.mark.parametrize("job", JOBS, ids=["teacher", "distilled", "cnn teacher", "augmented student"])
def test_job_round_trips_through_json(job):
    text = json.dumps(job.to_dict())
    again = Job.from_dict(json.loads(text))
    assert again == job
    assert isinstance(again.net.hidden, tuple) and isinstance(again.net.dropout, tuple)
    if again.distill is not None:
        assert again.distill.leave_out == (3, 8)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["train"].update(momentum=0.9), "unknown TrainConfig field(s): momentum"),
        (lambda d: d["net"].update(width=3), "unknown NetSpec field(s): width"),
        (lambda d: d.update(colour="red"), "unknown Job field(s): colour"),
        (lambda d: d["train"].update(epochs=True), "epochs"),
        (lambda d: d["train"].update(batch_size="100"), "batch size"),
        (lambda d: d["net"].update(hidden=[10, -1], dropout=[]), "width of hidden layer 2"),
        (lambda d: d.update(net=None), "NetSpec must be a JSON object"),
        (lambda d: d.update(train=[1, 2]), "TrainConfig must be a JSON object"),
        (lambda d: d.pop("kind"), "not a valid kdgui job"),
        (lambda d: d["net"].update(hidden=5), "hidden layer widths and dropouts must be lists"),
        (lambda d: d["train"].update(augment={"kind": "affine", "blur": 1}), "unknown AugmentConfig field(s): blur"),
        (lambda d: d["train"].update(augment="affine"), "AugmentConfig must be a JSON object"),
        (lambda d: d["train"].update(augment={"kind": "affine", "shift": -1}), "augmentation shift"),
        (lambda d: d["net"].update(arch="cnn", conv=[8, "x"]), "channels of conv block 2"),
    ],
)
def test_from_dict_rejects_bad_data_with_config_error(mutate, needle):
    data = json.loads(json.dumps(JOBS[0].to_dict()))
    mutate(data)
    with pytest.raises(ConfigError) as info:
        Job.from_dict(data)
    assert needle in str(info.value)


@pytest.mark.parametrize("data", [None, [], "job", 3])
def test_from_dict_rejects_non_objects(data):
    with pytest.raises(ConfigError, match="JSON object"):
        Job.from_dict(data)


def test_configs_are_frozen_and_labels_are_readable():
    job = JOBS[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.train.lr = 1.0  # type: ignore[misc]
    assert job.label() == "distilled T=2.5"
    assert JOBS[0].label() == "big one"
    assert Job("student", C.STUDENT_SPEC, TrainConfig()).label() == "student"


def test_old_jobs_without_the_new_fields_load_as_before():
    data = json.loads(json.dumps(JOBS[0].to_dict()))
    for key in ("arch", "conv", "kernel", "pool"):
        del data["net"][key]
    for key in ("schedule", "weight_decay", "augment"):
        del data["train"][key]
    job = Job.from_dict(data)
    assert job == JOBS[0] and job.net.arch == "mlp" and job.train.schedule == "constant"
    assert job.train.weight_decay == 0.0 and not job.train.augment.active


def test_best_recipe_jobs_share_everything_but_the_seed_and_the_teacher():
    jobs = C.best_jobs(teacher_run="t", seed=5, device="cpu")
    assert jobs["teacher"].net.is_cnn and jobs["teacher"].train.augment == C.BEST_AUGMENT
    students, distilled = jobs["student"], jobs["distilled"]
    assert [j.train.seed for j in students] == [j.train.seed for j in distilled] == [5, 6, 7][: C.BEST_SEEDS]
    assert all(s.train == d.train and s.net == d.net == C.STUDENT_SPEC for s, d in zip(students, distilled))
    assert all(d.teacher_run == "t" and d.distill == C.BEST_DISTILL for d in distilled)
    assert students[0].train.augment == C.BEST_AUGMENT and students[0].train.keep_best
