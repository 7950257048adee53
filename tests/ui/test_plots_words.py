"""Plots compare like with like (one chart per kind of loss, readable log ticks, accuracy in %), and results in words.

The curves panel is built on its own with hand-made histories; the Distil verdict is checked in a quick window.
"""

import math

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.history import RunHistory
from kdgui.core.verdicts import CROSS_ENTROPY
from kdgui.ui.panels.curves import CurvesPanel, LogLossAxis, log_tick_label, log_ticks
from kdgui.ui.widgets.number_field import NumberField
from ui_helpers import train

NET = NetSpec(hidden=(8,))
TRAIN = TrainConfig(epochs=2, device="cpu")


def job(kind="distilled", **distill):
    settings = DistillConfig(**distill) if kind == "distilled" else None
    return Job(kind, NET, TRAIN, settings, teacher_run="t" if settings else None)


def history(loss: float, batches: int = 20, per_epoch: int = 10) -> RunHistory:
    """A falling loss starting near ``loss``, one evaluation per epoch."""
    h = RunHistory(batches_per_epoch=per_epoch)
    for step in range(1, batches + 1):
        h.add_loss(step, loss * 0.9 ** step)
        if step % per_epoch == 0:
            h.add_evaluation({"type": "eval", "step": step, "epoch": step / per_epoch, "val_acc": 0.9, "test_acc": 0.89})
    return h


@pytest.fixture
def panel(qtbot):
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    return panel


def add(panel, run_id, the_job, loss=1.0):
    panel.add_run(run_id, run_id, "#1f77b4", history(loss), job=the_job)
    panel.set_shown(run_id, True)
    panel.flush()


def on_chart(panel, kind):
    return {item.name() for item in panel.loss_items[kind].listDataItems() if not item.name().endswith("per batch")}


def test_each_kind_of_loss_has_its_own_chart_named_by_its_title(panel):
    assert panel.visible_loss_kinds() == [CROSS_ENTROPY]  # an empty chart until a run is shown
    add(panel, "teacher", job("teacher"), loss=2.0)
    add(panel, "student", job("student"), loss=2.0)
    add(panel, "soft", job(loss="soft_mse", temperature=4.0), loss=0.01)
    add(panel, "hinton", job(loss="hinton", temperature=20.0, alpha=0.5), loss=10.0)
    assert on_chart(panel, CROSS_ENTROPY) == {"teacher", "student"}
    assert on_chart(panel, "soft_mse") == {"soft"} and on_chart(panel, "hinton") == {"hinton"}
    assert all(panel.loss_plots[k].isVisibleTo(panel) for k in (CROSS_ENTROPY, "soft_mse", "hinton"))
    titles = {k: panel.loss_items[k].titleLabel.text for k in panel.loss_items}
    assert titles == {CROSS_ENTROPY: "Cross-entropy on labels", "soft_mse": "Soft-target MSE at T=4",
                      "hinton": "Hinton: α·T²·KL + (1−α)·CE at T=20, α=0.5"}
    assert "Each kind of loss has its own chart" in panel.loss_caption.text()
    # Every run shares the accuracy chart, in %.
    assert panel.runs["soft"].val_acc.getData()[1].tolist() == pytest.approx([90.0, 90.0])
    panel.set_shown("hinton", False)
    assert not panel.loss_plots["hinton"].isVisibleTo(panel) and not on_chart(panel, "hinton")


def test_runs_of_one_loss_at_different_temperatures_are_flagged(panel):
    add(panel, "t2", job(loss="soft_mse", temperature=2.0))
    add(panel, "t4", job(loss="soft_mse", temperature=4.0))
    assert panel.loss_items["soft_mse"].titleLabel.text == "Soft-target MSE at T=2 and T=4: each T has its own scale"
    assert panel.visible_loss_kinds() == ["soft_mse"]
    assert "Each kind" not in panel.loss_caption.text()  # one chart: nothing to warn about


def test_side_by_side_charts_show_the_same_epochs_including_the_loss_before_the_first_evaluation(qtbot, panel):
    add(panel, "teacher", job("teacher"))
    add(panel, "soft", job(loss="soft_mse", temperature=4.0), loss=0.01)
    qtbot.waitUntil(lambda: panel.accuracy_item.vb.viewRange()[0][0] < 0.1, timeout=5000)
    accuracy = panel.accuracy_item.vb.viewRange()[0]
    assert accuracy[0] < 0.1 <= 1.0 < 2.0 <= accuracy[1]  # first loss at epoch 0.1, evaluations at 1 and 2
    for kind in (CROSS_ENTROPY, "soft_mse"):
        assert panel.loss_items[kind].vb.viewRange()[0] == pytest.approx(accuracy)


