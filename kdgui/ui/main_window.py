"""The main window: assembles the lineup bar, workflow steps, run controls, tabs, docks and menus, and wires them."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from ..core.config import Job, KINDS
from ..panel_names import DOCKS, PANELS, TABS
from ..core.data import DISPLAY_NAMES, Splits
from ..core.errors import ConfigError
from ..core.lineup import Lineup
from ..core.runs import RunStore
from . import settings as window_settings
from .arrangement import WindowArrangement
from .choices import Choices
from .jobs import JobRunner
from .panels.canvas import CanvasPanel
from .panels.curves import CurvesPanel
from .panels.data import DataPanel
from .panels.distillation import DistillationPanel
from .panels.experiments import ExperimentInputs, ExperimentsPanel
from .panels.help import ExplainDialog, show_about
from .panels.insight import InsightPanel
from .panels.networks import NetworksPanel
from .panels.report import ReportPanel
from .panels.run_controls import START_BUTTONS, RunControls
from .panels.runs import RunsPanel
from .panels.soft_targets import SoftTargetsPanel
from .panels.training import TrainingPanel
from .lineup_views import LineupViews
from .run_menu import RunMenu
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
from .window_layout import add_fixed_toolbar
from . import workflow

STOP_WAIT_MS = 2000  # closing the window gives a running job this long to save itself and stop


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
        self.insight_panel = InsightPanel(self.temperature)
        self.choices = choices = Choices(data, self.data_panel, self.networks_panel, self.distillation_panel, self.runs_model)
        self.experiments_panel = ExperimentsPanel(self.runner, ExperimentInputs(
            store=self.store, data=choices.data_source, data_ready=choices.data_ready, teacher=choices.experiment_teacher,
            student=choices.student_spec, labels=lambda: self.runs_model.labels))
        self.run_controls = RunControls()
        self.banner = MessageBanner()
        self.step_bar = StepBar(workflow.STEPS)
        self.lineup_bar = LineupBar()
        # The hint shortens with an ellipsis on a narrow window rather than force it wide; its tooltip keeps the full text.
        self.hint_label = ElidedLabel()
        self.hint_label.setStyleSheet(style.text_style("hint"))
        self.hint_label.setContentsMargins(8, 0, 4, 0)
        self.session = TrainingSession(self.runner, self.store, self.runs_model, self.curves_panel, self.run_controls,
                                       self.banner, self.status, choices.data_source, self)
        self.runStarted, self.runEnded = self.session.runStarted, self.session.runEnded  # (run id), (outcome, run id)
        self.stages = Stages(self.data_panel, self.networks_panel, self.training_panel, self.distillation_panel,
                             self.runs_model, self.runner, self.session, self.run_controls, self.step_bar,
                             self.training_temperature, choices.dataset, choices.data_ready, self)
        self.lineup_views = LineupViews(self.store, self.canvas_panel, self.soft_targets_panel, self.report_panel, self.banner,
                                        choices.data_source, self, insight=self.insight_panel)
        self.runs_view = RunsView(self.runs_model, self.lineup_model, self.runs_panel, self.curves_panel, self.distillation_panel,
                                  self.networks_panel, self.training_panel, self.banner, self.status, choices.dataset,
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
        if restore:
            for note in window_settings.restore(self.settings, self, self._restorable()):
                self.status(note, 15000)
        self.arrangement.follow_runs()
        self.arrangement.arrange_toolbars()
        self.update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        add_fixed_toolbar(self, "workflowToolBar", (self.step_bar, self.hint_label))
        self.run_toolbar = add_fixed_toolbar(self, "runToolBar", (self.run_controls,))
        self.lineup_toolbar = add_fixed_toolbar(self, "lineupToolBar", (self.lineup_bar,))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Whole tab titles, never "Dr…": when they cannot all fit, the bar scrolls instead.
        self.tabs.setElideMode(Qt.TextElideMode.ElideNone)
        self.tabs.setUsesScrollButtons(True)
        # Soft targets and Draw fit any room down to 1024x700 (their digits and canvas shrink), so they need no scrolling.
        pages = {"curves": self.curves_panel, "soft_targets": self.soft_targets_panel, "draw": self.canvas_panel,
                 "experiments": self.experiments_panel, "report": self.report_panel, "insight": self.insight_panel}
        self.tab_pages: dict[str, QWidget] = {}
        for key, title in TABS.items():
            self.tab_pages[key] = pages[key]
            self.tabs.addTab(pages[key], title)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        panels = {"data": self.data_panel, "networks": self.networks_panel, "training": self.training_panel,
                  "distillation": self.distillation_panel, "runs": self.runs_panel}
        # The docks, the Panels switch in the tabs' corner, the tool bar rows and the window's first size; the
        # default dock sizes follow the window's size when it first shows, unless the user's own layout comes back.
        self.arrangement = arranged = WindowArrangement(
            self, self.tabs, self.tab_pages, {key: (title, panels[key]) for key, title in DOCKS.items()}, self.run_controls,
            self.lineup_bar, self.lineup_toolbar, lambda: bool(self.runs_model.runs or self.runs_model.unreadable),
            keep_sizes=self.remember and self.settings.contains("window/state"))
        self.docks, self.runs_dock, self.panels_button = arranged.docks, arranged.runs_dock, arranged.panels_button
        self.settings_panels_shown = arranged.settings_panels_shown
        self.set_settings_panels_shown = arranged.set_settings_panels_shown
        runs_dir = QLabel(f"Runs: {self.store.root}")
        runs_dir.setStyleSheet(style.text_style("muted"))
        runs_dir.setMinimumWidth(40)
        runs_dir.setToolTip(str(self.store.root))
        self.statusBar().addPermanentWidget(runs_dir)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Open runs folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root))))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.arrangement.fill_view_menu(view_menu)
        view_menu.addAction("Show the bundled networks", self.lineup_model.choose_bundled)
        self.run_menu = RunMenu(self.menuBar().addMenu("&Run"), self.run_controls, self.status, self)
        self.shortcut_actions, self.refusal_shortcuts = self.run_menu.shortcut_actions, self.run_menu.refusal_shortcuts
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("What is distillation?", lambda: ExplainDialog(self).exec())
        help_menu.addAction("About kdgui", lambda: show_about(self))

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
        self.runs_model.changed.connect(self.arrangement.follow_runs)
        self.runs_panel.summaryChanged.connect(self.runs_dock.set_summary)
        self.runs_dock.set_summary(self.runs_panel.summary())
        self.lineup_model.changed.connect(self.show_lineup)
        self.lineup_model.problem.connect(lambda text: self.banner.show_message(text, "warning"))
        self.lineup_bar.choiceChanged.connect(self.lineup_model.choose)
        self.tabs.currentChanged.connect(self._tab_shown)
        for panel in (self.soft_targets_panel, self.canvas_panel):
            panel.useTemperatureForDistil.connect(self._use_temperature_for_distil)
        self.canvas_panel.addToSoftTargets.connect(lambda pixels: (self.soft_targets_panel.add_drawn_digit(pixels),
                                                                   self.show_panel("soft_targets")))
        self.insight_panel.openDigit.connect(self.open_test_digit)
        # A workflow run's evaluations carry a student's first layer: its hidden-unit tiles move while it trains.
        self.runner.occurred.connect(lambda event: self.insight_panel.training_event(event)
                                     if self.runner.kind == "train" else None)
        self.runner.ended.connect(lambda kind, _: self.insight_panel.training_ended() if kind == "train" else None)
        for panel in (self.report_panel, self.curves_panel, self.experiments_panel):
            panel.exported.connect(lambda path: self.status(f"Saved {path}", 8000))
        self.curves_panel.exportFailed.connect(lambda t: self.banner.show_message(t, "error"))

    # -- panels and steps (how the docks show: WindowArrangement) -------------------------------------
    def show_panel(self, name: str) -> None:
        """Bring a tab or dock to the front, by name (see PANELS)."""
        self.arrangement.show_panel(name)

    def show_step(self, step: str) -> None:
        if step in START_BUTTONS:
            self.training_panel.select_stage(step)
        if step == "compare":
            self.show_panel("curves")
        self.show_panel(workflow.STEP_PANELS[step])

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002, N802 - Qt's names
        return self.arrangement.move_focus(lambda: QMainWindow.focusNextPrevChild(self, next))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.arrangement.first_shown()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.arrangement.arrange_toolbars()

    def status(self, text: str, ms: int = 0) -> None:
        self.statusBar().showMessage(text, ms)

    # -- actions --------------------------------------------------------------------------------------
    def update_actions(self) -> None:
        """Enable what makes sense now; a disabled button's tooltip (and its menu action's refusal) says why."""
        refusals, hint = self.stages.update()
        self.run_menu.apply(refusals, self.runner.running)
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
        if self.tabs.widget(index) in (self.tab_pages["soft_targets"], self.tab_pages["report"], self.tab_pages["insight"]):
            self.lineup_views.load_test_set()

    def open_test_digit(self, index: int) -> None:
        """Show test digit ``index`` in the Soft targets tab (from What changed and Confusion)."""
        self.lineup_views.load_test_set()
        self.soft_targets_panel.show_test_digit(index)
        self.show_panel("soft_targets")

    def settle_views(self, msecs: int = 60_000) -> None:
        """Wait for the views' background work (the lineup's answers on the test set): screenshots show results."""
        self.lineup_views.source.wait(msecs)
        QApplication.processEvents()

    # -- settings and closing -----------------------------------------------------------------------
    def _restorable(self) -> dict:
        return {"data": self.data_panel, "networks": self.networks_panel, "training": self.training_panel,
                "distillation": self.distillation_panel, "curves": self.curves_panel, "viewing": self.temperature,
                "soft_targets": self.soft_targets_panel, "runs": self.runs_panel, "experiments": self.experiments_panel,
                "insight": self.insight_panel, "layout": self.arrangement}

    def save_settings(self) -> None:
        if self.remember:
            window_settings.save(self.settings, self, self._restorable())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.runner.shutdown(STOP_WAIT_MS)  # the token is checked every batch: the run saves its weights, marked stopped
        self.lineup_views.source.wait()  # seconds at most; a thread destroyed while it runs would crash the process
        event.accept()


__all__ = ["QtMainWindow", "PANELS", "KINDS"]
