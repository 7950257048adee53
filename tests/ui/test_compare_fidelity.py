"""The Compare tab's fidelity: agreement, KL and drawn-digit columns, what changed, and the CLI's latency footnote."""

from __future__ import annotations

import pytest
import torch

from kdgui.core import insight
from kdgui.core.report import latency_method, latency_threads, what_changed_sentence
from kdgui.ui.panels import report
from kdgui.ui.panels.report import COLUMNS

N_TEST = 60


@pytest.fixture
def measured(qtbot, window, synthetic_splits):
    """The Compare tab measured over the bundled lineup, on the first 60 synthetic test digits (drawn: all 60)."""
    panel = window.report_panel
    panel.repeats = 1
    x, y = synthetic_splits.test_x[:N_TEST], synthetic_splits.test_y[:N_TEST]
    panel.set_test_set(x, y)
    with qtbot.waitSignal(panel.measured, timeout=60_000):
        panel.measure_button.click()
    return panel, x, y


def cell(panel, role: str, column: str) -> str:
    row = list(panel.rows).index(role)
    return panel.table.item(row, COLUMNS.index(column)).text()


def test_the_table_shows_each_students_agreement_kl_and_drawn_accuracy(measured):
    panel, x, y = measured
    logits = {m.key: insight.test_logits(m.model, x) for m in panel.models}
    assert cell(panel, "teacher", "Agrees with teacher") == "–" and cell(panel, "teacher", "KL from teacher") == "–"
    for role in ("student", "distilled"):
        agreement = insight.agreement(logits["teacher"], logits[role])
        kl = insight.mean_kl(logits["teacher"], logits[role])
        assert panel.rows[role].agreement == agreement and panel.rows[role].teacher_kl == pytest.approx(kl, rel=1e-5)
        assert cell(panel, role, "Agrees with teacher") == f"{agreement:.2%}"
        assert cell(panel, role, "KL from teacher") == f"{kl:.3f}"
    for role, row in panel.rows.items():
        assert int(torch.tensor(row.confusion).sum()) == N_TEST
        assert row.drawn_acc is not None and cell(panel, role, "Drawn digits") == f"{row.drawn_acc:.2%}"
    changed = insight.what_changed(y, logits["student"].argmax(1), logits["distilled"].argmax(1))
    assert panel.what_changed == changed and panel.changed.text() == what_changed_sentence(changed)


def test_the_drawn_set_is_made_once_per_test_set(qtbot, measured, monkeypatch):
    panel, x, y = measured
    made = []
    monkeypatch.setattr(report, "report_drawn_sets", lambda *a: made.append(a[2]))
    with qtbot.waitSignal(panel.measured, timeout=60_000):
        panel.measure_button.click()
    assert made == [] and panel.rows["distilled"].drawn_acc is not None  # kept from the first measurement
    panel.set_test_set(x[:10], y[:10])
    with qtbot.waitSignal(panel.measured, timeout=60_000):
        panel.measure_button.click()
    assert made == [panel.drawn_digits]  # a new test set: drawn again (here: by the stub, which makes none)
    assert panel.rows["distilled"].drawn_acc is None and cell(panel, "distilled", "Drawn digits") == "–"


def test_the_latency_caption_is_the_reports_own(window):
    assert window.report_panel.note.text() == latency_method(latency_threads())
    assert "fastest tenth" in window.report_panel.note.text()


# --- the fidelity chart on the Training curves tab -------------------------------------------------------------


def _jobs():
    from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig

    spec, train = NetSpec(hidden=(8,)), TrainConfig(epochs=2)
    return Job("student", spec, train), Job("distilled", spec, train, DistillConfig(temperature=4.0), teacher_run="t")


def _evaluation(step: int, agreement: float | None, kl: float | None):
    from kdgui.core.events import Evaluation

    return Evaluation(step=step, epoch=step / 10, val_loss=0.5, val_acc=0.8, test_loss=0.5, test_acc=0.8,
                      agreement=agreement, teacher_kl=kl, first_layer=torch.full((8, 784), float(step)))


@pytest.fixture
def curves(qtbot):
    from kdgui.ui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    return panel


