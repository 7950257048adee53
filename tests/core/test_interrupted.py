"""A run whose process died (SIGKILL, a crash, a power cut) reads as "interrupted", with its partial metrics and its
last checkpoint; nothing is written to say so, and a live run is never mistaken for one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.history import RunHistory, final_accuracies
from kdgui.core.lineup import why_not_default, why_not_showable
from kdgui.core.runs import INTERRUPTED, READ_STATUSES, STATUSES, RunStore

REPO = Path(__file__).resolve().parents[2]
JOB = Job("student", NetSpec(hidden=(8,)), TrainConfig(epochs=1))


def test_interrupted_is_derived_when_read_and_never_written(runs_dir):
    store = RunStore(runs_dir)
    run = store.create(JOB)
    assert INTERRUPTED not in STATUSES and READ_STATUSES == (*STATUSES, INTERRUPTED)
    assert store.get(run.id).status == "running" and run.status == "running"
    before = (run.path / "run.json").read_bytes()
    run.release_lock()  # what the kernel does when the training process dies
    reread = store.get(run.id)
    assert reread.status == "interrupted" and reread.stored_status == "running" and reread.interrupted
    assert (run.path / "run.json").read_bytes() == before
    assert "has no saved weights" in why_not_showable(reread, "student")


@pytest.fixture
def idx_data(tmp_path, write_idx) -> Path:
    """Noise digits in the four official IDX files (60,000 + 10,000 images): enough for kdgui-cli to train on."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "data" / "MNIST" / "raw"
    for prefix, n in (("train", 60_000), ("t10k", 10_000)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    return tmp_path / "data"


def test_a_sigkilled_training_run_reads_interrupted_with_its_metrics_and_checkpoint(tmp_path, idx_data):
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdgui.cli", "train-student", "--data-dir", str(idx_data), "--runs-dir", str(runs),
         "--limit", "300", "--epochs", "10000", "--batch-size", "100", "--eval-every", "0", "--hidden", "8",
         "--device", "cpu", "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 90
        # Wait for the first epoch-end checkpoint (and its evaluation line) to be on disk.
        while not list(runs.glob("*/weights.safetensors")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 90 s"
            time.sleep(0.05)
        (folder,) = runs.iterdir()
        while True:  # a live run is never taken for an interrupted one
            assert RunStore(runs).get(folder.name).status == "running"
            if (folder / "metrics.jsonl").read_bytes().count(b'"eval"') >= 2:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    (run,) = RunStore(runs).list()
    assert run.stored_status == "running" and run.status == "interrupted"
    evaluations = [r for r in run.metrics() if r["type"] == "eval"]
    assert len(evaluations) >= 2 and all(r["epoch_end"] for r in evaluations)
    history = RunHistory.from_records(run.metrics(), run.job)
    assert history.batches_per_epoch == 3 and history.loss_steps[:3] == [1, 2, 3]
    assert set(final_accuracies(run.summary, run.metrics())) == {"val_acc", "test_acc"}
    assert run.has_weights and run.load_model().spec == run.job.net
    assert why_not_showable(run, "student") is None  # usable: it can be put on stage
    assert why_not_default(run, "student") == "it did not finish (interrupted)"
    RunStore(runs).delete(run.id)  # no live process holds it
    assert list(runs.iterdir()) == []
