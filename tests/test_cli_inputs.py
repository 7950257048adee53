"""kdgui-cli and what a user may type: every bad value, path or folder is one line on stderr and exit code 2, at
once (before any training), never a traceback; and the inputs that are fine are accepted as they should be."""

from __future__ import annotations

import json
import os
import time

import pytest

from kdgui.cli import ship
from kdgui.core import training
from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.runs import RunStore
from kdgui.core.training import execute, run_to_end
from test_cli import assert_one_line_error, run_cli

LONG_ID = "a" * 5000


@pytest.fixture
def places(tmp_path, runs_dir, synthetic_splits, monkeypatch):
    """Paths of every kind, a student run (to be refused as a teacher), and a data loader that fails the test:
    every case below must be refused before any data is loaded."""
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")
    os.mkfifo(tmp_path / "fifo.json")
    job = Job("student", NetSpec(hidden=(8,)), TrainConfig(epochs=1, batch_size=100, eval_every=0, device="cpu"))
    student = run_to_end(execute(job, RunStore(runs_dir), data=synthetic_splits(n_train=100, n_val=50, n_test=50))).run_id

    def no_data(*args, **kwargs):
        raise AssertionError("the command started loading data: it should have refused its input first")

    monkeypatch.setattr(training, "load_splits", no_data)
    return {"file": str(tmp_path / "a-file"), "folder": str(tmp_path / "a-folder"), "link": str(tmp_path / "link.json"),
            "fifo": str(tmp_path / "fifo.json"), "student": student, "tmp": str(tmp_path)}


BAD = [
    # the runs folder
    (["runs", "--runs-dir", "/proc/self"], "under /proc"),
    (["train-student", "--runs-dir", "/proc/self"], "under /proc"),
    (["runs", "--runs-dir", "{file}"], "is a file, not a folder"),
    (["train-student", "--runs-dir", "{file}"], "is a file, not a folder"),
    (["runs", "--runs-dir", ""], "--runs-dir needs a folder name"),
    # run ids
    (["distill", "--teacher", LONG_ID], "is not a run id"),
    (["export", LONG_ID, "{tmp}/x.onnx"], "is not a run id"),
    (["distill", "--teacher", "{student}"], "is a student from labels, not a teacher"),
    (["sweep", "--teacher", "{student}"], "is a student from labels, not a teacher"),
    (["study", "noise", "--teacher", "{student}"], "is a student from labels, not a teacher"),
    # output files, refused before any work
    (["export", "student", "/proc/x.onnx"], "does not write files under /proc"),
    (["export", "student", "{folder}"], "is a folder"),
    (["export", "student", "{file}/x.pt"], "Not a directory"),
    (["report", "--json", "/proc/x.json"], "does not write files under /proc"),
    (["report", "--json", "{folder}"], "is a folder"),
    (["report", "--json", ""], "--json needs a file name"),
    (["train-student", "--json", ""], "--json needs a file name"),
    (["train-student", "--json", "/dev/null"], "does not write files under /dev"),
    (["train-student", "--json", "{link}"], "symbolic link"),
    (["train-student", "--json", "{fifo}"], "FIFO"),
    (["train-student", "--json", "{folder}"], "is a folder"),
    (["train-student", "--json", "{folder}/"], "is a folder"),
    (["train-student", "--json", "{file}/x.json"], "Not a directory"),
    (["train-student", "--json", "{tmp}/" + "n" * 300 + ".json"], "longer than 255 bytes"),
    (["reproduce", "--json", "/proc/self/x.json"], "under /proc"),
    (["sweep", "--json", "/sys/x.json"], "under /sys"),
    # numbers and lists
    (["reproduce", "--epochs-scale", "nan"], "--epochs-scale: expected a number above 0"),
    (["reproduce", "--epochs-scale", "inf"], "--epochs-scale: expected a number above 0"),
    (["reproduce", "--epochs-scale", "0"], "--epochs-scale: expected a number above 0"),
    (["reproduce", "--epochs-scale", "1e308"], "at most 500"),
    (["report", "--repeats", "100000000"], "--repeats: expected a whole number from 1 to 1,000 (the fastest tenth"),
    (["report", "--repeats", "0"], "--repeats"),
    (["train-student", "--hidden", "50,,50"], "an empty item in '50,,50'"),
    (["train-student", "--hidden", ""], "got an empty list"),
    (["train-student", "--hidden", "50,"], "an empty item"),
    (["train-teacher", "--dropout", "0.1,,0.2"], "an empty item"),
    (["study", "only-classes", "--classes", "3,3"], "3 is given twice"),
    (["study", "only-classes", "--classes", ""], "got an empty list"),
    (["distill", "--transfer", "leave_out", "--leave-out", "3,3"], "3 is given twice"),
    (["sweep", "-T", "2,2"], "2 is given twice"),
    (["train-student", "--threads", "0"], "--threads: expected a whole number from 1 to 256"),
    (["report", "--threads", "-1"], "--threads"),
    # argparse's own errors: one line, and where to look
    (["train-student", "--epochs", "many"], "invalid int value: 'many'; see 'kdgui-cli train-student --help'"),
    (["train-student", "--no-such-option"], "unrecognized arguments"),
    ([], "the following arguments are required: COMMAND; see 'kdgui-cli --help'"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD, ids=[" ".join(a)[:60] or "(nothing)" for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2_before_any_work(capsys, places, runs_dir, argv, needle):
    before = {run.id for run in RunStore(runs_dir).list()}
    argv = [arg.format(**places) for arg in argv]
    start = time.perf_counter()
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, needle)
    assert time.perf_counter() - start < 30  # refused at once, not after the work
    assert {run.id for run in RunStore(runs_dir).list()} == before  # nothing was trained


def test_a_name_that_is_not_text_is_printed_escaped(capsys, places):
    code, _, err = run_cli(capsys, "distill", "--teacher", "bad\udcffname", "--quiet")
    line = assert_one_line_error(code, err, "is not a run id")
    assert "\\udcff" in line


def test_report_and_export_make_missing_folders(capsys, tmp_path, monkeypatch, synthetic_splits):
    """Output files get their missing parent folders made: --json of every command and export's file alike."""
    splits = synthetic_splits(n_train=100, n_val=50, n_test=100)
    monkeypatch.setattr(ship, "load_splits", lambda *a, **k: splits)
    report = tmp_path / "new" / "deeper" / "report.json"
    code, _, err = run_cli(capsys, "report", "--source", "bundled", "--repeats", "1", "--json", str(report))
    assert code == 0, err
    assert json.loads(report.read_text())["models"]["student"]["latency_threads"] == 1
    exported = tmp_path / "other" / "student.pt"
    code, out, err = run_cli(capsys, "export", "student", str(exported), "--student", "bundled")
    assert code == 0, err
    assert exported.is_file() and "wrote" in out


def test_json_over_an_existing_file_is_fine(capsys, tmp_path, monkeypatch, synthetic_splits):
    splits = synthetic_splits(n_train=100, n_val=50, n_test=100)
    monkeypatch.setattr(ship, "load_splits", lambda *a, **k: splits)
    target = tmp_path / "r.json"
    target.write_text("old")
    code, _, err = run_cli(capsys, "report", "--source", "bundled", "--repeats", "1", "--threads", "2", "--json", str(target))
    assert code == 0, err
    assert json.loads(target.read_text())["models"]["teacher"]["latency_threads"] == 2  # --threads overrides


@pytest.mark.parametrize("command", ["train-teacher", "train-student", "distill", "reproduce", "sweep", "study", "report"])
def test_every_command_that_trains_or_measures_takes_threads(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0 and "--threads N" in out
