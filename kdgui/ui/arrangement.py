"""How the main window is arranged: its docks and the settings column's switch, the Runs list that folds and follows the
runs, the tool bar rows, the default sizes, Tab past what cannot be seen, and the layout kept between sessions."""

from __future__ import annotations

from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QTabWidget, QToolBar, QToolButton, QWidget

from ..panel_names import PANELS, SETTINGS_DOCKS, TABS, VIEWS
from .panels.run_controls import RunControls
from .widgets.lineup_bar import LineupBar
from .window_layout import (
    TALL_WINDOW, WIDE_WINDOW, FoldableDock, default_left_width, make_docks, place_docks, share_row, window_size,
)


class WindowArrangement(QObject):
    """Makes the window's docks (one per panel in ``dock_panels``, {key: (title, panel)}) and owns how they show.

    The settings docks hide and come back together (the Panels button in the tabs' corner, View › Settings panels);
    the Runs list folds to one line and hides while there are no runs (``has_runs``); the run controls and the lineup
    share a tool bar row when the window is wide. ``state``/``restore`` keep what ``QMainWindow.saveState`` does not.
    ``keep_sizes``: the user's own dock layout comes back, so the first show keeps it rather than the default sizes.
    """

    def __init__(self, window: QMainWindow, tabs: QTabWidget, tab_pages: dict[str, QWidget],
                 dock_panels: dict[str, tuple[str, QWidget]], controls: RunControls, lineup_bar: LineupBar,
                 lineup_toolbar: QToolBar, has_runs: Callable[[], bool], keep_sizes: bool = False) -> None:
        super().__init__(window)
        self.window, self.tabs, self.tab_pages, self.controls = window, tabs, tab_pages, controls
        self.lineup_bar, self.lineup_toolbar, self.has_runs, self.sized = lineup_bar, lineup_toolbar, has_runs, keep_sizes
        # A visible switch for the settings column: the tabs get the whole width when it is hidden.
        self.panels_button = QToolButton()
        self.panels_button.setAutoRaise(True)
        self.panels_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.panels_button.clicked.connect(self.toggle_settings_panels)
        tabs.setCornerWidget(self.panels_button, Qt.Corner.TopLeftCorner)
        self.docks = make_docks(window, dock_panels)
        self.runs_dock: FoldableDock = self.docks["runs"]
        self.runs_auto_hidden = False
        self.hidden_settings: list[str] = []  # the settings docks the panels switch hid, to show again
        window.resize(*window_size(window.screen().availableGeometry().size()))
        self.default_sizes()
        self.panels_action = QAction("Settings &panels", self)
        self.panels_action.triggered.connect(self.toggle_settings_panels)
        self.panels_action.setCheckable(True)
        self.panels_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.panels_action.setStatusTip("Show or hide the Data, Networks, Training and Distillation panels")
        self.runs_action = QAction("&Runs list", self)
        self.runs_action.triggered.connect(self.toggle_runs)
        self.runs_action.setCheckable(True)
        self.runs_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.runs_action.setStatusTip("Show the Runs list, or fold it to one line")
        self.show_switch()
        self.runs_dock.foldedChanged.connect(self.show_switch)
        self.runs_dock.visibilityChanged.connect(self.show_switch)
        for key in SETTINGS_DOCKS:
            self.docks[key].visibilityChanged.connect(self.show_switch)

    def fill_view_menu(self, menu: QMenu) -> None:
        """Settings panels, Runs list, a toggle for every dock, and Reset layout."""
        menu.addAction(self.panels_action)
        menu.addAction(self.runs_action)
        menu.addSeparator()
        for dock in self.docks.values():
            menu.addAction(dock.toggleViewAction())
        menu.addSeparator()
        menu.addAction("Reset layout", self.reset)

    def default_sizes(self) -> None:
        """The settings column about 30% of the window; the Runs list folded unless the window is tall."""
        self.window.resizeDocks([self.docks["data"]], [default_left_width(self.window.width())], Qt.Orientation.Horizontal)
        self.runs_dock.set_folded(self.window.height() < TALL_WINDOW)

    def first_shown(self) -> None:
        """Default dock sizes follow the window's size when it first shows, unless the user's own layout came back."""
        if not self.sized:
            self.sized = True
            self.default_sizes()

    def reset(self) -> None:
        self.hidden_settings = []
        place_docks(self.window, self.docks)
        self.default_sizes()
        self.follow_runs()

    def show_panel(self, name: str) -> None:
        """Bring a tab, a view inside a tab or a dock to the front, by name (see PANELS); the Runs list unfolds."""
        if name in TABS:
            self.tabs.setCurrentWidget(self.tab_pages[name])
        elif name in VIEWS:
            tab = VIEWS[name][0]
            self.tabs.setCurrentWidget(self.tab_pages[tab])
            self.tab_pages[tab].show_view(name)  # the tab's page knows its views by these names
        elif name in self.docks:
            self.docks[name].show()
            self.docks[name].raise_()
            if name == "runs":
                self.runs_auto_hidden = False
                self.runs_dock.set_folded(False)
        else:
            raise ValueError(f"no panel {name!r}: choose one of {', '.join(PANELS)}")

    # -- the settings column and the Runs list ------------------------------------------------------
    def settings_panels_shown(self) -> bool:
        return any(not self.docks[key].isHidden() for key in SETTINGS_DOCKS)

    def toggle_settings_panels(self) -> None:
        self.set_settings_panels_shown(not self.settings_panels_shown())

    def set_settings_panels_shown(self, shown: bool) -> None:
        """Hide the settings docks that are open (the tabs take the width), or show them again as they were."""
        if shown == self.settings_panels_shown():
            return
        if shown:
            keys = [k for k in self.hidden_settings if k in SETTINGS_DOCKS] or list(SETTINGS_DOCKS)
            for key in keys:
                self.docks[key].show()
            self.docks[keys[0]].raise_()
            self.hidden_settings = []
        else:
            open_docks = [k for k in SETTINGS_DOCKS if not self.docks[k].isHidden()]
            front = [k for k in open_docks if not self.docks[k].visibleRegion().isEmpty()]
            self.hidden_settings = front[:1] + [k for k in open_docks if k not in front[:1]]
            for key in open_docks:
                self.docks[key].hide()
        self.show_switch()

    def toggle_runs(self) -> None:
        dock = self.runs_dock
        if dock.isHidden() or dock.folded:
            self.show_panel("runs")
        else:
            dock.set_folded(True)

    def follow_runs(self) -> None:
        """No runs: no Runs list. It comes back (folded as it was) when the first run appears."""
        has_runs = self.has_runs()
        if not has_runs and not self.runs_dock.isHidden():
            self.runs_auto_hidden = True
            self.runs_dock.hide()
        elif has_runs and self.runs_auto_hidden:
            self.runs_auto_hidden = False
            self.runs_dock.show()

    def show_switch(self, *_: object) -> None:
        """The Panels button and the View menu's checks say what is shown now."""
        if not (shiboken6.isValid(self.panels_action) and shiboken6.isValid(self.panels_button)):  # being destroyed
            return
        shown = self.settings_panels_shown()
        self.panels_button.setArrowType(Qt.ArrowType.LeftArrow if shown else Qt.ArrowType.RightArrow)
        self.panels_button.setText("Panels")
        self.panels_button.setToolTip("Hide the settings panels: the tabs take the whole width (Ctrl+Shift+H)" if shown
                                      else "Show the settings panels: Data, Networks, Training, Distillation (Ctrl+Shift+H)")
        self.panels_button.setAccessibleName("hide settings panels" if shown else "show settings panels")
        self.panels_action.setChecked(shown)
        self.runs_action.setChecked(not self.runs_dock.isHidden() and not self.runs_dock.folded)

    # -- tool bar rows and Tab ----------------------------------------------------------------------
    def arrange_toolbars(self) -> None:
        """On a wide window the run controls and the lineup share a row; on a narrow one each has its own."""
        progress = self.controls.progress
        roomy = 440  # the progress bar's words stay readable beside the menus
        # Never share when the two could not fit: the window must always be able to shrink back to two rows.
        needed = (self.controls.minimumSizeHint().width() - progress.minimumWidth() + roomy
                  + self.lineup_bar.minimumSizeHint().width() + 60)
        together = self.window.width() >= max(WIDE_WINDOW, needed)
        progress.setMinimumWidth(roomy if together else 160)
        share_row(self.window, self.lineup_toolbar, together)

    def move_focus(self, step: Callable[[], bool]) -> bool:
        """Tab and Shift+Tab (``step``: the window's own focusNextPrevChild) skip the settings docks that sit behind
        another dock's tab, and plots.

        Qt keeps those docks "visible" but moves them out of sight, so without this Tab wandered through
        thirty invisible fields before anything on screen took focus. Plots do nothing with keys and show no
        focus, so they are no stop either (style.theme_plot also takes their focus away).
        """
        start = QApplication.focusWidget()
        for _ in range(500):
            if not step():
                return False
            widget = QApplication.focusWidget()
            if widget is None or widget is start or not (self._behind_a_tab(widget) or widget.inherits("QGraphicsView")):
                return True
        return True

    def _behind_a_tab(self, widget: QWidget) -> bool:
        dock = next((d for d in self.docks.values() if d.isAncestorOf(widget)), None)
        return dock is not None and not dock.isFloating() and dock.visibleRegion().isEmpty()

    # -- kept between sessions (settings.py saves it like a panel) ----------------------------------
    def state(self) -> dict[str, Any]:
        """What QMainWindow.saveState does not keep: the tab in front, the folded Runs list, the hidden settings."""
        return {"tab": next((k for k, page in self.tab_pages.items() if page is self.tabs.currentWidget()), "curves"),
                "runs_folded": self.runs_dock.folded, "runs_height": self.runs_dock.unfolded_height,
                "settings_hidden": not self.settings_panels_shown(), "hidden_settings": list(self.hidden_settings),
                "runs_auto_hidden": self.runs_auto_hidden}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("tab") in self.tab_pages:
            self.show_panel(state["tab"])
        height = state.get("runs_height")
        if isinstance(height, int) and 80 <= height <= 2000:
            self.runs_dock.unfolded_height = height
        if isinstance(state.get("runs_folded"), bool):
            self.runs_dock.set_folded(state["runs_folded"])
        hidden = state.get("hidden_settings")
        if state.get("settings_hidden") is True:
            self.hidden_settings = [k for k in hidden if k in SETTINGS_DOCKS] if isinstance(hidden, list) else []
        if state.get("runs_auto_hidden") is True:
            self.runs_auto_hidden = True
        self.show_switch()
