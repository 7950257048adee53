"""The CNN teacher: built from a NetSpec, trained, saved and loaded, and accepted everywhere a teacher goes."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from kdgui.core.config import (
    STUDENT_SPEC, AugmentConfig, DistillConfig, Job, NetSpec, TrainConfig, best_jobs,
)
from kdgui.core.errors import ConfigError
from kdgui.core.events import Finished
from kdgui.core.export import export_model, max_abs_difference
from kdgui.core.lineup import current_lineup, load_models
from kdgui.core.models import CNN, MLP, build_model, parameter_count
from kdgui.core.predict import Predictor
from kdgui.core.report import measure, network_label, state_dict_bytes
from kdgui.core.studies import StudyConfig, StudyFinished, run_study
from kdgui.core.sweep import SweepConfig, SweepFinished, run_sweep
from kdgui.core.together import GroupStarted, train_together
from kdgui.core.training import execute, run_to_end

TINY_CNN = NetSpec(hidden=(16,), dropout=(0.25,), arch="cnn", conv=(4, 8))
STUDENT = NetSpec(hidden=(16,))


def quick(epochs: int = 2, **overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": epochs, "lr": 1e-2, "batch_size": 40, "eval_every": 0, "device": "cpu", **overrides})


@pytest.fixture
def cnn_teacher(store, data) -> str:
    """A tiny CNN teacher trained on the synthetic digits: its run id."""
    return run_to_end(execute(Job("teacher", TINY_CNN, quick(3)), store, data=data)).run_id


# --- the spec -----------------------------------------------------------------------------------------------


def test_a_cnn_spec_describes_itself_and_counts_its_parameters_without_building():
    spec = NetSpec(hidden=(128,), dropout=(0.5,), arch="cnn", conv=(32, 64))
    assert spec.describe() == "CNN 32-64 conv, 128 dense"
    assert STUDENT_SPEC.describe() == "784-50-10" and STUDENT_SPEC.arch == "mlp"
    assert spec.layer_sizes == (64 * 7 * 7, 128, 10) and spec.inputs == 784
    assert NetSpec(hidden=(), arch="cnn", conv=(8,), kernel=5, pool="avg").describe() == "CNN 8 conv (5x5, avg pool)"
    for s in (spec, TINY_CNN, NetSpec(hidden=(), arch="cnn", conv=(3, 5, 7), kernel=5), NetSpec(hidden=(10, 10), arch="cnn", conv=(2,) * 4)):
        assert parameter_count(s) == parameter_count(build_model(s, seed=0))
    assert parameter_count(spec) == 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 128 + 128 + 1290


@pytest.mark.parametrize(("fields", "needle"), [
    ({"arch": "rnn"}, "architecture"),
    ({"arch": "cnn"}, "conv blocks"),
    ({"arch": "cnn", "conv": (8,) * 5}, "conv blocks"),
    ({"arch": "cnn", "conv": (0,)}, "channels of conv block 1"),
    ({"arch": "cnn", "conv": (8,), "kernel": 4}, "kernel"),
    ({"arch": "cnn", "conv": (8,), "pool": "min"}, "pooling"),
    ({"conv": (8,)}, "conv blocks belong to a CNN"),
    ({"conv": 8}, "conv block channels"),
])
def test_bad_cnn_specs_are_config_errors_naming_the_field(fields, needle):
    with pytest.raises(ConfigError, match=needle):
        NetSpec(hidden=(16,), **fields)


def test_a_cnn_may_have_no_dense_hidden_layer_but_an_mlp_needs_one():
    assert NetSpec(hidden=(), arch="cnn", conv=(4,)).layer_sizes == (4 * 14 * 14, 10)
    with pytest.raises(ConfigError, match="1 to 8 hidden layers"):
        NetSpec(hidden=())


def test_a_cnn_job_round_trips_and_an_old_run_file_loads_as_an_mlp():
    job = Job("teacher", TINY_CNN, quick(augment=AugmentConfig("affine+elastic"), schedule="cosine", weight_decay=0.01))
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    old = json.loads(json.dumps(Job("student", STUDENT, quick()).to_dict()))
    for key in ("arch", "conv", "kernel", "pool"):
        del old["net"][key]
    for key in ("schedule", "weight_decay", "augment"):
        del old["train"][key]
    loaded = Job.from_dict(old)
    assert loaded.net.arch == "mlp" and loaded.net == STUDENT and loaded.train == quick()
    recipe = best_jobs("t")["teacher"]
    assert Job.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe and recipe.net.is_cnn


# --- the network ----------------------------------------------------------------------------------------------


def test_the_cnn_takes_flat_pixels_and_images_and_gives_ten_logits():
    model = build_model(TINY_CNN, seed=0).eval()
    assert isinstance(model, CNN) and isinstance(build_model(STUDENT), MLP)
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
        assert out.shape == (5, 10)
        assert torch.allclose(model(x.view(5, 1, 28, 28)), out)
    kinds = [type(m) for m in model.features]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Conv2d, nn.ReLU, nn.MaxPool2d]
    assert [type(m) for m in model.layers] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert model.output_layer is model.layers[-1]


def test_a_seed_gives_the_same_cnn_and_channels_last_changes_no_output():
    a, b = build_model(TINY_CNN, seed=4), build_model(TINY_CNN, seed=4)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    plain = CNN(TINY_CNN).eval()
    plain.load_state_dict(a.state_dict())
    plain.to(memory_format=torch.contiguous_format)
    x = torch.rand(3, 784)
    with torch.no_grad():
        assert torch.allclose(plain(x), a.eval()(x), atol=1e-6)


# --- every path a teacher takes ------------------------------------------------------------------------------


def test_a_cnn_teacher_trains_saves_and_loads(store, data, cnn_teacher):
    run = store.get(cnn_teacher)
    assert run.status == "finished" and run.summary["test_acc"] > 0.5  # learnable blobs
    model = run.load_model()
    assert isinstance(model, CNN) and not model.training
    x = data.test_x[:7]
    with torch.no_grad():
        assert torch.equal(model(x), run.load_model()(x))


@pytest.mark.parametrize("augment", [AugmentConfig(), AugmentConfig("affine")], ids=["cached", "augmented"])
def test_distilling_from_a_cnn_teacher(store, data, cnn_teacher, augment):
    job = Job("distilled", STUDENT, quick(augment=augment), DistillConfig(loss="hinton", temperature=2.0), teacher_run=cnn_teacher)
    finished = run_to_end(execute(job, store, data=data))
    assert isinstance(finished, Finished) and finished.test_acc > 0.3


def test_a_sweep_and_a_study_take_a_cnn_teacher(store, data, cnn_teacher):
    config = SweepConfig(cnn_teacher, temperatures=(1.0, 4.0), epochs=1, lr=1e-2, batch_size=40, student=STUDENT,
                         device="cpu", student_run=None)
    events = list(run_sweep(config, store, data=data))
    assert isinstance(events[-1], SweepFinished) and len(events[-1].test_acc) == 2
    study = StudyConfig("jitter", cnn_teacher, epochs=1, lr=1e-2, batch_size=40, eval_every=0, device="cpu", student=STUDENT)
    assert isinstance(list(run_study(study, store, data=data))[-1], StudyFinished)
    with pytest.raises(ConfigError, match="sweep students are MLPs"):
        SweepConfig(cnn_teacher, student=TINY_CNN)


def test_students_trained_together_from_a_cnn_teacher(store, data, cnn_teacher):
    train = quick(augment=AugmentConfig("affine+elastic"))
    jobs = [Job("student", STUDENT, train), Job("distilled", STUDENT, train, DistillConfig(), teacher_run=cnn_teacher)]
    events = list(train_together(jobs, store, data=data))
    assert isinstance(events[0], GroupStarted)
    assert [e.run_id for e in events if isinstance(e, Finished)] == list(events[0].run_ids)


def test_predict_lineup_report_and_export_take_a_cnn_teacher(store, data, cnn_teacher, tmp_path):
    models, problems = load_models(current_lineup(store, {"teacher": cnn_teacher}), store)
    assert not problems
    teacher = next(m for m in models if m.key == "teacher")
    assert isinstance(teacher.model, CNN) and teacher.source == cnn_teacher
    prediction = Predictor([teacher]).predict(data.test_x[0])
    assert prediction.logits["teacher"].shape == (10,)

    row = measure("teacher", network_label("teacher", teacher.model, "t"), teacher.model, 0.99, repeats=2)
    assert row.label == "Teacher CNN 4-8 conv, 16 dense"
    assert row.parameters == parameter_count(TINY_CNN)
    assert row.bytes_on_disk == state_dict_bytes(teacher.model) > 4 * row.parameters

    pt = export_model(teacher.model, tmp_path / "teacher.pt")
    assert max_abs_difference(teacher.model, pt, images=data.test_x) < 1e-5
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    onnx = export_model(teacher.model, tmp_path / "teacher.onnx")
    assert max_abs_difference(teacher.model, onnx, images=data.test_x) < 1e-4
