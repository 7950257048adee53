"""The Experiments tab: a temperature sweep with a live accuracy-vs-T plot, the transfer-set studies, and a results table."""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QTableView, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from ...core.config import LOSSES, SEED_DISTILL, SEED_DISTILL_TRAIN
from ...core.errors import ConfigError, KdguiError
from ...core.events import Cancelled, Evaluation, Progress, Started
from ...core.experiments import list_experiments
from ...core.studies import DEFAULT_CLASSES, STUDIES, TITLES, StudyCancelled, StudyConfig, StudyFinished, StudyStarted, run_study
from ...core.sweep import (
    DEFAULT_TEMPERATURES, SweepCancelled, SweepConfig, SweepEvaluation, SweepFinished, SweepStarted, TemperaturePoint, run_sweep,
)
from ..widgets.number_field import NumberField
from ..widgets.plot_export import FORMATS, export_plot
from ..widgets.problem_label import ProblemLabel
from ..worker import QtEventWorker, start_in_thread

# The seed's 14 epochs: nine students over all of MNIST take 15 s with 2 threads, 25 s with 1, on an idle 2-core CPU.
DEFAULT_SWEEP_EPOCHS = SEED_DISTILL_TRAIN.epochs
VAL_COLOUR, TEST_COLOUR = "#1f77b4", "#d62728"
REF_COLOURS = {"teacher": "#2ca02c", "student": "#7f7f7f"}
RESULT_COLUMNS = ("kind", "name", "network", "T", "loss", "transfer set", "epochs", "val acc", "test acc", "created", "id")
# Paper-like study defaults. With the seed's soft-MSE loss at T=4 a 784-50-10 student barely learns a digit it never
# sees; Hinton's loss at T=20 passes on far more of the teacher's knowledge about it.
STUDY_DEFAULTS = {
    "leave-out": {"loss": "hinton", "temperature": 20.0},
    "only-classes": {"loss": "hinton", "temperature": 20.0},
    "noise": {"loss": SEED_DISTILL.loss, "temperature": SEED_DISTILL.temperature},
    "jitter": {"loss": SEED_DISTILL.loss, "temperature": SEED_DISTILL.temperature},
}
LOSS_TIP = ("hinton: alpha*T^2*KL(teacher || student) + (1-alpha)*CE; soft_mse: the seed's squared error between softened "
            "outputs. For the leave-out and only-classes studies use hinton at T=20: with soft_mse at T=4 a 784-50-10 "
            "student barely learns a digit it never sees, while hinton at T=20 recovers far more of it.")


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


def parse_classes(text: str) -> tuple[int, ...]:
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    values = []
    for p in parts:
        try:
            values.append(int(p))
        except ValueError:
            raise ConfigError(f"{p.strip()!r} is not a digit: give digits 0 to 9 separated by commas") from None
    return tuple(values)


