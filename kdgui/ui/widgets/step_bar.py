"""The workflow as a row of clickable steps (Data > Teacher > Student > Distil > Compare), each done, next or waiting."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ..style import chip_colours, text_style

DONE, CURRENT, WAITING = "done", "current", "waiting"


def chip_style(state: str) -> str:
    """A step's look: its colours from style.py (light or dark), rounded; the current step in bold."""
    text, background, border = chip_colours(state)
    bold = " font-weight: bold;" if state == CURRENT else ""
    return (f"QToolButton {{ color: {text}; background: {background}; border: 1px solid {border}; border-radius: 11px; "
            f"padding: 2px 10px;{bold} }}")


class StepBar(QWidget):
    """``set_state(step, state, tooltip)`` colours a step; clicking one emits ``stepClicked(step)``."""

    stepClicked = Signal(str)

    def __init__(self, steps: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, QToolButton] = {}
        self.titles = dict(steps)
        self.states: dict[str, str] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(4)
        for i, (key, title) in enumerate(steps):
            if i:
                arrow = QLabel("›")
                arrow.setStyleSheet(text_style("muted", "font-size: 16px;"))
                layout.addWidget(arrow)
            button = QToolButton()
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, k=key: self.stepClicked.emit(k))
            self.buttons[key] = button
            layout.addWidget(button)
            self.set_state(key, WAITING, "")

    def set_state(self, key: str, state: str, tooltip: str) -> None:
        button = self.buttons[key]
        button.setToolTip(tooltip)
        if self.states.get(key) == state:
            return  # restyling costs a re-polish; panels call this on every keystroke
        self.states[key] = state
        number = list(self.buttons).index(key) + 1
        mark = "✓ " if state == DONE else f"{number} "
        button.setText(f"{mark}{self.titles[key]}")
        button.setStyleSheet(chip_style(state))
        button.setAccessibleName(f"step {self.titles[key]}: {state}")
