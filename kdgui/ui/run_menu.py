"""The Run menu: an action per start button, Pause and Stop, whose keys say why when their button refuses."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QPushButton, QWidget

from .panels.run_controls import RunControls
from . import workflow

# The Run menu: text and key of each action; the action clicks its button, so the button's rules hold for both.
RUN_ACTIONS = {"teacher": ("Train &teacher", "Ctrl+1"), "student": ("Train &student", "Ctrl+2"), "distilled": ("&Distil", "Ctrl+3"),
               "pause": ("&Pause / resume", "Ctrl+P"), "stop": ("S&top", "Ctrl+.")}


class RunMenu(QObject):
    """Fills ``menu`` from the run controls' buttons; ``status(text, ms)`` shows why a refused key did nothing.

    Each action clicks its button, so one set of rules enables both. A disabled action's key would do nothing,
    so a shortcut on ``window`` with the same key takes over while the action is disabled and says why.
    """

    def __init__(self, menu: QMenu, controls: RunControls, status: Callable[[str, int], None], window: QWidget) -> None:
        super().__init__(window)
        self.controls, self.status = controls, status
        self.shortcut_actions: dict[str, QAction] = {}
        self.refusal_shortcuts: dict[str, QShortcut] = {}
        for key, (text, keys) in RUN_ACTIONS.items():
            button = self.button(key)
            action = menu.addAction(text, lambda b=button: self._press(b))
            action.setShortcut(QKeySequence(keys))
            refusal = QShortcut(QKeySequence(keys), window)
            refusal.activated.connect(lambda b=button: self._press(b))
            refusal.setEnabled(False)
            self.shortcut_actions[key] = action
            self.refusal_shortcuts[key] = refusal

    def button(self, key: str) -> QPushButton:
        """The button behind a Run menu action: a stage's start button, Pause or Stop."""
        return {**self.controls.start_buttons, "pause": self.controls.pause_button, "stop": self.controls.stop_button}[key]

    def _press(self, button: QPushButton) -> None:
        if button.isEnabled():
            button.click()
        else:
            self.status(f"{button.text()}: {button.toolTip()}", 8000)

    def apply(self, refusals: dict[str, list[str]], running: bool) -> None:
        """Enable the actions as Stages' ``refusals`` say ({stage: problems}); a disabled one's tip and key say why."""
        for key in RUN_ACTIONS:
            if key in refusals:
                enabled, why = not refusals[key], workflow.refusal_message(refusals[key])
            else:  # pause and stop: the runner says (``running``), as their buttons may not have heard yet
                enabled, why = running, "Nothing is training"
            action = self.shortcut_actions[key]
            action.setEnabled(enabled)
            action.setStatusTip("" if enabled else why)
            self.refusal_shortcuts[key].setEnabled(not enabled)
