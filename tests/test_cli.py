"""kdgui-cli in-process: help, one-line errors with exit code 2, and small end-to-end runs with JSON output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdgui import cli
from kdgui.core import training
from kdgui.core.runs import RunStore

SUBCOMMAND_OPTIONS = {
    "train-teacher": ["--epochs", "--lr", "--batch-size", "--seed", "--limit", "--hidden", "--dropout", "--data-dir",
                      "--runs-dir", "--device", "--json", "1200,1200", "--arch", "--conv", "--kernel", "--pool", "--schedule",
                      "--weight-decay", "--augment", "--shift", "--rotate", "--scale", "--shear", "--elastic-alpha"],
    "train-student": ["--epochs", "--lr", "--hidden", "--limit", "--data-dir", "--json", "50"],
    "distill": ["--teacher", "--temperature", "--alpha", "--loss", "--transfer", "--leave-out", "--jitter",
                "soft_mse", "hinton", "--data-dir", "--json"],
    "reproduce": ["--epochs-scale", "--limit", "--seed", "--data-dir", "--json"],
    "runs": ["--runs-dir"],
    "lineup": ["--teacher", "--student", "--distilled", "RUN|bundled|default", "--runs-dir"],
    "export": ["--teacher", "--student", "--distilled", "RUN|bundled", "--format", "--runs-dir"],
    "report": ["--teacher", "--student", "--distilled", "--source", "bundled", "--repeats", "--data-dir", "--json"],
}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --help and usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kdgui-cli: error: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.fixture
def fake_mnist(monkeypatch, synthetic_splits):
    """Make the engine load a small synthetic dataset instead of MNIST files (the CLI path is otherwise unchanged)."""
    splits = synthetic_splits(n_train=400, n_val=100, n_test=200)
    calls = []

    def load(dataset, data_dir=None, *, download=False, standardize=False):
        calls.append(data_dir)
        return splits

    monkeypatch.setattr(training, "load_splits", load)
    return calls


# --- help ----------------------------------------------------------------------------------------------------


def test_top_level_help_lists_the_commands(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in SUBCOMMAND_OPTIONS:
        assert command in out


@pytest.mark.parametrize("command", sorted(SUBCOMMAND_OPTIONS))
def test_subcommand_help(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert out.startswith("usage: kdgui-cli " + command)
    for option in SUBCOMMAND_OPTIONS[command]:
        assert option in out, f"{command} --help does not mention {option}"


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys)
    assert_one_line_error(code, err, "COMMAND", "see 'kdgui-cli --help'")


# --- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train-teacher", "train-student", "reproduce"])
def test_missing_data_dir(capsys, tmp_path, runs_dir, command):
    missing = tmp_path / "no-such-folder"
    code, out, err = run_cli(capsys, command, "--data-dir", str(missing), "--quiet")
    line = assert_one_line_error(code, err, str(missing / "MNIST" / "raw" / "train-images-idx3-ubyte"), "missing")
    assert "train-labels-idx1-ubyte" in line
    assert not missing.exists()
    assert RunStore(runs_dir).list() == []  # no run was started


def test_truncated_data_file(capsys, tmp_path, write_idx):
    raw = tmp_path / "MNIST" / "raw"
    path = write_idx(raw / "train-images-idx3-ubyte", np.zeros((10, 28, 28)))
    path.write_bytes(path.read_bytes()[:12])
    code, _, err = run_cli(capsys, "train-student", "--data-dir", str(tmp_path), "--quiet")
    assert_one_line_error(code, err, str(path), "truncated")


def test_data_dir_that_is_a_file(capsys, tmp_path):
    path = tmp_path / "mnist.zip"
    path.write_bytes(b"PK")
    code, _, err = run_cli(capsys, "train-student", "--data-dir", str(path), "--quiet")
    assert_one_line_error(code, err, str(path), "is a file")


def test_distill_without_a_teacher_says_to_train_one_first(capsys, runs_dir):
    code, _, err = run_cli(capsys, "distill", "--quiet")
    assert_one_line_error(code, err, "no teacher run in", str(runs_dir), "train-teacher", "first", "bundled teacher")


def test_distill_from_an_unknown_teacher(capsys):
    code, _, err = run_cli(capsys, "distill", "--teacher", "20990101-000000-teacher-ffff", "--quiet")
    assert_one_line_error(code, err, "no run '20990101-000000-teacher-ffff'")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["distill", "--temperature", "0"], "temperature must be greater than 0"),
        (["distill", "-T", "-3"], "temperature"),
        (["train-teacher", "--lr", "-1"], "learning rate must be greater than 0"),
        (["train-student", "--lr", "0"], "learning rate"),
        (["train-student", "--epochs", "0"], "epochs must be between 1"),
        (["train-student", "--batch-size", "0"], "batch size"),
        (["train-student", "--limit", "0"], "training image limit"),
        (["train-student", "--eval-every", "-1"], "evaluation interval"),
        (["train-student", "--hidden", "64,0"], "width of hidden layer 2"),
        (["train-student", "--hidden", "64,64", "--dropout", "0.5"], "one dropout per hidden layer"),
        (["distill", "--alpha", "1.5"], "alpha"),
        (["distill", "--transfer", "noise", "--alpha", "0.5"], "alpha must be 1"),
        (["distill", "--transfer", "leave_out"], "leave out"),
        (["distill", "--transfer", "leave_out", "--leave-out", "0,1,2,3,4,5,6,7,8,9"], "at least one class must stay"),
        (["distill", "--jitter", "20"], "jitter"),
    ],
)
def test_bad_values_are_one_line_errors(capsys, argv, needle):
    code, _, err = run_cli(capsys, *argv, "--quiet")
    assert_one_line_error(code, err, needle)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA device")
def test_a_missing_gpu_is_a_one_line_error(capsys, fake_mnist):
    code, _, err = run_cli(capsys, "train-student", "--device", "cuda", "--quiet")
    assert_one_line_error(code, err, "device cuda is not available")


@pytest.mark.parametrize(("argv", "needle"), [(["--hidden", "64,x"], "expected whole numbers"), (["--epochs", "two"], "invalid int")])
def test_unparseable_values_are_usage_errors(capsys, argv, needle):
    code, _, err = run_cli(capsys, "train-student", *argv)
    assert code == 2 and needle in err and "Traceback" not in err


# --- runs on synthetic data (no MNIST needed) ----------------------------------------------------------------


def _read_result(path):
    result = json.loads(path.read_text())
    for key in ("train_acc", "val_acc", "test_acc"):
        assert 0.0 <= result[key] <= 1.0
    assert result["seconds"] >= 0
    return result


def test_train_then_distill_on_synthetic_data(capsys, tmp_path, runs_dir, fake_mnist):
    code, out, err = run_cli(capsys, "train-teacher", "--epochs", "2", "--hidden", "64", "--lr", "0.01",
                             "--batch-size", "40", "--json", str(tmp_path / "out" / "a.json"))
    assert code == 0, err
    teacher = _read_result(tmp_path / "out" / "a.json")
    assert teacher["test_acc"] > 0.8
    assert f"run {teacher['run_id']}" in out and "teacher: train" in out
    assert "784-64-10" in err and "epoch 2" in err  # progress lines go to stderr
    run = RunStore(runs_dir).get(teacher["run_id"])
    assert run.status == "finished" and run.job.net.dropout == (0.0,) and run.job.train.lr == 0.01

    code, out, err = run_cli(capsys, "distill", "--teacher", "latest", "--epochs", "2", "--lr", "0.01", "--batch-size", "40",
                             "-T", "3", "--loss", "hinton", "--quiet", "--json", str(tmp_path / "b.json"))
    assert code == 0, err
    assert err == ""  # --quiet
    student = _read_result(tmp_path / "b.json")
    run = RunStore(runs_dir).get(student["run_id"])
    assert run.job.teacher_run == teacher["run_id"]  # --teacher latest: the old name of 'lineup', the default
    assert run.job.distill.temperature == 3.0 and run.job.distill.loss == "hinton"
    assert student["test_acc"] > 0.5

    code, out, _ = run_cli(capsys, "runs")
    assert code == 0
    lines = {line.split()[0]: line for line in out.strip().splitlines()}
    assert set(lines) == {teacher["run_id"], student["run_id"]}
    assert "finished" in lines[teacher["run_id"]] and f"test {teacher['test_acc']:.2%}" in lines[teacher["run_id"]]
    assert "distilled T=3" in lines[student["run_id"]]


def _train(capsys, tmp_path, *argv: str) -> str:
    """A quick synthetic run through the CLI; its run id."""
    path = tmp_path / "result.json"
    code, _, err = run_cli(capsys, *argv, "--epochs", "1", "--hidden", "16", "--batch-size", "50", "--quiet", "--json", str(path))
    assert code == 0, err
    return json.loads(path.read_text())["run_id"]


def test_distill_takes_the_lineups_teacher(capsys, tmp_path, runs_dir, fake_mnist):
    older = _train(capsys, tmp_path, "train-teacher")
    newer = _train(capsys, tmp_path, "train-teacher")
    # By default the lineup's teacher is the newest; the teacher it used is said on stderr.
    code, _, err = run_cli(capsys, "distill", "--epochs", "1", "--hidden", "16", "--json", str(tmp_path / "d.json"))
    assert code == 0, err
    assert "teacher: Teacher 784-16-10" in err and f"run {newer}" in err
    assert RunStore().get(json.loads((tmp_path / "d.json").read_text())["run_id"]).job.teacher_run == newer
    # A teacher put in the lineup (as the app does) is the one distilled from.
    assert run_cli(capsys, "lineup", "--teacher", older)[0] == 0
    distilled = _train(capsys, tmp_path, "distill")
    assert RunStore().get(distilled).job.teacher_run == older
    # The bundled teacher is no run: distill says so, and a run id still works.
    assert run_cli(capsys, "lineup", "--teacher", "bundled")[0] == 0
    code, _, err = run_cli(capsys, "distill", "--quiet")
    assert_one_line_error(code, err, "bundled", "--teacher RUN", "kdgui-cli lineup --teacher default")
    assert RunStore().get(_train(capsys, tmp_path, "distill", "--teacher", newer)).job.teacher_run == newer


def test_reproduce_on_synthetic_data(capsys, tmp_path, fake_mnist):
    code, out, err = run_cli(capsys, "reproduce", "--epochs-scale", "0.05", "--quiet", "--json", str(tmp_path / "c.json"))
    assert code == 0, err
    results = json.loads((tmp_path / "c.json").read_text())
    assert set(results) == {"teacher", "student", "distilled"}
    store = RunStore()
    for key, result in results.items():
        for field in ("train_acc", "val_acc", "test_acc"):
            assert 0.0 <= result[field] <= 1.0
        assert store.get(result["run_id"]).job.train.epochs == 1
    assert store.get(results["distilled"]["run_id"]).job.teacher_run == results["teacher"]["run_id"]
    assert out.splitlines()[0].split() == ["Model", "Train", "Validation", "Test", "Epoch", "Seconds"]
    assert "784-1200-1200-10" in out and len(out.strip().splitlines()) == 5
    assert all(result["epoch"] == 1 for result in results.values())


def test_ctrl_c_keeps_the_partial_run(capsys, tmp_path, fake_mnist, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate", interrupted)
    code, _, err = run_cli(capsys, "train-student", "--epochs", "1", "--quiet", "--json", str(tmp_path / "x.json"))
    assert code == 130
    (run,) = RunStore().list()
    assert run.status == "stopped" and run.has_weights
    assert err.strip() == f"kdgui-cli: stopped; run {run.id} is kept, marked stopped after {run.summary['steps']} steps"
    assert not (tmp_path / "x.json").exists()


def test_ctrl_c_outside_the_engine_still_stops_the_run_before_saying_so(capsys, fake_mnist, monkeypatch):
    """An interrupt that lands in the progress bar, not the engine: the run is closed (saved as stopped) first."""
    from kdgui.cli import progress

    def interrupted(self, event):
        if event.step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress.TerminalProgress, "step", interrupted)
    code, _, err = run_cli(capsys, "train-student", "--epochs", "1", "--quiet")
    (run,) = RunStore().list()
    assert code == 130 and run.stored_status == "stopped" and run.status == "stopped" and run.has_weights
    assert err.strip() == f"kdgui-cli: stopped; run {run.id} is kept, marked stopped after 3 steps"


def test_ctrl_c_during_the_final_save_leaves_the_run_finished_and_says_so(capsys, fake_mnist, monkeypatch):
    from kdgui.core.runs import Run

    original, calls = Run.set_status, []

    def set_status(self, status, **summary):
        calls.append(status)
        if status == "finished" and calls.count("finished") == 1:
            raise KeyboardInterrupt  # the save is retried, then the interrupt goes on
        return original(self, status, **summary)

    monkeypatch.setattr(Run, "set_status", set_status)
    code, _, err = run_cli(capsys, "train-student", "--epochs", "1", "--quiet")
    (run,) = RunStore().list()
    assert code == 130 and run.stored_status == "finished"
    assert err.strip() == f"kdgui-cli: stopped; run {run.id} had finished and is saved"


def test_ctrl_c_during_creation_leaves_no_run_and_says_so(capsys, fake_mnist, monkeypatch):
    def create(self, job, origin=""):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunStore, "create", create)
    code, _, err = run_cli(capsys, "train-student", "--epochs", "1", "--quiet")
    assert code == 130 and RunStore().list() == []
    assert err.strip() == "kdgui-cli: stopped before a run was created; nothing was saved"


def test_ctrl_c_in_reproduce_tells_each_stage(capsys, fake_mnist, monkeypatch):
    from kdgui.cli import train

    real, stages = train.run_job, []

    def run_job(job, store, args, title):
        stages.append(title)
        if title == "student":
            monkeypatch.setattr(training, "evaluate", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
        return real(job, store, args, title)

    monkeypatch.setattr(train, "run_job", run_job)
    code, _, err = run_cli(capsys, "reproduce", "--epochs-scale", "0.05", "--limit", "200", "--quiet")
    teacher, student = sorted(RunStore().list(), key=lambda r: r.created)
    assert code == 130 and stages == ["teacher", "student"]
    assert err.strip() == (f"kdgui-cli: stopped; run {teacher.id} had finished and is saved; "
                           f"run {student.id} is kept, marked stopped after {student.summary['steps']} steps")


# --- the runs listing ----------------------------------------------------------------------------------------


def test_runs_lists_unreadable_and_interrupted_runs_and_never_crashes(capsys, tmp_path, runs_dir, fake_mnist):
    import os
    import shutil

    run_id = _train(capsys, tmp_path, "train-student")
    # A run whose process was killed: run.json says running, no lock is held.
    killed = runs_dir / "20200101-000000-student-dead"
    shutil.copytree(runs_dir / run_id, killed)
    meta = json.loads((killed / "run.json").read_text())
    meta.update(id=killed.name, status="running")
    (killed / "run.json").write_text(json.dumps(meta))
    (runs_dir / "corrupt").mkdir()
    (runs_dir / "corrupt" / "run.json").write_text("{nope")
    os.mkdir(os.fsencode(runs_dir) + b"/odd\xffname")  # not UTF-8: a lone surrogate in Python
    (runs_dir / "linked").symlink_to(tmp_path)
    code, out, err = run_cli(capsys, "runs")
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.strip().splitlines()}
    assert lines[run_id].split()[1] == "finished"
    assert lines[killed.name].split()[1] == "interrupted"
    assert "unreadable: " in lines["corrupt"] and "is corrupt" in lines["corrupt"]
    assert "unreadable: " in lines["linked"] and "symbolic link" in lines["linked"]
    assert "unreadable: " in lines["odd\\udcffname"] and "is not a run id" in lines["odd\\udcffname"]


def test_runs_in_an_empty_folder_says_so(capsys, runs_dir):
    code, out, err = run_cli(capsys, "runs")
    assert code == 0 and out == "" and f"no runs in {runs_dir}" in err


def test_runs_migrate_converts_old_weights(capsys, tmp_path, runs_dir, fake_mnist):
    import torch
    from safetensors.torch import load_file

    run_id = _train(capsys, tmp_path, "train-student")
    folder = runs_dir / run_id
    torch.save(load_file(folder / "weights.safetensors"), folder / "weights.pt")
    (folder / "weights.safetensors").unlink()
    code, out, err = run_cli(capsys, "runs")  # listing converts nothing
    assert code == 0 and (folder / "weights.pt").exists()
    code, out, err = run_cli(capsys, "runs", "--migrate")
    assert code == 0, err
    assert out.strip() == f"{run_id}  weights.pt -> weights.safetensors"
    assert (folder / "weights.safetensors").exists() and not (folder / "weights.pt").exists()
    assert RunStore().get(run_id).load_model() is not None
    code, out, err = run_cli(capsys, "runs", "--migrate")
    assert code == 0 and out == "" and "no run" in err


# --- real MNIST (KDGUI_DATA_DIR) -----------------------------------------------------------------------------


def test_train_teacher_then_distill_on_mnist(capsys, tmp_path, mnist_dir):
    code, _, err = run_cli(capsys, "train-teacher", "--limit", "1000", "--epochs", "1", "--hidden", "64", "--lr", "0.005",
                           "--quiet", "--data-dir", str(mnist_dir), "--json", str(tmp_path / "a.json"))
    assert code == 0, err
    teacher = _read_result(tmp_path / "a.json")
    assert teacher["test_acc"] > 0.6  # 1000 images, one epoch: far better than chance
    # The data folder comes from KDGUI_DATA_DIR this time.
    code, _, err = run_cli(capsys, "distill", "--limit", "1000", "--epochs", "1", "--quiet", "--json", str(tmp_path / "b.json"))
    assert code == 0, err
    student = _read_result(tmp_path / "b.json")
    assert RunStore().get(student["run_id"]).job.teacher_run == teacher["run_id"]
    assert student["test_acc"] > 0.2


def test_reproduce_on_mnist(capsys, tmp_path, mnist_dir):
    code, out, err = run_cli(capsys, "reproduce", "--limit", "500", "--epochs-scale", "0.05", "--quiet",
                             "--data-dir", str(mnist_dir), "--json", str(tmp_path / "c.json"))
    assert code == 0, err
    results = json.loads((tmp_path / "c.json").read_text())
    assert set(results) == {"teacher", "student", "distilled"}
    for result in results.values():
        assert {"run_id", "train_acc", "val_acc", "test_acc", "seconds"} <= set(result)
        for field in ("train_acc", "val_acc", "test_acc"):
            assert 0.0 <= result[field] <= 1.0
    assert results["teacher"]["test_acc"] > 0.5
    assert "Distilled student" in out


def test_sigterm_stops_a_run_and_keeps_it_marked_stopped(tmp_path, mnist_dir):
    """`kill` on a training run: exit 130, and the run on disk is stopped with weights, not left 'running'."""
    import os
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    env = {**os.environ, "KDGUI_RUNS_DIR": str(runs), "KDGUI_DATA_DIR": str(mnist_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdgui.cli", "train-student", "--limit", "2000", "--epochs", "1000", "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until training has written its first loss record, so the signal lands inside the loop.
        while not any(p.stat().st_size for p in runs.glob("*/metrics.jsonl")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training did not start within 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    (run,) = RunStore(runs).list()
    assert run.status == "stopped" and run.has_weights
