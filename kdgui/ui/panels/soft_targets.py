"""Soft targets you can see: chosen test digits with every model's softmax(z/T) bars, and the class-similarity heatmap."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QSplitter,
    QVBoxLayout, QWidget,
)

from ...core.predict import NamedModel
from ...core.softtargets import (
    class_similarity, entropy_bits, most_similar_pairs, ranked_wrong_classes, select_digits, softmax_np,
)
from ...core.training import predict_logits
from ..style import plot_colours, text_style, theme_plot, theme_plot_item
from ..temperature_model import TemperatureModel
from ..widgets.soft_target_bars import ROLE_COLOURS, SoftTargetBars, make_legend_html, role_colour
from ..widgets.viewing_temperature import ViewingTemperature

MAX_DIGITS = 12
CELL_MIN_WIDTH, CELL_MAX_WIDTH = 245, 560  # a digit cell's width: its bars stay readable, never stretched thin
CELL_MIN_HEIGHT = 170  # image, bars with class labels, and three lines of words
MAX_COLUMNS = 4
MAX_CHOICE_CHARS = 200
TEXT_DELAY_MS = 120
MODES = [("class", "By class"), ("interesting", "Most interesting (teacher's errors, least sure)"),
         ("index", "By test-set index"), ("random", "At random")]


def grid_columns(n: int, width: int, height: int) -> int:
    """How many columns of digit cells fit ``n`` digits in ``width`` x ``height`` pixels without scrolling, if any do.

    The fewest columns whose rows all fit (cells as wide as they may be), but never cells wider than
    CELL_MAX_WIDTH nor narrower than CELL_MIN_WIDTH; when no count fits, as many columns as the width allows.
    """
    most = max(1, min(MAX_COLUMNS, width // CELL_MIN_WIDTH, max(n, 1)))
    least = max(1, min(most, math.ceil(width / CELL_MAX_WIDTH), max(n, 1)))
    for columns in range(least, most + 1):
        if math.ceil(n / columns) * CELL_MIN_HEIGHT <= height:
            return columns
    return most


class DigitCell:
    """One digit: its 28x28 image, grouped bars for every model, and a line of entropy and ranked wrong classes."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, roles: list[str]) -> None:
        cell = layout.addLayout(row=row, col=col)
        cell.setContentsMargins(2, 2, 2, 2)
        self.view = cell.addViewBox(row=0, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setFixedWidth(56)
        self.view.setFixedHeight(56)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.plot = cell.addPlot(row=0, col=1)
        self.plot.setMinimumHeight(96)
        theme_plot_item(self.plot)
        self.bars = SoftTargetBars(self.plot, roles)
        self.text = cell.addLabel("", row=1, col=0, colspan=2, justify="left", size="7.5pt", color=plot_colours()[1])
        self.text.setFixedHeight(54)

    def set_image(self, pixels: torch.Tensor, title: str) -> None:
        self.image.setImage(pixels.reshape(28, 28).cpu().numpy(), levels=(0, 1), lut=_GREY_INVERTED)
        self.view.autoRange(padding=0)
        self.plot.setTitle(title, size="8pt", color=plot_colours()[1])


_GREY_INVERTED = np.array([[255 - i] * 3 for i in range(256)], dtype=np.uint8)  # ink dark on white, like paper


class SoftTargetsPanel(QWidget):
    """Digits chosen from the test set (or drawn), each model's soft targets at the shared temperature."""

    digitsChanged = Signal()
    useTemperatureForDistil = Signal(float)

    def __init__(self, temperature: TemperatureModel, training_temperature: TemperatureModel | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature = temperature
        self.models: list[NamedModel] = []
        self.test_x: torch.Tensor | None = None
        self.test_y: torch.Tensor | None = None
        self.teacher_test_logits: torch.Tensor | None = None
        # Per shown digit: (pixels [784], true class or None, title). Logits: role -> [n_digits, 10], computed once,
        # kept as numpy: a slider step's softmax is then microseconds, whatever torch's thread pool is doing.
        self.digits: list[tuple[torch.Tensor, int | None, str]] = []
        self.logits: dict[str, np.ndarray] = {}
        self._teacher_test_logits_np: np.ndarray | None = None
        self._test_y_np: np.ndarray | None = None
        self.cells: list[DigitCell] = []
        self.columns = 1
        self.text_timer = QTimer(self)
        self.text_timer.setSingleShot(True)
        self.text_timer.setInterval(TEXT_DELAY_MS)
        self.text_timer.timeout.connect(self._update_texts)

        self.mode = QComboBox()
        for key, text in MODES:
            self.mode.addItem(text, key)
        self.mode.setToolTip("How to pick the digits shown below")
        self.mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mode.setMinimumContentsLength(12)
        self.choice = QLineEdit("4, 9, 3, 5")
        self.choice.setToolTip("Classes (for 'By class') or test-set indices (for 'By index'), separated by commas")
        self.choice.setMaxLength(MAX_CHOICE_CHARS)
        self.choice.setMinimumWidth(80)
        self.count = QSpinBox()
        self.count.setRange(1, MAX_DIGITS)
        self.count.setValue(1)
        self.count.setToolTip(f"How many digits (per class for 'By class'); at most {MAX_DIGITS} are shown")
        self.show_button = QPushButton("Show digits")
        self.show_button.setToolTip("Pick the digits from the test set and compute every model's logits once")
        self.problem = QLabel("")
        self.problem.setStyleSheet(text_style("error"))
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.viewing = ViewingTemperature(temperature, training_temperature)
        self.viewing.useForDistil.connect(self.useTemperatureForDistil)
        self.slider = self.viewing.slider
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.sources = QLabel()
        self.sources.setWordWrap(True)
        self.sources.setStyleSheet(text_style("muted"))

        self.graphics = pg.GraphicsLayoutWidget()
        theme_plot(self.graphics)
        self.grid = self.graphics.ci
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.graphics)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.heatmap_widget = pg.GraphicsLayoutWidget()
        theme_plot(self.heatmap_widget)
        self.heatmap_widget.setMinimumSize(200, 180)
        self.heatmap_plot = self.heatmap_widget.addPlot()
        theme_plot_item(self.heatmap_plot)
        self.heatmap_plot.setTitle("Teacher's mean soft target per true class", size="9pt", color=plot_colours()[1])
        self.heatmap_plot.setMouseEnabled(x=False, y=False)
        self.heatmap_plot.hideButtons()
        self.heatmap_plot.setMenuEnabled(False)
        self.heatmap_plot.invertY(True)
        self.heatmap_plot.setAspectLocked(True)
        self.heatmap_plot.setLabel("left", "true class")
        self.heatmap_plot.setLabel("bottom", "class the teacher gives probability to")
        for axis in ("left", "bottom"):
            self.heatmap_plot.getAxis(axis).setTicks([[(i + 0.5, str(i)) for i in range(10)]])
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(pg.colormap.get("viridis"))
        self.heatmap_plot.addItem(self.heatmap)
        self.heatmap_plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=12)
        self.colour_bar.setImageItem(self.heatmap, insert_in=self.heatmap_plot)
        colour_axis = self.colour_bar.getAxis("right")
        colour_axis.setPen(pg.mkPen(plot_colours()[1]))
        colour_axis.setTextPen(pg.mkPen(plot_colours()[1]))
        colour_axis.setWidth(44)  # room for labels such as 0.012: the colour bar's numbers are never cut
        self.similarity: np.ndarray | None = None
        self.hover = QLabel("Hover over the heatmap to read a value.")
        self.hover.setWordWrap(True)
        self.pairs = QLabel()
        self.pairs.setWordWrap(True)
        self.heatmap_off_diagonal = True
        self.heatmap_mode = QComboBox()
        self.heatmap_mode.addItem("Hide the diagonal (see the wrong classes)", True)
        self.heatmap_mode.addItem("Show the diagonal", False)
        self.heatmap_mode.setToolTip("The diagonal (the right class) dwarfs everything else at low T; hide it to see the rest")
        self.heatmap_mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.heatmap_mode.setMinimumContentsLength(12)

        digits_label = QLabel("&Digits:")
        digits_label.setBuddy(self.mode)
        count_label = QLabel("how &many:")
        count_label.setBuddy(self.count)
        controls = QHBoxLayout()
        controls.addWidget(digits_label)
        controls.addWidget(self.mode)
        controls.addWidget(self.choice, 1)
        controls.addWidget(count_label)
        controls.addWidget(self.count)
        controls.addWidget(self.show_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(2)
        left_layout.addWidget(self.legend)
        left_layout.addWidget(self.scroll, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(2)
        right_layout.addWidget(self.heatmap_mode)
        right_layout.addWidget(self.heatmap_widget, 1)
        right_layout.addWidget(self.hover)
        right_layout.addWidget(self.pairs)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(CELL_MIN_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addWidget(self.problem)
        layout.addWidget(self.viewing)
        layout.addWidget(self.sources)
        layout.addWidget(self.splitter, 1)

        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.show_button.clicked.connect(self.show_chosen_digits)
        self.choice.returnPressed.connect(self.show_chosen_digits)
        self.temperature.temperatureChanged.connect(self._temperature_changed)
        self.heatmap_mode.currentIndexChanged.connect(lambda: self._update_heatmap())
        self.heatmap_widget.scene().sigMouseMoved.connect(self._hover_heatmap)
        self._mode_changed()
        self._update_enabled()

    # -- inputs ------------------------------------------------------------------------------------------
    def set_models(self, models: list[NamedModel]) -> None:
        """The networks to compare; the shown digits' logits are recomputed once, here.

        The digit cells and their plot items stay when the roles do (a lineup change swaps networks, not roles):
        rebuilding them took most of a second. The teacher's test-set logits come from ``set_teacher_test_logits``.
        """
        roles_before = self._roles()
        teacher_before = next((m.source for m in self.models if m.key == "teacher"), None)
        self.models = [m for m in models if m.key in ROLE_COLOURS]
        self.sources.setText("Models: " + "; ".join(m.label for m in self.models) if self.models else
                             "No models yet: train a teacher (or use the bundled models) to see soft targets.")
        if next((m.source for m in self.models if m.key == "teacher"), None) != teacher_before:
            self.set_teacher_test_logits(None)
        if self.cells and self._roles() == roles_before:
            self._compute_digit_logits()
            self._update_bars(texts_now=True)
        else:
            self._rebuild_cells()
        self._update_enabled()

    def set_test_set(self, x: torch.Tensor | None, y: torch.Tensor | None) -> None:
        """Test images [N, 784] in the models' input scale and their labels; None when no dataset is loaded."""
        self.test_x, self.test_y = (x.cpu(), y.cpu()) if x is not None and y is not None else (None, None)
        self.set_teacher_test_logits(None)
        self._update_enabled()
        if self.test_x is not None and not self.digits:
            self.show_chosen_digits()

    def set_teacher_test_logits(self, logits: torch.Tensor | None) -> None:
        """The teacher's [N, 10] logits on the test set (for the heatmap and "most interesting" digits), or None.

        Computed once per lineup off the GUI thread (see ``InsightSource``): a CNN teacher takes seconds on 10,000 digits.
        """
        usable = logits is not None and self.test_y is not None and len(logits) == len(self.test_y)
        self.teacher_test_logits = logits.cpu() if usable else None
        self._teacher_test_logits_np = self.teacher_test_logits.numpy() if usable else None
        self._test_y_np = self.test_y.numpy() if self.test_y is not None else None
        self._update_heatmap()

    def show_test_digit(self, index: int) -> bool:
        """Show test digit ``index`` alone, chosen "by test-set index" (what the other views open digits with)."""
        self.mode.setCurrentIndex(self.mode.findData("index"))
        self.choice.setText(str(int(index)))
        return self.show_chosen_digits()

    def add_drawn_digit(self, pixels: torch.Tensor, title: str = "drawn") -> None:
        """Add a digit from the canvas (a [784] tensor as the networks see it); the oldest drops out past 12."""
        self.digits = (self.digits + [(pixels.reshape(-1).float().cpu(), None, title)])[-MAX_DIGITS:]
        self._rebuild_cells()

    # -- choosing digits ---------------------------------------------------------------------------------
    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        self.choice.setEnabled(mode in ("class", "index"))
        self.choice.setPlaceholderText({"class": "e.g. 4, 9", "index": "e.g. 0, 17, 1234"}.get(mode, ""))

    def _say(self, text: str) -> None:
        """A problem with the choice, or "" when there is none (the line then takes no room)."""
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def _parse_choice(self) -> list[int]:
        text = self.choice.text().replace(";", ",").replace(" ", ",")
        try:
            return [int(v) for v in text.split(",") if v]
        except ValueError:
            raise ValueError(f"'{self.choice.text()}' is not a list of whole numbers") from None

    def show_chosen_digits(self) -> bool:
        """Select digits from the test set by the chosen mode; a bad choice is explained, nothing changes."""
        if self.test_x is None or self.test_y is None:
            self._say("No test set: point the Data panel at MNIST to choose digits.")
            return False
        mode = self.mode.currentData()
        try:
            numbers = self._parse_choice() if mode in ("class", "index") else None
            indices = select_digits(
                mode, self.test_y, self.teacher_test_logits, count=self.count.value(),
                classes=numbers if mode == "class" else None, indices=numbers if mode == "index" else None,
                seed=int(torch.randint(0, 2**31 - 1, (1,)).item()) if mode == "random" else 0,
            )
        except ValueError as exc:
            self._say(str(exc))
            return False
        self._say("" if len(indices) <= MAX_DIGITS else f"Showing the first {MAX_DIGITS} of {len(indices)} digits.")
        indices = indices[:MAX_DIGITS]
        self.digits = [(self.test_x[i], int(self.test_y[i]), f"test #{i}, a {int(self.test_y[i])}") for i in indices]
        self._rebuild_cells()
        return True

    # -- drawing -----------------------------------------------------------------------------------------
    def _roles(self) -> list[str]:
        return [m.key for m in self.models] or ["teacher"]

    def _compute_digit_logits(self) -> None:
        """Each model's logits for the shown digits, once; slider steps reuse them."""
        self.logits = {}
        if self.digits:
            x = torch.stack([d[0] for d in self.digits])
            for m in self.models:
                device = next(m.model.parameters()).device
                self.logits[m.key] = predict_logits(m.model, x.to(device)).cpu().numpy()

    def _rebuild_cells(self) -> None:
        """Lay out one cell per digit and compute each model's logits once; slider steps reuse them."""
        self.grid.clear()
        self.cells = []
        roles = self._roles()
        self.legend.setText(make_legend_html(roles))
        self._compute_digit_logits()
        room = self.scroll.size()
        self.columns = grid_columns(len(self.digits), room.width() - 4, room.height() - 4)
        for i, (pixels, label, title) in enumerate(self.digits):
            cell = DigitCell(self.grid, i // self.columns, i % self.columns, roles)
            cell.set_image(pixels, title)
            cell.bars.set_true_class(label)
            self.cells.append(cell)
        rows = -(-len(self.digits) // self.columns)
        self.graphics.setMinimumHeight(max(CELL_MIN_HEIGHT, rows * CELL_MIN_HEIGHT))
        self._update_bars(texts_now=True)
        self.digitsChanged.emit()

    def probabilities(self) -> dict[str, np.ndarray]:
        """role -> [n_digits, 10] soft targets at the current temperature (what the bars show)."""
        t = self.temperature.temperature
        return {role: softmax_np(logits, t) for role, logits in self.logits.items()}

    def _update_bars(self, texts_now: bool = False) -> None:
        probabilities = self.probabilities()
        for i, cell in enumerate(self.cells):
            cell.bars.set_probabilities({role: p[i] for role, p in probabilities.items()})
        # Re-laying out rich text costs about 1 ms a digit: while the slider moves, the lines follow when it rests.
        if texts_now:
            self._update_texts()
        else:
            self.text_timer.start()

    def _update_texts(self) -> None:
        probabilities = self.probabilities()
        for i, cell in enumerate(self.cells):
            cell.text.setText(self._describe(i, probabilities))

    def _describe(self, i: int, probabilities: dict[str, np.ndarray]) -> str:
        label = self.digits[i][1]
        parts = []
        for role, p in probabilities.items():
            parts.append(f"<span style='color:{role_colour(role)}'>■</span> says {int(p[i].argmax())} "
                         f"({float(p[i].max()):.0%}), entropy {float(entropy_bits(p[i])):.2f} bits")
        teacher = probabilities.get("teacher")
        if teacher is not None:
            reference = label if label is not None else int(teacher[i].argmax())
            wrong = ranked_wrong_classes(teacher[i], reference)[:3]
            parts.append("teacher's next: " + ", ".join(f"{c} ({p:.1%})" for c, p in wrong))
        return "<br>".join(parts)

    def _update_heatmap(self) -> None:
        if self._teacher_test_logits_np is None or self._test_y_np is None:
            self.heatmap.clear()
            self.similarity = None
            self.pairs.setText("The heatmap needs a teacher and the test set.")
            return
        matrix = class_similarity(self._teacher_test_logits_np, self._test_y_np, self.temperature.temperature)
        self.similarity = matrix.numpy()
        shown = self.similarity.copy()
        if self.heatmap_mode.currentData():
            np.fill_diagonal(shown, np.nan)
        finite = shown[np.isfinite(shown)]
        top = float(finite.max()) if finite.size else 1.0
        self.heatmap.setImage(np.nan_to_num(shown, nan=0.0), levels=(0, max(top, 1e-6)))
        self.heatmap.setRect(0, 0, 10, 10)
        self.colour_bar.setLevels((0, max(top, 1e-6)))
        pairs = most_similar_pairs(matrix, top=4)
        self.pairs.setText("Most alike for the teacher at this T: " + ", ".join(f"{a}–{b} ({p:.1%})" for a, b, p in pairs))

    def _hover_heatmap(self, position: QPointF) -> None:
        if self.similarity is None or not self.heatmap_plot.sceneBoundingRect().contains(position):
            return
        point = self.heatmap_plot.vb.mapSceneToView(position)
        col, row = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= row < 10 and 0 <= col < 10:
            self.hover.setText(f"True {row}: the teacher gives class {col} on average {self.similarity[row, col]:.2%} "
                               f"at T={self.temperature.temperature:g}")

    def resizeEvent(self, event) -> None:  # noqa: ANN001 - QResizeEvent
        super().resizeEvent(event)
        self._fit_grid()

    def _fit_grid(self) -> None:
        """As many columns as make every digit fit the room without scrolling (see ``grid_columns``)."""
        room = self.scroll.size()
        columns = grid_columns(len(self.digits), room.width() - 4, room.height() - 4)
        if columns != self.columns:
            self.columns = columns
            self._rebuild_cells()

    # -- remembering ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The view choices: how digits are picked, the classes or indices typed, how many, the heatmap's mode."""
        return {"mode": self.mode.currentData(), "choice": self.choice.text(), "count": self.count.value(),
                "hide_diagonal": bool(self.heatmap_mode.currentData()), "split": self.splitter.sizes()}

    def restore(self, state: dict[str, Any]) -> None:
        """Put back what ``state`` gave; anything unexpected keeps its default."""
        index = self.mode.findData(state.get("mode"))
        if index >= 0:
            self.mode.setCurrentIndex(index)
        choice = state.get("choice")
        if isinstance(choice, str) and len(choice) <= MAX_CHOICE_CHARS:
            self.choice.setText(choice)
        count = state.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_DIGITS:
            self.count.setValue(count)
        hide = state.get("hide_diagonal")
        if isinstance(hide, bool):
            self.heatmap_mode.setCurrentIndex(self.heatmap_mode.findData(hide))
        split = state.get("split")
        if isinstance(split, list) and len(split) == 2 and all(isinstance(v, int) and v > 0 for v in split):
            self.splitter.setSizes(split)

    # -- temperature -------------------------------------------------------------------------------------
    def _temperature_changed(self, t: float) -> None:
        self._update_bars()
        self._update_heatmap()

    def _update_enabled(self) -> None:
        has_test = self.test_x is not None
        self.show_button.setEnabled(has_test)
        self.show_button.setToolTip("Pick the digits from the test set" if has_test else "Load a dataset in the Data panel first")

