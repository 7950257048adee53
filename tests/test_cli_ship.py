"""kdgui-cli export, report and lineup on small synthetic runs: files that match PyTorch, a report with every model,
the lineup's networks (and the ones named with --teacher/--student/--distilled), clear errors.
"""

from __future__ import annotations

import json

import pytest

from kdgui.cli import ship
from kdgui.core import training
from kdgui.core.bundled import load_bundled_model
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.export import max_abs_difference
from kdgui.core.lineup import read_choices
from kdgui.core.runs import RunStore
from kdgui.core.training import execute, run_to_end
from test_cli import assert_one_line_error, run_cli

MISSING = "20990101-000000-teacher-ffff"


def train_lineup_through_cli(capsys, monkeypatch, splits) -> dict[str, str]:
    """A teacher, a student and a distilled student trained through the CLI on ``splits`` (which training and
    report then read): {kind: run id}."""
    monkeypatch.setattr(training, "load_splits", lambda *a, **k: splits)
    monkeypatch.setattr(ship, "load_splits", lambda *a, **k: splits)
    common = ["--epochs", "1", "--batch-size", "50", "--quiet"]
    assert run_cli(capsys, "train-teacher", "--hidden", "64", *common)[0] == 0
    assert run_cli(capsys, "train-student", *common)[0] == 0
    assert run_cli(capsys, "distill", *common)[0] == 0
    return {run.job.kind: run.id for run in RunStore().list()}


@pytest.fixture
def trained(capsys, monkeypatch, synthetic_splits) -> dict[str, str]:
    """A teacher, a student and a distilled student trained through the CLI on synthetic digits: {kind: run id}."""
    return train_lineup_through_cli(capsys, monkeypatch, synthetic_splits(n_train=400, n_val=100, n_test=200))


def _report(capsys, tmp_path, *argv: str) -> tuple[str, dict]:
    path = tmp_path / "report.json"
    code, out, err = run_cli(capsys, "report", "--repeats", "1", "--drawn", "4", "--json", str(path), *argv)
    assert code == 0, err
    return out, json.loads(path.read_text())


def test_export_the_lineups_distilled_student_to_torchscript(capsys, tmp_path, trained):
    code, out, err = run_cli(capsys, "export", "distilled", str(tmp_path / "d.pt"))
    assert code == 0, err
    assert f"run {trained['distilled']}: the newest suitable run" in out.splitlines()[0]
    assert "difference: " in out
    assert max_abs_difference(RunStore().get(trained["distilled"]).load_model(), tmp_path / "d.pt") < 1e-6


def test_export_a_run_by_id_to_onnx(capsys, tmp_path, trained):
    pytest.importorskip("onnxruntime")
    code, out, err = run_cli(capsys, "export", trained["teacher"], str(tmp_path / "t.onnx"))
    assert code == 0, err
    assert f"run {trained['teacher']}" in out
    diff = float(out.split("difference: ")[1])
    assert diff < 1e-4


def test_export_the_bundled_network_of_a_role(capsys, tmp_path, trained):
    code, out, err = run_cli(capsys, "export", "distilled", str(tmp_path / "b.pt"), "--distilled", "bundled")
    assert code == 0, err
    assert "(bundled)" in out.splitlines()[0] and trained["distilled"] not in out
    assert max_abs_difference(load_bundled_model("distilled").model, tmp_path / "b.pt") < 1e-6
    # Another role's run, named for this one.
    code, out, err = run_cli(capsys, "export", "student", str(tmp_path / "s.pt"), "--student", trained["student"])
    assert code == 0, err
    assert f"run {trained['student']}: chosen" in out


def test_export_errors_are_one_line(capsys, tmp_path, trained):
    assert_one_line_error(*run_cli(capsys, "export", "no-such-run", str(tmp_path / "x.pt"))[::2], "no run")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", str(tmp_path / "x.txt"))[::2], "cannot tell the format")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", "/proc/x.pt")[::2], "does not write files under /proc")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", str(tmp_path))[::2], "is a folder")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", str(tmp_path / "x.pt"), "--teacher", MISSING)[::2],
                          f"--teacher {MISSING}")
    assert_one_line_error(*run_cli(capsys, "export", "student", str(tmp_path / "x.pt"), "--student", trained["teacher"])[::2],
                          "--student", "not a student")
    assert_one_line_error(*run_cli(capsys, "export", trained["teacher"], str(tmp_path / "x.pt"), "--teacher", "bundled")[::2],
                          "--teacher", "run id")
    assert not (tmp_path / "x.pt").exists()


