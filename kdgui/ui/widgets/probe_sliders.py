"""Sliders that shift, rotate, thicken and thin the drawn digit, each with a strip of every network's answer along it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QSlider, QWidget

from ...core.probe import LIMITS, Probe
from ..style import background_colour
from .soft_target_bars import ROLE_LABELS, role_colour


@dataclass(frozen=True)
class Setting:
    name: str  # a Probe field
    title: str
    step: float
    unit: str
    tip: str

    @property
    def positions(self) -> int:
        return 2 * round(LIMITS[self.name] / self.step) + 1

    def value(self, position: int) -> float:
        return (position - self.positions // 2) * self.step

    def values(self) -> list[float]:
        return [self.value(p) for p in range(self.positions)]


SETTINGS = (
    Setting("dx", "Right", 1.0, "px", "Move the digit right (left when negative), in pixels of the 28x28 image"),
    Setting("dy", "Down", 1.0, "px", "Move the digit down (up when negative), in pixels of the 28x28 image"),
    Setting("angle", "Turn", 5.0, "°", "Rotate the digit clockwise (anticlockwise when negative) about the image's centre"),
    Setting("thickness", "Thicker", 0.25, "px", "Thicken the strokes by this many pixels a side (thin them when negative)"),
)
STRIP_ROW = 6  # pixels per network in a strip: three rows read at a glance under the slider


class AnswerStrip(QWidget):
    """Under a slider, one thin row per network: in its colour where it still gives its answer to the digit as drawn,
    pale with the new answer written in where moving this slider alone would change its mind."""

    def __init__(self, setting: Setting, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = setting
        self.answers: dict[str, list[int]] = {}  # role -> answer at each slider position
        self.reference: dict[str, int] = {}  # role -> its answer to the digit as drawn
        self.setFixedHeight(3 * STRIP_ROW + 2)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_answers(self, answers: dict[str, list[int]], reference: dict[str, int]) -> None:
        self.answers, self.reference = answers, reference
        self.setToolTip(self._describe())
        self.update()

    def changes(self, role: str) -> list[float]:
        """The slider values at which ``role``'s answer differs from its answer to the digit as drawn."""
        values = self.setting.values()
        return [values[i] for i, a in enumerate(self.answers.get(role, [])) if a != self.reference.get(role)]

    def _describe(self) -> str:
        lines = []
        for role in self.answers:
            changed = self.changes(role)
            unit = self.setting.unit
            where = (f"changes its mind from {min(changed, key=abs):+g}{unit}" if changed else "never changes its mind here")
            lines.append(f"{ROLE_LABELS.get(role, role)} says {self.reference.get(role)}: {where}")
        return "\n".join(lines)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        if not self.answers:
            return
        painter = QPainter(self)
        n = self.setting.positions
        # Columns line up with the slider's positions: the handle's centre travels from half a handle in on either side.
        margin = 6.0
        width = (self.width() - 2 * margin) / max(1, n - 1)
        pale = QColor(background_colour("warning"))
        font = painter.font()
        font.setPixelSize(STRIP_ROW + 1)
        painter.setFont(font)
        for row, (role, answers) in enumerate(self.answers.items()):
            colour = QColor(role_colour(role))
            for i, answer in enumerate(answers):
                rect = QRectF(margin + (i - 0.5) * width, 1 + row * STRIP_ROW, width, STRIP_ROW - 1)
                painter.fillRect(rect, colour if answer == self.reference.get(role) else pale)
        painter.end()


class ProbeSliders(QWidget):
    """The four settings of a ``Probe`` as sliders (two to a row), each with its ``AnswerStrip``; ``reset_button``
    (for the caller to place) puts them back to zero."""

    changed = Signal()  # any slider moved: the probe is another

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        self.strips: dict[str, AnswerStrip] = {}
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Put the digit back as drawn")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(0)
        for i, setting in enumerate(SETTINGS):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, setting.positions - 1)
            slider.setValue(setting.positions // 2)
            slider.setPageStep(max(1, setting.positions // 8))
            slider.setToolTip(setting.tip)
            slider.setAccessibleName(f"probe: {setting.title.lower()}")
            slider.setMinimumWidth(50)
            label = QLabel(setting.title)
            label.setBuddy(slider)
            value = QLabel()
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("-2.75px"))
            strip = AnswerStrip(setting)
            row, col = 2 * (i // 2), 3 * (i % 2)
            grid.addWidget(label, row, col)
            grid.addWidget(slider, row, col + 1)
            grid.addWidget(value, row, col + 2)
            grid.addWidget(strip, row + 1, col + 1)
            grid.setColumnStretch(col + 1, 1)
            self.sliders[setting.name], self.values[setting.name], self.strips[setting.name] = slider, value, strip
            slider.valueChanged.connect(self._moved)
        self.reset_button.clicked.connect(self.reset)
        self._show_values()

    def probe(self) -> Probe:
        return Probe(**{s.name: s.value(self.sliders[s.name].value()) for s in SETTINGS})

    def set_probe(self, probe: Probe) -> None:
        """Move the sliders to ``probe``'s settings (each to its nearest position)."""
        for s in SETTINGS:
            position = round(getattr(probe, s.name) / s.step) + s.positions // 2
            self.sliders[s.name].setValue(max(0, min(s.positions - 1, position)))

    def reset(self) -> None:
        self.set_probe(Probe())

    def _moved(self) -> None:
        self._show_values()
        self.changed.emit()

    def _show_values(self) -> None:
        probe = self.probe()
        for s in SETTINGS:
            self.values[s.name].setText(f"{getattr(probe, s.name):+g}{s.unit}".replace("+0", "0", 1) if
                                        getattr(probe, s.name) == 0 else f"{getattr(probe, s.name):+g}{s.unit}")
        self.reset_button.setEnabled(not probe.identity)
