"""Building blocks of the main window's layout: fixed tool bars, scrollable pages, the docks and their default places."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QTabWidget, QToolBar, QWidget


def scrolling(widget: QWidget, keep_width: bool = False) -> QScrollArea:
    """``widget`` in a frameless scroll area: it may need room, but must not force a minimum size on the window."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    if keep_width:
        area.setMinimumWidth(widget.minimumSizeHint().width() + 24)
    return area


def add_fixed_toolbar(window: QMainWindow, name: str, widgets: tuple[QWidget, ...], break_after: bool = True) -> QToolBar:
    """A tool bar the user cannot move or hide: the workflow, run buttons and lineup are not optional."""
    bar = QToolBar(name)
    bar.setObjectName(name)
    for widget in widgets:
        bar.addWidget(widget)
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    if break_after:
        window.addToolBarBreak()
    return bar


def make_docks(window: QMainWindow, panels: dict[str, tuple[str, QWidget]]) -> dict[str, QDockWidget]:
    """One dock per panel ({key: (title, panel)}); every panel but the runs list scrolls."""
    window.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
    # The settings docks run the full height; the runs list sits under the plots it controls.
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
    docks = {}
    for key, (title, panel) in panels.items():
        dock = QDockWidget(title, window)
        dock.setObjectName(f"{key}Dock")
        dock.setWidget(panel if key == "runs" else scrolling(panel, keep_width=True))
        docks[key] = dock
    place_docks(window, docks)
    return docks


def place_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The default layout: settings docks tabbed on the left, Data in front; the runs list at the bottom."""
    for key, dock in docks.items():
        dock.setFloating(False)
        dock.show()
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea if key == "runs" else Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    for key in ("networks", "training", "distillation"):
        window.tabifyDockWidget(docks["data"], docks[key])
    docks["data"].raise_()

