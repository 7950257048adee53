"""kdgui-cli's recipe options on single runs: a CNN (--arch, --conv, --kernel, --pool), --schedule, --weight-decay and
--augment with its strengths; bad values are one line before any work, and a CNN teacher goes through every command
that takes a teacher (distill, report, export, study, sweep)."""

from __future__ import annotations

import json

import pytest

from kdgui.core import config as C
from kdgui.core import training
from kdgui.core.runs import RunStore
from test_cli import assert_one_line_error, run_cli

QUICK = ["--epochs", "1", "--batch-size", "50", "--eval-every", "0", "--quiet", "--device", "cpu"]


@pytest.fixture
def fake_data(monkeypatch, synthetic_splits):
    splits = synthetic_splits(n_train=300, n_val=100, n_test=100)
    monkeypatch.setattr(training, "load_splits", lambda *a, **k: splits)


def only_run(kind: str):
    runs = [run for run in RunStore().list() if run.job.kind == kind]
    assert len(runs) == 1
    return runs[0]


BAD = [
    (["train-teacher", "--arch", "cnn", "--conv", "8,2000"], "channels of conv block 2 must be between 1 and 1024, got 2000"),
    (["train-teacher", "--arch", "cnn", "--conv", "1,2,3,4,5"], "a CNN needs 1 to 4 conv blocks, got 5"),
    (["train-teacher", "--arch", "cnn", "--conv", "8,,16"], "an empty item in '8,,16'"),
    (["train-teacher", "--conv", "8"], "--conv is for a CNN: add --arch cnn"),
    (["train-student", "--kernel", "5", "--pool", "avg"], "--kernel and --pool are for a CNN: add --arch cnn"),
    (["train-teacher", "--arch", "cnn", "--kernel", "4"], "--kernel: invalid choice: 4 (choose from 3, 5)"),
    (["train-teacher", "--arch", "transformer"], "--arch: invalid choice: 'transformer'"),
    (["train-student", "--schedule", "linear"], "--schedule: invalid choice: 'linear'"),
    (["train-student", "--weight-decay", "-1"], "weight decay must be between 0.0 and 10.0, got -1.0"),
    (["train-student", "--weight-decay", "nan"], "weight decay must be a finite number"),
    (["train-student", "--augment", "mixup"], "--augment: invalid choice: 'mixup'"),
    (["train-student", "--augment", "affine", "--rotate", "120"], "augmentation rotation must be between 0.0 and 90.0, got 120.0"),
    (["train-student", "--augment", "affine", "--shift", "many"], "--shift: invalid float value: 'many'"),
    (["train-student", "--shift", "3"], "--shift is used with --augment affine or affine+elastic only, not --augment none"),
    (["distill", "--augment", "affine", "--elastic-alpha", "5", "--elastic-sigma", "2"],
     "--elastic-alpha and --elastic-sigma are used with --augment affine+elastic only, not --augment affine"),
    (["train-teacher", "--augment", "affine+elastic", "--elastic-sigma", "0.1"], "elastic sigma must be between 0.5 and 16.0"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_recipe_options_are_one_line_before_any_work(capsys, runs_dir, monkeypatch, argv, needle):
    monkeypatch.setattr(training, "load_splits", lambda *a, **k: pytest.fail("data loaded before the input was checked"))
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, needle)
    assert RunStore(runs_dir).list() == []


def test_a_cnn_teacher_with_schedule_weight_decay_and_augmentation(capsys, fake_data):
    code, out, err = run_cli(capsys, "train-teacher", "--arch", "cnn", "--conv", "4,8", "--kernel", "5", "--pool", "avg",
                             "--schedule", "one_cycle", "--weight-decay", "1e-4", "--augment", "affine+elastic",
                             "--rotate", "5", "--elastic-alpha", "20", *QUICK)
    assert code == 0, err
    job = only_run("teacher").job
    assert job.net == C.NetSpec(hidden=C.BEST_TEACHER_SPEC.hidden, dropout=C.BEST_TEACHER_SPEC.dropout, arch="cnn",
                                conv=(4, 8), kernel=5, pool="avg")
    assert (job.train.schedule, job.train.weight_decay) == ("one_cycle", 1e-4)
    assert job.train.augment == C.AugmentConfig(kind="affine+elastic", rotate=5.0, elastic_alpha=20.0)
    assert job.net.describe() == "CNN 4-8 conv (5x5, avg pool), 128 dense" and "teacher: train" in out


def test_the_cnn_defaults_are_the_best_recipes_teacher_and_an_mlp_keeps_the_seeds(capsys, fake_data):
    assert run_cli(capsys, "train-teacher", "--arch", "cnn", *QUICK)[0] == 0
    assert only_run("teacher").job.net == C.BEST_TEACHER_SPEC
    code, _, err = run_cli(capsys, "train-student", "--hidden", "16", *QUICK)  # no CNN option: the MLP as before
    assert code == 0, err
    job = only_run("student").job
    assert job.net == C.NetSpec(hidden=(16,)) and job.train.augment == C.NO_AUGMENT and job.train.schedule == "constant"


def test_a_student_may_be_a_cnn_on_a_single_run(capsys, fake_data):
    """The core takes a CNN student for a single run (sweeps and studies keep MLP students)."""
    code, _, err = run_cli(capsys, "train-student", "--arch", "cnn", "--conv", "4", "--hidden", "8", *QUICK)
    assert code == 0, err
    assert only_run("student").job.net.describe() == "CNN 4 conv, 8 dense"


def test_distill_refuses_augmenting_noise_in_one_line(capsys, fake_data):
    assert run_cli(capsys, "train-teacher", "--hidden", "16", *QUICK)[0] == 0
    code, _, err = run_cli(capsys, "distill", "--transfer", "noise", "--augment", "affine", *QUICK)
    assert_one_line_error(code, err, "random noise is no image to augment: set augmentation to none")


def test_a_cnn_teacher_goes_through_distill_report_export_study_and_sweep(capsys, tmp_path, mnist_dir):
    """On 500 real MNIST images: every command that takes a teacher works with a CNN one."""
    data = ["--data-dir", str(mnist_dir), "--limit", "500"]
    code, _, err = run_cli(capsys, "train-teacher", "--arch", "cnn", "--conv", "4,8", "--hidden", "16", "--lr", "0.005",
                           *data, *QUICK, "--epochs", "3", "--batch-size", "25")
    assert code == 0, err
    teacher = only_run("teacher")
    assert teacher.summary["test_acc"] > 0.3  # well above chance (0.1) after 60 steps on 500 images
    code, _, err = run_cli(capsys, "distill", "--teacher", teacher.id, "--augment", "affine", "--schedule", "cosine",
                           "-T", "2", "--loss", "hinton", *data, *QUICK)
    assert code == 0, err
    distilled = only_run("distilled")
    assert distilled.job.teacher_run == teacher.id and distilled.job.train.augment.kind == "affine"

    report = tmp_path / "report.json"
    code, out, err = run_cli(capsys, "report", "--teacher", teacher.id, "--distilled", distilled.id, "--repeats", "1",
                             "--data-dir", str(mnist_dir), "--json", str(report))
    assert code == 0, err
    models = json.loads(report.read_text())["models"]
    assert models["teacher"]["run_id"] == teacher.id and models["teacher"]["test_acc"] == pytest.approx(teacher.summary["test_acc"])
    assert models["teacher"]["parameters"] == (9 * 4 + 4) + (4 * 9 * 8 + 8) + (8 * 7 * 7 * 16 + 16) + (16 * 10 + 10)

    pytest.importorskip("onnxruntime")
    code, out, err = run_cli(capsys, "export", teacher.id, str(tmp_path / "teacher.onnx"))
    assert code == 0, err
    assert (tmp_path / "teacher.onnx").stat().st_size > 0 and "wrote" in out

    study, sweep = tmp_path / "study.json", tmp_path / "sweep.json"
    code, out, err = run_cli(capsys, "study", "noise", "--teacher", teacher.id, "--hidden", "16", *data, *QUICK,
                             "--json", str(study))
    assert code == 0, err
    study = json.loads(study.read_text())
    assert study["references"][0]["run_id"] == teacher.id and 0.0 <= study["test_acc"] <= 1.0
    assert RunStore().get(study["run_id"]).job.teacher_run == teacher.id
    code, out, err = run_cli(capsys, "sweep", "--teacher", teacher.id, "-T", "1,4", "--hidden", "16",
                             "--reference-student", "none", *data, *QUICK, "--json", str(sweep))
    assert code == 0, err
    sweep = json.loads(sweep.read_text())
    assert sweep["references"][0]["run_id"] == teacher.id
    assert [s["temperature"] for s in sweep["students"]] == [1.0, 4.0]
    assert all(0.1 < s["test_acc"] <= 1.0 for s in sweep["students"])  # the CNN's soft targets taught them something
