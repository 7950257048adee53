"""The viewing temperature row of Soft targets and Draw: a slider that changes what you see, never what Distil trains at."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..style import text_style
from ..temperature_model import TemperatureModel
from .temperature_slider import TemperatureSlider


class ViewingTemperature(QWidget):
    """Slider for the shared viewing T, and a button that hands the value to the next Distil when the user asks.

    ``viewing`` is the temperature the soft-target views draw at; ``training`` the Distillation panel's. Only
    the button changes ``training``: exploring T is not training T.
    """

    useForDistil = Signal(float)

    def __init__(self, viewing: TemperatureModel, training: TemperatureModel | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewing, self.training = viewing, training
        self.slider = TemperatureSlider(viewing.temperature)
        self.slider.setToolTip("The viewing temperature T, shared by Soft targets and Draw: drag to watch the bars change. "
                               "It does not change the temperature the next Distil trains at.")
        self.use_button = QPushButton()
        self.use_button.clicked.connect(lambda: self.useForDistil.emit(self.viewing.temperature))
        self.note = QLabel()
        self.note.setStyleSheet(text_style("muted"))
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Viewing temperature T:"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.slider.temperatureChanged.connect(viewing.setTemperature)
        viewing.temperatureChanged.connect(self._changed)
        if training is not None:
            training.temperatureChanged.connect(lambda _: self._changed())
        self.use_button.setVisible(training is not None)
        self.note.setVisible(training is not None)
        self._changed()

    def _changed(self, *_: float) -> None:
        t = self.viewing.temperature
        if self.slider.temperature() != t:
            self.slider.setTemperature(t)
        if self.training is None:
            return
        trains_at = self.training.temperature
        self.use_button.setText(f"Use T={t:g} for the next Distil")
        self.use_button.setEnabled(abs(trains_at - t) > 1e-9)
        self.use_button.setToolTip(f"Set the Distillation panel's temperature to {t:g}" if abs(trains_at - t) > 1e-9
                                   else "The next Distil already trains at this temperature")
        self.note.setText(f"This T only changes what you see. The next Distil trains at T={trains_at:g} (Distillation panel).")
