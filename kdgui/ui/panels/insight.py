"""What distillation changed: the digits it fixed and broke, each network's confusion matrix, and the students' hidden units."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup, QGraphicsRectItem, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from ...core.config import KIND_TITLES
from ...panel_names import VIEWS as PANEL_VIEWS
from ...core.events import Evaluation, Started
from ...core.insight import LineupInsight, hidden_unit_tiles
from ...core.predict import NamedModel
from ...core.softtargets import softmax_np
from ..style import plot_colours, text_style, theme_plot, theme_plot_item
from ..temperature_model import TemperatureModel
from ..widgets.digit_list import DigitList
from ..widgets.soft_target_bars import ROLE_LABELS, SoftTargetBars, make_legend_html, role_colour
from ..widgets.viewing_temperature import ViewingTemperature

VIEWS = {name: title for name, (tab, title) in PANEL_VIEWS.items() if tab == "insight"}  # changed, confusion, hidden
ROLES = ("teacher", "student", "distilled")
STUDENTS = ("student", "distilled")
DIFFERENCE = "difference"  # the confusion view's fourth map: distilled minus label-trained
_PAPER = np.array([[255 - i] * 3 for i in range(256)], dtype=np.uint8)  # dark ink on white, like the canvas


def _title(role: str) -> str:
    return KIND_TITLES.get(role, role)


def _untitled_plot(layout: pg.GraphicsLayout, row: int, col: int) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=col)
    theme_plot_item(plot)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    return plot


def _no_answers() -> str:
    return "Every network's answers on the test set appear here once they are computed."


class InsightPanel(QWidget):
    """One tab, three views chosen by the buttons at its top (``show_view``); all read one ``LineupInsight``.

    ``openDigit(index)`` asks the window to show test digit ``index`` in Soft targets.
    """

    openDigit = Signal(int)

    def __init__(self, temperature: TemperatureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: LineupInsight | None = None
        self.test_x: torch.Tensor | None = None
        self.switch = QButtonGroup(self)
        self.switch.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        self.status = QLabel(_no_answers())
        self.status.setStyleSheet(text_style("muted"))
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.changed = ChangedView(temperature)
        self.confusion = ConfusionView()
        self.hidden = HiddenView()
        self.views: dict[str, QWidget] = {"changed": self.changed, "confusion": self.confusion, "hidden": self.hidden}
        self.stack = QStackedWidget()
        top = QHBoxLayout()
        top.setSpacing(2)
        for name, title in VIEWS.items():
            button = QPushButton(title)
            button.setCheckable(True)
            button.setToolTip({"changed": "The test digits distillation fixed and broke, and each network's soft targets",
                               "confusion": "What each network mistakes for what, and how distillation moved it",
                               "hidden": "What the students' first-layer units look for, as 28x28 images"}[name])
            self.switch.addButton(button)
            self.buttons[name] = button
            self.stack.addWidget(self.views[name])
            top.addWidget(button)
            button.clicked.connect(lambda _=False, n=name: self.show_view(n))
        top.addSpacing(8)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.changed.openDigit.connect(self.openDigit)
        self.confusion.openDigit.connect(self.openDigit)
        self.show_view("changed")

    def show_view(self, name: str) -> None:
        """Bring a view to the front by name (see VIEWS): ``kdgui --panel changed`` and the buttons come here."""
        if name not in VIEWS:
            raise ValueError(f"no view {name!r}: choose one of {', '.join(VIEWS)}")
        self.buttons[name].setChecked(True)
        self.stack.setCurrentWidget(self.views[name])

    def current_view(self) -> str:
        return next(name for name, view in self.views.items() if view is self.stack.currentWidget())

    # -- inputs ----------------------------------------------------------------------------------------
    def set_models(self, models: list[NamedModel]) -> None:
        """The lineup's networks: the hidden units come from them (the answers come with ``set_insight``)."""
        self.changed.set_models(models)
        self.hidden.set_models(models)

    def set_test_set(self, x: torch.Tensor | None) -> None:
        self.test_x = x
        self.changed.set_test_set(x)
        self.confusion.set_test_set(x)

    def set_insight(self, insight: LineupInsight | None, busy: bool = False, problem: str = "") -> None:
        """The lineup on the test set, or None: still computing (``busy``), failed (``problem``) or no test set yet."""
        self.insight = insight
        if insight is not None:
            self.status.setText(f"The lineup on the {len(insight.labels):,} test digits.")
        else:
            self.status.setText(problem or ("Computing every network's answers on the test set…" if busy else
                                            "Waiting for the test set (the Data panel's MNIST folder)."))
        self.changed.set_insight(insight)
        self.confusion.set_insight(insight)

    def training_event(self, event: object) -> None:
        """A workflow run's event: a student's first layer at each evaluation moves its tiles."""
        self.hidden.training_event(event)

    def training_ended(self) -> None:
        self.hidden.training_ended()

    # -- remembering ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"view": self.current_view()}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("view") in VIEWS:
            self.show_view(state["view"])


