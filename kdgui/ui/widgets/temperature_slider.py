"""A temperature slider from 0.5 to 20 on a log scale (finer steps at low T) with a box to type any T > 0."""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QSlider, QStyle, QStyleOptionSlider, QVBoxLayout, QWidget

from .number_field import NumberField

T_MIN, T_MAX = 0.5, 20.0
SLIDER_STEPS = 400
TICKS = (0.5, 1, 2, 4, 8, 20)


def snap_temperature(t: float) -> float:
    """Round to a grid that is finer where T is small: 0.05 below 1, 0.1 to 5, 0.25 to 10, then 0.5."""
    for limit, grid in ((1.0, 0.05), (5.0, 0.1), (10.0, 0.25)):
        if t < limit - 1e-9:
            return round(round(t / grid) * grid, 2)
    return round(round(t / 0.5) * 0.5, 2)


def slider_to_temperature(position: int) -> float:
    return snap_temperature(T_MIN * (T_MAX / T_MIN) ** (position / SLIDER_STEPS))


def temperature_to_slider(t: float) -> int:
    t = min(max(t, T_MIN), T_MAX)
    return round(SLIDER_STEPS * math.log(t / T_MIN) / math.log(T_MAX / T_MIN))


class _TickLabels(QWidget):
    """Tick values painted under the slider's own tick positions (they are not evenly spaced)."""

    def __init__(self, slider: QSlider) -> None:
        super().__init__(slider.parentWidget())
        self.slider = slider
        self.setFixedHeight(self.fontMetrics().height() + 2)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def paintEvent(self, event: QPaintEvent) -> None:
        option = QStyleOptionSlider()
        self.slider.initStyleOption(option)
        style = self.slider.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self.slider)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self.slider)
        span = groove.width() - handle.width()
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        metrics = self.fontMetrics()
        for t in TICKS:
            x = groove.x() + handle.width() / 2 + QStyle.sliderPositionFromValue(0, SLIDER_STEPS, temperature_to_slider(t), span)
            text = f"{t:g}"
            w = metrics.horizontalAdvance(text)
            left = min(max(0, int(x - w / 2)), self.width() - w)
            painter.drawText(QRect(left, 0, w + 1, self.height()), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


class TemperatureSlider(QWidget):
    """Emits ``temperatureChanged`` for every acceptable T the user picks, by dragging or typing."""

    temperatureChanged = Signal(float)

    def __init__(self, temperature: float = 4.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(SLIDER_STEPS // 20)
        self.slider.setAccessibleName("temperature slider")
        self.slider.setToolTip("Drag to set the temperature T (log scale: finer steps at low T)")
        self.field = NumberField(
            "temperature", integer=False, low=0.0, high=1000.0, low_open=True, value=temperature,
            hint="The slider spans 0.5 to 20; type any T above 0 here.",
        )
        self.field.setFixedWidth(self.field.fontMetrics().horizontalAdvance("0000.00") + 16)
        self._temperature = temperature
        self._syncing = False

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.slider)
        column.addWidget(_TickLabels(self.slider))
        row.addLayout(column, 1)
        row.addWidget(self.field, 0, Qt.AlignmentFlag.AlignTop)
        self.setLayout(row)

        self.slider.setValue(temperature_to_slider(temperature))
        self.slider.valueChanged.connect(self._slider_moved)
        self.field.valueChanged.connect(self._typed)

    def temperature(self) -> float | None:
        """The current T, or None while the typed text is not a valid temperature."""
        return self._temperature if self.field.isValid() else None

    def setTemperature(self, t: float) -> None:
        """Show ``t`` (from a model or a loaded run) without echoing it back as a user change."""
        self._syncing = True
        try:
            self._temperature = float(t)
            self.field.setValue(t)
            self.slider.setValue(temperature_to_slider(t))
        finally:
            self._syncing = False

    def _slider_moved(self, position: int) -> None:
        if self._syncing:
            return
        t = slider_to_temperature(position)
        self._syncing = True
        try:
            self.field.setValue(t)
        finally:
            self._syncing = False
        self._set(t)

    def _typed(self, value: float | None) -> None:
        if self._syncing or value is None:
            return
        self._syncing = True
        try:
            self.slider.setValue(temperature_to_slider(value))
        finally:
            self._syncing = False
        self._set(float(value))

    def _set(self, t: float) -> None:
        if t != self._temperature:
            self._temperature = t
            self.temperatureChanged.emit(t)