def _fmt_acc(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _ticks() -> list[list[tuple[float, str]]]:
    return [[(math.log10(t), f"{t:g}") for t in (1, 2, 3, 5, 7.5, 10, 15, 20)]]


class _KeyedSortProxy(QSortFilterProxyModel):
    """Sorts by the Python key each cell keeps under UserRole: numbers by value before text, blanks last."""

    def lessThan(self, left, right) -> bool:  # noqa: ANN001 - QModelIndex
        return left.data(Qt.ItemDataRole.UserRole) < right.data(Qt.ItemDataRole.UserRole)


class ExperimentsPanel(QWidget):
    """Sweep, Studies and Results; it runs one sweep or study at a time in a worker thread and never while the window trains.

    ``host`` is the main window: its store, data (data_override or the Data panel's folder), teachers and
    whether a training run is live. Workers only emit events; every widget is updated here, in the GUI thread.
    """

    jobStarted = Signal()
    jobEnded = Signal(str)  # finished, stopped or failed
    exported = Signal(str)

    def __init__(self, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.worker: QtEventWorker | None = None
        self.thread = None
        self.job_kind: str | None = None  # "sweep" or "study" while one runs
        self.outcome = "failed"
        self.references: dict[str, Any] = {}
        self.last_points: tuple[TemperaturePoint, ...] = ()
        self.study_points: list[tuple[int, float]] = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_sweep(), "Sweep")
        self.tabs.addTab(self._build_studies(), "Studies")
        self.tabs.addTab(self._build_results(), "Results")
        self.tabs.currentChanged.connect(lambda i: self.refresh_results() if i == 2 else None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self._study_changed()
        self.update_actions()

    # -- sweep ----------------------------------------------------------------------------------------
    def _build_sweep(self) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        self.temperatures_edit = QLineEdit(", ".join(f"{t:g}" for t in DEFAULT_TEMPERATURES))
        self.temperatures_edit.setToolTip("Temperatures separated by commas, each greater than 0; one student per temperature and seed")
        self.sweep_epochs = NumberField("epochs", integer=True, low=1, high=1000, value=DEFAULT_SWEEP_EPOCHS)
        self.sweep_seeds = NumberField("seeds", integer=True, low=1, high=100, value=1,
                                       hint="students per temperature; the plot shows their mean and spread")
        self.sweep_loss = QComboBox()
        self.sweep_loss.addItems(LOSSES)
        self.sweep_loss.setToolTip(LOSS_TIP)
        self.sweep_alpha = NumberField("alpha", integer=False, low=0, high=1, value=1.0)
        self.sweep_alpha.setToolTip("Weight of the soft targets; 1 - alpha goes to the labels")
        self.sweep_limit = NumberField("training images", integer=True, low=0, high=10_000_000, value=0)
        self.sweep_limit.setToolTip("Use only the first N training images (0: all of them)")
        form.addRow("Temperatures", self.temperatures_edit)
        form.addRow("Epochs", self.sweep_epochs)
        form.addRow("Seeds", self.sweep_seeds)
        form.addRow("Loss", self.sweep_loss)
        form.addRow("Alpha", self.sweep_alpha)
        form.addRow("Training images", self.sweep_limit)
        left, (self.sweep_teacher, self.sweep_problem, self.run_sweep_button, self.stop_sweep_button,
               self.sweep_status) = self._controls_column(form, "Run sweep", self.start_sweep)
        for field in (self.sweep_epochs, self.sweep_seeds, self.sweep_alpha, self.sweep_limit):
            field.valueChanged.connect(self.update_actions)
        self.temperatures_edit.textChanged.connect(self.update_actions)
        self.sweep_loss.currentIndexChanged.connect(self.update_actions)

        # The plot: created once, refilled with setData as evaluations arrive. x is log10(T) with T-valued ticks,
        # because pyqtgraph's ErrorBarItem does not follow a log-mode axis.
        self.sweep_plot = pg.PlotWidget(background="w")
        plot = self.sweep_plot.getPlotItem()
        plot.setTitle("Accuracy against temperature")
        plot.setLabel("bottom", "temperature T (log scale)")
        plot.setLabel("left", "accuracy")
        plot.getAxis("bottom").setTicks(_ticks())
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(0, math.log10(20), padding=0.05)
        plot.setYRange(0.8, 1.0)  # until the first points arrive; then the axis follows the data
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.addLegend(offset=(-10, 10))  # top right: the reference labels sit at the left
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
            line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                                   label="", labelOpts={"position": 0.02 if key == "teacher" else 0.5, "color": colour,
                                                        "anchors": [(0, 0), (0, 0)] if key == "teacher" else [(0, 1), (0, 1)]})  # the teacher's label
            # hangs below its line, which sits near the top of the view
            line.hide()
            plot.addItem(line, ignoreBounds=False)
            self.reference_lines[key] = line
        self._add_export_menu(plot, "sweep")

        self.sweep_table = QTableWidget(0, 5)
        self.sweep_table.setHorizontalHeaderLabels(["T", "seeds", "validation", "test", "spread (test min–max)"])
        self.sweep_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.sweep_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sweep_table.verticalHeader().hide()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.sweep_plot)
        right.addWidget(self.sweep_table)
        right.setSizes([420, 180])
        return self._controls_beside(page, left, right)

    def sweep_config(self) -> SweepConfig:
        """The sweep the button runs, checked by the core (a ConfigError says why not)."""
        temperatures = parse_temperatures(self.temperatures_edit.text())
        for field in (self.sweep_epochs, self.sweep_seeds, self.sweep_alpha, self.sweep_limit):
            if not field.isValid():
                raise ConfigError(field.problem() or f"{field.name} is not acceptable")
        teacher, _ = self.teacher()
        return SweepConfig(
            teacher_run=teacher or "", temperatures=temperatures, seeds=int(self.sweep_seeds.value()),
            epochs=int(self.sweep_epochs.value()), loss=self.sweep_loss.currentText(), alpha=float(self.sweep_alpha.value()),
            train_limit=int(self.sweep_limit.value()) or None, student=self._student(),
        )

    @staticmethod
    def _controls_beside(page: QWidget, left: QWidget, right: QWidget) -> QWidget:
        """The page: controls on the left, results taking the rest of the width."""
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([300, 800])
        splitter.setStretchFactor(1, 1)
        box = QVBoxLayout(page)
        box.addWidget(splitter)
        return page

    def _controls_column(self, form: QFormLayout, run_text: str, start) -> tuple[QWidget, tuple]:  # noqa: ANN001
        """A form with, under it, which teacher is used, a problem line, Run and Stop buttons, and a status line."""
        teacher = QLabel()
        teacher.setWordWrap(True)
        problem = ProblemLabel()
        run_button = QPushButton(run_text)
        stop_button = QPushButton("Stop")
        run_button.clicked.connect(start)
        stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(run_button)
        buttons.addWidget(stop_button)
        status = QLabel("")
        status.setWordWrap(True)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.addLayout(form)
        for widget in (teacher, problem):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(status)
        layout.addStretch(1)
        return column, (teacher, problem, run_button, stop_button, status)

    def start_sweep(self) -> bool:
        try:
            config = self.sweep_config()
        except ConfigError as exc:
            self.sweep_problem.show_problems([str(exc)])
            return False
        blocked = self.blocked_reason()
        if blocked:
            self.sweep_problem.show_problems([blocked])
            return False
        self._clear_sweep()
        data, data_dir = self._data()
        self.sweep_status.setText(f"Sweep: {len(config.students)} students from teacher {config.teacher_run}: loading…")
        return self._start("sweep", lambda token: run_sweep(config, self.host.store, token, data=data, data_dir=data_dir))

    def _clear_sweep(self) -> None:
        self.last_points = ()
        for item in (self.val_curve, self.test_curve):
            item.setData([], [])
        for bars in (self.val_bars, self.test_bars):
            bars.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))
        for line in self.reference_lines.values():
            line.hide()
        self.sweep_table.setRowCount(0)

    def show_points(self, points: tuple[TemperaturePoint, ...]) -> None:
        """Mean lines and min-max bars per temperature, plus the table; sorted by T so the lines read left to right."""
        points = tuple(sorted(points, key=lambda p: p.temperature))
        self.last_points = points
        x = np.log10([p.temperature for p in points])
        for curve, bars, key in ((self.val_curve, self.val_bars, "val"), (self.test_curve, self.test_bars, "test")):
            mean = np.array([getattr(p, f"{key}_mean") for p in points])
            low = np.array([getattr(p, f"{key}_min") for p in points])
            high = np.array([getattr(p, f"{key}_max") for p in points])
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

    def show_references(self, references) -> None:  # noqa: ANN001 - core Reference objects
        for ref in references:
            key = "teacher" if ref.label == "teacher" else "student"
            line = self.reference_lines[key]
            line.show()  # before setFormat: a hidden line's label does not update its text
            line.setValue(ref.test_acc)
            line.label.setFormat(f"{ref.label}: test {ref.test_acc:.2%}")
            self.references[key] = ref

    # -- studies --------------------------------------------------------------------------------------
    def _build_studies(self) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        self.study_choice = QComboBox()
        for name in STUDIES:
            self.study_choice.addItem(TITLES[name], name)
        self.study_choice.currentIndexChanged.connect(self._study_changed)
        self.study_classes = QLineEdit()
        self.study_classes.setToolTip("Leave-out: the digits left out of the transfer set. Only-classes: the digits kept.")
        self.study_loss = QComboBox()
        self.study_loss.addItems(LOSSES)
        self.study_loss.setToolTip(LOSS_TIP)
        self.study_temperature = NumberField("temperature", integer=False, low=0, high=1000, low_open=True, value=20)
        self.study_temperature.setToolTip(LOSS_TIP)
        self.study_epochs = NumberField("epochs", integer=True, low=1, high=1000, value=SEED_DISTILL_TRAIN.epochs)
        self.study_limit = NumberField("training images", integer=True, low=0, high=10_000_000, value=0)
        self.study_limit.setToolTip("Use only the first N training images (0: all of them)")
        form.addRow("Study", self.study_choice)
        form.addRow("Classes", self.study_classes)
        form.addRow("Loss", self.study_loss)
        form.addRow("Temperature", self.study_temperature)
        form.addRow("Epochs", self.study_epochs)
        form.addRow("Training images", self.study_limit)
        for field in (self.study_temperature, self.study_epochs, self.study_limit):
            field.valueChanged.connect(self.update_actions)
        self.study_classes.textChanged.connect(self.update_actions)
        left, (self.study_teacher, self.study_problem, self.run_study_button, self.stop_study_button,
               self.study_status) = self._controls_column(form, "Run study", self.start_study)

        self.study_words = QLabel("Choose a study and press Run study: its result appears here in words and numbers.")
        self.study_words.setWordWrap(True)
        self.study_words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.study_words.setStyleSheet("font-size: 11pt; padding: 6px;")
        self.study_numbers = QTableWidget(0, 2)
        self.study_numbers.setHorizontalHeaderLabels(["", "value"])
        self.study_numbers.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.study_numbers.verticalHeader().hide()
        self.study_numbers.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.study_plot = pg.PlotWidget(background="w")
        splot = self.study_plot.getPlotItem()
        splot.setTitle("Test accuracy against iterations")
        splot.setLabel("bottom", "iteration")
        splot.setLabel("left", "test accuracy")
        splot.showGrid(x=True, y=True, alpha=0.2)
        splot.getAxis("left").enableAutoSIPrefix(False)
        self.study_curve = splot.plot([], [], pen=pg.mkPen(TEST_COLOUR, width=2), symbol="o", symbolSize=4,
                                      symbolBrush=TEST_COLOUR, symbolPen=None)
        self._add_export_menu(splot, "study")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.study_words)
        right.addWidget(self.study_numbers)
        right.addWidget(self.study_plot)
        right.setSizes([140, 200, 260])
        return self._controls_beside(page, left, right)

    def _study_changed(self) -> None:
        study = self.study_choice.currentData()
        defaults = STUDY_DEFAULTS[study]
        self.study_classes.setText(", ".join(str(c) for c in DEFAULT_CLASSES.get(study, ())))
        self.study_classes.setEnabled(study in DEFAULT_CLASSES)
        self.study_loss.setCurrentText(defaults["loss"])
        self.study_temperature.setValue(defaults["temperature"])
        self.update_actions()

    def study_config(self) -> StudyConfig:
        study = self.study_choice.currentData()
        for field in (self.study_temperature, self.study_epochs, self.study_limit):
            if not field.isValid():
                raise ConfigError(field.problem() or f"{field.name} is not acceptable")
        classes = parse_classes(self.study_classes.text()) if study in DEFAULT_CLASSES else ()
        teacher, _ = self.teacher()
        return StudyConfig(
            study=study, teacher_run=teacher or "", classes=classes, temperature=float(self.study_temperature.value()),
            loss=self.study_loss.currentText(), epochs=int(self.study_epochs.value()),
            train_limit=int(self.study_limit.value()) or None, student=self._student(),
        )

    def start_study(self) -> bool:
        try:
            config = self.study_config()
        except ConfigError as exc:
            self.study_problem.show_problems([str(exc)])
            return False
        blocked = self.blocked_reason()
        if blocked:
            self.study_problem.show_problems([blocked])
            return False
        self.study_points = []
        self.study_curve.setData([], [])
        self.study_numbers.setRowCount(0)
        self.study_words.setText(f"{TITLES[config.study]}: {config.describe()}. Training…")
        data, data_dir = self._data()
        self.study_status.setText(f"{config.study}: loading…")
        return self._start("study", lambda token: run_study(config, self.host.store, token, data=data, data_dir=data_dir))

    def show_study_result(self, event: StudyFinished) -> None:
        self.study_words.setText(event.summary)
        r = event.result
        rows: list[tuple[str, str]] = [("test accuracy (kept weights)", _fmt_acc(r.get("test_acc"))),
                                       ("validation accuracy", _fmt_acc(r.get("val_acc")))]
        if "shift" in r:
            classes = ", ".join(str(c) for c in r.get("classes", []))
            rows += [
                ("transfer set images", str(r.get("transfer_size", ""))),
                ("test errors before shift", f"{r['test_errors_before']} of {r['test_count']}"),
                (f"errors on {classes} before", f"{r['class_errors_before']} of {r['class_count']}"),
                (f"bias shift of {classes} (chosen on validation)", f"{r['shift']:+.2f}"),
                ("test errors after shift", str(r["test_errors_after"])),
                (f"errors on {classes} after", str(r["class_errors_after"])),
            ]
            paper = r.get("paper")
            if paper and "test_errors_before" in paper:
                rows.append(("paper: errors before / on class / after / on class after",
                             f"{paper['test_errors_before']} / {paper['class_errors_before']} / {paper['test_errors_after']} / "
                             f"{paper['class_errors_after']}"))
            elif paper:
                rows.append(("paper: test error before / after", f"{paper['test_error_before']:.1%} / {paper['test_error_after']:.1%}"))
        if "best_test_acc" in r:
            rows += [("iterations", str(r["iterations"])), ("highest test accuracy", _fmt_acc(r["best_test_acc"])),
                     ("seed experiment", _fmt_acc(r.get("seed_reference_acc")))]
        for ref in r.get("references", []):
            rows.append((f"{ref['label']} (test)", _fmt_acc(ref.get("test_acc"))))
        rows.append(("run", event.run_id))
        self.study_numbers.setRowCount(len(rows))
        for row, (key, value) in enumerate(rows):
            self.study_numbers.setItem(row, 0, QTableWidgetItem(key))
            self.study_numbers.setItem(row, 1, QTableWidgetItem(value))
        points = r.get("points")
        if points:
            self.study_curve.setData([p[0] for p in points], [p[1] for p in points])

    # -- results --------------------------------------------------------------------------------------
    def _build_results(self) -> QWidget:
        page = QWidget()
        self.results_model = QStandardItemModel(0, len(RESULT_COLUMNS))
        self.results_model.setHorizontalHeaderLabels(list(RESULT_COLUMNS))
        self.results_proxy = _KeyedSortProxy()
        self.results_proxy.setSourceModel(self.results_model)
        self.results_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.results_proxy.setFilterKeyColumn(-1)
        self.results_view = QTableView()
        self.results_view.setModel(self.results_proxy)
        # Newest first until the user clicks a header (enabling sorting sorts by the indicator at once).
        self.results_view.horizontalHeader().setSortIndicator(RESULT_COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)
        self.results_view.setSortingEnabled(True)
        self.results_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.results_view.horizontalHeader().setStretchLastSection(True)
        self.results_filter = QLineEdit()
        self.results_filter.setPlaceholderText("Filter: any text in any column, e.g. sweep, hinton, leave")
        self.results_filter.setClearButtonEnabled(True)
        self.results_filter.textChanged.connect(self.results_proxy.setFilterFixedString)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_results)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._ask_export_csv)
        self.results_status = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.results_filter, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        box = QVBoxLayout(page)
        box.addLayout(top)
        box.addWidget(self.results_view, 1)
        box.addWidget(self.results_status)
        return page

    def result_rows(self) -> list[list[Any]]:
        """One row per run and per saved sweep or study, in RESULT_COLUMNS order (raw values; accuracies as fractions)."""
        rows: list[list[Any]] = []
        for run in self.host.store.list():
            job, summary = run.job, run.summary
            distill = job.distill
            transfer = ""
            if distill is not None:
                transfer = distill.transfer + (f" without {','.join(map(str, distill.leave_out))}" if distill.leave_out else "")
            rows.append([job.kind, run.name, job.net.describe(), distill.temperature if distill else None,
                         distill.loss if distill else "", transfer if distill else "labels", job.train.epochs,
                         summary.get("val_acc"), summary.get("test_acc"), run.meta.get("created", ""), run.id])
        for record in list_experiments(self.host.store):
            config = record.get("config") or {}
            student = config.get("student") or {}
            network = "784-" + "-".join(str(h) for h in student.get("hidden", [])) + "-10" if student.get("hidden") else ""
            if record.get("kind") == "sweep":
                table = record.get("table") or []
                best = max(table, key=lambda p: p.get("val_mean", 0)) if table else {}
                temps = config.get("temperatures") or []
                t = f"{min(temps):g}–{max(temps):g} ({len(temps)})" if temps else ""
                name = record.get("name") or f"sweep, best T={best['temperature']:g}" if best else record.get("name") or "sweep"
                rows.append(["sweep", name, network, t, config.get("loss", ""), "train", config.get("epochs"),
                             best.get("val_mean"), best.get("test_mean"), record.get("created", ""), record.get("id", "")])
            else:
                result = record.get("result") or {}
                rows.append([f"study {record.get('study', '')}", record.get("name") or record.get("title", ""), network,
                             config.get("temperature"), config.get("loss", ""), record.get("description", ""),
                             config.get("epochs"), result.get("val_acc"), result.get("test_acc"), record.get("created", ""),
                             record.get("id", "")])
        return rows

    def refresh_results(self) -> None:
        try:
            rows = self.result_rows()
        except KdguiError as exc:
            self.results_status.setText(f"Cannot read the runs folder: {exc}")
            return
        sorting = self.results_proxy.sortColumn(), self.results_proxy.sortOrder()
        self.results_model.setRowCount(0)
        for values in rows:
            items = []
            for col, value in enumerate(values):
                if RESULT_COLUMNS[col] in ("val acc", "test acc"):
                    text = _fmt_acc(value)
                elif isinstance(value, float):
                    text = f"{value:g}"
                else:
                    text = "" if value is None else str(value)
                item = QStandardItem(text)
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                # Sort key: numbers before text, so numeric columns order by value and blanks sink.
                item.setData((0, float(value), "") if number else (1 if text else 2, 0.0, text.lower()), Qt.ItemDataRole.UserRole)
                items.append(item)
            self.results_model.appendRow(items)
        if sorting[0] >= 0:
            self.results_proxy.sort(*sorting)
        else:
            self.results_view.sortByColumn(RESULT_COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)  # newest first
        self.results_view.resizeColumnsToContents()
        self.results_status.setText(f"{len(rows)} runs and experiments in {self.host.store.root}")

    def visible_rows(self) -> list[list[str]]:
        """The table as shown: filtered and sorted, as text."""
        proxy = self.results_proxy
        return [[proxy.index(r, c).data() or "" for c in range(proxy.columnCount())] for r in range(proxy.rowCount())]

    def export_csv(self, path: str | Path) -> Path:
        """Write the shown rows atomically: a temp file beside the target, then os.replace."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(RESULT_COLUMNS)
                writer.writerows(self.visible_rows())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the results table", str(Path.home() / "kdgui-results.csv"),
                                              FORMATS[".csv"])
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            self.results_status.setText(f"Could not save {path}: {exc.strerror or exc}")
            return
        self.results_status.setText(f"Saved {path}")
        self.exported.emit(path)

    def _add_export_menu(self, plot: pg.PlotItem, name: str) -> None:
        menu = plot.getViewBox().menu
        menu.addSeparator()
        for suffix in (".png", ".svg", ".csv"):
            menu.addAction(f"Export {suffix[1:].upper()}…", lambda p=plot, s=suffix: self._ask_export_plot(p, s, name))

    def _ask_export_plot(self, plot: pg.PlotItem, suffix: str, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {name} plot", str(Path.home() / f"kdgui-{name}{suffix}"),
                                              FORMATS[suffix])
        if path:
            try:
                export_plot(plot, path)
            except (OSError, ValueError) as exc:
                self.sweep_status.setText(f"Could not export: {exc}")
                return
            self.exported.emit(path)

    # -- the one job ----------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.job_kind is not None

    def teacher(self) -> tuple[str | None, str]:
        """(run id, words): the Distillation panel's chosen teacher, else the newest finished one."""
        chosen = self.host.distillation_panel.teacher_run_id()
        labels = getattr(self.host, "labels", {})
        if chosen:
            return chosen, f"Teacher: {labels.get(chosen, chosen)} (chosen in the Distillation panel)"
        teachers = [r for r in self.host.teacher_runs() if r.status == "finished"]
        if teachers:
            newest = teachers[-1]
            return newest.id, f"Teacher: {labels.get(newest.id, newest.name)} (the newest finished teacher)"
        return None, "No teacher yet: train one first (Networks › Train teacher)"

    def blocked_reason(self) -> str | None:
        if self.running():
            return f"a {self.job_kind} is running: stop it or wait for it to end"
        if getattr(self.host, "live", None) is not None:
            return "a training run is in progress: stop it or wait for it to end"
        if not self.host.data_ready():
            return "the dataset is missing: see the Data panel"
        if self.teacher()[0] is None:
            return "train a teacher first: a sweep or study distils from it"
        return None

    def update_actions(self) -> None:
        """Enable Run only when it can start; the problem label says why not, where the inputs are."""
        if not hasattr(self, "results_model"):
            return  # still building
        _, words = self.teacher()
        self.sweep_teacher.setText(words)
        self.study_teacher.setText(words)
        blocked = self.blocked_reason()
        for button, label, build in ((self.run_sweep_button, self.sweep_problem, self.sweep_config),
                                     (self.run_study_button, self.study_problem, self.study_config)):
            problems = []
            try:
                build()
            except ConfigError as exc:
                problems.append(str(exc))
            if blocked and not self.running():
                problems.insert(0, blocked)
            button.setEnabled(not problems and not self.running())
            button.setToolTip(problems[0] if problems else "")
            label.show_problems(problems)
        self.stop_sweep_button.setEnabled(self.job_kind == "sweep")
        self.stop_study_button.setEnabled(self.job_kind == "study")

    def _student(self):  # noqa: ANN202 - NetSpec
        """The Networks panel's student, so sweeps, studies and the student-from-labels line share one architecture."""
        problems = self.host.networks_panel.problems("student")
        spec = self.host.networks_panel.student_spec()
        if problems or spec is None:
            raise ConfigError(problems[0] if problems else "the student network is not valid: see the Networks panel")
        return spec

    def _data(self) -> tuple[Any, str | None]:
        override = self.host.data_override
        return override, (None if override is not None else str(self.host.data_panel.data_dir()))

    def _start(self, kind: str, make_events) -> bool:  # noqa: ANN001 - token -> event iterator
        self.job_kind = kind
        self.outcome = "failed"
        self.worker = QtEventWorker(make_events)
        self.worker.event.connect(self._on_event)
        self.worker.failed.connect(self._on_failed)
        self.thread = start_in_thread(self.worker, self, on_finished=self._on_thread_finished)
        self.update_actions()
        self.jobStarted.emit()
        return True

    def stop(self) -> None:
        if self.worker is not None and self.running():
            self.worker.stop()
            status = self.sweep_status if self.job_kind == "sweep" else self.study_status
            status.setText("Stopping after the current batch…")

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Called when the window closes: stop the job and give it time to save what it has."""
        thread = self.thread
        if self.running() and thread is not None:
            import shiboken6

            if shiboken6.isValid(thread) and thread.isRunning():
                self.worker.stop()
                if not thread.wait(wait_ms):
                    thread.wait()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, SweepStarted):
            self.show_references(event.references)
            self.sweep_status.setText(f"Sweep {event.sweep_id}: {len(event.temperatures)} students on {event.device}")
        elif isinstance(event, Progress):
            status = self.sweep_status if self.job_kind == "sweep" else self.study_status
            status.setText(f"{self.job_kind}: epoch {event.epoch}/{event.epochs}, step {event.step}/{event.total_steps}, "
                           f"loss {event.loss:.4f}, {event.elapsed:.0f} s")
        elif isinstance(event, SweepEvaluation):
            if event.epoch_end or not self.last_points:
                self.show_points(event.by_temperature())
        elif isinstance(event, SweepFinished):
            self.outcome = "finished"
            self.show_points(event.points)
            best = max(event.points, key=lambda p: (p.val_mean, -p.temperature))
            self.sweep_status.setText(f"Sweep finished in {event.seconds:.1f} s: best on validation T={best.temperature:g} "
                                      f"(validation {best.val_mean:.2%}, test {best.test_mean:.2%}). Saved to {event.path}")
        elif isinstance(event, SweepCancelled):
            self.outcome = "stopped"
            self.sweep_status.setText(f"Sweep stopped after {event.step} steps; the results so far are saved to {event.path}")
        elif isinstance(event, StudyStarted):
            self.study_words.setText(f"{event.title}: {event.description}. Training…")
        elif isinstance(event, Started):
            self.study_status.setText(f"Study run {event.run_id} on {event.device}")
        elif isinstance(event, Evaluation):
            self.study_points.append((event.step, event.test_acc))
            self.study_curve.setData([p[0] for p in self.study_points], [p[1] for p in self.study_points])
        elif isinstance(event, StudyFinished):
            self.outcome = "finished"
            self.show_study_result(event)
            self.study_status.setText(f"Study finished in {event.seconds:.0f} s; saved to {event.path}")
        elif isinstance(event, (StudyCancelled, Cancelled)):
            self.outcome = "stopped"
            self.study_status.setText("Study stopped; the partial run is kept, marked stopped")

    def _on_failed(self, kind: str, message: str) -> None:
        self.outcome = "failed"
        status, problem = (self.sweep_status, self.sweep_problem) if self.job_kind == "sweep" else (self.study_status, self.study_problem)
        status.setText(f"The {self.job_kind} failed: {message}")
        problem.show_problems([message])

    def _on_thread_finished(self) -> None:
        self.job_kind = None
        self.worker = None
        self.thread = None
        outcome = self.outcome
        self.update_actions()
        self.refresh_results()
        self.jobEnded.emit(outcome)