def test_hovering_a_loss_chart_names_the_runs_on_it_and_their_temperature(panel):
    add(panel, "teacher", job("teacher"))
    add(panel, "soft", job(loss="soft_mse", temperature=4.0), loss=0.01)
    vb = panel.loss_items["soft_mse"].vb
    (x0, x1), (y0, y1) = vb.viewRange()
    panel._hovered("soft_mse", vb.mapViewToScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2)))
    text = panel._hover["soft_mse"][2].textItem.toPlainText()
    assert "soft: " in text and "at T=4" in text and "teacher" not in text


# --- log ticks ---------------------------------------------------------------------------------------------


def test_log_ticks_label_powers_of_ten_and_never_pile_up():
    labelled, unlabelled = log_ticks(-4.2, 0.3)  # 6e-5 .. 2: powers of ten only
    assert labelled == [-4.0, -3.0, -2.0, -1.0, 0.0]
    assert len(unlabelled) > 20 and not set(labelled) & set(unlabelled)
    assert [log_tick_label(v) for v in labelled] == ["1e-4", "0.001", "0.01", "0.1", "1"]
    labelled, _ = log_ticks(-0.8, 0.45)  # 0.16 .. 2.8: one power of ten, so 2 and 5 are labelled too
    assert [log_tick_label(v) for v in labelled] == ["0.2", "0.5", "1", "2"]
    labelled, _ = log_ticks(-0.35, -0.05)  # 0.45 .. 0.89: less than a decade, every multiple
    assert [log_tick_label(v) for v in labelled] == ["0.5", "0.6", "0.7", "0.8"]
    assert log_ticks(-0.32, -0.31) is None and log_ticks(-math.inf, 1) is None  # pyqtgraph's own ticks then


def test_the_log_axis_leaves_minor_ticks_unlabelled(qtbot):
    axis = LogLossAxis("left")
    axis.setLogMode(False, True)
    levels = axis.tickValues(-3.5, 0.5, 300)
    strings = [axis.tickStrings(values, 1.0, spacing) for spacing, values in levels]
    assert strings[0] == ["0.001", "0.01", "0.1", "1"]
    assert strings[1] and all(s is None for s in strings[1])


# --- words ----------------------------------------------------------------------------------------------


def test_a_finished_distil_says_what_it_gained_over_the_student(qtbot, window):
    train(qtbot, window, "teacher")
    _, student = train(qtbot, window, "student")
    _, distilled = train(qtbot, window, "distilled")
    banner = window.banner
    assert banner.isVisible() and banner.level == "info"
    text = banner.text.text()
    assert text.split(" ")[:2] in (["Distillation", "gained"], ["Distillation", "lost"], ["Distillation", "matched"])
    assert "the student trained on labels (" in text and "% vs " in text
    # The live runs went onto their own loss charts, which show the accuracy chart's epochs.
    curves = window.curves_panel
    assert curves.runs[distilled].loss == "soft_mse" and curves.runs[student].loss == CROSS_ENTROPY
    assert curves.visible_loss_kinds() == [CROSS_ENTROPY, "soft_mse"]
    epochs = curves.accuracy_item.vb.viewRange()[0]
    assert curves.accuracy_item.vb.autoRangeEnabled()[0]
    assert curves.loss_items["soft_mse"].vb.viewRange()[0] == pytest.approx(epochs)


def test_number_field_special_text_is_opt_in(qtbot):
    field = NumberField("training images", integer=True, low=0, high=1000, value=0, special_text="all")
    qtbot.addWidget(field)
    assert field.text() == "all" and field.value() == 0 and field.isValid()
    field.setText("250")
    assert field.value() == 250
    field.setText("0")
    field.editingFinished.emit()
    assert field.text() == "all" and field.value() == 0
    field.setText("All")
    assert field.value() == 0
    plain = NumberField("epochs", integer=True, low=0, high=10, value=0)
    qtbot.addWidget(plain)
    assert plain.text() == "0"
    plain.setText("")
    assert plain.value() is None and "empty" in plain.problem()


def test_the_hint_row_ends_in_an_ellipsis_rather_than_being_cut(panel):
    hint = panel.hint
    assert hint.text() == "Hover for values · right-click a plot to export PNG, SVG or CSV" == hint.toolTip()
    panel.resize(1400, 700)
    QApplication.processEvents()
    assert not hint.is_elided() and hint.geometry().right() < panel.width()
    panel.resize(560, 700)  # a narrow tab: the tip gives way, the controls keep their room
    QApplication.processEvents()
    assert hint.is_elided() and hint.isVisible() and hint.geometry().right() < panel.width()
    assert panel.log_box.geometry().right() < hint.geometry().left()
    assert panel.minimumSizeHint().width() <= 560
