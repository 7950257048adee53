"""The main window: assembles the lineup bar, workflow steps, run controls, tabs, docks and menus, and wires them."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from ..core.config import Job, KINDS
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
from .style import HINT_COLOUR, MUTED_COLOUR
from .temperature_model import TemperatureModel
from .widgets.banner import MessageBanner
from .widgets.lineup_bar import LineupBar
from .widgets.step_bar import StepBar
from .window_layout import add_fixed_toolbar, make_docks, place_docks, scrolling
from . import workflow

STOP_WAIT_MS = 2000  # closing the window gives a running job this long to save itself and stop
TABS = {"curves": "Training curves", "soft_targets": "Soft targets", "draw": "Draw", "experiments": "Experiments", "report": "Compare"}
DOCKS = {"data": "Data", "networks": "Networks", "training": "Training", "distillation": "Distillation", "runs": "Runs"}
PANELS = tuple(DOCKS) + tuple(TABS)


class QtMainWindow(QMainWindow):
    """Owns the state objects (runs, lineup, the one job runner) and the panels; panels never see the window."""

    def __init__(self, store: RunStore | None = None, *, data: Splits | None = None, settings: QSettings | None = None,
                 restore: bool = True) -> None:
        super().__init__()
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
        self.hint_label = QLabel()
        self.hint_label.setStyleSheet(f"color: {HINT_COLOUR}; padding-left: 8px;")
        # The hint may be cut on a narrow window rather than force the window wide; its tooltip keeps the full text.
        self.hint_label.setMinimumWidth(40)
        self.hint_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
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
        if restore:
            for note in window_settings.restore(self.settings, self, self._restorable()):
                self.status(note, 15000)
        self.update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        add_fixed_toolbar(self, "workflowToolBar", (self.step_bar, self.hint_label))
        add_fixed_toolbar(self, "runToolBar", (self.run_controls,))
        add_fixed_toolbar(self, "lineupToolBar", (self.lineup_bar,))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        pages = {"curves": self.curves_panel, "soft_targets": scrolling(self.soft_targets_panel),
                 "draw": scrolling(self.canvas_panel), "experiments": self.experiments_panel, "report": self.report_panel}
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
        self.docks = make_docks(self, {key: (title, panels[key]) for key, title in DOCKS.items()})
        self.resizeDocks([self.docks["data"]], [400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["runs"]], [230], Qt.Orientation.Vertical)
        runs_dir = QLabel(f"Runs: {self.store.root}")
        runs_dir.setStyleSheet(f"color: {MUTED_COLOUR};")
        self.statusBar().addPermanentWidget(runs_dir)
        room = self.screen().availableGeometry()  # never larger than the screen it opens on
        self.resize(min(1360, room.width()), min(860, room.height()))

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Open runs folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root))))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Reset layout", self.reset_layout)
        view_menu.addAction("Show the bundled networks", self.lineup_model.choose_bundled)
        run_menu = self.menuBar().addMenu("&Run")
        # Each action only clicks its button, so one set of rules enables both; a refusal is said in the status bar.
        self.shortcut_actions: dict[str, QAction] = {}
        buttons = {**self.run_controls.start_buttons, "pause": self.run_controls.pause_button, "stop": self.run_controls.stop_button}
        texts = {"teacher": ("Train &teacher", "Ctrl+1"), "student": ("Train &student", "Ctrl+2"), "distilled": ("&Distil", "Ctrl+3"),
                 "pause": ("&Pause / resume", "Ctrl+P"), "stop": ("S&top", "Ctrl+.")}
        for key, (text, shortcut) in texts.items():
            action = run_menu.addAction(text, lambda b=buttons[key]: b.click() if b.isEnabled() else self.status(b.toolTip(), 8000))
            action.setShortcut(QKeySequence(shortcut))
            self.shortcut_actions[key] = action
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
        else:
            raise ValueError(f"no panel {name!r}: choose one of {', '.join(PANELS)}")

    def show_step(self, step: str) -> None:
        if step in START_BUTTONS:
            self.training_panel.select_stage(step)
        if step == "compare":
            self.show_panel("curves")
        self.show_panel(workflow.STEP_PANELS[step])

    def reset_layout(self) -> None:
        place_docks(self, self.docks)

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
        for stage, problems in refusals.items():
            self.shortcut_actions[stage].setEnabled(not problems)
        for key in ("pause", "stop"):
            self.shortcut_actions[key].setEnabled(self.runner.running)
        self.hint_label.setText(hint)
        self.hint_label.setToolTip(hint)
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
                "distillation": self.distillation_panel, "curves": self.curves_panel, "viewing": self.temperature}

    def save_settings(self) -> None:
        if self.remember:
            window_settings.save(self.settings, self, self._restorable())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.runner.shutdown(STOP_WAIT_MS)  # the token is checked every batch: the run saves its weights, marked stopped
        event.accept()


__all__ = ["QtMainWindow", "PANELS", "KINDS"]
