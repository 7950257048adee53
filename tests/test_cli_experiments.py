"""kdgui-cli sweep and study in-process: help, one-line errors with exit code 2, small runs with JSON output."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest

from kdgui.core import studies, sweep, training
from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.experiments import list_experiments
from kdgui.core.runs import RunStore
from kdgui.core.training import execute, run_to_end
from test_cli import assert_one_line_error, run_cli


@pytest.fixture(autouse=True)
def fresh_logit_cache(monkeypatch):
    monkeypatch.setattr(training, "_LOGIT_CACHE", OrderedDict())


@pytest.fixture
def fake_mnist(monkeypatch, synthetic_splits):
    """The sweep and the studies load a small synthetic dataset instead of MNIST files."""
    splits = synthetic_splits(n_train=400, n_val=100, n_test=200)

    def load(dataset, data_dir=None, *, download=False, standardize=False):
        return splits

    for module in (sweep, studies, training):
        monkeypatch.setattr(module, "load_splits", load)
    return splits


@pytest.fixture
def teacher(runs_dir, fake_mnist) -> str:
    job = Job("teacher", NetSpec(hidden=(64,)), TrainConfig(epochs=2, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
    return run_to_end(execute(job, RunStore(runs_dir), data=fake_mnist)).run_id


FAST = ["--epochs", "1", "--lr", "0.01", "--batch-size", "40", "--hidden", "16", "--device", "cpu", "--threads", "1"]


@pytest.mark.parametrize("command, options", [
    ("sweep", ["--temperatures", "--alphas", "--seeds", "--epochs", "--loss", "--alpha", "--teacher", "--reference-student", "--keep-best",
               "--threads", "--json"]),
    ("study", ["leave-out", "only-classes", "noise", "jitter", "other-dataset", "--other", "--classes", "--temperature",
               "--jitter", "--json"]),
])
def test_help_describes_the_options(capsys, command, options):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: kdgui-cli {command}")
    for option in options:
        assert option in out


@pytest.mark.parametrize("argv", [["sweep"], ["study", "leave-out"]])
def test_without_a_teacher_says_to_train_one_first(capsys, runs_dir, argv):
    code, _, err = run_cli(capsys, *argv, "--quiet")
    assert_one_line_error(code, err, "no teacher run in", str(runs_dir), "train-teacher")


@pytest.mark.parametrize("argv, needle", [
    (["sweep", "-T", "0,2"], "temperature must be greater than 0"),
    (["sweep", "-T", "2,2"], "2 is given twice"),
    (["sweep", "--seeds", "0"], "number of seeds"),
    (["study", "noise", "--classes", "3"], "takes no classes"),
    (["study", "only-classes", "--classes", "0,1,2,3,4,5,6,7,8,9"], "fewer than all ten"),
    (["sweep", "--threads", "0"], "--threads: expected a whole number from 1 to 256"),
])
def test_bad_values_are_one_line_errors(capsys, argv, needle):
    code, _, err = run_cli(capsys, *argv, "--teacher", "any", "--quiet")
    assert_one_line_error(code, err, needle)


def test_an_unknown_study_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys, "study", "rotate")
    assert code == 2 and "invalid choice" in err and "Traceback" not in err


def test_sweep_prints_the_table_and_writes_json(capsys, tmp_path, runs_dir, teacher):
    out_path = tmp_path / "sweep.json"
    code, out, err = run_cli(capsys, "sweep", *FAST, "-T", "1,4", "--seeds", "2", "--json", str(out_path))
    assert code == 0, err
    result = json.loads(out_path.read_text())
    assert [row["temperature"] for row in result["table"]] == [1.0, 4.0]
    assert all(row["n"] == 2 and 0 <= row["test_mean"] <= 1 for row in result["table"])
    assert len(result["students"]) == 4 and result["teacher_run"] == teacher
    assert result["references"][0]["run_id"] == teacher
    for row in result["table"]:
        assert f"{row['test_mean']:.2%}" in out
    assert "teacher: validation" in out and "sweep: epoch 1" in err
    (record,) = list_experiments(RunStore(runs_dir), "sweep")
    assert record["id"] == result["sweep_id"] and record["status"] == "finished"


def test_study_prints_its_result_in_words_and_writes_json(capsys, tmp_path, runs_dir, teacher):
    out_path = tmp_path / "study.json"
    # The README's example: a study takes -T like distill does.
    code, out, err = run_cli(capsys, "study", "leave-out", *FAST, "--classes", "3", "--loss", "hinton", "-T", "20",
                             "--quiet", "--json", str(out_path))
    assert code == 0, err
    result = json.loads(out_path.read_text())
    assert result["study"] == "leave-out" and result["classes"] == [3]
    assert result["summary"] in out and "test errors" in out
    assert result["val_acc_after"] >= result["val_acc_before"]
    distill = RunStore(runs_dir).get(result["run_id"]).job.distill
    assert distill.leave_out == (3,) and distill.temperature == 20.0 and distill.loss == "hinton"


def test_a_grid_sweep_prints_a_grid_and_writes_it_to_json(capsys, tmp_path, runs_dir, teacher):
    out_path = tmp_path / "grid.json"
    code, out, err = run_cli(capsys, "sweep", *FAST, "--alphas", "0.1,0.5,1", "-T", "1,4", "--loss", "hinton",
                             "--json", str(out_path))
    assert code == 0, err
    result = json.loads(out_path.read_text())
    grid = result["grid"]
    assert grid["alphas"] == [0.1, 0.5, 1.0] and grid["temperatures"] == [1.0, 4.0] and grid["seeds"] == 1
    assert len(grid["val"]) == 3 and all(len(row) == 2 for row in grid["val"])
    assert [(s["alpha"], s["temperature"]) for s in result["students"]] == [(a, t) for a in (0.1, 0.5, 1.0) for t in (1.0, 4.0)]
    assert "alpha down, temperature across" in out and "3 alphas x 2 temperatures" in err
    rows = [line.split() for line in out.splitlines()]
    row = next(r for r in rows if r and r[0] == "0.5")
    assert row[1] == f"{grid['val'][1][0]:.2%}" and row[2] == f"({grid['test'][1][0]:.2%})"
    assert "on validation (" in out and "sweep: epoch 1  best on validation α=" in err


def test_a_grid_and_one_alpha_are_not_both_given(capsys):
    code, _, err = run_cli(capsys, "sweep", "--alphas", "0.5,1", "--alpha", "0.3", "--teacher", "any", "--quiet")
    assert_one_line_error(code, err, "give one alpha or a list of alphas for a grid, not both")


def test_the_other_dataset_study_distils_through_letters(capsys, tmp_path, runs_dir, teacher):
    out_path = tmp_path / "other.json"
    code, out, err = run_cli(capsys, "study", "other-dataset", "--other", "letters", *FAST, "--limit", "200", "--quiet",
                             "--json", str(out_path))
    assert code == 0, err
    result = json.loads(out_path.read_text())
    assert result["study"] == "other-dataset" and result["other_dataset"] == "letters" and result["transfer_size"] == 200
    assert result["summary"] in out and "drawn Latin letters" in out
    distill = RunStore(runs_dir).get(result["run_id"]).job.distill
    assert distill.transfer == "other" and distill.other_dataset == "letters"


def test_ctrl_c_in_a_sweep_says_what_is_kept(capsys, runs_dir, teacher, monkeypatch):
    from kdgui.cli import progress

    def interrupted(self, event):
        if event.step == 2:
            raise KeyboardInterrupt  # in the progress bar: the command closes the sweep, which saves it as stopped

    monkeypatch.setattr(progress.TerminalProgress, "step", interrupted)
    code, _, err = run_cli(capsys, "sweep", *FAST, "-T", "1,4", "--quiet")
    (record,) = list_experiments(RunStore(runs_dir), "sweep")
    assert code == 130 and record["status"] == "stopped"
    assert err.strip() == f"kdgui-cli: stopped; sweep {record['id']} is kept, marked stopped"


def test_ctrl_c_in_a_study_says_what_is_kept(capsys, runs_dir, teacher, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate", interrupted)
    code, _, err = run_cli(capsys, "study", "noise", *FAST, "--quiet")
    (record,) = list_experiments(RunStore(runs_dir), "study")
    run = RunStore(runs_dir).get(record["run_id"])
    assert code == 130 and record["status"] == "stopped" and run.status == "stopped"
    assert err.strip() == (f"kdgui-cli: stopped; run {run.id} is kept, marked stopped after {run.summary['steps']} steps; "
                           f"study {record['id']} is kept, marked stopped")


def test_sweep_on_real_mnist(capsys, tmp_path, runs_dir, mnist_dir):
    # A small teacher on 2,000 real images, then a two-temperature sweep on the same images.
    job = Job("teacher", NetSpec(hidden=(128,)), TrainConfig(epochs=2, lr=2e-3, batch_size=100, eval_every=0, device="cpu",
                                                                 train_limit=2000))
    run_to_end(execute(job, RunStore(runs_dir), data_dir=str(mnist_dir)))
    out_path = tmp_path / "real.json"
    code, _, err = run_cli(capsys, "sweep", "--data-dir", str(mnist_dir), "--limit", "2000", "--epochs", "2",
                           "-T", "2,8", "--device", "cpu", "--quiet", "--json", str(out_path))
    assert code == 0, err
    result = json.loads(out_path.read_text())
    assert all(row["test_mean"] > 0.8 for row in result["table"])
