"""Confusion matrices per network and distilled minus labels; a click on a cell lists its digits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ....core.insight import LineupInsight
from ...style import plot_colours, text_style, theme_plot
from ...widgets.digit_list import DigitList
from ...widgets.soft_target_bars import ROLE_LABELS
from .common import ROLES, STUDENTS, title_of, untitled_plot

DIFFERENCE = "difference"  # the confusion view's fourth map: distilled minus label-trained


class ConfusionView(QWidget):
    """Each network's confusion matrix (rows: true class, columns: its answer) and distilled minus label-trained.

    Clicking a cell lists its test digits; the difference map's cell lists the digits of that true class that one
    student puts in that column and the other does not.
    """

    openDigit = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: LineupInsight | None = None
        self.matrices: dict[str, np.ndarray] = {}  # what each map shows: role or DIFFERENCE -> [10, 10]
        self.selected: tuple[str, int, int] | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        theme_plot(self.graphics)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.marks: dict[str, QGraphicsRectItem] = {}
        _, foreground = plot_colours()
        for i, name in enumerate((*ROLES, DIFFERENCE)):
            plot = untitled_plot(self.graphics.ci, i // 2, i % 2)
            plot.invertY(True)
            plot.setAspectLocked(True)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTicks([[(k + 0.5, str(k)) for k in range(10)]])
            plot.setLabel("left", "true")
            plot.setLabel("bottom", "answer")
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(pg.colormap.get("CET-D1A" if name == DIFFERENCE else "viridis"))
            plot.addItem(image)
            plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
            mark = QGraphicsRectItem(0, 0, 1, 1)
            mark.setPen(pg.mkPen("#ff00ff", width=2, cosmetic=True))
            mark.setVisible(False)
            plot.addItem(mark)
            self.plots[name], self.images[name], self.marks[name] = plot, image, mark
        self._set_titles()
        self.hover = QLabel("Hover over a map to read a count; click a cell to list its digits.")
        self.hover.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.list = DigitList()
        self.list.setAccessibleName("digits of the chosen confusion cell")
        self.open_button = QPushButton("Open in Soft targets")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip("Show the chosen digit in the Soft targets tab (or double-click it, or press Enter)")
        note = QLabel("Colour: log of the count (the diagonal, the right answers, dwarfs the rest). The difference map: "
                      "red where the distilled student has more digits than the label-trained one, blue fewer.")
        note.setWordWrap(True)
        note.setStyleSheet(text_style("muted"))
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.hover)
        right_layout.addWidget(self.caption)
        right_layout.addWidget(self.list, 1)
        right_layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        right_layout.addWidget(note)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.graphics)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        right.setMinimumWidth(150)
        self.graphics.setMinimumWidth(240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        self.graphics.scene().sigMouseMoved.connect(self._hovered)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.list.opened.connect(self.openDigit)
        self.list.chosen.connect(lambda _: self.open_button.setEnabled(True))
        self.open_button.clicked.connect(lambda: self.openDigit.emit(self.list.current()) if self.list.current() is not None else None)

    def _set_titles(self) -> None:
        for name, plot in self.plots.items():
            title = "Distilled minus from labels" if name == DIFFERENCE else title_of(name)
            if self.insight is not None and name in self.insight.confusion:
                title += f" ({self.insight.accuracy(name):.1%})"
            plot.setTitle(title, size="9pt", color=plot_colours()[1])

    def set_test_set(self, x: torch.Tensor | None) -> None:
        self.list.set_images(x)

    def set_insight(self, insight: LineupInsight | None) -> None:
        self.insight = insight
        self.matrices = {}
        if insight is not None:
            self.matrices = {role: m.numpy() for role, m in insight.confusion.items()}
            if set(STUDENTS) <= set(self.matrices):
                self.matrices[DIFFERENCE] = self.matrices["distilled"].astype(np.int64) - self.matrices["student"]
        for name, image in self.images.items():
            matrix = self.matrices.get(name)
            if matrix is None:
                image.clear()
                continue
            if name == DIFFERENCE:
                top = max(1, int(np.abs(matrix).max()))
                image.setImage(matrix.astype(float), levels=(-top, top))
            else:
                shown = np.log1p(matrix.astype(float))
                image.setImage(shown, levels=(0, max(1.0, float(shown.max()))))
            image.setRect(0, 0, 10, 10)
        self._set_titles()
        selected = self.selected
        self.selected = None
        for mark in self.marks.values():
            mark.setVisible(False)
        self.list.set_indices([])
        self.caption.setText("")
        self.open_button.setEnabled(False)
        if selected is not None and selected[0] in self.matrices:
            self.select_cell(*selected)

    def _cell_at(self, position: QPointF) -> tuple[str, int, int] | None:
        for name, plot in self.plots.items():
            if name in self.matrices and plot.vb.sceneBoundingRect().contains(position):
                point = plot.vb.mapSceneToView(position)
                col, row = int(math.floor(point.x())), int(math.floor(point.y()))
                if 0 <= row < 10 and 0 <= col < 10:
                    return name, row, col
        return None

    def _hovered(self, position: QPointF) -> None:
        cell = self._cell_at(position)
        if cell is not None:
            self.hover.setText(self.describe_cell(*cell))

    def _clicked(self, event: Any) -> None:  # noqa: ANN401 - pyqtgraph's MouseClickEvent
        cell = self._cell_at(event.scenePos())
        if cell is not None:
            self.select_cell(*cell)

    def describe_cell(self, name: str, row: int, col: int) -> str:
        m = self.matrices[name]
        if name == DIFFERENCE:
            student, distilled = self.matrices["student"][row, col], self.matrices["distilled"][row, col]
            return (f"True {row}, answer {col}: distilled {distilled:,}, from labels {student:,} "
                    f"(difference {int(m[row, col]):+,})")
        what = "right" if row == col else "wrong"
        return f"{title_of(name)}: true {row}, answer {col}: {int(m[row, col]):,} digits ({what})"

    def cell_indices(self, name: str, row: int, col: int) -> list[int]:
        """The test digits of a cell: true class ``row`` answered ``col`` (for the difference map, by exactly one
        student: the distilled student's first)."""
        labels, predictions = self.insight.labels, self.insight.predictions
        true = labels == row
        if name != DIFFERENCE:
            return (true & (predictions[name] == col)).nonzero().flatten().tolist()
        distilled, student = predictions["distilled"] == col, predictions["student"] == col
        return ((true & distilled & ~student).nonzero().flatten().tolist()
                + (true & student & ~distilled).nonzero().flatten().tolist())

    def select_cell(self, name: str, row: int, col: int) -> list[int]:
        """List a cell's digits below (what a click does); returns them."""
        self.selected = (name, row, col)
        for key, mark in self.marks.items():
            mark.setVisible(key == name)
        self.marks[name].setRect(col, row, 1, 1)
        indices = self.cell_indices(name, row, col)
        insight = self.insight

        def describe(i: int) -> str:
            said = ", ".join(f"{ROLE_LABELS.get(r, r)} says {int(p[i])}" for r, p in insight.predictions.items())
            return f"Test digit #{i}, a {int(insight.labels[i])}: {said}"

        self.list.set_indices(indices, describe)
        if name == DIFFERENCE:
            plus = int(((insight.labels == row) & (insight.predictions["distilled"] == col)
                        & (insight.predictions["student"] != col)).sum())
            self.caption.setText(f"<b>True {row}, answer {col}</b>: {plus:,} digits only the distilled student answers "
                                 f"{col} (first), {len(indices) - plus:,} only the student from labels does.")
        else:
            self.caption.setText(f"<b>{title_of(name)}, true {row}, answer {col}</b>: {len(indices):,} digits.")
        self.open_button.setEnabled(bool(indices))
        return indices
