"""kdgui-cli report's insight on small synthetic runs: confusion, fidelity, what changed and drawn-digit accuracy."""

from __future__ import annotations

import json

import pytest
import torch

from kdgui.cli import ship
from kdgui.core import insight
from kdgui.core.report import DRAWN_DIGITS
from kdgui.core.runs import RunStore
from test_cli import run_cli
from test_cli_ship import train_lineup_through_cli

N_TEST = 150


@pytest.fixture
def trained(capsys, monkeypatch, synthetic_splits):
    """A teacher, a student and a distilled student trained through the CLI on synthetic digits; (runs, splits)."""
    splits = synthetic_splits(n_train=300, n_val=60, n_test=N_TEST, seed=3)
    ids = train_lineup_through_cli(capsys, monkeypatch, splits)
    store = RunStore()
    return {kind: store.get(run_id) for kind, run_id in ids.items()}, splits


def test_report_json_and_text_hold_fidelity_confusion_and_what_changed(capsys, tmp_path, trained):
    runs, splits = trained
    path = tmp_path / "report.json"
    code, out, err = run_cli(capsys, "report", "--repeats", "1", "--drawn", "6", "--json", str(path))
    assert code == 0, err
    report = json.loads(path.read_text())
    logits = {kind: insight.test_logits(run.load_model(), splits.test_x) for kind, run in runs.items()}
    for kind, row in report["models"].items():
        confusion = torch.tensor(row["confusion"])
        assert confusion.shape == (10, 10) and int(confusion.sum()) == N_TEST
        assert torch.equal(confusion, insight.confusion_matrix(logits[kind].argmax(1), splits.test_y))
        assert row["test_acc"] == int(confusion.diagonal().sum()) / N_TEST
        assert set(row["drawn_variants"]) >= {"canvas", "thick-pen"} and 0.0 <= row["drawn_acc"] <= 1.0
        assert row["drawn_acc"] == pytest.approx(sum(row["drawn_variants"].values()) / len(row["drawn_variants"]))
    assert report["models"]["teacher"]["agreement"] is None and report["models"]["teacher"]["teacher_kl"] is None
    for kind in ("student", "distilled"):
        row = report["models"][kind]
        assert row["agreement"] == insight.agreement(logits["teacher"], logits[kind])
        assert row["teacher_kl"] == pytest.approx(insight.mean_kl(logits["teacher"], logits[kind]), rel=1e-5)
    changed = insight.what_changed(splits.test_y, logits["student"].argmax(1), logits["distilled"].argmax(1))
    assert report["what_changed"] == {"fixed": len(changed.fixed), "broke": len(changed.broke),
                                      "fixed_indices": list(changed.fixed), "broke_indices": list(changed.broke)}
    assert f"What changed: fixed {len(changed.fixed)}, broke {len(changed.broke)}" in out
    header = next(line for line in out.splitlines() if line.startswith("Model"))
    assert header.split()[-4:] == ["Test", "Drawn", "Agree", "KL"]
    distilled_line = next(line for line in out.splitlines() if line.startswith("Distilled student"))
    assert f"{report['models']['distilled']['teacher_kl']:.3f}" in distilled_line


def test_drawn_zero_leaves_the_drawn_digits_out(capsys, tmp_path, trained):
    path = tmp_path / "report.json"
    code, out, err = run_cli(capsys, "report", "--repeats", "1", "--drawn", "0", "--json", str(path))
    assert code == 0, err
    report = json.loads(path.read_text())
    assert all(row["drawn_acc"] is None and row["drawn_variants"] is None for row in report["models"].values())
    assert "Drawn:" not in out and report["what_changed"]["fixed"] >= 0
    assert ship.DRAWN_DIGITS == DRAWN_DIGITS  # the CLI's copy of the default, kept so --help need not import torch
    code, _, err = run_cli(capsys, "report", "--drawn", "many")
    assert code == 2 and "--drawn" in err
