"""Live learning curves: loss per batch (smoothed), one chart per kind of loss, and validation/test accuracy.

Runs are overlaid, one colour each. Losses of different kinds (cross-entropy on labels, soft-target MSE at T,
Hinton's loss) have different sizes, so each kind gets its own chart and its title says which loss it is:
two kinds never share an axis. Accuracy, which every run shares, is compared on the one chart below; beside it,
while a distilled run is shown, its fidelity to the teacher on the test set: top-1 agreement (left axis) and KL
divergence (right axis).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QGraphicsItem, QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget,
)

from ...core.config import Job
from ...core.errors import KdguiError
from ...core.events import Evaluation
from ...core.history import EmaSmoother, RunHistory
from ...core.verdicts import CROSS_ENTROPY, LOSS_KIND_TITLES, LOSS_KINDS, loss_kind, loss_settings
from ..style import plot_colours, text_style, theme_plot
from ..widgets.elided_label import ElidedLabel
from ..widgets.plot_export import FORMATS, export_plot

FLUSH_INTERVAL_MS = 100  # curves redraw at most 10 times a second, however fast batches arrive
DEFAULT_SMOOTHING = 0.6
LOSS_AXIS_LABELS = {CROSS_ENTROPY: "cross-entropy", "soft_mse": "MSE", "hinton": "Hinton loss"}  # the title says more
LOSS_FILE_NAMES = {CROSS_ENTROPY: "cross-entropy", "soft_mse": "soft-mse", "hinton": "hinton"}
FIDELITY = ("agreement", "kl")  # the fidelity chart's two curves per run: agreement on the left axis, KL on the right
# Short: the title sits between two axes, and together they must fit half the row (the axis labels say which is which).
FIDELITY_TITLE = "Fidelity to teacher"
FIDELITY_TIP = ("Distilled runs, at each evaluation on the test set: solid, the digits on which the student's top-1 class "
                "is the teacher's (left axis); dashed, the mean KL(teacher ‖ student) at T = 1 in nats (right axis)")


def log_tick_label(value: float) -> str:
    """A tick label for 10**``value``: '1', '0.02', '5e-5'."""
    x = 10.0 ** value
    if 1e-3 <= x < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def log_ticks(low: float, high: float) -> tuple[list[float], list[float]] | None:
    """(labelled, unlabelled) tick positions for a log10 axis showing ``low``..``high`` (log10 units).

    Powers of ten are labelled; 2 and 5 too when fewer than two powers of ten are in view, and every
    integer multiple when the view spans less than a decade. The other multiples get short ticks and no
    label, so labels never pile up. None when even that leaves fewer than two labels (a tiny range).
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high - low > 60:
        return None
    lo, hi = math.floor(low), math.ceil(high)
    inside = lambda v: low <= v <= high  # noqa: E731
    decades = [float(v) for v in range(lo, hi + 1) if inside(v)]
    multiples = {m: [v + math.log10(m) for v in range(lo, hi) if inside(v + math.log10(m))] for m in range(2, 10)}
    labelled = list(decades)
    for wanted in ((2, 5), tuple(range(2, 10))):
        if len(labelled) >= 2:
            break
        labelled = decades + [v for m in wanted for v in multiples[m]]
    if len(labelled) < 2:
        return None
    chosen = set(labelled)
    unlabelled = [v for values in multiples.values() for v in values if v not in chosen]
    return sorted(labelled), sorted(unlabelled)