def test_report_compares_the_three_runs(capsys, tmp_path, trained):
    out, report = _report(capsys, tmp_path)
    assert set(report["models"]) == {"teacher", "student", "distilled"}
    assert {role: m["run_id"] for role, m in report["models"].items()} == trained
    assert out.splitlines()[0] == report["summary"]
    for run_id in trained.values():
        assert f"run {run_id}: the newest suitable run" in out
    teacher, distilled = report["models"]["teacher"], report["models"]["distilled"]
    assert teacher["parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    assert distilled["parameters"] == 784 * 50 + 50 + 50 * 10 + 10
    assert 0.0 <= distilled["test_acc"] <= 1.0  # measured on the (synthetic) test set
    assert f"{teacher['parameters'] / distilled['parameters']:.1f}x smaller" in report["summary"]


def test_report_with_bundled_networks(capsys, tmp_path, trained):
    _, report = _report(capsys, tmp_path, "--distilled", "bundled")
    assert {role: m["run_id"] for role, m in report["models"].items()} == {**trained, "distilled": "bundled"}
    bundled = load_bundled_model("distilled").model
    assert report["models"]["distilled"]["parameters"] == sum(p.numel() for p in bundled.parameters())
    _, report = _report(capsys, tmp_path, "--source", "bundled", "--teacher", trained["teacher"])
    assert {role: m["run_id"] for role, m in report["models"].items()} == {
        "teacher": trained["teacher"], "student": "bundled", "distilled": "bundled"}
    _, report = _report(capsys, tmp_path, "--source", "runs")  # the old spelling of the default
    assert {role: m["run_id"] for role, m in report["models"].items()} == trained


def test_report_without_runs_shows_the_bundled_networks(capsys, tmp_path, monkeypatch, synthetic_splits):
    splits = synthetic_splits(n_train=100, n_val=50, n_test=100)
    monkeypatch.setattr(ship, "load_splits", lambda *a, **k: splits)
    out, report = _report(capsys, tmp_path)
    assert {m["run_id"] for m in report["models"].values()} == {"bundled"}
    assert out.count("no suitable run of yours") == 3


def test_report_naming_a_missing_run_is_a_one_line_error(capsys, tmp_path, trained):
    code, _, err = run_cli(capsys, "report", "--repeats", "1", "--teacher", MISSING, "--json", str(tmp_path / "r.json"))
    assert_one_line_error(code, err, f"--teacher {MISSING}")
    assert not (tmp_path / "r.json").exists()


def test_study_runs_never_replace_the_distilled_student(capsys, tmp_path, trained, synthetic_splits):
    store = RunStore()
    # A distillation without the 3s (through the CLI), and one a study made (its meta names the study).
    assert run_cli(capsys, "distill", "--transfer", "leave_out", "--leave-out", "3", "--epochs", "1", "--quiet")[0] == 0
    job = Job("distilled", NetSpec(hidden=(50,)), TrainConfig(epochs=1, batch_size=50, eval_every=0, device="cpu"),
              DistillConfig(), teacher_run=trained["teacher"])
    study_run = run_to_end(execute(job, store, data=synthetic_splits(n_train=400, n_val=100, n_test=200),
                                   origin="study 20990101-000000-study-ffff")).run_id
    assert store.get(study_run).meta["origin"].startswith("study")
    assert len(store.list()) == 5

    code, out, err = run_cli(capsys, "export", "distilled", str(tmp_path / "d.pt"))
    assert code == 0, err
    assert f"run {trained['distilled']}" in out and study_run not in out
    assert max_abs_difference(store.get(trained["distilled"]).load_model(), tmp_path / "d.pt") < 1e-6
    _, report = _report(capsys, tmp_path)
    assert report["models"]["distilled"]["run_id"] == trained["distilled"]
    # Chosen by name, the study's run is used.
    _, report = _report(capsys, tmp_path, "--distilled", study_run)
    assert report["models"]["distilled"]["run_id"] == study_run


def test_lineup_shows_and_saves_choices(capsys, tmp_path, trained):
    store = RunStore()
    code, out, _ = run_cli(capsys, "lineup")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for line, role in zip(lines, ("teacher", "student", "distilled")):
        assert f"run {trained[role]}: the newest suitable run" in line

    code, out, err = run_cli(capsys, "lineup", "--distilled", "bundled", "--student", trained["student"])
    assert code == 0, err
    assert read_choices(store) == {"distilled": "bundled", "student": trained["student"]}
    assert "Distilled student 784-50-10 (bundled): chosen" in out and f"run {trained['student']}: chosen" in out
    # report and export follow the saved lineup, and an option still wins over it.
    _, report = _report(capsys, tmp_path)
    assert report["models"]["distilled"]["run_id"] == "bundled"
    _, report = _report(capsys, tmp_path, "--distilled", trained["distilled"])
    assert report["models"]["distilled"]["run_id"] == trained["distilled"]
    assert read_choices(store)["distilled"] == "bundled"  # options of report are not saved

    # A run that is not there, or of another kind, is refused and nothing is saved.
    assert_one_line_error(*run_cli(capsys, "lineup", "--teacher", MISSING, "--distilled", "default")[::2], f"--teacher {MISSING}")
    assert_one_line_error(*run_cli(capsys, "lineup", "--teacher", trained["student"])[::2], "not a teacher")
    assert read_choices(store) == {"distilled": "bundled", "student": trained["student"]}

    code, out, _ = run_cli(capsys, "lineup", "--distilled", "default", "--student", "default")
    assert code == 0
    assert read_choices(store) == {}
    assert f"run {trained['distilled']}: the newest suitable run" in out