def test_a_distilled_run_draws_agreement_and_kl_live_and_from_its_history(curves):
    from kdgui.core.history import RunHistory

    student_job, distilled_job = _jobs()
    curves.add_run("s", "student", "#ff7f0e", RunHistory(), job=student_job)
    curves.set_shown("s", True)
    assert not curves.fidelity_shown() and not curves.fidelity_plot.isVisible()
    live = curves.add_run("d", "distilled T=4", "#2ca02c", RunHistory(), job=distilled_job)
    curves.set_shown("d", True)
    assert curves.fidelity_shown() and curves.fidelity_plot.isVisible()
    for step, agreement, kl in ((10, 0.8, 0.5), (20, 0.9, 0.25)):
        curves.append_evaluation("d", _evaluation(step, agreement, kl))
        curves.append_evaluation("s", _evaluation(step, None, None))
    curves.flush()
    assert list(live.fidelity["agreement"].yData) == pytest.approx([80.0, 90.0])
    assert list(live.fidelity["kl"].yData) == pytest.approx([0.5, 0.25])
    assert list(live.fidelity["agreement"].xData) == pytest.approx([1.0, 2.0])
    assert all("first_layer" not in e for e in live.history.evaluations)  # numbers only: the weights are not kept
    assert live.fidelity["agreement"] in curves.fidelity_item.items and live.fidelity["kl"] in curves.kl_view.addedItems
    assert curves.runs["s"].fidelity["agreement"] not in curves.fidelity_item.items

    # Redrawn from disk: the same records (as metrics.jsonl holds them) give the same curves.
    records = [{"type": "eval", **_evaluation(s, a, k).record()} for s, a, k in ((10, 0.8, 0.5), (20, 0.9, 0.25))]
    again = curves.add_run("d", "distilled T=4", "#2ca02c", RunHistory.from_records(records), job=distilled_job)
    curves.set_shown("d", True)
    curves.flush()
    assert list(again.fidelity["agreement"].yData) == pytest.approx([80.0, 90.0])
    assert list(again.fidelity["kl"].yData) == pytest.approx([0.5, 0.25])
    curves.set_shown("d", False)
    assert not curves.fidelity_plot.isVisible()


def test_a_distilled_run_from_before_fidelity_draws_no_points(curves):
    from kdgui.core.history import RunHistory

    old = [{"type": "eval", **_evaluation(10, None, None).record()}]
    run = curves.add_run("d", "old", "#2ca02c", RunHistory.from_records(old), job=_jobs()[1])
    curves.set_shown("d", True)
    curves.flush()
    assert all(item.yData is None or len(item.yData) == 0 for item in run.fidelity.values())
    assert curves.point_counts("d") == (0, 1)  # its accuracy is there all the same


def test_a_failed_plot_export_reaches_the_banner(qtbot, window, tmp_path, monkeypatch):
    from kdgui.core.errors import WriteError
    from kdgui.ui.panels import curves as curves_module

    def refuse(plot, path):
        raise WriteError(f"cannot write {path}: the disk is full")

    target = str(tmp_path / "plot.png")
    monkeypatch.setattr(curves_module.QFileDialog, "getSaveFileName", lambda *a, **k: (target, ""))
    monkeypatch.setattr(curves_module, "export_plot", refuse)
    panel = window.curves_panel
    with qtbot.waitSignal(panel.exportFailed, timeout=5_000) as failed:
        panel._ask_export(panel.fidelity_item, ".png", "PNG")
    assert failed.args == [f"cannot write {target}: the disk is full"]
    assert window.banner.text.text() == failed.args[0] and window.banner.level == "error"


def test_measure_uses_the_answers_the_views_computed_already(qtbot, window, synthetic_splits, monkeypatch):
    """The background pass over the test set serves Compare too: Measure does not run the networks over it again."""
    panel = window.report_panel
    panel.repeats, panel.drawn_digits = 1, 0
    x, y = synthetic_splits.test_x[:N_TEST], synthetic_splits.test_y[:N_TEST]
    panel.set_test_set(x, y)
    known = insight.lineup_insight({m.key: m.model for m in panel.models}, x, y)
    panel.set_insight(known)
    from kdgui.core import report as core_report

    monkeypatch.setattr(core_report, "lineup_insight", lambda *a: pytest.fail("the test set was run again"))
    with qtbot.waitSignal(panel.measured, timeout=60_000):
        panel.measure_button.click()
    assert panel.what_changed == known.what_changed
    for role in ("student", "distilled"):
        assert panel.rows[role].agreement == known.fidelity[role].agreement


def test_answers_for_another_test_set_are_not_used(qtbot, window, synthetic_splits):
    panel = window.report_panel
    panel.repeats, panel.drawn_digits = 1, 0
    x, y = synthetic_splits.test_x, synthetic_splits.test_y
    panel.set_test_set(x[:N_TEST], y[:N_TEST])
    panel.set_insight(insight.lineup_insight({m.key: m.model for m in panel.models}, x, y))  # all the digits
    with qtbot.waitSignal(panel.measured, timeout=60_000):
        panel.measure_button.click()
    assert all(int(torch.tensor(row.confusion).sum()) == N_TEST for row in panel.rows.values())