class LogLossAxis(pg.AxisItem):
    """A loss axis whose log mode labels powers of ten (see ``log_ticks``); linear mode is pyqtgraph's own."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._labelled: set[float] | None = None

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, ANN001, ANN201 - pyqtgraph's names
        ticks = log_ticks(minVal, maxVal)
        if ticks is None:
            self._labelled = None
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        labelled, unlabelled = ticks
        self._labelled = {round(v, 9) for v in labelled}
        return [(None, labelled), (None, unlabelled)]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802, ANN001, ANN201
        if self._labelled is None:
            return super().logTickStrings(values, scale, spacing)
        return [log_tick_label(v) if round(v, 9) in self._labelled else None for v in values]


class SideBySideViewBox(pg.ViewBox):
    """A view box whose linked axis copies the other view's range.

    pyqtgraph lines linked views up on screen, which suits charts stacked one above the other; the loss
    charts sit side by side above the accuracy chart, so each must show the same epochs, not the same pixels.
    ``x_extent`` (epochs) joins this view's own items when it auto-ranges: the accuracy chart, which the loss
    charts follow, also spans the loss curves that start before its first evaluation.
    """

    x_extent: tuple[float, float] | None = None

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: N802, ANN001, ANN201
        bounds = super().childrenBounds(frac, orthoRange, items)
        if self.x_extent is not None and items is None:
            low, high = self.x_extent
            bounds[0] = [low, high] if bounds[0] is None else [min(bounds[0][0], low), max(bounds[0][1], high)]
        return bounds

    def linkedViewChanged(self, view, axis):  # noqa: N802, ANN001, ANN201 - pyqtgraph's names
        if self.linksBlocked or view is None or axis != pg.ViewBox.XAxis:
            return super().linkedViewChanged(view, axis)
        view.blockLink(True)
        try:
            x1, x2 = view.viewRange()[0]
            self.enableAutoRange(pg.ViewBox.XAxis, False)
            self.setXRange(x1, x2, padding=0)
        finally:
            view.blockLink(False)


class RunCurves:
    """The plot items of one run (loss, accuracy and, for a distillation, fidelity), created once and refilled with
    setData when its history grows."""

    def __init__(self, run_id: str, label: str, colour: str, history: RunHistory, smoothing: float, job: Job) -> None:
        self.run_id = run_id
        self.label = label
        self.colour = colour
        self.history = history
        self.loss = loss_kind(job)  # which loss chart its loss curves belong on
        self.loss_settings = loss_settings(job)  # what sets that loss's scale: 'T=4', 'T=20, α=0.5' or ''
        self.distilled = job.kind == "distilled"  # only a distillation has a teacher to be faithful to
        self.shown = False
        faint = QColor(colour)
        faint.setAlpha(60)
        self.raw_loss = pg.PlotDataItem(name=f"{label} per batch", pen=pg.mkPen(faint, width=1))
        self.smooth_loss = pg.PlotDataItem(name=label, pen=pg.mkPen(colour, width=2))
        self.val_acc = pg.PlotDataItem(name=label, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                       symbolBrush=colour, symbolPen=None)
        self.test_acc = pg.PlotDataItem(name=f"{label} test", pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
        self.fidelity = {
            "agreement": pg.PlotDataItem(name=label, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                         symbolBrush=colour, symbolPen=None),
            "kl": pg.PlotDataItem(name=f"{label} KL", pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)),
        }
        # The per-batch curves are long: draw only what is in view, downsampled. The fidelity curves have one point per
        # evaluation and live partly in a second view box (KL), where clipping to the view would look for the view
        # while the item is being added and fail, so they are drawn whole.
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
            if self.distilled:
                for key, column, scale in (("agreement", "agreement", 100.0), ("kl", "teacher_kl", 1.0)):
                    values = np.asarray(self.history.eval_column(column), dtype=float) * scale
                    known = np.isfinite(values)  # runs from before fidelity was recorded have none
                    self.fidelity[key].setData(epochs[known], values[known])
        self._drawn = (len(self.history.loss_steps), len(self.history.evaluations))


class CurvesPanel(QWidget):
    """Loss charts (one per kind of loss) and the accuracy chart, created once; runs are added, shown, hidden and
    streamed into without rebuilding anything. A loss chart shows only while one of its runs is shown."""

    exported = Signal(str)
    exportFailed = Signal(str)  # why a plot could not be exported, in one line

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, RunCurves] = {}
        self._dirty: set[str] = set()
        self.smoothing = DEFAULT_SMOOTHING

        self.loss_plots: dict[str, pg.PlotWidget] = {
            kind: pg.PlotWidget(viewBox=SideBySideViewBox(), axisItems={"left": LogLossAxis("left")}) for kind in LOSS_KINDS
        }
        self.loss_items: dict[str, pg.PlotItem] = {kind: widget.getPlotItem() for kind, widget in self.loss_plots.items()}
        self.accuracy_plot = pg.PlotWidget(viewBox=SideBySideViewBox())
        self.accuracy_item: pg.PlotItem = self.accuracy_plot.getPlotItem()
        # One fidelity chart, two scales: agreement (%) in the plot's own view, KL (nats, log like the losses) in a
        # second view drawn over it with the right axis. Two charts would not fit beside accuracy at 1024 px.
        self.fidelity_plot = pg.PlotWidget(viewBox=SideBySideViewBox(), axisItems={"right": LogLossAxis("right")})
        self.fidelity_item: pg.PlotItem = self.fidelity_plot.getPlotItem()
        self.kl_view = pg.ViewBox()
        self.kl_view.setParentItem(self.fidelity_item)  # a child, so exported images include it
        self.fidelity_item.showAxis("right")
        self.fidelity_item.getAxis("right").linkToView(self.kl_view)
        self.fidelity_item.getAxis("right").setLabel("KL, dashed")
        self.kl_view.setXLink(self.fidelity_item.vb)
        self.fidelity_item.vb.sigResized.connect(self._place_kl_view)
        charts = [(widget, LOSS_KIND_TITLES[kind], LOSS_AXIS_LABELS[kind]) for kind, widget in self.loss_plots.items()]
        # Titles short enough for half the row at 1024 px: a title wider than its chart pushes the plot out of view.
        charts.append((self.accuracy_plot, "Accuracy (solid: val., dashed: test)", "accuracy (%)"))
        charts.append((self.fidelity_plot, FIDELITY_TITLE, "agreement (%), solid"))
        background, foreground = plot_colours()  # the palette's base and text: light or dark like the desktop
        for widget, title, y_label in charts:
            theme_plot(widget)
            item = widget.getPlotItem()
            item.setTitle(title, size="10pt", color=foreground)
            item.setLabel("bottom", "epoch")
            item.setLabel("left", y_label)
            item.showGrid(x=True, y=True, alpha=0.2)
            item.setMenuEnabled(True)
            item.getAxis("left").enableAutoSIPrefix(False)  # '0.001', never 'MSE (x0.001)'
            for axis in ("left", "bottom"):
                # The grid makes each axis span the whole plot, so every new point would re-render its ticks and
                # labels (~5 ms each on a CPU); cached, an axis is redrawn only when its range changes.
                item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self._add_export_actions(item)
        # One legend for all the charts (same colours; the runs list names them too): accuracies rise to the top
        # and leave the bottom right free, while on a loss chart every corner holds some run's curve.
        self.accuracy_item.addLegend(offset=(-10, -10), labelTextColor=foreground, brush=pg.mkBrush(translucent(background, 200)))
        # Sensible empty axes until the first points arrive; auto-range stays on.
        self.accuracy_item.setRange(xRange=(0, 1), yRange=(0, 100), disableAutoRange=False)
        for item in self.loss_items.values():
            item.setXLink(self.accuracy_item)
            item.setRange(yRange=(-2, 1), disableAutoRange=False)
        self.fidelity_item.setXLink(self.accuracy_item)
        self.fidelity_item.setRange(yRange=(0, 100), disableAutoRange=False)
        self.kl_view.setRange(yRange=(-2, 1), disableAutoRange=False)
        self.fidelity_item.getAxis("right").enableAutoSIPrefix(False)
        self.log_box = QCheckBox("Log-scale loss")
        self.log_box.setToolTip("A log scale shows a loss's fall over several powers of ten")
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
        self.empty_label.setStyleSheet(text_style("muted", "padding: 4px;"))
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(12)
        controls.addWidget(self.raw_box)
        controls.addWidget(self.log_box)
        # A tip, not worth widening the window for: it ends in '…' when the row is short (the tooltip has it all).
        self.hint = ElidedLabel("Hover for values · right-click a plot to export PNG, SVG or CSV", minimum_chars=3)
        self.hint.setStyleSheet(text_style("muted"))
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        controls.addWidget(self.hint, 1)
        self.loss_caption = QLabel()
        self.loss_caption.setWordWrap(True)
        self.loss_caption.setStyleSheet(text_style("muted"))
        losses = QWidget()
        loss_layout = QVBoxLayout(losses)
        loss_layout.setContentsMargins(0, 0, 0, 0)
        loss_layout.setSpacing(2)
        loss_layout.addWidget(self.loss_caption)
        row = QHBoxLayout()
        row.setSpacing(4)
        for widget in self.loss_plots.values():
            row.addWidget(widget, 1)
        loss_layout.addLayout(row, 1)
        # Fidelity sits beside accuracy rather than below it: a third row of charts would leave each one too short
        # to read in a 1024x700 window, while the bottom row has width to share.
        evaluations = QWidget()
        bottom = QHBoxLayout(evaluations)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(4)
        bottom.addWidget(self.accuracy_plot, 1)
        self.fidelity_plot.setToolTip(FIDELITY_TIP)
        bottom.addWidget(self.fidelity_plot, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(losses)
        splitter.addWidget(evaluations)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.empty_label)
        layout.addWidget(splitter, 1)

        # Hover: one vertical line, value box and markers per chart, keyed "accuracy" or by the loss kind.
        self._hover = {}
        for key, widget in [*self.loss_plots.items(), ("accuracy", self.accuracy_plot), ("fidelity", self.fidelity_plot)]:
            # The palette's text colour, faded for the line and the box's border; the box is the plot's base colour.
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(translucent(foreground, 110), style=Qt.PenStyle.DotLine))
            text = pg.TextItem(color=foreground, fill=pg.mkBrush(translucent(background, 230)),
                               border=pg.mkPen(translucent(foreground, 110)))
            markers = pg.PlotDataItem(pen=None, symbol="o", symbolSize=8, symbolBrush=None, symbolPen=pg.mkPen(foreground, width=1.5))
            item = widget.getPlotItem()
            for graphic in (line, text, markers):
                item.vb.addItem(graphic, ignoreBounds=True)  # not plot curves: kept out of the legend, the CSV and the range
                graphic.hide()
            text.setZValue(100)
            self._hover[key] = (widget, line, text, markers)
        # Rate-limited: hovering must not compete with streaming curves for the GUI thread.
        self._proxies = [
            pg.SignalProxy(widget.scene().sigMouseMoved, rateLimit=30, slot=lambda ev, k=key: self._hovered(k, ev[0]))
            for key, (widget, *_rest) in self._hover.items()
        ]

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
    def add_run(self, run_id: str, label: str, colour: str, history: RunHistory, *, job: Job) -> RunCurves:
        """Register a run's curves (hidden until ``set_shown``); an existing run is replaced.

        ``job`` says which loss the run minimised, so its loss curves go on that loss's chart.
        """
        if run_id in self.runs:
            self.remove_run(run_id)
        curves = RunCurves(run_id, label, colour, history, self.smoothing, job)
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
        pairs = [(self.loss_items[curves.loss], curves.loss_items()), (self.accuracy_item, curves.accuracy_items())]
        if curves.distilled:
            pairs += [(self.fidelity_item, [curves.fidelity["agreement"]]), (self.kl_view, [curves.fidelity["kl"]])]
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
            curves.fidelity["kl"].setLogMode(False, self.log_box.isChecked())
        self._update_loss_charts()
        self._update_x_extent()

    def set_label(self, run_id: str, label: str) -> None:
        curves = self.runs.get(run_id)
        if curves is None or curves.label == label:
            return
        shown = curves.shown
        self.set_shown_curves(curves, False)
        curves.label = label
        for item, name in ((curves.raw_loss, f"{label} per batch"), (curves.smooth_loss, label), (curves.val_acc, label),
                           (curves.test_acc, f"{label} test"), (curves.fidelity["agreement"], label),
                           (curves.fidelity["kl"], f"{label} KL")):
            item.opts["name"] = name
        self.set_shown_curves(curves, shown)

    def follow_live_run(self, epochs: int | None) -> None:
        """While a run of ``epochs`` trains, fix the epoch axis to its full length (None: auto-range again).

        A growing axis would re-render its ticks and labels at every frame. The loss charts follow the
        accuracy chart's epochs, so only its range is set.
        """
        plot = self.accuracy_item
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

    # -- the loss charts ------------------------------------------------------------------------------
    def loss_chart_title(self, kind: str) -> str:
        """The chart's title: the loss, and the temperature (and alpha) that set its scale when its runs share them."""
        title = LOSS_KIND_TITLES[kind]
        shown = [c for c in self.runs.values() if c.shown and c.loss == kind]
        settings = list(dict.fromkeys(c.loss_settings for c in shown if c.loss_settings))
        if len(settings) == 1:
            return f"{title} at {settings[0]}"
        if settings:
            return f"{title} at {' and '.join(settings)}: each T has its own scale"
        return title

    def visible_loss_kinds(self) -> list[str]:
        """The loss charts on screen: those with a shown run (cross-entropy's alone while nothing is shown)."""
        kinds = [kind for kind in LOSS_KINDS if any(c.shown and c.loss == kind for c in self.runs.values())]
        return kinds or [CROSS_ENTROPY]

    def fidelity_shown(self) -> bool:
        """True while a distilled run is shown: only then are the fidelity charts on screen."""
        return any(c.shown and c.distilled for c in self.runs.values())

    def _place_kl_view(self) -> None:
        """Keep the KL view exactly over the fidelity plot's own view, so both share the epoch axis."""
        self.kl_view.setGeometry(self.fidelity_item.vb.geometry())
        self.kl_view.linkedViewChanged(self.fidelity_item.vb, self.kl_view.XAxis)

    def _update_loss_charts(self) -> None:
        self.fidelity_plot.setVisible(self.fidelity_shown())
        visible = self.visible_loss_kinds()
        for kind, widget in self.loss_plots.items():
            widget.setVisible(kind in visible)
            if kind in visible:
                self.loss_items[kind].setTitle(self.loss_chart_title(kind), size="10pt", color=plot_colours()[1])
        scale = ", log scale" if self.log_box.isChecked() else ""
        caption = f"Training loss per batch (faint: each batch, bold: smoothed{scale})."
        if len(visible) > 1:
            caption += (" Each kind of loss has its own chart: their sizes cannot be compared with each other, so "
                        "compare the runs by their accuracy below.")
        self.loss_caption.setText(caption)

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
        curves.history.add_evaluation({"type": "eval", **event.record()})  # its numbers: the weights stay out
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
        self._update_x_extent()

    def _update_x_extent(self) -> None:
        """Let the accuracy chart's auto range (which every loss chart follows) span the shown runs' loss curves."""
        spans = [(c.history.loss_steps[0] / c.history.batches_per_epoch, c.history.loss_steps[-1] / c.history.batches_per_epoch)
                 for c in self.runs.values() if c.shown and c.history.loss_steps]
        extent = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        vb = self.accuracy_item.vb
        if extent != vb.x_extent:
            vb.x_extent = extent
            if vb.autoRangeEnabled()[0]:
                vb.updateAutoRange()

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
        for kind, item in self.loss_items.items():
            item.setLogMode(x=False, y=log)
            self._hover[kind][3].setLogMode(False, log)
        # The KL view is a bare view box: its curves and axis switch scale one by one, then it ranges afresh.
        self.fidelity_item.getAxis("right").setLogMode(False, log)
        for curves in self.runs.values():
            curves.fidelity["kl"].setLogMode(False, log)
        self.kl_view.enableAutoRange(y=True)
        self._update_loss_charts()

    def _raw_changed(self, shown: bool) -> None:
        for curves in self.runs.values():
            curves.raw_loss.setVisible(shown and curves.shown)

    def _update_empty(self) -> None:
        self.empty_label.setVisible(not self.shown_run_ids())
        self._update_loss_charts()

    # -- hover --------------------------------------------------------------------------------------
    def _hovered(self, key: str, scene_pos: QPointF) -> None:
        """Show the values under the mouse on chart ``key`` ("accuracy", "fidelity" or a loss kind)."""
        widget, line, text, markers = self._hover[key]
        plot = widget.getPlotItem()
        if key == "fidelity":
            shown = [c for c in self.runs.values() if c.shown and c.distilled]
        else:
            shown = [c for c in self.runs.values() if c.shown and (key == "accuracy" or c.loss == key)]
        if not shown or not plot.vb.sceneBoundingRect().contains(scene_pos):
            for graphic in (line, text, markers):
                graphic.hide()
            return
        x = plot.vb.mapSceneToView(scene_pos).x()
        lines, xs, ys = [], [], []
        for curves in shown:
            if key == "fidelity":
                rows = [e for e in curves.history.evaluations if e.get("agreement") is not None]
                i = _nearest(np.asarray([e["epoch"] for e in rows], dtype=float), x)
                if i is None:
                    continue
                e = rows[i]
                lines.append(f"<span style='color:{curves.colour}'>■</span> {curves.label}: agreement "
                             f"{e['agreement']:.2%}, KL {e['teacher_kl']:.4g} (epoch {e['epoch']:.2f})")
                xs.append(e["epoch"])
                ys.append(100 * e["agreement"])  # marked on the agreement curve; the box gives both
            elif key != "accuracy":
                epochs = np.asarray(curves.history.loss_steps, dtype=float) / curves.history.batches_per_epoch
                i = _nearest(epochs, x)
                if i is None:
                    continue
                raw, smoothed = curves.history.losses[i], curves.smoothed[i]
                at = f" at {curves.loss_settings}" if curves.loss_settings else ""
                lines.append(f"<span style='color:{curves.colour}'>■</span> {curves.label}: {smoothed:.4g}{at} "
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

    def _plot_name(self, plot: pg.PlotItem) -> str:
        kind = next((k for k, item in self.loss_items.items() if item is plot), None)
        if plot is self.fidelity_item:
            return "fidelity"
        return "accuracy" if kind is None else f"loss-{LOSS_FILE_NAMES[kind]}"

    def _ask_export(self, plot: pg.PlotItem, suffix: str, description: str) -> None:
        name = self._plot_name(plot)
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {name} plot", str(Path.home() / f"kdgui-{name}{suffix}"), description)
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            try:
                export_plot(plot, path)
            except KdguiError as exc:  # a menu action: nothing above it would catch this, the user must see why
                self.exportFailed.emit(str(exc))
                return
            self.exported.emit(path)


def translucent(colour: str, alpha: int) -> QColor:
    """``colour`` ('#rrggbb') with opacity ``alpha`` (0-255)."""
    result = QColor(colour)
    result.setAlpha(alpha)
    return result


def _nearest(xs: np.ndarray, x: float) -> int | None:
    if len(xs) == 0 or not math.isfinite(x):
        return None
    i = int(np.searchsorted(xs, x))
    if i >= len(xs):
        return len(xs) - 1
    if i > 0 and x - xs[i - 1] < xs[i] - x:
        return i - 1
    return i
