"""What the Experiments tab's pages share: ``ExperimentPage`` (a controls column beside the results, progress,
failures, plot export) and the form helpers the Sweep and Studies pages both use.

Pages only build, check and show: running the job is the ExperimentsPanel's work.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QTableWidget,
    QVBoxLayout, QWidget,
)

from ...core.config import LOSS_TITLES
from ...core.errors import ConfigError
from ...core.events import Progress
from ..widgets.number_field import NumberField, format_number
from ..widgets.plot_export import FORMATS, export_plot
from ..widgets.problem_label import ProblemLabel

LOSS_TIP = ("Hinton: α·T²·KL(teacher ‖ student) + (1−α)·cross-entropy on labels. Soft-target MSE: the seed's squared "
            "error between softened outputs. For the leave-out and only-classes studies use Hinton's loss at T=20: with "
            "soft-target MSE at T=4 a 784-50-10 student barely learns a digit it never sees, while Hinton's loss at T=20 "
            "recovers far more of it.")
TRAINING_IMAGES_TIP = "Use only the first N training images; 0 or 'all': every one of them"
VAL_COLOUR, TEST_COLOUR = "#1f77b4", "#d62728"  # validation and test accuracy on every page
MAX_FORM_TEXT = 200  # a remembered text field longer than this is not put back (no form needs that much)


def loss_combo() -> QComboBox:
    """The losses by their titles; ``currentData()`` is the loss's name."""
    combo = QComboBox()
    for name, title in LOSS_TITLES.items():
        combo.addItem(title, name)
    combo.setToolTip(LOSS_TIP)
    return combo


def training_images_field() -> NumberField:
    """How many training images: 0, shown as 'all', means every one."""
    return NumberField("training images", integer=True, low=0, high=10_000_000, value=0, special_text="all",
                       hint=TRAINING_IMAGES_TIP)


def fit_table_height(table: QTableWidget) -> None:
    """Make a table exactly as tall as its rows, so nothing hides behind a scroll bar or a splitter.

    With rows that fit their contents (``QHeaderView.ResizeMode.ResizeToContents``), connect the vertical
    header's ``sectionResized`` here too, so wrapped rows that grow when the table narrows stay in view.
    """
    header = table.horizontalHeader()  # laid out at its size hint; isVisible() is False on a page not yet shown
    height = 0 if header.isHidden() else header.sizeHint().height()
    height += table.verticalHeader().length() + 2 * table.frameWidth()
    table.setFixedHeight(height)


def restore_text(edit: QLineEdit, text: Any, check: Callable[[str], object]) -> bool:
    """Put remembered ``text`` in ``edit`` if ``check`` accepts it (a ConfigError or ValueError refuses it); else keep its own."""
    if not isinstance(text, str) or len(text) > MAX_FORM_TEXT:
        return False
    try:
        check(text)
    except (ConfigError, ValueError):
        return False
    edit.setText(text)
    return True


def restore_number(field: NumberField, value: Any) -> bool:
    """Put a remembered value back in ``field``: its text (e.g. 'all'), or a number; a value it refuses keeps its own."""
    if isinstance(value, str):
        text = value if len(value) <= MAX_FORM_TEXT else None
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and (not field.integer or value == int(value)):
        text = format_number(value, field.integer)
    else:
        text = None
    if text is None:
        return False
    old = field.text()
    field.setText(text)
    if field.isValid():
        return True
    field.setText(old)
    return False


def restore_choice(combo: QComboBox, data: Any) -> bool:
    """Choose the item whose data is ``data``; anything else keeps the current choice."""
    index = combo.findData(data) if isinstance(data, str) else -1
    if index >= 0:
        combo.setCurrentIndex(index)
    return index >= 0


def check_fields(fields: tuple[NumberField, ...]) -> None:
    """A ConfigError naming the first field whose text is refused."""
    for field in fields:
        if not field.isValid():
            raise ConfigError(field.problem() or f"{field.name} is not acceptable")


class ExperimentPage(QWidget):
    """A page of the Experiments tab: a form with its job controls on the left, the results taking the rest.

    The controls under the form: ``teacher_label`` (which teacher is used), ``problem`` (why Run is off),
    ``run_button``, ``stop_button`` and a ``status`` line. ``changed`` says an input changed (the panel
    re-checks what Run would start); ``exported`` gives the path of a saved plot.
    """

    kind = ""  # the runner's job kind this page starts: "sweep" or "study"
    changed = Signal()
    exported = Signal(str)

    def _lay_out(self, form: QFormLayout, run_text: str, results: QWidget) -> None:
        self.teacher_label = QLabel()
        self.teacher_label.setWordWrap(True)
        self.problem = ProblemLabel()
        self.run_button = QPushButton(run_text)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.addLayout(form)
        layout.addWidget(self.teacher_label)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(column)
        splitter.addWidget(results)
        splitter.setSizes([300, 800])
        splitter.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(splitter)

    def _watch(self, *widgets: QWidget) -> None:
        """Emit ``changed`` whenever one of these inputs changes."""
        for widget in widgets:
            if isinstance(widget, NumberField):
                widget.valueChanged.connect(lambda _: self.changed.emit())
            elif isinstance(widget, QLineEdit):
                widget.textChanged.connect(lambda _: self.changed.emit())
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(lambda _: self.changed.emit())

    def show_event(self, event: Any) -> None:
        """One non-Progress event of this page's running job."""

    def show_progress(self, progress: Progress) -> None:
        self.status.setText(f"{self.kind}: epoch {progress.epoch}/{progress.epochs}, step {progress.step}/{progress.total_steps}, "
                            f"loss {progress.loss:.4f}, {progress.elapsed:.0f} s")

    def show_failure(self, message: str) -> None:
        self.status.setText(f"The {self.kind} failed: {message}")
        self.problem.show_problems([message])

    def add_export_menu(self, plot: pg.PlotItem, name: str) -> None:
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
                self.status.setText(f"Could not export: {exc}")
                return
            self.exported.emit(path)
