"""What changed: the test digits distillation fixed and broke, and one digit's soft targets from every network."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ....core.config import KIND_TITLES
from ....core.insight import LineupInsight
from ....core.predict import NamedModel
from ....core.softtargets import softmax_np
from ...style import theme_plot
from ...temperature_model import TemperatureModel
from ...widgets.digit_list import DigitList
from ...widgets.soft_target_bars import ROLE_LABELS, SoftTargetBars, make_legend_html, role_colour
from ...widgets.viewing_temperature import ViewingTemperature
from .common import ROLES, STUDENTS, PAPER, untitled_plot, no_answers


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
        self.plot = untitled_plot(self.graphics.ci, 0, 1)
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
        self.image.setImage(x[index].reshape(28, 28).numpy(), levels=(0, 1), lut=PAPER)
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
        self.summary = QLabel(no_answers())
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
                self.summary.setText(no_answers())
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
