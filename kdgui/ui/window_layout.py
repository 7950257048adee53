"""Building blocks of the main window's layout: fixed tool bars, scrollable pages, the docks and their default places,
a dock that folds to its title bar, and the default sizes for a given screen."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget, QHBoxLayout, QLabel, QMainWindow, QScrollArea, QSizePolicy, QStyle, QTabWidget, QToolBar, QToolButton,
    QVBoxLayout, QWidget,
)

from .style import text_style

QWIDGETSIZE_MAX = (1 << 24) - 1
RUNS_HEIGHT = 230  # the Runs list's height when it is first unfolded
LEFT_WIDTH = 400  # the settings docks' width on a wide window
WIDE_WINDOW = 1640  # from this width on, the run controls and the lineup share one tool bar row
TALL_WINDOW = 1000  # from this height on, the Runs list starts unfolded


def scrolling(widget: QWidget, keep_width: bool = False) -> QScrollArea:
    """``widget`` in a frameless scroll area: it may need room, but must not force a minimum size on the window."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the controls inside, never to the frame around them
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


def share_row(window: QMainWindow, bar: QToolBar, together: bool) -> None:
    """Put ``bar`` on the same row as the tool bar before it, or back on a row of its own."""
    if together and window.toolBarBreak(bar):
        window.removeToolBarBreak(bar)
    elif not together and not window.toolBarBreak(bar):
        window.insertToolBarBreak(bar)


class DockTitle(QWidget):
    """A dock's title bar: a button that folds the dock to this bar (and back) with a summary beside it, float and close.

    Mouse presses the buttons do not take go to the dock, so the bar still drags and double-clicks as usual.
    """

    def __init__(self, dock: QDockWidget, title: str) -> None:
        super().__init__(dock)
        self.title = title
        self.fold_button = QToolButton()
        self.fold_button.setAutoRaise(True)
        self.fold_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fold_button.setText(title)
        font = self.fold_button.font()
        font.setBold(True)
        self.fold_button.setFont(font)
        self.summary = QLabel()
        self.summary.setStyleSheet(text_style("muted"))
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setMinimumWidth(20)
        float_button = QToolButton()
        float_button.setAutoRaise(True)
        float_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarNormalButton))
        float_button.setToolTip(f"Float the {title} list in its own window (double-click the title to dock it again)")
        float_button.clicked.connect(lambda: dock.setFloating(not dock.isFloating()))
        close_button = QToolButton()
        close_button.setAutoRaise(True)
        close_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close_button.setToolTip(f"Hide the {title} list (View › {title} brings it back)")
        close_button.clicked.connect(dock.close)
        for button in (float_button, close_button):
            button.setIconSize(QSize(12, 12))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the View menu does both by keyboard
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(4)
        layout.addWidget(self.fold_button)
        layout.addWidget(self.summary, 1)
        layout.addWidget(float_button)
        layout.addWidget(close_button)


class FoldableDock(QDockWidget):
    """A dock that folds to its title bar (``set_folded``): the window keeps a one-line strip that says what is inside."""

    foldedChanged = Signal(bool)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.title_bar = DockTitle(self, title)
        self.setTitleBarWidget(self.title_bar)
        self.folded = False
        self.unfolded_height = RUNS_HEIGHT
        self.title_bar.fold_button.clicked.connect(lambda: self.set_folded(not self.folded))
        self._show_fold()

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt's name
        """Hold ``widget`` in a body that stays in the dock when it folds: a dock whose widget is hidden would
        also lose its width (Qt then takes the hidden widget's maximum size, nothing, for the dock's)."""
        self.content = widget
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(widget)
        super().setWidget(body)

    def set_summary(self, text: str) -> None:
        self.title_bar.summary.setText(text)
        self.title_bar.summary.setToolTip(text)

    def set_folded(self, folded: bool) -> None:
        if folded == self.folded:
            return
        window = self.parent()
        content = getattr(self, "content", None)
        if folded:
            if content is not None and content.isVisible() and self.height() > 80:
                self.unfolded_height = self.height()
            if content is not None:
                content.hide()
            self.folded = True
            self.setMaximumHeight(self.title_bar.sizeHint().height() + 4)
        else:
            self.folded = False
            self.setMaximumHeight(QWIDGETSIZE_MAX)
            if content is not None:
                content.show()
            if isinstance(window, QMainWindow) and not self.isFloating():
                window.resizeDocks([self], [self.unfolded_height], Qt.Orientation.Vertical)
        self._show_fold()
        self.foldedChanged.emit(folded)

    def _show_fold(self) -> None:
        button = self.title_bar.fold_button
        button.setArrowType(Qt.ArrowType.RightArrow if self.folded else Qt.ArrowType.DownArrow)
        button.setToolTip(f"Show the {self.title_bar.title} list" if self.folded else
                          f"Fold the {self.title_bar.title} list to this line, to give the tabs its room")
        button.setAccessibleName(f"{'unfold' if self.folded else 'fold'} {self.title_bar.title}")


def make_docks(window: QMainWindow, panels: dict[str, tuple[str, QWidget]]) -> dict[str, QDockWidget]:
    """One dock per panel ({key: (title, panel)}); every panel but the runs list scrolls; the runs list folds."""
    window.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
    # The settings docks run the full height; the runs list sits under the plots it controls.
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
    docks: dict[str, QDockWidget] = {}
    for key, (title, panel) in panels.items():
        dock = FoldableDock(title, window) if key == "runs" else QDockWidget(title, window)
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


def window_size(room: QSize) -> tuple[int, int]:
    """The first size of the window on a screen with ``room``: 1360x860, or 85% of a larger screen, never larger than it."""
    return (min(room.width(), max(1360, round(room.width() * 0.85))),
            min(room.height(), max(860, round(room.height() * 0.85))))


def default_left_width(window_width: int) -> int:
    """The settings docks' width: 400 px on a wide window, less on a narrow one (they keep their own minimum)."""
    return max(300, min(LEFT_WIDTH, round(window_width * 0.3)))
