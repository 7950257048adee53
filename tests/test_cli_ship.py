"""kdgui-cli export and report on small synthetic runs: files that match PyTorch, a report with every model, clear errors."""

from __future__ import annotations

import json

import pytest

from kdgui import cli_ship
from kdgui.core import training
from kdgui.core.export import max_abs_difference
from kdgui.core.runs import RunStore
from test_cli import assert_one_line_error, run_cli


@pytest.fixture
def trained(capsys, monkeypatch, synthetic_splits):
    splits = synthetic_splits(n_train=400, n_val=100, n_test=200)
    monkeypatch.setattr(training, "load_splits", lambda *a, **k: splits)
    monkeypatch.setattr(cli_ship, "load_splits", lambda *a, **k: splits)
    common = ["--epochs", "1", "--batch-size", "50", "--quiet"]
    assert run_cli(capsys, "train-teacher", "--hidden", "64", *common)[0] == 0
    assert run_cli(capsys, "train-student", *common)[0] == 0
    assert run_cli(capsys, "distill", *common)[0] == 0
    return splits


def test_export_the_newest_distilled_student_to_torchscript(capsys, tmp_path, trained):
    code, out, err = run_cli(capsys, "export", "distilled", str(tmp_path / "d.pt"))
    assert code == 0, err
    run = RunStore().latest("distilled")
    assert f"({run.id})" in out and "difference: " in out
    assert max_abs_difference(run.load_model(), tmp_path / "d.pt") < 1e-6


def test_export_a_run_by_id_to_onnx(capsys, tmp_path, trained):
    pytest.importorskip("onnxruntime")
    run = RunStore().latest("teacher")
    code, out, err = run_cli(capsys, "export", run.id, str(tmp_path / "t.onnx"))
    assert code == 0, err
    diff = float(out.split("difference: ")[1])
    assert diff < 1e-4


def test_export_errors_are_one_line(capsys, tmp_path, trained):
    assert_one_line_error(*run_cli(capsys, "export", "no-such-run", str(tmp_path / "x.pt"))[::2], "no run")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", str(tmp_path / "x.txt"))[::2], "cannot tell the format")
    assert_one_line_error(*run_cli(capsys, "export", "teacher", str(tmp_path / "no" / "x.pt"))[::2], "does not exist")


def test_report_compares_the_three_runs(capsys, tmp_path, trained):
    code, out, err = run_cli(capsys, "report", "--source", "runs", "--repeats", "2", "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["models"]) == {"teacher", "student", "distilled"}
    assert out.splitlines()[0] == report["summary"]
    teacher, distilled = report["models"]["teacher"], report["models"]["distilled"]
    assert teacher["parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    assert distilled["parameters"] == 784 * 50 + 50 + 50 * 10 + 10
    assert 0.0 <= distilled["test_acc"] <= 1.0  # measured on the (synthetic) test set
    assert f"{teacher['parameters'] / distilled['parameters']:.1f}x smaller" in report["summary"]