class DigitDetail(QWidget):
    """One test digit large, each network's answer, and their soft targets at the viewing temperature."""

    def __init__(self, temperature: TemperatureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature = temperature
        self.index: int | None = None
        self.logits: dict[str, np.ndarray] = {}  # role -> [10] of the shown digit
        self.graphics = pg.GraphicsLayoutWidget()
        theme_plot(self.graphics)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.graphics.addViewBox(row=0, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setFixedWidth(84)
        self.view.setFixedHeight(84)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.plot = _untitled_plot(self.graphics.ci, 0, 1)
        self.plot.setLabel("bottom", "class")
        self.bars = SoftTargetBars(self.plot, list(ROLES))
        self.graphics.setMinimumHeight(150)
        self.title = QLabel("Choose a digit on the left.")
        self.title.setWordWrap(True)
        self.answers = QLabel("")
        self.answers.setWordWrap(True)
        self.answers.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.answers)
        temperature.temperatureChanged.connect(lambda _: self._update_bars())

    def show_digit(self, index: int | None, x: torch.Tensor | None, insight: LineupInsight | None) -> None:
        if index is None or x is None or insight is None:
            self.index, self.logits = None, {}
            self.image.clear()
            self.title.setText("Choose a digit on the left.")
            self.answers.setText("")
            self.bars.set_true_class(None)
            self._update_bars()
            return
        self.index = index
        label = int(insight.labels[index])
        self.logits = {role: z[index].numpy() for role, z in insight.logits.items()}
        self.image.setImage(x[index].reshape(28, 28).numpy(), levels=(0, 1), lut=_PAPER)
        self.view.autoRange(padding=0)
        self.title.setText(f"<b>Test digit #{index}</b>, a {label}")
        self.bars.set_true_class(label)
        said = []
        for role, z in self.logits.items():
            p = softmax_np(z, 1.0)
            mark = "✓" if int(p.argmax()) == label else "✗"
            said.append(f"<span style='color:{role_colour(role)}'>■</span> {ROLE_LABELS.get(role, role)} says "
                        f"<b>{int(p.argmax())}</b> {mark} ({float(p.max()):.0%} at T=1)")
        self.answers.setText("<br>".join(said))
        self._update_bars()

    def _update_bars(self) -> None:
        t = self.temperature.temperature
        self.bars.set_probabilities({role: softmax_np(z, t) for role, z in self.logits.items()})


class ChangedView(QWidget):
    """The digits distillation fixed (the distilled student right, the label-trained one wrong) or broke (the reverse)."""

    openDigit = Signal(int)

    def __init__(self, temperature: TemperatureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: LineupInsight | None = None
        self.test_x: torch.Tensor | None = None
        self.shown = "fixed"
        self.summary = QLabel(_no_answers())
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.fixed_button = QPushButton("Fixed")
        self.broke_button = QPushButton("Broke")
        self.fixed_button.setToolTip("Digits the distilled student gets right and the student trained on labels gets wrong")
        self.broke_button.setToolTip("Digits the student trained on labels gets right and the distilled student gets wrong")
        group = QButtonGroup(self)
        for button in (self.fixed_button, self.broke_button):
            button.setCheckable(True)
            group.addButton(button)
        self.fixed_button.setChecked(True)
        self.list = DigitList()
        self.list.setAccessibleName("digits distillation changed")
        self.viewing = ViewingTemperature(temperature)
        self.detail = DigitDetail(temperature)
        self.open_button = QPushButton("Open in Soft targets")
        self.open_button.setToolTip("Show this digit in the Soft targets tab (or double-click it, or press Enter)")
        self.open_button.setEnabled(False)

        choose = QHBoxLayout()
        choose.addWidget(self.fixed_button)
        choose.addWidget(self.broke_button)
        choose.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(choose)
        left_layout.addWidget(self.list, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.viewing)
        legend = QLabel(make_legend_html(list(ROLES)))
        legend.setTextFormat(Qt.TextFormat.RichText)
        right_layout.addWidget(legend)
        right_layout.addWidget(self.detail, 1)
        right_layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)

        self.fixed_button.clicked.connect(lambda: self.show_list("fixed"))
        self.broke_button.clicked.connect(lambda: self.show_list("broke"))
        self.list.chosen.connect(self._chosen)
        self.list.opened.connect(self.openDigit)
        self.open_button.clicked.connect(lambda: self.openDigit.emit(self.detail.index) if self.detail.index is not None else None)

    def set_models(self, models: list[NamedModel]) -> None:
        roles = {m.key for m in models}
        missing = [KIND_TITLES[r].lower() for r in STUDENTS if r not in roles]
        if missing:
            self.summary.setText(f"What distillation changed needs both students; the {' and '.join(missing)} "
                                 "could not be loaded.")

    def set_test_set(self, x: torch.Tensor | None) -> None:
        self.test_x = x
        self.list.set_images(x)

    def set_insight(self, insight: LineupInsight | None) -> None:
        self.insight = insight
        changed = insight.what_changed if insight is not None else None
        if changed is None:
            self.fixed_button.setText("Fixed")
            self.broke_button.setText("Broke")
            if insight is not None:
                self.summary.setText("What distillation changed needs both students on stage.")
            else:
                self.summary.setText(_no_answers())
            self.list.set_indices([])
            self.detail.show_digit(None, None, None)
            self.open_button.setEnabled(False)
            return
        n = len(insight.labels)
        fixed, broke = len(changed.fixed), len(changed.broke)
        self.fixed_button.setText(f"Fixed {fixed:,}")
        self.broke_button.setText(f"Broke {broke:,}")
        self.summary.setText(
            f"Of {n:,} test digits, the distilled student gets <b>{fixed:,}</b> right that the student trained on labels "
            f"gets wrong, and <b>{broke:,}</b> wrong that it gets right: net <b>{changed.net:+,}</b> "
            f"({insight.accuracy('student'):.2%} → {insight.accuracy('distilled'):.2%}). "
            "Double-click a digit to open it in Soft targets.")
        self.show_list(self.shown)

    def show_list(self, which: str) -> None:
        """List the digits distillation ``fixed`` or ``broke``."""
        self.shown = which
        (self.fixed_button if which == "fixed" else self.broke_button).setChecked(True)
        changed = self.insight.what_changed if self.insight is not None else None
        indices = getattr(changed, which) if changed is not None else ()
        self.list.set_indices(indices, self._describe)
        if not indices:
            self.detail.show_digit(None, None, None)
            self.open_button.setEnabled(False)

    def _describe(self, index: int) -> str:
        insight = self.insight
        said = ", ".join(f"{ROLE_LABELS.get(r, r)} says {int(p[index])}" for r, p in insight.predictions.items())
        return f"Test digit #{index}, a {int(insight.labels[index])}: {said}"

    def _chosen(self, index: int) -> None:
        self.detail.show_digit(index, self.test_x, self.insight)
        self.open_button.setEnabled(True)


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
            plot = _untitled_plot(self.graphics.ci, i // 2, i % 2)
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
            title = "Distilled minus from labels" if name == DIFFERENCE else _title(name)
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
        return f"{_title(name)}: true {row}, answer {col}: {int(m[row, col]):,} digits ({what})"

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
            self.caption.setText(f"<b>{_title(name)}, true {row}, answer {col}</b>: {len(indices):,} digits.")
        self.open_button.setEnabled(bool(indices))
        return indices


def tile_mosaic(tiles: np.ndarray, gap: int = 1) -> tuple[np.ndarray, int]:
    """[H, 28, 28] tiles laid out in a near-square grid, each scaled to its own largest |weight| (so every unit's
    pattern shows, however large its weights), with NaN in the gaps; returns (the image, columns)."""
    count = len(tiles)
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    side = 28 + gap
    out = np.full((rows * side - gap, columns * side - gap), np.nan)
    scale = np.abs(tiles).reshape(count, -1).max(1)
    scale[scale == 0] = 1.0
    for i in range(count):
        r, c = divmod(i, columns)
        out[r * side : r * side + 28, c * side : c * side + 28] = tiles[i] / scale[i]
    return out, columns


class HiddenView(QWidget):
    """The students' first-layer weights as 28x28 tiles, label-trained beside distilled, live while either trains."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour_map = pg.colormap.get("CET-D1A")
        self.graphics = pg.GraphicsLayoutWidget()
        theme_plot(self.graphics)
        self.tiles: dict[str, np.ndarray | None] = {role: None for role in STUDENTS}  # what each side shows now
        self.lineup_tiles: dict[str, np.ndarray | None] = {role: None for role in STUDENTS}
        self.reasons: dict[str, str] = {role: "not loaded" for role in STUDENTS}
        self.labels: dict[str, str] = {role: _title(role) for role in STUDENTS}
        self.live_role: str | None = None  # the student a workflow run is training now
        self.live_note = ""
        self.titles: dict[str, QLabel] = {}
        self.boxes: dict[str, pg.ViewBox] = {}
        self.images: dict[str, pg.ImageItem] = {}
        titles = QHBoxLayout()
        for col, role in enumerate(STUDENTS):
            # Qt labels, not plot labels: a long network name wraps instead of pushing the other side off the page.
            self.titles[role] = QLabel()
            self.titles[role].setWordWrap(True)
            self.titles[role].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            titles.addWidget(self.titles[role], 1)
            box = self.graphics.ci.addViewBox(row=0, col=col, lockAspect=True, enableMouse=False, invertY=True)
            self.graphics.ci.layout.setColumnStretchFactor(col, 1)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            self.boxes[role], self.images[role] = box, image
        note = QLabel("Each tile is one hidden unit of the first layer: its 784 weights drawn as the 28x28 image it "
                      "responds to. Red pixels excite the unit, blue ones inhibit it; each tile is scaled to its own "
                      "largest weight.")
        note.setWordWrap(True)
        note.setStyleSheet(text_style("muted"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(titles)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(note)
        self._show_all()

    def set_models(self, models: list[NamedModel]) -> None:
        by_role = {m.key: m for m in models}
        for role in STUDENTS:
            m = by_role.get(role)
            tiles = hidden_unit_tiles(m.model) if m is not None else None
            self.lineup_tiles[role] = tiles.numpy() if tiles is not None else None
            self.labels[role] = m.label if m is not None else _title(role)
            self.reasons[role] = ("its weights could not be loaded" if m is None else
                                  "it has no first layer that takes the 784 pixels (a CNN's first layer is small "
                                  "convolution filters), so there are no 28x28 tiles")
        self._show_all()

    def training_event(self, event: object) -> None:
        if isinstance(event, Started):
            self.live_role = event.kind if event.kind in STUDENTS else None
            self.live_note = ""
        elif isinstance(event, Evaluation) and self.live_role is not None and event.first_layer is not None:
            self.live_note = f"training now, epoch {event.epoch:.2f}"
            self.tiles[self.live_role] = event.first_layer.detach().cpu().reshape(-1, 28, 28).numpy()
            self._show(self.live_role)

    def training_ended(self) -> None:
        """Back to the lineup's networks (a finished run joins the lineup, which then sends its weights)."""
        if self.live_role is not None:
            self.live_role, self.live_note = None, ""
            self._show_all()

    def _show_all(self) -> None:
        for role in STUDENTS:
            if role != self.live_role or self.tiles[role] is None:
                self.tiles[role] = self.lineup_tiles[role]
            self._show(role)

    def _show(self, role: str) -> None:
        tiles = self.tiles[role]
        live = role == self.live_role and self.live_note
        if tiles is None:
            self.images[role].clear()
            self.titles[role].setText(f"{self.labels[role]}: {self.reasons[role]}")
            return
        mosaic, _ = tile_mosaic(tiles)
        rgba = self.colour_map.map(np.nan_to_num((mosaic + 1) / 2, nan=0.5), mode="byte")
        background = QColor(plot_colours()[0])
        rgba[np.isnan(mosaic)] = (background.red(), background.green(), background.blue(), 255)
        self.images[role].setImage(rgba, autoLevels=False, levels=(0, 255))
        self.boxes[role].autoRange(padding=0.01)
        what = f"{self.labels[role]}, {len(tiles)} units" if not live else f"{_title(role)} {self.live_note}, {len(tiles)} units"
        self.titles[role].setText(what)
