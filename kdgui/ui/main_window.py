"""The main window: assembles the lineup bar, workflow steps, run controls, tabs, docks and menus, and wires them."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QPushButton, QTabWidget, QToolButton, QVBoxLayout, QWidget

from ..core.config import Job, KINDS
from ..panel_names import DOCKS, PANELS, SETTINGS_DOCKS, TABS
from ..core.data import DISPLAY_NAMES, Splits
from ..core.errors import ConfigError
from ..core.lineup import Lineup
from ..core.runs import RunStore
from . import settings as window_settings
from .jobs import JobRunner
from .panels.canvas import CanvasPanel
from .panels.curves import CurvesPanel
from .panels.data import DataPanel
from .panels.distillation import DistillationPanel
from .panels.experiments import ExperimentInputs, ExperimentsPanel
from .panels.help import ExplainDialog, show_about
from .panels.networks import NetworksPanel
from .panels.report import ReportPanel
from .panels.run_controls import START_BUTTONS, RunControls
from .panels.runs import RunsPanel
from .panels.soft_targets import SoftTargetsPanel
from .panels.training import TrainingPanel
from .lineup_views import LineupViews
from .runs_view import RunsView
from .session import TrainingSession
from .stages import Stages
from .state import LineupModel, RunsModel
from . import style
from .temperature_model import TemperatureModel
from .widgets.banner import MessageBanner
from .widgets.elided_label import ElidedLabel
from .widgets.lineup_bar import LineupBar
from .widgets.step_bar import StepBar
from .window_layout import (
    TALL_WINDOW, WIDE_WINDOW, FoldableDock, add_fixed_toolbar, default_left_width, make_docks, place_docks, share_row,
)
from . import workflow

STOP_WAIT_MS = 2000  # closing the window gives a running job this long to save itself and stop
# The Run menu: text and key of each action; the action clicks its button, so the button's rules hold for both.
RUN_ACTIONS = {"teacher": ("Train &teacher", "Ctrl+1"), "student": ("Train &student", "Ctrl+2"), "distilled": ("&Distil", "Ctrl+3"),
               "pause": ("&Pause / resume", "Ctrl+P"), "stop": ("S&top", "Ctrl+.")}


def window_size(room: QSize) -> tuple[int, int]:
    """The first size of the window on a screen with ``room``: 1360x860, or 85% of a larger screen, never larger than it."""
    return (min(room.width(), max(1360, round(room.width() * 0.85))),
            min(room.height(), max(860, round(room.height() * 0.85))))


class QtMainWindow(QMainWindow):
    """Owns the state objects (runs, lineup, the one job runner) and the panels; panels never see the window."""

    def __init__(self, store: RunStore | None = None, *, data: Splits | None = None, settings: QSettings | None = None,
                 restore: bool = True) -> None:
        super().__init__()
        app = QApplication.instance()
        style.apply_requested_palette(app)  # KDGUI_PALETTE=dark: before any widget reads the palette
        style.install_focus_ring(app)
        self.store = store or RunStore()
        self.data_override = data
        self.settings = settings if settings is not None else QSettings()
        self.remember = restore
        self.runs_model = RunsModel(self.store, self)
        self.lineup_model = LineupModel(self.runs_model, parent=self)
        self.runner = JobRunner(self)
        self.temperature = TemperatureModel(parent=self)  # the viewing temperature of Soft targets and Draw
        self.training_temperature = TemperatureModel(parent=self)  # the T the next Distil trains at

        self.setWindowTitle("kdgui: knowledge distillation")
        self.setObjectName("kdguiMainWindow")
        self.data_panel = DataPanel()
        self.networks_panel = NetworksPanel()
        self.training_panel = TrainingPanel()
        self.distillation_panel = DistillationPanel(self.training_temperature)
        self.runs_panel = RunsPanel()
        self.curves_panel = CurvesPanel()
        self.soft_targets_panel = SoftTargetsPanel(self.temperature, self.training_temperature)
        self.canvas_panel = CanvasPanel(self.temperature, self.training_temperature)
        self.report_panel = ReportPanel()
        self.experiments_panel = ExperimentsPanel(self.runner, ExperimentInputs(
            store=self.store, data=self.data_source, data_ready=self.data_ready, teacher=self.experiment_teacher,
            student=self.student_spec, labels=lambda: self.runs_model.labels))
        self.run_controls = RunControls()
        self.banner = MessageBanner()
        self.step_bar = StepBar(workflow.STEPS)
        self.lineup_bar = LineupBar()
        # The hint shortens with an ellipsis on a narrow window rather than force it wide; its tooltip keeps the full text.
        self.hint_label = ElidedLabel()
        self.hint_label.setStyleSheet(style.text_style("hint"))
        self.hint_label.setContentsMargins(8, 0, 4, 0)
        self.session = TrainingSession(self.runner, self.store, self.runs_model, self.curves_panel, self.run_controls,
                                       self.banner, self.status, self.data_source, self)
        self.runStarted, self.runEnded = self.session.runStarted, self.session.runEnded  # (run id), (outcome, run id)
        self.stages = Stages(self.data_panel, self.networks_panel, self.training_panel, self.distillation_panel,
                             self.runs_model, self.runner, self.session, self.run_controls, self.step_bar,
                             self.training_temperature, self.dataset, self.data_ready, self)
        self.lineup_views = LineupViews(self.store, self.canvas_panel, self.soft_targets_panel, self.report_panel, self.banner,
                                        self.data_source, self)
        self.runs_view = RunsView(self.runs_model, self.lineup_model, self.runs_panel, self.curves_panel, self.distillation_panel,
                                  self.networks_panel, self.training_panel, self.banner, self.status, self.dataset,
                                  self.show_panel, self)
        if data is not None:
            self.data_panel.set_override(f"Using {len(data.train_y):,} in-memory training images "
                                         f"({DISPLAY_NAMES.get(data.dataset, data.dataset)}) supplied at start-up")
        self._build_layout()
        self._build_menus()
        self._connect()
        self.status("Ready. Follow the steps at the top: Data › Teacher › Student › Distil › Compare.", 0)
        self.runs_model.refresh()
        self.show_lineup(self.lineup_model.lineup)
        # Default dock sizes follow the window's size when it first shows, unless the user's own layout comes back.
        self._sized = restore and self.settings.contains("window/state")
        if restore:
            for note in window_settings.restore(self.settings, self, self._restorable()):
                self.status(note, 15000)
        self._runs_follow_runs()
        self._arrange_toolbars()
        self.update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        add_fixed_toolbar(self, "workflowToolBar", (self.step_bar, self.hint_label))
        self.run_toolbar = add_fixed_toolbar(self, "runToolBar", (self.run_controls,))
        self.lineup_toolbar = add_fixed_toolbar(self, "lineupToolBar", (self.lineup_bar,))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Soft targets and Draw fit any room down to 1024x700 (their digits and canvas shrink), so they need no scrolling.
        pages = {"curves": self.curves_panel, "soft_targets": self.soft_targets_panel, "draw": self.canvas_panel,
                 "experiments": self.experiments_panel, "report": self.report_panel}
        self.tab_pages: dict[str, QWidget] = {}
        for key, title in TABS.items():
            self.tab_pages[key] = pages[key]
            self.tabs.addTab(pages[key], title)
        # A visible switch for the settings column: the tabs get the whole width when it is hidden.
        self.panels_button = QToolButton()
        self.panels_button.setAutoRaise(True)
        self.panels_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.panels_button.clicked.connect(lambda: self.set_settings_panels_shown(not self.settings_panels_shown()))
        self.tabs.setCornerWidget(self.panels_button, Qt.Corner.TopLeftCorner)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        panels = {"data": self.data_panel, "networks": self.networks_panel, "training": self.training_panel,
                  "distillation": self.distillation_panel, "runs": self.runs_panel}
        self.docks = make_docks(self, {key: (title, panels[key]) for key, title in DOCKS.items()})
        self.runs_dock: FoldableDock = self.docks["runs"]
        self._runs_auto_hidden = False
        self._hidden_settings: list[str] = []  # the settings docks the panels switch hid, to show again
        self.resize(*window_size(self.screen().availableGeometry().size()))
        self._default_sizes()
        runs_dir = QLabel(f"Runs: {self.store.root}")
        runs_dir.setStyleSheet(style.text_style("muted"))
        runs_dir.setMinimumWidth(40)
        runs_dir.setToolTip(str(self.store.root))
        self.statusBar().addPermanentWidget(runs_dir)

    def _default_sizes(self) -> None:
        """The settings column about 30% of the window; the Runs list folded unless the window is tall."""
        self.resizeDocks([self.docks["data"]], [default_left_width(self.width())], Qt.Orientation.Horizontal)
        self.runs_dock.set_folded(self.height() < TALL_WINDOW)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Open runs folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root))))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.panels_action = view_menu.addAction("Settings &panels", lambda: self.set_settings_panels_shown(not self.settings_panels_shown()))
        self.panels_action.setCheckable(True)
        self.panels_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.panels_action.setStatusTip("Show or hide the Data, Networks, Training and Distillation panels")
        self.runs_action = view_menu.addAction("&Runs list", self._toggle_runs)
        self.runs_action.setCheckable(True)
        self.runs_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.runs_action.setStatusTip("Show the Runs list, or fold it to one line")
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Reset layout", self.reset_layout)
        view_menu.addAction("Show the bundled networks", self.lineup_model.choose_bundled)
        run_menu = self.menuBar().addMenu("&Run")
        # Each action clicks its button, so one set of rules enables both. A disabled action's key would do nothing,
        # so a shortcut with the same key takes over while the action is disabled and says why in the status bar.
        self.shortcut_actions: dict[str, QAction] = {}
        self.refusal_shortcuts: dict[str, QShortcut] = {}
        for key, (text, keys) in RUN_ACTIONS.items():
            button = self.run_button(key)
            action = run_menu.addAction(text, lambda b=button: self._press(b))
            action.setShortcut(QKeySequence(keys))
            refusal = QShortcut(QKeySequence(keys), self)
            refusal.activated.connect(lambda b=button: self._press(b))
            refusal.setEnabled(False)
            self.shortcut_actions[key] = action
            self.refusal_shortcuts[key] = refusal
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("What is distillation?", lambda: ExplainDialog(self).exec())
        help_menu.addAction("About kdgui", lambda: show_about(self))
        self._show_panels_switch()

    def run_button(self, key: str) -> QPushButton:
        """The button behind a Run menu action: a stage's start button, Pause or Stop."""
        return {**self.run_controls.start_buttons, "pause": self.run_controls.pause_button,
                "stop": self.run_controls.stop_button}[key]

    def _press(self, button: QPushButton) -> None:
        if button.isEnabled():
            button.click()
        else:
            self.status(f"{button.text()}: {button.toolTip()}", 8000)

    def _connect(self) -> None:
        for panel in (self.data_panel, self.networks_panel, self.training_panel, self.distillation_panel):
            panel.changed.connect(self.update_actions)
        self.data_panel.changed.connect(self.runs_view.refresh_teachers)
        self.data_panel.downloadFinished.connect(self._download_finished)
        self.run_controls.startRequested.connect(self.start_stage)
        self.run_controls.pauseToggled.connect(lambda paused: self.runner.pause() if paused else self.runner.resume())
        self.run_controls.stopRequested.connect(self.runner.stop)
        self.runner.started.connect(lambda _: self.run_controls.set_running(True, self.runner.title))
        self.runner.progressed.connect(lambda p, _: self.run_controls.show_progress(self.runner.title, p)
                                       if not self.runner.stopping else None)
        self.runner.ended.connect(lambda *_: self.run_controls.set_running(False))
        self.runner.stateChanged.connect(self.update_actions)
        self.runner.ended.connect(lambda kind, _: self.runs_model.refresh() if kind != "train" else None)
        self.step_bar.stepClicked.connect(self.show_step)
        self.runs_model.changed.connect(self.update_actions)
        self.runs_model.changed.connect(self._runs_follow_runs)
        self.runs_panel.summaryChanged.connect(self.runs_dock.set_summary)
        self.runs_dock.set_summary(self.runs_panel.summary())
        self.runs_dock.foldedChanged.connect(self._show_panels_switch)
        self.runs_dock.visibilityChanged.connect(self._show_panels_switch)
        for key in SETTINGS_DOCKS:
            self.docks[key].visibilityChanged.connect(self._show_panels_switch)
        self.lineup_model.changed.connect(self.show_lineup)
        self.lineup_model.problem.connect(lambda text: self.banner.show_message(text, "warning"))
        self.lineup_bar.choiceChanged.connect(self.lineup_model.choose)
        self.tabs.currentChanged.connect(self._tab_shown)
        for panel in (self.soft_targets_panel, self.canvas_panel):
            panel.useTemperatureForDistil.connect(self._use_temperature_for_distil)
        self.canvas_panel.addToSoftTargets.connect(lambda pixels: (self.soft_targets_panel.add_drawn_digit(pixels),
                                                                   self.show_panel("soft_targets")))
        for panel in (self.report_panel, self.curves_panel, self.experiments_panel):
            panel.exported.connect(lambda path: self.status(f"Saved {path}", 8000))

    # -- panels and steps ---------------------------------------------------------------------------
    def show_panel(self, name: str) -> None:
        """Bring a tab or dock to the front, by name (see PANELS)."""
        if name in TABS:
            self.tabs.setCurrentWidget(self.tab_pages[name])
        elif name in self.docks:
            self.docks[name].show()
            self.docks[name].raise_()
            if name == "runs":
                self._runs_auto_hidden = False
                self.runs_dock.set_folded(False)
        else:
            raise ValueError(f"no panel {name!r}: choose one of {', '.join(PANELS)}")

    def show_step(self, step: str) -> None:
        if step in START_BUTTONS:
            self.training_panel.select_stage(step)
        if step == "compare":
            self.show_panel("curves")
        self.show_panel(workflow.STEP_PANELS[step])

    def reset_layout(self) -> None:
        self._hidden_settings = []
        place_docks(self, self.docks)
        self._default_sizes()
        self._runs_follow_runs()

    # -- the settings column and the Runs list ------------------------------------------------------
    def settings_panels_shown(self) -> bool:
        return any(not self.docks[key].isHidden() for key in SETTINGS_DOCKS)

    def set_settings_panels_shown(self, shown: bool) -> None:
        """Hide the settings docks that are open (the tabs take the width), or show them again as they were."""
        if shown == self.settings_panels_shown():
            return
        if shown:
            keys = [k for k in self._hidden_settings if k in SETTINGS_DOCKS] or list(SETTINGS_DOCKS)
            for key in keys:
                self.docks[key].show()
            self.docks[keys[0]].raise_()
            self._hidden_settings = []
        else:
            open_docks = [k for k in SETTINGS_DOCKS if not self.docks[k].isHidden()]
            front = [k for k in open_docks if not self.docks[k].visibleRegion().isEmpty()]
            self._hidden_settings = front[:1] + [k for k in open_docks if k not in front[:1]]
            for key in open_docks:
                self.docks[key].hide()
        self._show_panels_switch()

    def _toggle_runs(self) -> None:
        dock = self.runs_dock
        if dock.isHidden() or dock.folded:
            self.show_panel("runs")
        else:
            dock.set_folded(True)

    def _runs_follow_runs(self) -> None:
        """No runs: no Runs list. It comes back (folded as it was) when the first run appears."""
        has_runs = bool(self.runs_model.runs)
        if not has_runs and not self.runs_dock.isHidden():
            self._runs_auto_hidden = True
            self.runs_dock.hide()
        elif has_runs and self._runs_auto_hidden:
            self._runs_auto_hidden = False
            self.runs_dock.show()

    def _show_panels_switch(self, *_: object) -> None:
        if not shiboken6.isValid(self.panels_action):  # the window is being destroyed
            return
        shown = self.settings_panels_shown()
        self.panels_button.setArrowType(Qt.ArrowType.LeftArrow if shown else Qt.ArrowType.RightArrow)
        self.panels_button.setText("Panels")
        self.panels_button.setToolTip("Hide the settings panels: the tabs take the whole width (Ctrl+Shift+H)" if shown
                                      else "Show the settings panels: Data, Networks, Training, Distillation (Ctrl+Shift+H)")
        self.panels_button.setAccessibleName("hide settings panels" if shown else "show settings panels")
        self.panels_action.setChecked(shown)
        self.runs_action.setChecked(not self.runs_dock.isHidden() and not self.runs_dock.folded)

    def _arrange_toolbars(self) -> None:
        """On a wide window the run controls and the lineup share a row; on a narrow one each has its own."""
        progress = self.run_controls.progress
        roomy = 440  # the progress bar's words stay readable beside the menus
        # Never share when the two could not fit: the window must always be able to shrink back to two rows.
        needed = (self.run_controls.minimumSizeHint().width() - progress.minimumWidth() + roomy
                  + self.lineup_bar.minimumSizeHint().width() + 60)
        together = self.width() >= max(WIDE_WINDOW, needed)
        progress.setMinimumWidth(roomy if together else 160)
        share_row(self, self.lineup_toolbar, together)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002, N802 - Qt's names
        """Tab and Shift+Tab skip the settings docks that sit behind another dock's tab, and plots.

        Qt keeps those docks "visible" but moves them out of sight, so without this Tab wandered through
        thirty invisible fields before anything on screen took focus. Plots do nothing with keys and show no
        focus, so they are no stop either (style.theme_plot also takes their focus away).
        """
        start = QApplication.focusWidget()
        for _ in range(500):
            if not super().focusNextPrevChild(next):
                return False
            widget = QApplication.focusWidget()
            if widget is None or widget is start or not (self._behind_a_tab(widget) or widget.inherits("QGraphicsView")):
                return True
        return True

    def _behind_a_tab(self, widget: QWidget) -> bool:
        dock = next((d for d in self.docks.values() if d.isAncestorOf(widget)), None)
        return dock is not None and not dock.isFloating() and dock.visibleRegion().isEmpty()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            self._default_sizes()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange_toolbars()

    def status(self, text: str, ms: int = 0) -> None:
        self.statusBar().showMessage(text, ms)

    # -- what the panels are given ------------------------------------------------------------------
    def dataset(self) -> str:
        return self.data_override.dataset if self.data_override is not None else self.data_panel.dataset()

    def data_ready(self) -> bool:
        return self.data_override is not None or self.data_panel.ready

    def data_source(self) -> tuple[Splits | None, str | None]:
        return self.data_override, (None if self.data_override is not None else str(self.data_panel.data_dir()))

    def student_spec(self):  # noqa: ANN201 - NetSpec
        problems = self.networks_panel.problems("student")
        spec = self.networks_panel.student_spec()
        if problems or spec is None:
            raise ConfigError(problems[0] if problems else "the student network is not valid: see the Networks panel")
        return spec

    def experiment_teacher(self) -> tuple[str | None, str]:
        """(run id, words): the Distillation panel's teacher, which sweeps and studies distil from too."""
        chosen = self.distillation_panel.teacher_run_id()
        if chosen:
            return chosen, f"Teacher: {self.runs_model.label(chosen)} (chosen in the Distillation panel)"
        return None, "No teacher yet: train one first (Networks › Train teacher)"

    # -- actions --------------------------------------------------------------------------------------
    def update_actions(self) -> None:
        """Enable what makes sense now; a disabled button's tooltip (and its menu action's refusal) says why."""
        refusals, hint = self.stages.update()
        for key in RUN_ACTIONS:
            if key in refusals:
                enabled, why = not refusals[key], workflow.refusal_message(refusals[key])
            else:  # pause and stop: the runner says, as their buttons may not have heard yet
                enabled, why = self.runner.running, "Nothing is training"
            action = self.shortcut_actions[key]
            action.setEnabled(enabled)
            action.setStatusTip("" if enabled else why)
            self.refusal_shortcuts[key].setEnabled(not enabled)
        self.hint_label.setText(hint)
        self.experiments_panel.update_actions()

    def build_job(self, stage: str) -> Job:
        return self.stages.build_job(stage)

    def start_stage(self, stage: str) -> bool:
        try:
            job = self.build_job(stage)
        except ConfigError as exc:
            self.banner.show_message(f"Cannot start: {exc}", "warning")
            self.status(f"Not started: {exc}", 10000)
            return False
        return self.start_job(job)

    def start_job(self, job: Job) -> bool:
        QTimer.singleShot(0, self.save_settings)  # keep the config if the app dies; after the click is handled
        started = self.session.start(job)
        if started:
            self.show_panel("curves")
        return started

    def is_training(self) -> bool:
        return self.runner.running

    @property
    def labels(self) -> dict[str, str]:
        return self.runs_model.labels

    def _use_temperature_for_distil(self, t: float) -> None:
        self.training_temperature.setTemperature(t)
        self.status(f"The next Distil trains at T={t:g} (Distillation panel)", 8000)

    def _download_finished(self, error: str) -> None:
        name = DISPLAY_NAMES[self.data_panel.dataset()]
        if error:  # the core's full message (folder, files, reason) is in the Data panel; the banner points there
            self.banner.show_message(f"Download of {name} failed. The Data panel says why and where to put the four "
                                     "files instead.", "error")
            self.show_panel("data")
        else:
            self.banner.hide()
        self.status(f"Download of {name} failed: see the Data panel" if error else f"Downloaded {name}", 10000)
        self.update_actions()

    # -- the lineup's networks in the views -----------------------------------------------------------
    def show_lineup(self, lineup: Lineup) -> None:
        self.runs_view.show_lineup(lineup, self.lineup_bar)
        self.lineup_views.show(lineup)

    def _tab_shown(self, index: int) -> None:
        if self.tabs.widget(index) in (self.tab_pages["soft_targets"], self.tab_pages["report"]):
            self.lineup_views.load_test_set()

    # -- settings and closing -----------------------------------------------------------------------
    def _restorable(self) -> dict:
        return {"data": self.data_panel, "networks": self.networks_panel, "training": self.training_panel,
                "distillation": self.distillation_panel, "curves": self.curves_panel, "viewing": self.temperature,
                "soft_targets": self.soft_targets_panel, "runs": self.runs_panel,
                "layout": window_settings.Remembered(self._layout_state, self._restore_layout)}

    def _layout_state(self) -> dict[str, Any]:
        """What QMainWindow.saveState does not keep: the tab in front, the folded Runs list, the hidden settings."""
        return {"tab": next((k for k, page in self.tab_pages.items() if page is self.tabs.currentWidget()), "curves"),
                "runs_folded": self.runs_dock.folded, "runs_height": self.runs_dock.unfolded_height,
                "settings_hidden": not self.settings_panels_shown(), "hidden_settings": list(self._hidden_settings),
                "runs_auto_hidden": self._runs_auto_hidden}

    def _restore_layout(self, state: dict[str, Any]) -> None:
        if state.get("tab") in self.tab_pages:
            self.show_panel(state["tab"])
        height = state.get("runs_height")
        if isinstance(height, int) and 80 <= height <= 2000:
            self.runs_dock.unfolded_height = height
        if isinstance(state.get("runs_folded"), bool):
            self.runs_dock.set_folded(state["runs_folded"])
        hidden = state.get("hidden_settings")
        if state.get("settings_hidden") is True:
            self._hidden_settings = [k for k in hidden if k in SETTINGS_DOCKS] if isinstance(hidden, list) else []
        if state.get("runs_auto_hidden") is True:
            self._runs_auto_hidden = True
        self._show_panels_switch()

    def save_settings(self) -> None:
        if self.remember:
            window_settings.save(self.settings, self, self._restorable())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.runner.shutdown(STOP_WAIT_MS)  # the token is checked every batch: the run saves its weights, marked stopped
        event.accept()


__all__ = ["QtMainWindow", "PANELS", "KINDS"]
