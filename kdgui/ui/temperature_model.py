"""A softmax temperature that views share and listen to: the viewing T (Soft targets, Draw) or the training T (Distil)."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

from ..core.config import SEED_DISTILL


class TemperatureModel(QObject):
    """Holds T (> 0) and emits ``temperatureChanged`` only when it really changes."""

    temperatureChanged = Signal(float)

    def __init__(self, temperature: float = SEED_DISTILL.temperature, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._temperature = float(temperature)

    @property
    def temperature(self) -> float:
        return self._temperature

    def setTemperature(self, value: float) -> None:
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"temperature must be a finite number above 0, got {value}")
        if math.isclose(value, self._temperature, rel_tol=1e-9, abs_tol=1e-12):
            return
        self._temperature = value
        self.temperatureChanged.emit(value)

    def state(self) -> dict[str, float]:
        return {"temperature": self._temperature}

    def restore(self, state: dict) -> None:
        try:
            self.setTemperature(state.get("temperature"))
        except (TypeError, ValueError):
            pass  # an old or hand-edited setting: keep the current value
