"""Live learning curves: loss per batch (smoothed) and validation/test accuracy, one colour per run, overlaid."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QSlider, QSplitter, QVBoxLayout, QWidget,
)

from ...core.events import Evaluation
from ...core.history import EmaSmoother, RunHistory
from ..widgets.plot_export import FORMATS, export_plot

FLUSH_INTERVAL_MS = 100  # curves redraw at most 10 times a second, however fast batches arrive
DEFAULT_SMOOTHING = 0.6


class RunCurves:
    """The four plot items of one run, created once and refilled with setData when its history grows."""

    def __init__(self, run_id: str, label: str, colour: str, history: RunHistory, smoothing: float) -> None:
        self.run_id = run_id
        self.label = label
        self.colour = colour
        self.history = history
        self.shown = False
        faint = QColor(colour)
        faint.setAlpha(60)
        self.raw_loss = pg.PlotDataItem(name=f"{label} per batch", pen=pg.mkPen(faint, width=1))
        self.smooth_loss = pg.PlotDataItem(name=label, pen=pg.mkPen(colour, width=2))
        self.val_acc = pg.PlotDataItem(name=label, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                       symbolBrush=colour, symbolPen=None)
        self.test_acc = pg.PlotDataItem(name=f"{label} test", pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
        for item in self.loss_items() + self.accuracy_items():
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.set_smoothing(smoothing)

    def loss_items(self) -> list[pg.PlotDataItem]:
        return [self.raw_loss, self.smooth_loss]

    def accuracy_items(self) -> list[pg.PlotDataItem]:
        return [self.val_acc, self.test_acc]

    def set_smoothing(self, weight: float) -> None:
        self.smoother = EmaSmoother(weight)
        self.smoothed = self.smoother.feed(self.history.losses)
        self._drawn = (-1, -1)  # everything is redrawn at the next flush

    def add_losses(self, pairs: list[tuple[int, float]]) -> None:
        for step, loss in pairs:
            self.history.add_loss(step, loss)
        self.smoothed.extend(self.smoother.feed(loss for _, loss in pairs))

    def redraw(self) -> None:
        """Refill the items whose data grew (the accuracy plot need not repaint for every batch)."""
        if len(self.history.loss_steps) != self._drawn[0]:
            x = np.asarray(self.history.loss_steps, dtype=float) / self.history.batches_per_epoch
            self.raw_loss.setData(x, np.asarray(self.history.losses, dtype=float))
            self.smooth_loss.setData(x, np.asarray(self.smoothed, dtype=float))
        if len(self.history.evaluations) != self._drawn[1]:
            epochs = np.asarray([e["epoch"] for e in self.history.evaluations], dtype=float)
            self.val_acc.setData(epochs, 100 * np.asarray(self.history.eval_column("val_acc"), dtype=float))
            self.test_acc.setData(epochs, 100 * np.asarray(self.history.eval_column("test_acc"), dtype=float))
        self._drawn = (len(self.history.loss_steps), len(self.history.evaluations))


class CurvesPanel(QWidget):
    """Two plots created once; runs are added, shown, hidden and streamed into without rebuilding anything."""

    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, RunCurves] = {}
        self._dirty: set[str] = set()
        self.smoothing = DEFAULT_SMOOTHING

        self.loss_plot = pg.PlotWidget()
        self.accuracy_plot = pg.PlotWidget()
        self.loss_item: pg.PlotItem = self.loss_plot.getPlotItem()
        self.accuracy_item: pg.PlotItem = self.accuracy_plot.getPlotItem()
        for widget, title, y_label in (
            (self.loss_plot, "Training loss per batch (faint: raw, bold: smoothed)", "loss"),
            (self.accuracy_plot, "Accuracy at each evaluation (solid: validation, dashed: test)", "accuracy (%)"),
        ):
            widget.setBackground("w")
            item = widget.getPlotItem()
            item.setTitle(title, size="10pt", color="#333")
            item.setLabel("bottom", "epoch")
            item.setLabel("left", y_label)
            item.showGrid(x=True, y=True, alpha=0.2)
            item.setMenuEnabled(True)
            for axis in ("left", "bottom"):
                # The grid makes each axis span the whole plot, so every new point would re-render its ticks and
                # labels (~5 ms each on a CPU); cached, an axis is redrawn only when its range changes.
                item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self._add_export_actions(item)
        # One legend for both plots (same colours; the runs list names them too): on the loss plot every corner
        # holds some run's curve, while accuracies rise to the top and leave the bottom right free.
        self.accuracy_item.addLegend(offset=(-10, -10), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200))
        self.accuracy_item.setXLink(self.loss_item)
        # Sensible empty axes until the first points arrive; auto-range stays on.
        self.accuracy_item.setRange(xRange=(0, 1), yRange=(0, 100), disableAutoRange=False)
        self.loss_item.setRange(yRange=(-2, 1), disableAutoRange=False)
        self.log_box = QCheckBox("Log-scale loss")
        self.log_box.setToolTip("Soft-target losses are far smaller than cross-entropy: a log scale shows both")
        self.log_box.setChecked(True)
        self.raw_box = QCheckBox("Per-batch loss")
        self.raw_box.setToolTip("Show the raw loss of every batch behind the smoothed curve")
        self.raw_box.setChecked(True)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_slider.setToolTip("Exponential moving average of the loss, as in TensorBoard (0: none)")
        self.smoothing_label = QLabel()
        self.empty_label = QLabel("No curves yet. Press <b>Train teacher</b> above, or tick a run in the <b>Runs</b> panel.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #666; padding: 4px;")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(12)
        controls.addWidget(self.raw_box)
        controls.addWidget(self.log_box)
        hint = QLabel("Hover for values · right-click a plot to export PNG, SVG or CSV")
        hint.setStyleSheet("color: #666;")
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # a tip, not worth widening the window for
        controls.addWidget(hint, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.loss_plot)
        splitter.addWidget(self.accuracy_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.empty_label)
        layout.addWidget(splitter, 1)

        self._hover = {}
        for key, widget in (("loss", self.loss_plot), ("accuracy", self.accuracy_plot)):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine))
            text = pg.TextItem(color="#111", fill=pg.mkBrush(255, 255, 255, 230), border=pg.mkPen("#999"))
            markers = pg.PlotDataItem(pen=None, symbol="o", symbolSize=8, symbolBrush=None, symbolPen=pg.mkPen("#111", width=1.5))
            item = widget.getPlotItem()
            for graphic in (line, text, markers):
                item.vb.addItem(graphic, ignoreBounds=True)  # not plot curves: kept out of the legend, the CSV and the range
                graphic.hide()
            text.setZValue(100)
            self._hover[key] = (widget, line, text, markers)
            # Rate-limited: hovering must not compete with streaming curves for the GUI thread.
            proxy = pg.SignalProxy(widget.scene().sigMouseMoved, rateLimit=30, slot=lambda ev, k=key: self._hovered(k, ev[0]))
            setattr(self, f"_{key}_proxy", proxy)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self.smoothing_slider.valueChanged.connect(self._smoothing_changed)
        self.log_box.toggled.connect(self._log_changed)
        self.raw_box.toggled.connect(self._raw_changed)
        self._smoothing_changed(self.smoothing_slider.value())
        self._log_changed(True)
        self._update_empty()

    # -- runs ---------------------------------------------------------------------------------------
    def add_run(self, run_id: str, label: str, colour: str, history: RunHistory) -> RunCurves:
        """Register a run's curves (hidden until ``set_shown``); an existing run is replaced."""
        if run_id in self.runs:
            self.remove_run(run_id)
        curves = RunCurves(run_id, label, colour, history, self.smoothing)
        self.runs[run_id] = curves
        self._mark_dirty(run_id)
        return curves

    def remove_run(self, run_id: str) -> None:
        curves = self.runs.pop(run_id, None)
        if curves is not None:
            self.set_shown_curves(curves, False)
        self._dirty.discard(run_id)
        self._update_empty()

    def set_shown(self, run_id: str, shown: bool) -> None:
        if run_id in self.runs:
            self.set_shown_curves(self.runs[run_id], shown)
            self._update_empty()

    def set_shown_curves(self, curves: RunCurves, shown: bool) -> None:
        if curves.shown == shown:
            return
        curves.shown = shown
        pairs = [(self.loss_item, curves.loss_items()), (self.accuracy_item, curves.accuracy_items())]
        for plot, items in pairs:
            for item in items:
                if shown:
                    plot.addItem(item)
                else:
                    plot.removeItem(item)
        if shown:
            # One legend entry per run: the dashed test curve explains itself.
            self.accuracy_item.legend.removeItem(curves.test_acc)
            curves.raw_loss.setVisible(self.raw_box.isChecked())
            curves.raw_loss.setLogMode(False, self.log_box.isChecked())
            curves.smooth_loss.setLogMode(False, self.log_box.isChecked())

    def set_label(self, run_id: str, label: str) -> None:
        curves = self.runs.get(run_id)
        if curves is None or curves.label == label:
            return
        shown = curves.shown
        self.set_shown_curves(curves, False)
        curves.label = label
        for item, name in ((curves.raw_loss, f"{label} per batch"), (curves.smooth_loss, label), (curves.val_acc, label),
                           (curves.test_acc, f"{label} test")):
            item.opts["name"] = name
        self.set_shown_curves(curves, shown)

    def follow_live_run(self, epochs: int | None) -> None:
        """While a run of ``epochs`` trains, fix the epoch axis to its full length (None: auto-range again).

        A growing axis would re-render its ticks and labels at every frame.
        """
        for plot in (self.loss_item, self.accuracy_item):
            if epochs is None:
                plot.enableAutoRange(x=True)
            elif plot.vb.autoRangeEnabled()[0]:
                shown = [c.history.loss_epochs()[-1] for c in self.runs.values() if c.shown and c.history.loss_steps]
                plot.setXRange(0, max([float(epochs), *shown]), padding=0.02)  # also turns x auto-range off

    def state(self) -> dict:
        return {"smoothing": self.smoothing_slider.value(), "log": self.log_box.isChecked(), "raw": self.raw_box.isChecked()}

    def restore(self, state: dict) -> None:
        if isinstance(state.get("smoothing"), int):
            self.smoothing_slider.setValue(state["smoothing"])
        for key, box in (("log", self.log_box), ("raw", self.raw_box)):
            if isinstance(state.get(key), bool):
                box.setChecked(state[key])

    def shown_run_ids(self) -> set[str]:
        return {run_id for run_id, curves in self.runs.items() if curves.shown}

    # -- streaming ----------------------------------------------------------------------------------
    def append_losses(self, run_id: str, pairs: list[tuple[int, float]], batches_per_epoch: int) -> None:
        curves = self.runs.get(run_id)
        if curves is None:
            return
        curves.history.batches_per_epoch = float(batches_per_epoch)
        curves.add_losses(pairs)
        self._mark_dirty(run_id)

    def append_evaluation(self, run_id: str, event: Evaluation) -> None:
        curves = self.runs.get(run_id)
        if curves is None:
            return
        curves.history.add_evaluation({"type": "eval", **asdict(event)})
        self._mark_dirty(run_id)

    def _mark_dirty(self, run_id: str) -> None:
        self._dirty.add(run_id)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Push buffered points to the plot items (runs by the timer; tests may call it directly)."""
        dirty, self._dirty = self._dirty, set()
        for run_id in dirty:
            if run_id in self.runs:
                self.runs[run_id].redraw()

    def point_counts(self, run_id: str) -> tuple[int, int]:
        """(loss points, evaluation points) drawn for a run."""
        curves = self.runs[run_id]
        x_loss, x_acc = curves.smooth_loss.xData, curves.val_acc.xData
        return (0 if x_loss is None else len(x_loss)), (0 if x_acc is None else len(x_acc))

    # -- options ------------------------------------------------------------------------------------
    def _smoothing_changed(self, value: int) -> None:
        self.smoothing = value / 100
        self.smoothing_label.setText(f"{self.smoothing:.2f}")
        for run_id, curves in self.runs.items():
            curves.set_smoothing(self.smoothing)
            self._mark_dirty(run_id)

    def _log_changed(self, log: bool) -> None:
        self.loss_item.setLogMode(x=False, y=log)
        self._hover["loss"][3].setLogMode(False, log)

    def _raw_changed(self, shown: bool) -> None:
        for curves in self.runs.values():
            curves.raw_loss.setVisible(shown and curves.shown)

    def _update_empty(self) -> None:
        self.empty_label.setVisible(not self.shown_run_ids())

    # -- hover --------------------------------------------------------------------------------------
    def _hovered(self, key: str, scene_pos: QPointF) -> None:
        widget, line, text, markers = self._hover[key]
        plot = widget.getPlotItem()
        shown = [c for c in self.runs.values() if c.shown]
        if not shown or not plot.vb.sceneBoundingRect().contains(scene_pos):
            for graphic in (line, text, markers):
                graphic.hide()
            return
        x = plot.vb.mapSceneToView(scene_pos).x()
        lines, xs, ys = [], [], []
        for curves in shown:
            if key == "loss":
                epochs = np.asarray(curves.history.loss_steps, dtype=float) / curves.history.batches_per_epoch
                i = _nearest(epochs, x)
                if i is None:
                    continue
                raw, smoothed = curves.history.losses[i], curves.smoothed[i]
                lines.append(f"<span style='color:{curves.colour}'>■</span> {curves.label}: {smoothed:.4g} "
                             f"(batch {raw:.4g}, epoch {epochs[i]:.2f})")
                xs.append(epochs[i])
                ys.append(smoothed)
            else:
                epochs = np.asarray([e["epoch"] for e in curves.history.evaluations], dtype=float)
                i = _nearest(epochs, x)
                if i is None:
                    continue
                e = curves.history.evaluations[i]
                lines.append(f"<span style='color:{curves.colour}'>■</span> {curves.label}: val {e['val_acc']:.2%}, "
                             f"test {e['test_acc']:.2%} (epoch {e['epoch']:.2f})")
                xs += [epochs[i], epochs[i]]
                ys += [100 * e["val_acc"], 100 * e["test_acc"]]
        if not lines:
            return
        line.setPos(x)
        markers.setData(xs, ys)
        text.setHtml("<br>".join(lines))
        view_point = plot.vb.mapSceneToView(scene_pos)
        (x0, x1), (y0, y1) = plot.vb.viewRange()
        # Keep the box inside the plot: open it away from the nearer edges.
        text.setAnchor((1 if view_point.x() > (x0 + x1) / 2 else 0, 0 if view_point.y() > (y0 + y1) / 2 else 1))
        text.setPos(view_point)
        for graphic in (line, text, markers):
            graphic.show()

    # -- export -------------------------------------------------------------------------------------
    def _add_export_actions(self, plot: pg.PlotItem) -> None:
        menu = plot.vb.menu
        menu.addSeparator()
        for suffix, description in FORMATS.items():
            menu.addAction(f"Export {suffix[1:].upper()}…", lambda p=plot, s=suffix, d=description: self._ask_export(p, s, d))

    def _ask_export(self, plot: pg.PlotItem, suffix: str, description: str) -> None:
        name = "loss" if plot is self.loss_item else "accuracy"
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {name} plot", str(Path.home() / f"kdgui-{name}{suffix}"), description)
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            export_plot(plot, path)
            self.exported.emit(path)


def _nearest(xs: np.ndarray, x: float) -> int | None:
    if len(xs) == 0 or not math.isfinite(x):
        return None
    i = int(np.searchsorted(xs, x))
    if i >= len(xs):
        return len(xs) - 1
    if i > 0 and x - xs[i - 1] < xs[i] - x:
        return i - 1
    return i
