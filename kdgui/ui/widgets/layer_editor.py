"""Edits a network's dense hidden layers (one row per layer: width, dropout; add and remove) and a list of conv channels."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from ...core.errors import ConfigError
from ..style import text_style
from .number_field import CheckedField, NumberField

MAX_LAYERS = 8
MAX_WIDTH = 8192
MAX_DROPOUT = 0.95


class LayerListEditor(QWidget):
    """``hidden()``/``dropout()`` give the layers, or None while any field is refused (see ``problems()``)."""

    changed = Signal()

    def __init__(self, network: str, hidden: tuple[int, ...], dropout: tuple[float, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network = network
        self.min_layers = 1  # an MLP needs a hidden layer; a CNN's conv blocks may feed the outputs directly (0)
        self._rows: list[tuple[QLabel, NumberField, NumberField, QToolButton]] = []
        self._headers: list[QLabel] = []
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(3)
        for col, text in enumerate(("", "Width", "Dropout")):
            header = QLabel(text)
            header.setStyleSheet(text_style("muted"))
            self.grid.addWidget(header, 0, col)
            self._headers.append(header)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(2, 1)
        self.add_button = QPushButton("+ Add layer")
        self.add_button.clicked.connect(lambda: self.add_layer())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.grid)
        layout.addWidget(self.add_button)
        self.set_layers(hidden, dropout)

    def layer_count(self) -> int:
        return len(self._rows)

    def width_fields(self) -> list[NumberField]:
        return [row[1] for row in self._rows]

    def set_min_layers(self, count: int) -> None:
        self.min_layers = count
        self._refresh()

    def set_layers(self, hidden: tuple[int, ...], dropout: tuple[float, ...] = ()) -> None:
        dropout = tuple(dropout) or (0.0,) * len(hidden)
        while self._rows:
            self._remove_row(len(self._rows) - 1, emit=False)
        for width, p in zip(hidden, dropout):
            self.add_layer(width, p, emit=False)
        self._refresh()
        self.changed.emit()

    def add_layer(self, width: int | None = None, dropout: float = 0.0, *, emit: bool = True) -> None:
        if len(self._rows) >= MAX_LAYERS:
            return
        if width is None:  # a new layer copies the last one's width, the usual way MLPs are widened
            last = self._rows[-1][1].value() if self._rows else None
            width = int(last) if last else 100
        i = len(self._rows) + 1
        label = QLabel()
        width_field = NumberField(f"{self.network}: width of hidden layer {i}", integer=True, low=1, high=MAX_WIDTH,
                                  value=width, step=10, hint="Neurons in this layer (Up/Down keys step by 10).")
        dropout_field = NumberField(f"{self.network}: dropout after hidden layer {i}", integer=False, low=0.0,
                                    high=MAX_DROPOUT, value=dropout, hint="Fraction of this layer's outputs zeroed while training.")
        remove = QToolButton()
        remove.setText("✕")
        remove.setAccessibleName(f"remove layer {i}")
        row = (label, width_field, dropout_field, remove)
        remove.clicked.connect(lambda: self._remove_row(self._rows.index(row)))
        width_field.valueChanged.connect(self.changed)
        dropout_field.valueChanged.connect(self.changed)
        self._rows.append(row)
        for col, widget in enumerate(row):
            self.grid.addWidget(widget, i, col)
        self._refresh()
        if emit:
            self.changed.emit()

    def _remove_row(self, index: int, *, emit: bool = True) -> None:
        if emit and len(self._rows) <= self.min_layers:
            return
        row = self._rows.pop(index)
        for widget in row:
            self.grid.removeWidget(widget)
            widget.hide()  # out of the layout but still a child until deleted: it would cover the rows
            widget.deleteLater()
        for i, (_, width_field, dropout_field, _) in enumerate(self._rows, 1):
            width_field.name = f"{self.network}: width of hidden layer {i}"
            dropout_field.name = f"{self.network}: dropout after hidden layer {i}"
            width_field._check(width_field.text())
            dropout_field._check(dropout_field.text())
        # Rows below the removed one move up a grid line so no gap is left.
        for i, row in enumerate(self._rows, 1):
            for col, widget in enumerate(row):
                self.grid.addWidget(widget, i, col)
        self._refresh()
        if emit:
            self.changed.emit()

    def _refresh(self) -> None:
        n = len(self._rows)
        for i, (label, _, _, remove) in enumerate(self._rows, 1):
            label.setText(f"Layer {i}")
            remove.setEnabled(n > self.min_layers)
            remove.setToolTip(f"Remove layer {i}" if n > self.min_layers else "An MLP needs at least one hidden layer")
        for header in self._headers:
            header.setVisible(n > 0)
        self.add_button.setEnabled(n < MAX_LAYERS)
        self.add_button.setToolTip("Add a hidden layer" if n < MAX_LAYERS else f"At most {MAX_LAYERS} hidden layers")

    def problems(self) -> list[str]:
        return [p for row in self._rows for p in (row[1].problem(), row[2].problem()) if p]

    def hidden(self) -> tuple[int, ...] | None:
        values = [row[1].value() for row in self._rows]
        return None if any(v is None for v in values) else tuple(int(v) for v in values)

    def dropout(self) -> tuple[float, ...] | None:
        values = [row[2].value() for row in self._rows]
        return None if any(v is None for v in values) else tuple(float(v) for v in values)


class IntListField(CheckedField):
    """Whole numbers separated by commas ("32, 64"); ``value()`` is None while refused, ``problem()`` says why.

    ``check`` raises ConfigError for a list the core refuses, so the field is marked with the core's own message.
    """

    def __init__(self, name: str, check: Callable[[tuple[int, ...]], object], value: tuple[int, ...] = (), hint: str = "",
                 parent: QWidget | None = None) -> None:
        self.check = check
        super().__init__(name, hint, parent)
        self.setValue(value)

    def setValue(self, value: tuple[int, ...]) -> None:
        self.setText(", ".join(str(v) for v in value))
        self._check(self.text())  # the same text again emits no textChanged

    def _parse(self, text: str) -> tuple[int, ...]:
        parts = [p.strip() for p in text.replace(";", ",").split(",")]
        if parts == [""]:
            raise ValueError(f"{self.name} is empty: type whole numbers separated by commas, e.g. 32, 64")
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"{self.name} must be whole numbers separated by commas, not {text.strip()!r}") from None
        try:
            self.check(values)
        except ConfigError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        return values
