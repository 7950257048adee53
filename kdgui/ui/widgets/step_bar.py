"""The workflow as a row of clickable steps (Data > Teacher > Student > Distil > Compare), each done, next or waiting."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

DONE, CURRENT, WAITING = "done", "current", "waiting"
_STYLE = {
    DONE: "QToolButton { color: #1b5e20; background: #e8f5e9; border: 1px solid #a5d6a7; border-radius: 11px; padding: 2px 10px; }",
    CURRENT: "QToolButton { color: white; background: #1565c0; border: 1px solid #0d47a1; border-radius: 11px; padding: 2px 10px; font-weight: bold; }",
    WAITING: "QToolButton { color: #555; background: #f2f2f2; border: 1px solid #cfcfcf; border-radius: 11px; padding: 2px 10px; }",
}


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
                arrow.setStyleSheet("color: #888; font-size: 16px;")
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
        button.setStyleSheet(_STYLE[state])
        button.setAccessibleName(f"step {self.titles[key]}: {state}")
