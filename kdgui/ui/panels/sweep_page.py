"""The Experiments tab's Sweep page: its form, the live accuracy-vs-T plot (a heatmap for an alpha x T grid), the table.

Pages only build, check and show: running the job is the ExperimentsPanel's work.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QFormLayout, QHeaderView, QLabel, QLineEdit, QSplitter, QStackedWidget, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from ...core.config import LOSS_TITLES, SEED_DISTILL_TRAIN, DistillConfig, NetSpec
from ...core.errors import ConfigError
from ...core.sweep import (
    DEFAULT_TEMPERATURES, Reference, SweepCancelled, SweepConfig, SweepEvaluation, SweepFinished, SweepStarted,
    TemperaturePoint, grid_of, grid_verdict, is_grid, saved_results,
)
from ...core.verdicts import sweep_verdict
from ..style import plot_colours, theme_plot
from ..widgets.number_field import NumberField
from .experiment_page import (
    TEST_COLOUR, VAL_COLOUR, ExperimentPage, check_fields, loss_combo, restore_choice, restore_number, restore_text,
    training_images_field,
)

# The seed's 14 epochs: nine students over all of MNIST take 15 s with 2 threads, 25 s with 1, on an idle 2-core CPU.
DEFAULT_SWEEP_EPOCHS = SEED_DISTILL_TRAIN.epochs
REF_COLOURS = {"teacher": "#2ca02c", "student": "#7f7f7f"}


def parse_temperatures(text: str) -> tuple[float, ...]:
    """'1, 2, 7.5' -> (1.0, 2.0, 7.5); the reason for a refusal is a ConfigError (range checks are the core's)."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not parts:
        raise ConfigError("give at least one temperature, e.g. 1, 2, 4, 10, 20")
    values = []
    for p in parts:
        try:
            value = float(p)
        except ValueError:
            raise ConfigError(f"{p.strip()!r} is not a number: give temperatures separated by commas") from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"temperatures must be positive numbers, got {p.strip()}")
        values.append(value)
    return tuple(values)


def parse_alphas(text: str) -> tuple[float, ...]:
    """'0.1, 0.5, 1' -> (0.1, 0.5, 1.0); '' -> () (no grid); a refusal is a ConfigError (range checks are the core's)."""
    values = []
    for p in (p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()):
        try:
            values.append(float(p))
        except ValueError:
            raise ConfigError(f"{p.strip()!r} is not a number: give alphas from 0 to 1 separated by commas") from None
    return tuple(values)


def check_alphas(text: str) -> tuple[float, ...]:
    """``parse_alphas`` and the core's range check of each (a ConfigError says why not)."""
    alphas = parse_alphas(text)
    for a in alphas:
        DistillConfig(alpha=a)
    return alphas


def check_temperatures(text: str) -> tuple[float, ...]:
    """``parse_temperatures`` and the core's range check of each (a ConfigError says why not)."""
    temperatures = parse_temperatures(text)
    for t in temperatures:
        DistillConfig(temperature=t)
    return temperatures


def reference_text(ref: Reference) -> str:
    """'student from labels (…): test 97.18% (not like for like)': a reference line's label.

    What differs is too long for a label inside the plot: the sweep's verdict above the plot says it.
    """
    return f"{ref.label}: test {ref.test_acc:.2%}" + (" (not like for like)" if ref.note else "")


def as_percent(values: np.ndarray) -> np.ndarray:
    """Accuracies (fractions) in %, as every chart shows them."""
    return 100 * np.asarray(values, dtype=float)


def _ticks() -> list[list[tuple[float, str]]]:
    return [[(math.log10(t), f"{t:g}") for t in (1, 2, 3, 5, 7.5, 10, 15, 20)]]


