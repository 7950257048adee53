"""A line edit for one number that checks it as it is typed and says why a value is refused."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

from ..style import background_colour, text_colour


def invalid_style() -> str:
    """A refused field: a red border on a pale red ground (dark red on a dark palette)."""
    return f"QLineEdit {{ border: 1px solid {text_colour('error')}; background: {background_colour('error')}; }}"


class CheckedField(QLineEdit):
    """A line edit whose text is checked as it is typed: ``value()`` is None while the text is refused, and the reason
    is ``problem()``, the tooltip and a red border. Subclasses say how to read the text (``_parse``, raising
    ValueError with the reason) and what the tooltip says of an accepted value (``describe``)."""

    valueChanged = Signal(object)  # the new value, or None when the text is refused

    def __init__(self, name: str, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name, self.hint = name, hint
        self._value: object = None
        self._problem: str | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setAccessibleName(name)
        self.textChanged.connect(self._check)

    def value(self) -> object:
        return self._value

    def problem(self) -> str | None:
        return self._problem

    def isValid(self) -> bool:
        return self._problem is None

    def describe(self) -> str:
        return self.name

    def _parse(self, text: str) -> object:
        raise NotImplementedError

    def _check(self, text: str) -> None:
        try:
            value, problem = self._parse(text), None
        except ValueError as exc:
            value, problem = None, str(exc)
        changed = value != self._value or problem != self._problem
        self._value, self._problem = value, problem
        self.setStyleSheet(invalid_style() if problem else "")
        tip = problem or self.describe()
        self.setToolTip(f"{tip}\n{self.hint}" if self.hint else tip)
        if changed:
            self.valueChanged.emit(value)


class NumberField(CheckedField):
    """A whole number or a float within bounds; ``value()`` is None while the text is not acceptable.

    The reason for a refusal is the tooltip and ``problem()``; panels show it next to the field, so a bad
    value is seen where it is typed and never reaches the engine. Up/Down keys step whole numbers.
    ``special_text`` (opt-in, like QSpinBox's special value text) is shown for the lowest value and accepted
    in its place, e.g. "all" for a limit of 0 that means no limit.
    """

    def __init__(self, name: str, *, integer: bool, low: float, high: float, low_open: bool = False,
                 value: float | None = None, step: float = 1, hint: str = "", special_text: str = "",
                 parent: QWidget | None = None) -> None:
        self.special_text = special_text
        self.integer = integer
        self.low, self.high, self.low_open = low, high, low_open
        self.step = step
        super().__init__(name, hint, parent)
        if special_text:
            self.setPlaceholderText(special_text)
            self.editingFinished.connect(self._show_special)
        if value is not None:
            self.setValue(value)
        else:
            self._check(self.text())

    def setValue(self, value: float) -> None:
        self.setText(self.special_text if self._is_special(value) else format_number(value, self.integer))

    def _is_special(self, value: float | None) -> bool:
        return bool(self.special_text) and value is not None and value == self.low and not self.low_open

    def _show_special(self) -> None:
        """The lowest value typed as a number reads as its special text once editing ends."""
        if self._is_special(self._value) and self.text() != self.special_text:
            self.setText(self.special_text)

    def bounds_text(self) -> str:
        fmt = lambda v: format_number(v, self.integer)  # noqa: E731
        if self.low_open:
            return f"greater than {fmt(self.low)} and at most {fmt(self.high)}"
        special = f" ({fmt(self.low)} reads '{self.special_text}')" if self.special_text else ""
        return f"between {fmt(self.low)} and {fmt(self.high)}{special}"

    def _parse(self, text: str) -> float | int:
        cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
        if self.special_text and not self.low_open and cleaned.lower() in ("", self.special_text.lower().replace(" ", "")):
            return int(self.low) if self.integer else self.low
        if not cleaned:
            raise ValueError(f"{self.name} is empty: type a {'whole number' if self.integer else 'number'}")
        try:
            number = float(cleaned)
        except ValueError:
            raise ValueError(f"{self.name} must be a {'whole number' if self.integer else 'number'}, not {text.strip()!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{self.name} must be a finite number")
        if self.integer:
            if number != int(number):
                raise ValueError(f"{self.name} must be a whole number, not {text.strip()}")
            number = int(number)
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            raise ValueError(f"{self.name} must be {self.bounds_text()}, not {format_number(number, self.integer)}")
        return number

    def describe(self) -> str:
        return f"{self.name}: {self.bounds_text()}"

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.integer and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._value is not None:
            delta = self.step if event.key() == Qt.Key.Key_Up else -self.step
            self.setValue(min(max(self._value + delta, self.low + (1 if self.low_open else 0)), self.high))
            return
        super().keyPressEvent(event)


def format_number(value: float, integer: bool) -> str:
    if integer:
        return str(int(value))
    return f"{value:g}"
