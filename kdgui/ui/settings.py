"""What the window remembers between sessions (QSettings): geometry, dock layout, every panel's configuration and view choices."""

from __future__ import annotations

import json
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

SETTINGS_VERSION = 1


class Restorable(Protocol):
    """A panel, or WindowArrangement for the window's own layout: its part of what is remembered, and putting it back."""

    def state(self) -> dict[str, Any]: ...
    def restore(self, state: dict[str, Any]) -> str | None: ...  # a note when something could not be put back


def save(settings: QSettings, window: QMainWindow, panels: dict[str, Restorable]) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState(SETTINGS_VERSION))
    config = {"version": SETTINGS_VERSION, **{key: panel.state() for key, panel in panels.items()}}
    settings.setValue("config/last", json.dumps(config))
    settings.sync()


def restore(settings: QSettings, window: QMainWindow, panels: dict[str, Restorable]) -> list[str]:
    """Put back what ``save`` kept; each panel checks its own part and keeps its defaults for anything refused.

    Returns the panels' notes on what could not be put back (e.g. a device that is gone).
    """
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    state = settings.value("window/state")
    if isinstance(state, QByteArray):
        window.restoreState(state, SETTINGS_VERSION)
    try:
        config = json.loads(settings.value("config/last") or "{}")
    except (TypeError, ValueError):
        config = {}
    if not isinstance(config, dict) or config.get("version") != SETTINGS_VERSION:
        return []
    notes = []
    for key, panel in panels.items():
        if isinstance(config.get(key), dict):
            try:
                notes.append(panel.restore(config[key]))
            except (TypeError, ValueError, KeyError, AttributeError):
                pass  # an old or hand-edited part: that panel keeps its defaults, the others still come back
    return [note for note in notes if note]