class SweepPage(ExperimentPage):
    """Temperatures, epochs, seeds, loss, alpha and training images; the plot and table fill in as the sweep runs."""

    kind = "sweep"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.references: dict[str, Reference] = {}
        self.last_points: tuple[TemperaturePoint, ...] = ()
        form = QFormLayout()
        self.temperatures_edit = QLineEdit(", ".join(f"{t:g}" for t in DEFAULT_TEMPERATURES))
        self.temperatures_edit.setToolTip("Temperatures separated by commas, each greater than 0; one student per temperature and seed")
        self.sweep_epochs = NumberField("epochs", integer=True, low=1, high=1000, value=DEFAULT_SWEEP_EPOCHS)
        self.sweep_seeds = NumberField("seeds", integer=True, low=1, high=100, value=1,
                                       hint="students per temperature; the plot shows their mean and spread")
        self.sweep_loss = loss_combo()
        self.sweep_alpha = NumberField("alpha", integer=False, low=0, high=1, value=1.0,
                                       hint="Weight of the soft targets; 1 − alpha goes to the labels")
        self.alphas_edit = QLineEdit()
        self.alphas_edit.setPlaceholderText("e.g. 0.1, 0.5, 0.9, 1")
        self.alphas_edit.setToolTip("A grid: every one of these alphas (0 to 1, separated by commas) with every temperature, "
                                    "shown as a heatmap. Empty: the one alpha above")
        self.sweep_limit = training_images_field()
        form.addRow("Temperatures", self.temperatures_edit)
        form.addRow("Epochs", self.sweep_epochs)
        form.addRow("Seeds", self.sweep_seeds)
        form.addRow("Loss", self.sweep_loss)
        form.addRow("Alpha", self.sweep_alpha)
        form.addRow("Grid alphas", self.alphas_edit)
        form.addRow("Training images", self.sweep_limit)
        self._watch(self.temperatures_edit, self.sweep_epochs, self.sweep_seeds, self.sweep_loss, self.sweep_alpha,
                    self.alphas_edit, self.sweep_limit)
        # A grid's alphas replace the one alpha.
        self.alphas_edit.textChanged.connect(lambda text: self.sweep_alpha.setEnabled(not text.strip()))

        # What the sweep found, in words, above the plot; empty until it finishes.
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setStyleSheet("font-size: 11pt; padding: 4px;")
        self.verdict.hide()
        # The curve for a sweep over temperatures, the heatmap for a grid: both built once, one shown at a time.
        self.result_views = QStackedWidget()
        self.result_views.addWidget(self._build_plot())
        self.result_views.addWidget(self._build_heatmap())
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.result_views)
        plots.addWidget(self._build_table())
        plots.setSizes([420, 180])
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.verdict)
        box.addWidget(plots, 1)
        self._lay_out(form, "Run sweep", right)

    def _build_plot(self) -> pg.PlotWidget:
        # Created once, refilled with setData as evaluations arrive. x is log10(T) with T-valued ticks,
        # because pyqtgraph's ErrorBarItem does not follow a log-mode axis.
        self.sweep_plot = pg.PlotWidget()
        theme_plot(self.sweep_plot)  # the palette's base and text colours, light or dark
        plot = self.sweep_plot.getPlotItem()
        plot.setTitle("Accuracy against temperature", color=plot_colours()[1])
        plot.setLabel("bottom", "temperature T (log scale)")
        plot.setLabel("left", "accuracy (%)")
        plot.getAxis("bottom").setTicks(_ticks())
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(0, math.log10(20), padding=0.05)
        plot.setYRange(80, 100)  # until the first points arrive; then the axis follows the data
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.addLegend(offset=(-10, 10), labelTextColor=plot_colours()[1])  # top right: the reference labels sit at the left
        self.val_curve = plot.plot([], [], pen=pg.mkPen(VAL_COLOUR, width=2), symbol="o", symbolSize=7, symbolBrush=VAL_COLOUR,
                                   symbolPen=None, name="validation (mean over seeds)")
        self.test_curve = plot.plot([], [], pen=pg.mkPen(TEST_COLOUR, width=2), symbol="s", symbolSize=7, symbolBrush=TEST_COLOUR,
                                    symbolPen=None, name="test (mean over seeds)")
        self.val_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), beam=0.02, pen=pg.mkPen(VAL_COLOUR))
        self.test_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), beam=0.02, pen=pg.mkPen(TEST_COLOUR))
        plot.addItem(self.val_bars)
        plot.addItem(self.test_bars)
        self.reference_lines: dict[str, pg.InfiniteLine] = {}
        for key, colour in REF_COLOURS.items():
            # The teacher's label hangs below its line, which sits near the top of the view.
            line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                                   label="", labelOpts={"position": 0.02 if key == "teacher" else 0.5, "color": colour,
                                                        "anchors": [(0, 0), (0, 0)] if key == "teacher" else [(0, 1), (0, 1)]})
            line.hide()
            plot.addItem(line, ignoreBounds=False)
            self.reference_lines[key] = line
        self.add_export_menu(plot, "sweep")
        return self.sweep_plot

    def _build_heatmap(self) -> QWidget:
        # A table coloured by validation accuracy: alphas down, temperatures across, test accuracy in each tooltip.
        self.heatmap = QTableWidget(0, 0)
        self.heatmap.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.heatmap.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for header in (self.heatmap.horizontalHeader(), self.heatmap.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.heatmap.setToolTip("Validation accuracy of each (alpha, T): hover over a cell for its test accuracy")
        self._colours = pg.colormap.get("viridis")
        title = QLabel("Validation accuracy: alpha down, temperature T across (hover over a cell for test accuracy)")
        title.setWordWrap(True)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.heatmap, 1)
        return box

    def _build_table(self) -> QTableWidget:
        self.sweep_table = QTableWidget(0, 5)
        self.sweep_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sweep_table.verticalHeader().hide()
        header = self.sweep_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # headers and numbers are never cut off
        header.setStretchLastSection(True)
        self._table_columns(grid=False)
        return self.sweep_table

    def _table_columns(self, grid: bool) -> None:
        """The table's columns: a grid's rows name their alpha too."""
        columns = [("T", "temperature"), ("seeds", "students per temperature"),
                   ("validation", "validation accuracy (mean over seeds)"), ("test", "test accuracy (mean over seeds)"),
                   ("test range", "lowest and highest test accuracy over the seeds")]
        if grid:
            columns.insert(0, ("α", "alpha: the weight of the soft targets, 1 − alpha goes to the labels"))
        self.sweep_table.setColumnCount(len(columns))
        self.sweep_table.setHorizontalHeaderLabels([name for name, _ in columns])
        for col, (_, tip) in enumerate(columns):
            self.sweep_table.horizontalHeaderItem(col).setToolTip(tip)

    def state(self) -> dict[str, Any]:
        """The form as typed: the temperatures' text, the numbers' texts ('all' stays 'all') and the loss's name."""
        return {"temperatures": self.temperatures_edit.text(), "epochs": self.sweep_epochs.text(),
                "seeds": self.sweep_seeds.text(), "loss": self.sweep_loss.currentData(), "alpha": self.sweep_alpha.text(),
                "alphas": self.alphas_edit.text(), "training_images": self.sweep_limit.text()}

    def restore(self, state: dict[str, Any]) -> None:
        """Put back what ``state`` gave; a value the form would refuse keeps the default."""
        restore_text(self.temperatures_edit, state.get("temperatures"), check_temperatures)
        restore_text(self.alphas_edit, state.get("alphas"), check_alphas)
        for key, field in (("epochs", self.sweep_epochs), ("seeds", self.sweep_seeds), ("alpha", self.sweep_alpha),
                           ("training_images", self.sweep_limit)):
            restore_number(field, state.get(key))
        restore_choice(self.sweep_loss, state.get("loss"))

    def sweep_config(self, teacher_run: str, student: Callable[[], NetSpec]) -> SweepConfig:
        """The sweep Run would start, checked by the core (a ConfigError says why not).

        ``student`` is asked last, so this page's own problems are named first.
        """
        temperatures = parse_temperatures(self.temperatures_edit.text())
        alphas = parse_alphas(self.alphas_edit.text())
        check_fields((self.sweep_epochs, self.sweep_seeds, self.sweep_limit) + (() if alphas else (self.sweep_alpha,)))
        return SweepConfig(
            teacher_run=teacher_run, temperatures=temperatures, seeds=int(self.sweep_seeds.value()),
            epochs=int(self.sweep_epochs.value()), loss=self.sweep_loss.currentData(),
            alpha=1.0 if alphas else float(self.sweep_alpha.value()), alphas=alphas,
            train_limit=int(self.sweep_limit.value()) or None, student=student(),
        )

    def clear(self) -> None:
        self.last_points = ()
        self.references = {}
        for item in (self.val_curve, self.test_curve):
            item.setData([], [])
        for bars in (self.val_bars, self.test_bars):
            bars.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
        for line in self.reference_lines.values():
            line.hide()
        self.heatmap.setRowCount(0)
        self.heatmap.setColumnCount(0)
        self.sweep_table.setRowCount(0)
        self.verdict.clear()
        self.verdict.hide()

    def show_points(self, points: tuple[TemperaturePoint, ...]) -> None:
        """Mean lines and min-max bars per temperature (a heatmap for a grid), plus the table; sorted by T, so the lines
        read left to right."""
        if is_grid(points):
            self.show_grid(points)
            return
        self.result_views.setCurrentIndex(0)
        self._table_columns(grid=False)
        points = tuple(sorted(points, key=lambda p: p.temperature))
        self.last_points = points
        x = np.log10([p.temperature for p in points])
        for curve, bars, key in ((self.val_curve, self.val_bars, "val"), (self.test_curve, self.test_bars, "test")):
            mean = np.array([getattr(p, f"{key}_mean") for p in points])
            low = np.array([getattr(p, f"{key}_min") for p in points])
            high = np.array([getattr(p, f"{key}_max") for p in points])
            mean, low, high = as_percent(mean), as_percent(low), as_percent(high)
            curve.setData(x, mean)
            bars.setData(x=x, y=mean, top=high - mean, bottom=mean - low)
        self.sweep_plot.getPlotItem().enableAutoRange(axis="y")
        self.sweep_table.setRowCount(len(points))
        several = any(p.n > 1 for p in points)
        for row, p in enumerate(points):
            val = f"{p.val_mean:.2%}" + (f" ± {p.val_std:.2%}" if several else "")
            test = f"{p.test_mean:.2%}" + (f" ± {p.test_std:.2%}" if several else "")
            cells = [f"{p.temperature:g}", str(p.n), val, test, f"{p.test_min:.2%} – {p.test_max:.2%}"]
            for col, text in enumerate(cells):
                self.sweep_table.setItem(row, col, QTableWidgetItem(text))

    def show_grid(self, points: tuple[TemperaturePoint, ...]) -> None:
        """The heatmap (cells updated in place: the table is only resized when the grid's shape changes) and the table."""
        points = tuple(sorted(points, key=lambda p: (p.alpha, p.temperature)))
        self.last_points = points
        self.result_views.setCurrentIndex(1)
        grid = grid_of(points)
        table = self.heatmap
        if (table.rowCount(), table.columnCount()) != (len(grid.alphas), len(grid.temperatures)):
            table.setRowCount(len(grid.alphas))
            table.setColumnCount(len(grid.temperatures))
        table.setVerticalHeaderLabels([f"α={a:g}" for a in grid.alphas])
        table.setHorizontalHeaderLabels([f"T={t:g}" for t in grid.temperatures])
        values = [v for row in grid.val for v in row if not math.isnan(v)]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        seeds = f", mean of {grid.seeds} seeds" if grid.seeds > 1 else ""
        for i, a in enumerate(grid.alphas):
            for j, t in enumerate(grid.temperatures):
                val, test = grid.val[i][j], grid.test[i][j]
                item = table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    table.setItem(i, j, item)
                if math.isnan(val):
                    item.setText("")
                    item.setToolTip(f"α={a:g}, T={t:g}: not measured")
                    item.setBackground(QBrush())
                    continue
                share = (val - low) / (high - low) if high > low else 1.0
                colour = self._colours.map(share, mode="qcolor")
                item.setText(f"{val:.2%}")
                item.setToolTip(f"α={a:g}, T={t:g}: validation {val:.2%}, test {test:.2%}{seeds}")
                item.setData(Qt.ItemDataRole.UserRole, (val, test))
                item.setBackground(QBrush(colour))
                # Black on the light end of viridis, white on the dark: by perceived brightness, not HSL lightness.
                bright = 0.299 * colour.redF() + 0.587 * colour.greenF() + 0.114 * colour.blueF()
                item.setForeground(QBrush(QColor("black" if bright > 0.5 else "white")))
        self._table_columns(grid=True)
        self.sweep_table.setRowCount(len(points))
        several = any(p.n > 1 for p in points)
        for row, p in enumerate(points):
            val = f"{p.val_mean:.2%}" + (f" ± {p.val_std:.2%}" if several else "")
            test = f"{p.test_mean:.2%}" + (f" ± {p.test_std:.2%}" if several else "")
            cells = [f"{p.alpha:g}", f"{p.temperature:g}", str(p.n), val, test, f"{p.test_min:.2%} – {p.test_max:.2%}"]
            for col, text in enumerate(cells):
                self.sweep_table.setItem(row, col, QTableWidgetItem(text))

    def show_references(self, references: tuple[Reference, ...]) -> None:
        """The teacher's and the student-from-labels lines, each labelled with its test accuracy (and note, if any)."""
        for ref in references:
            key = "teacher" if ref.label == "teacher" else "student"
            line = self.reference_lines[key]
            line.show()  # before setFormat: a hidden line's label does not update its text
            line.setValue(100 * ref.test_acc)
            line.label.setFormat(reference_text(ref))
            self.references[key] = ref

    def show_verdict(self, points: tuple[TemperaturePoint, ...]) -> None:
        """Which T was best on validation, by how much, and against the student from labels, above the plot."""
        if is_grid(points):  # the heatmap has no reference lines: the verdict names them
            refs = "; ".join(reference_text(r) for r in self.references.values())
            text = grid_verdict(grid_of(points)) + (f" For reference: {refs}." if refs else "")
        else:
            text = sweep_verdict(points, tuple(self.references.values()))
        self.verdict.setText(text)
        self.verdict.setVisible(bool(text))

    def show_saved(self, record: dict[str, Any]) -> bool:
        """Show a saved sweep's results (the newest, when the tab opens); False when the record holds none."""
        points, references = saved_results(record)
        if not points:
            return False
        self.clear()
        self.show_references(references)
        self.show_points(points)
        self.show_verdict(points)
        config = record.get("config") if isinstance(record.get("config"), dict) else {}
        about = f"{len(record.get('students') or ())} students, {LOSS_TITLES.get(config.get('loss'), '?')}, " \
                f"{config.get('epochs', '?')} epochs"
        self.status.setText(f"The last sweep, {record.get('id', '')} ({about}): press Run sweep for a new one")
        return True

    def show_event(self, event: Any) -> None:
        """One event of the running sweep (Progress comes through ``show_progress``)."""
        if isinstance(event, SweepStarted):
            self.show_references(event.references)
            self.status.setText(f"Sweep {event.sweep_id}: {len(event.temperatures)} students on {event.device}")
        elif isinstance(event, SweepEvaluation):
            if event.epoch_end or not self.last_points:
                self.show_points(event.by_temperature())
        elif isinstance(event, SweepFinished):
            self.show_points(event.points)
            self.show_verdict(event.points)
            self.status.setText(f"Sweep finished in {event.seconds:.1f} s. Saved to {event.path}")
        elif isinstance(event, SweepCancelled):
            self.status.setText(f"Sweep stopped after {event.step} steps; the results so far are saved to {event.path}")
