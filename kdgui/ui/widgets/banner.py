"""A dismissible message strip for what went wrong (or right) without a modal dialog in the way."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from ..style import background_colour, text_colour

ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ"}


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = ""
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        background, foreground, icon = background_colour(level), text_colour(level), ICONS[level]
        self.level = level
        self.setStyleSheet(f"MessageBanner {{ background: {background}; border: 1px solid {foreground}; border-radius: 3px; }}"
                           f" QLabel {{ color: {foreground}; }}")
        self.icon.setText(icon)
        self.text.setText(text)
        self.show()
