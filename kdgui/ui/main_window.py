"""The main window: the Data > Teacher > Student > Distil > Compare workflow, config docks, live curves and runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QByteArray, QSettings, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QLabel, QMainWindow, QScrollArea, QSizePolicy, QTabWidget, QToolBar, QVBoxLayout, QWidget,
)

from ..core.config import Job
from ..core.data import DISPLAY_NAMES, Splits, load_splits
from ..core.errors import ConfigError, KdguiError
from ..core.events import Cancelled, Evaluation, Finished, Progress, Started
from ..core.history import RunHistory, final_accuracies
from ..core.models import parameter_count
from ..core.predict import choose_models
from ..core.runs import Run, RunStore
from ..core.training import CancelToken, resolve_device
from .panels.canvas import CanvasPanel
from .panels.curves import CurvesPanel
from .panels.data import DataPanel
from .panels.distillation import DistillationPanel
from .panels.experiments import ExperimentsPanel
from .panels.networks import NetworksPanel
from .panels.run_controls import START_BUTTONS, RunControls, format_seconds
from .panels.help import ExplainDialog, show_about
from .panels.report import ReportPanel
from .panels.runs import RunsPanel
from .panels.soft_targets import SoftTargetsPanel
from .panels.training import STAGE_TITLES, TrainingPanel
from .temperature_model import TemperatureModel
from .widgets.banner import MessageBanner
from .widgets.step_bar import CURRENT, DONE, WAITING, StepBar
from .worker import QtTrainingWorker, start_in_thread

SETTINGS_VERSION = 1
STOP_WAIT_MS = 2000  # closing the window gives a training run this long to save itself and stop
# Ten distinguishable colours (matplotlib's tab10), one per run in the order runs are first seen.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
STEPS = [("data", "Data"), ("teacher", "Teacher"), ("student", "Student"), ("distilled", "Distil"), ("compare", "Compare")]
NEXT_HINTS = {
    "data": "Next: get the dataset. The Data panel says which files are missing; press Download or choose a folder.",
    "teacher": "Next: press Train teacher. The big network learns from labels.",
    "student": "Next: press Train student. The small network learns from labels alone: the baseline to beat.",
    "distilled": "Next: press Distil. The small network learns from the teacher's softened outputs.",
    "compare": "Compare: tick runs in the Runs panel to overlay their curves. Try another temperature or transfer set.",
}
PANELS = ("data", "networks", "training", "distillation", "runs", "curves", "soft_targets", "draw", "experiments", "report")


@dataclass
class LiveRun:
    """What the window knows about the run in progress; the worker object itself may already be deleted."""

    job: Job
    title: str
    token: CancelToken
    worker: QtTrainingWorker  # held so Python does not free it mid-run; Qt deletes it when the thread ends
    thread: QThread | None = None
    run_id: str | None = None
    device: str | None = None
    outcome: str = "failed"  # finished, stopped or failed, set by the last event
    retry_on_cpu: bool = False


class QtMainWindow(QMainWindow):
    """Owns the panels and the one training worker; panels never talk to the worker directly."""

    runStarted = Signal(str)  # run id
    runEnded = Signal(str, str)  # outcome (finished, stopped, failed), run id ("" if it never started)

    def __init__(self, store: RunStore | None = None, *, data: Splits | None = None, settings: QSettings | None = None,
                 restore: bool = True) -> None:
        super().__init__()
        self.store = store or RunStore()
        self.data_override = data
        self.settings = settings if settings is not None else QSettings()
        self.remember = restore
        self.temperature = TemperatureModel(parent=self)
        self.live: LiveRun | None = None
        self.runs: list[Run] = []
        self.labels: dict[str, str] = {}
        self.colours: dict[str, str] = {}
        self._accuracy_cache: dict[str, tuple[str, dict[str, float]]] = {}
        self._first_refresh = True

        self.setWindowTitle("kdgui: knowledge distillation")
        self.setObjectName("kdguiMainWindow")
        self.data_panel = DataPanel()
        self.networks_panel = NetworksPanel()
        self.training_panel = TrainingPanel()
        self.distillation_panel = DistillationPanel(self.temperature)
        self.runs_panel = RunsPanel()
        self.curves_panel = CurvesPanel()
        self.soft_targets_panel = SoftTargetsPanel(self.temperature)
        self.canvas_panel = CanvasPanel(self.temperature)
        self.report_panel = ReportPanel()
        self.experiments_panel = ExperimentsPanel(self)
        self._models_key: tuple | None = None  # which networks the soft-target and Draw views show now
        self._test_set_loaded = False
        self.run_controls = RunControls()
        self.banner = MessageBanner()
        self.step_bar = StepBar(STEPS)
        self.hint_label = QLabel()
        self.hint_label.setStyleSheet("color: #0d47a1; padding-left: 8px;")
        # The hint may be cut on a narrow window rather than force the window wide; its tooltip keeps the full text.
        self.hint_label.setMinimumWidth(40)
        self.hint_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        if data is not None:
            self.data_panel.set_override(f"Using {len(data.train_y):,} in-memory training images ({DISPLAY_NAMES.get(data.dataset, data.dataset)}) "
                                         "supplied at start-up")
        self._build_layout()
        self._build_menus()
        self._connect()
        self.statusBar().showMessage("Ready. Follow the steps at the top: Data › Teacher › Student › Distil › Compare.")
        self.refresh_runs()
        if restore:
            self.restore_settings()
        self.update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        steps = QToolBar("Workflow")
        steps.setObjectName("workflowToolBar")
        steps.addWidget(self.step_bar)
        steps.addWidget(self.hint_label)
        controls = QToolBar("Run")
        controls.setObjectName("runToolBar")
        controls.addWidget(self.run_controls)
        for bar in (steps, controls):
            bar.setMovable(False)
            bar.setFloatable(False)
            bar.toggleViewAction().setVisible(False)  # the workflow and run buttons are not optional
            self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
            if bar is steps:
                self.addToolBarBreak()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.curves_panel, "Training curves")
        # In scroll areas: these views need room, but must not force a minimum size on the whole window.
        for panel, title in ((self.soft_targets_panel, "Soft targets"), (self.canvas_panel, "Draw")):
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QScrollArea.Shape.NoFrame)
            area.setWidget(panel)
            self.tabs.addTab(area, title)
        self.tabs.addTab(self.experiments_panel, "Experiments")
        self.tabs.addTab(self.report_panel, "Compare")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The settings docks run the full height; the runs list sits under the plots it controls.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
        self.docks: dict[str, QDockWidget] = {}
        left = [("data", "Data", self.data_panel), ("networks", "Networks", self.networks_panel),
                ("training", "Training", self.training_panel), ("distillation", "Distillation", self.distillation_panel)]
        for key, title, panel in left:
            self.docks[key] = self._dock(key, title, panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        for key, _, _ in left[1:]:
            self.tabifyDockWidget(self.docks["data"], self.docks[key])
        self.docks["runs"] = self._dock("runs", "Runs", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea, scroll=False)
        self.resizeDocks([self.docks["data"]], [400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["runs"]], [230], Qt.Orientation.Vertical)
        self.docks["data"].raise_()

        self.runs_dir_label = QLabel(f"Runs: {self.store.root}")
        self.runs_dir_label.setStyleSheet("color: #666;")
        self.statusBar().addPermanentWidget(self.runs_dir_label)
        self.resize(1360, 860)

    def _dock(self, key: str, title: str, panel: QWidget, area: Qt.DockWidgetArea, scroll: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{key}Dock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        if scroll:
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(panel)
            area_widget.setMinimumWidth(panel.minimumSizeHint().width() + 24)
            dock.setWidget(area_widget)
        else:
            dock.setWidget(panel)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Open runs folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root))))
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Reset layout", self.reset_layout)
        run_menu = self.menuBar().addMenu("&Run")
        # Keyboard shortcuts for the main actions; each only clicks its button, so the same rules enable it.
        self.shortcut_actions: dict[str, QAction] = {}
        for key, (text, shortcut, button) in {
            "teacher": ("Train &teacher", "Ctrl+1", self.run_controls.start_buttons["teacher"]),
            "student": ("Train &student", "Ctrl+2", self.run_controls.start_buttons["student"]),
            "distilled": ("&Distil", "Ctrl+3", self.run_controls.start_buttons["distilled"]),
            "pause": ("&Pause / resume", "Ctrl+P", self.run_controls.pause_button),
            "stop": ("S&top", "Ctrl+.", self.run_controls.stop_button),
        }.items():
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _=False, b=button: b.isEnabled() and b.click())
            run_menu.addAction(action)
            self.shortcut_actions[key] = action
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("What is distillation?", self._explain)
        help_menu.addAction("About kdgui", lambda: show_about(self))

    def _connect(self) -> None:
        for panel in (self.data_panel, self.networks_panel, self.training_panel, self.distillation_panel):
            panel.changed.connect(self.update_actions)
        self.data_panel.changed.connect(self._dataset_maybe_changed)
        self.data_panel.downloadFinished.connect(self._download_finished)
        self.run_controls.startRequested.connect(self.start_stage)
        self.run_controls.pauseToggled.connect(self.set_paused)
        self.run_controls.stopRequested.connect(self.stop_training)
        self.step_bar.stepClicked.connect(self.show_step)
        self.runs_panel.visibilityChanged.connect(self.set_run_shown)
        self.runs_panel.reopenRequested.connect(self.reopen_run)
        self.runs_panel.teacherChosen.connect(self.use_as_teacher)
        self.runs_panel.renameRequested.connect(self.rename_run)
        self.runs_panel.deleteRequested.connect(self.delete_run)
        self.runs_panel.refreshRequested.connect(self.refresh_runs)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.canvas_panel.modelSourceChanged.connect(lambda _: self.refresh_models(force=True))
        self.canvas_panel.addToSoftTargets.connect(self._add_drawn_digit)
        self.report_panel.exported.connect(lambda path: self.statusBar().showMessage(f"Exported {path}", 8000))
        self.curves_panel.exported.connect(lambda path: self.statusBar().showMessage(f"Saved {path}", 8000))
        self.experiments_panel.exported.connect(lambda path: self.statusBar().showMessage(f"Saved {path}", 8000))
        self.experiments_panel.jobStarted.connect(self.update_actions)
        self.experiments_panel.jobEnded.connect(lambda _: self.refresh_runs())

    # -- panels and steps ---------------------------------------------------------------------------
    def show_panel(self, name: str) -> None:
        """Bring a panel to the front: data, networks, training, distillation, runs or curves."""
        tabs = {"curves": 0, "soft_targets": 1, "draw": 2, "experiments": 3, "report": 4}
        if name in tabs:
            self.tabs.setCurrentIndex(tabs[name])
            return
        if name not in self.docks:
            raise ValueError(f"no panel {name!r}: choose one of {', '.join(PANELS)}")
        self.docks[name].show()
        self.docks[name].raise_()

    def show_step(self, step: str) -> None:
        panel = {"data": "data", "teacher": "networks", "student": "networks", "distilled": "distillation", "compare": "runs"}[step]
        if step in STAGE_TITLES:
            self.training_panel.select_stage(step)
        if step == "compare":
            self.show_panel("curves")
        self.show_panel(panel)

    def reset_layout(self) -> None:
        for key, dock in self.docks.items():
            dock.setFloating(False)
            dock.show()
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea if key == "runs" else Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        for key in ("networks", "training", "distillation"):
            self.tabifyDockWidget(self.docks["data"], self.docks[key])
        self.docks["data"].raise_()

    def dataset(self) -> str:
        return self.data_override.dataset if self.data_override is not None else self.data_panel.dataset()

    def data_ready(self) -> bool:
        return self.data_override is not None or self.data_panel.ready

    def teacher_runs(self) -> list[Run]:
        """Teachers a distillation can use: trained on the current dataset, with weights, not training now."""
        live_id = self.live.run_id if self.live else None
        return [r for r in self.runs if r.job.kind == "teacher" and r.job.dataset == self.dataset()
                and r.status in ("finished", "stopped") and r.has_weights and r.id != live_id]

    def stage_problems(self, stage: str) -> list[str]:
        """Why the stage's button cannot start now, most important first (empty: it can)."""
        if self.live is not None:
            return ["a run is in progress: stop it or wait for it to end"]
        if self.experiments_panel.running():
            return ["a sweep or study is running (Experiments tab): stop it or wait for it to end"]
        if self.data_panel.downloading():
            return ["the dataset is downloading"]
        if not self.data_ready():
            return [f"{DISPLAY_NAMES[self.dataset()]} is missing: see the Data panel"]
        problems = self.networks_panel.problems("teacher" if stage == "teacher" else "student")
        problems += self.training_panel.problems(stage)
        if stage == "distilled":
            if not self.distillation_panel.teacher_run_id():
                problems.insert(0, "train a teacher first (or pick one in the Runs panel)")
            problems += self.distillation_panel.problems()
        return problems

    def update_actions(self) -> None:
        """Enable what makes sense now; a disabled button's tooltip says why."""
        for stage in START_BUTTONS:
            problems = self.stage_problems(stage)
            if problems:
                tip = problems[0][0].upper() + problems[0][1:]
                self.run_controls.set_start_state(stage, False, tip)
            else:
                self.run_controls.set_start_state(stage, True, self._start_tooltip(stage))
        self._update_steps()
        self.experiments_panel.update_actions()

    def _start_tooltip(self, stage: str) -> str:
        spec = self.networks_panel.teacher_spec() if stage == "teacher" else self.networks_panel.student_spec()
        train = self.training_panel.train_config(stage)
        images = "all training images" if train.train_limit is None else f"{train.train_limit:,} training images"
        what = {"teacher": "Train the teacher", "student": "Train the student from labels",
                "distilled": f"Distil the teacher into the student at T={self.temperature.temperature:g}"}[stage]
        return (f"{what}: {spec.describe()} ({parameter_count(spec):,} parameters), {train.epochs} epochs, "
                f"learning rate {train.lr:g}, {images}")

    def _update_steps(self) -> None:
        dataset = self.dataset()
        finished = {r.job.kind for r in self.runs if r.status == "finished" and r.job.dataset == dataset}
        done = {"data": self.data_ready(), "teacher": "teacher" in finished, "student": "student" in finished,
                "distilled": "distilled" in finished}
        current = next((step for step, _ in STEPS[:-1] if not done[step]), "compare")
        if current == "distilled" and not done["teacher"]:
            current = "teacher"
        tips = {
            "data": "The images the networks learn from",
            "teacher": "Train the big network from labels (Networks and Training panels)",
            "student": "Train the small network from labels: the baseline",
            "distilled": "Train the small network from the teacher's soft targets (Distillation panel)",
            "compare": "Overlay the runs' curves and accuracies (Runs panel)",
        }
        for step, _ in STEPS:
            state = DONE if done.get(step) else CURRENT if step == current else WAITING
            self.step_bar.set_state(step, state, tips[step] + (" (done)" if state == DONE else ""))
        # The very first steps can be done in any order after the data: say what is most useful next.
        if self.live is not None:
            hint = f"{self.live.title} is training: watch its curves below. Pause or Stop it with the buttons above."
        elif current == "student" and not done["distilled"] and self.teacher_runs():
            hint = NEXT_HINTS["student"] + " Then Distil."
        else:
            hint = NEXT_HINTS[current]
        self.hint_label.setText(hint)
        self.hint_label.setToolTip(hint)

    def _dataset_maybe_changed(self) -> None:
        if self.data_override is None:
            self._refresh_teachers()

    def _download_finished(self, error: str) -> None:
        if error:
            # The core's full message (folder, files, reason) is in the Data panel; the banner points there.
            self.banner.show_message(f"Download of {DISPLAY_NAMES[self.data_panel.dataset()]} failed. The Data panel says "
                                     "why and where to put the four files instead.", "error")
            self.show_panel("data")
            self.statusBar().showMessage("Download failed: see the Data panel", 10000)
        else:
            self.banner.hide()
            self.statusBar().showMessage(f"Downloaded {DISPLAY_NAMES[self.data_panel.dataset()]}", 10000)
        self.update_actions()

    # -- jobs ---------------------------------------------------------------------------------------
    def build_job(self, stage: str) -> Job:
        """The job a stage's button runs, built through the core's validated configs (ConfigError says why not)."""
        problems = self.stage_problems(stage)
        if problems:
            raise ConfigError(problems[0])
        net = self.networks_panel.teacher_spec() if stage == "teacher" else self.networks_panel.student_spec()
        distill = self.distillation_panel.distill_config() if stage == "distilled" else None
        teacher = self.distillation_panel.teacher_run_id() if stage == "distilled" else None
        return Job(stage, net, self.training_panel.train_config(stage), distill, dataset=self.dataset(), teacher_run=teacher,
                   standardize=self.data_panel.standardize())

    def start_stage(self, stage: str) -> bool:
        try:
            job = self.build_job(stage)
        except ConfigError as exc:
            self.banner.show_message(f"Cannot start: {exc}", "warning")
            self.statusBar().showMessage(f"Not started: {exc}", 10000)
            return False
        return self.start_job(job)

    def start_job(self, job: Job) -> bool:
        """Train ``job`` in a worker thread; False (with the reason shown) when it cannot start."""
        if self.is_training():
            self.statusBar().showMessage("A run is in progress: one run at a time", 8000)
            return False
        try:
            resolve_device(job.train.device)
        except ConfigError as exc:
            self.banner.show_message(f"{exc}: training on the CPU instead.", "warning")
            job = dataclasses.replace(job, train=dataclasses.replace(job.train, device="cpu"))
        self.banner.hide()
        QTimer.singleShot(0, self.save_settings)  # keep the config if the app dies; after the click is handled
        title = STAGE_TITLES[job.kind] if job.kind != "distilled" else f"Distil T={job.distill.temperature:g}"
        worker = QtTrainingWorker(job, self.store, data=self.data_override, data_dir=str(self.data_panel.data_dir()))
        worker.run_started.connect(self._on_started)
        worker.progressed.connect(self._on_progress)
        worker.evaluated.connect(self._on_evaluated)
        worker.run_finished.connect(self._on_finished)
        worker.run_cancelled.connect(self._on_cancelled)
        worker.failed.connect(self._on_failed)
        self.live = LiveRun(job=job, title=title, token=worker.token, worker=worker)
        self.live.thread = start_in_thread(worker, self, on_finished=self._on_thread_finished)
        # Set the epoch axis now, while the worker loads data, so the first points do not also re-render the axes.
        self.curves_panel.follow_live_run(job.train.epochs)
        self.run_controls.set_running(True, title)
        self.statusBar().showMessage(f"{title}: loading data…")
        self.update_actions()
        return True

    def stop_training(self) -> None:
        if self.live is not None:
            self.live.token.cancel()
            self.run_controls.show_message(f"{self.live.title}: stopping…")
            self.statusBar().showMessage("Stopping after the current batch…")

    def set_paused(self, paused: bool) -> None:
        if self.live is None:
            return
        if paused:
            self.live.token.pause()
            self.statusBar().showMessage("Paused: press Resume to continue or Stop to end the run")
        else:
            self.live.token.resume()
            self.statusBar().showMessage("Resumed")

    def is_training(self) -> bool:
        return self.live is not None or self.experiments_panel.running()

    # -- worker events (queued to the GUI thread) ---------------------------------------------------
    def _on_started(self, event: Started) -> None:
        live = self.live
        live.run_id, live.device = event.run_id, event.device
        colour = self.colours.setdefault(event.run_id, PALETTE[len(self.colours) % len(PALETTE)])
        self.curves_panel.add_run(event.run_id, event.label, colour, RunHistory())
        self.curves_panel.set_shown(event.run_id, True)
        # Listing the runs again reads every run.json: a separate event, so the GUI can breathe in between.
        QTimer.singleShot(0, self.refresh_runs)
        self.run_controls.show_message(f"{live.title}: started on {event.device}", 0.0)
        self.statusBar().showMessage(f"{live.title}: training {live.job.net.describe()} on {event.device} (run {event.run_id})")
        self.runStarted.emit(event.run_id)

    def _on_progress(self, event: Progress, losses: list[tuple[int, float]]) -> None:
        if self.live is None or self.live.run_id is None:
            return
        self.curves_panel.append_losses(self.live.run_id, losses, event.batches_per_epoch)
        if not self.live.token.cancelled:
            self.run_controls.show_progress(self.live.title, event)

    def _on_evaluated(self, event: Evaluation) -> None:
        if self.live is None or self.live.run_id is None:
            return
        self.curves_panel.append_evaluation(self.live.run_id, event)
        self.statusBar().showMessage(f"{self.live.title}: epoch {event.epoch:.2f}, validation {event.val_acc:.2%}, "
                                     f"test {event.test_acc:.2%}")

    def _on_finished(self, event: Finished) -> None:
        self.live.outcome = "finished"
        self.run_controls.show_message(f"{self.live.title}: finished in {format_seconds(event.seconds)}", 1.0)
        kept = f" (weights of epoch {event.epoch}, the best on validation)" if self.live.job.train.keep_best and event.epoch else ""
        self.statusBar().showMessage(f"{self.live.title} finished: validation {event.val_acc:.2%}, test {event.test_acc:.2%}{kept} "
                                     f"in {format_seconds(event.seconds)}")

    def _on_cancelled(self, event: Cancelled) -> None:
        self.live.outcome = "stopped"
        self.run_controls.show_message(f"{self.live.title}: stopped at step {event.step}; the partial run is kept")
        self.statusBar().showMessage(f"{self.live.title} stopped after {event.step} steps; the partial run is kept, marked stopped")

    def _on_failed(self, kind: str, message: str) -> None:
        live = self.live
        live.outcome = "failed"
        device = live.device or live.job.train.device
        if kind == "oom" and device != "cpu" and not device.startswith("cpu"):
            live.retry_on_cpu = True
            self.banner.show_message(f"Out of memory on {device}: training again on the CPU.", "warning")
        else:
            advice = " Try a smaller batch size or network." if kind == "oom" else ""
            kept = " The run is kept on disk, marked failed." if live.run_id else ""
            self.banner.show_message(f"{live.title} failed: {message}.{advice}{kept}", "error")
        self.run_controls.show_message(f"{live.title}: failed")
        self.statusBar().showMessage(f"{live.title} failed: {message}", 15000)

    def _on_thread_finished(self) -> None:
        live, self.live = self.live, None
        self.run_controls.set_running(False)
        self.curves_panel.follow_live_run(None)
        self.curves_panel.flush()
        prefer = live.run_id if live.job.kind == "teacher" and live.outcome == "finished" else None
        self.refresh_runs(prefer_teacher=prefer)
        self.update_actions()
        self.runEnded.emit(live.outcome, live.run_id or "")
        if live.retry_on_cpu:
            QTimer.singleShot(0, lambda: self.start_job(dataclasses.replace(live.job, train=dataclasses.replace(live.job.train, device="cpu"))))

    # -- runs ---------------------------------------------------------------------------------------
    def refresh_runs(self, prefer_teacher: str | None = None) -> None:
        """Read the runs folder again and update every view of the runs."""
        runs, problems = self.store.scan()
        self.runs = runs
        ids = {r.id for r in runs}
        for run in runs:
            self.colours.setdefault(run.id, PALETTE[len(self.colours) % len(PALETTE)])
        for run_id in list(self.curves_panel.runs):
            if run_id not in ids:
                self.curves_panel.remove_run(run_id)
        self.labels = unique_labels(runs)
        for run_id, label in self.labels.items():
            self.curves_panel.set_label(run_id, label)
        if self._first_refresh:
            self._first_refresh = False
            for run in latest_per_kind(runs):
                self.set_run_shown(run.id, True)
        accuracies = {r.id: self.accuracies(r) for r in runs}
        live_id = self.live.run_id if self.live else None
        self.runs_panel.set_runs(runs, self.labels, self.colours, accuracies, self.curves_panel.shown_run_ids(), live_id)
        self._refresh_teachers(prefer_teacher)
        if problems:
            self.statusBar().showMessage(f"Skipped {len(problems)} unreadable run folder(s): {problems[0]}", 15000)
        if self.live is None:
            # Choosing the models loads their weights (~50-180 ms of GUI time): not while a run streams its curves.
            # A training run adds no usable model until it ends, and its end refreshes the runs again.
            self.refresh_models()
        self.update_actions()

    # -- soft targets and drawing ---------------------------------------------------------------------
    def refresh_models(self, force: bool = False) -> None:
        """Give the Soft targets and Draw views the chosen networks: the user's newest runs, or the bundled ones."""
        source = self.canvas_panel.source.currentData()
        try:
            models = choose_models(self.store, source)
        except KdguiError as exc:
            self._models_key = None
            self.canvas_panel.set_models_error(str(exc))
            self.soft_targets_panel.set_models([])
            return
        key = (source, tuple((m.key, m.source) for m in models))
        if key == self._models_key and not force:
            return  # the same networks: keep the logits already computed
        self._models_key = key
        self.canvas_panel.set_models(models)
        self.soft_targets_panel.set_models(models)
        self.report_panel.set_models(models)

    def _tab_shown(self, index: int) -> None:
        if index in (1, 4):  # Soft targets and Compare score the networks on the test set
            self.load_test_set()

    def load_test_set(self) -> None:
        """The MNIST test digits for the Soft targets view, loaded when it is first shown (the networks are MNIST's)."""
        if self._test_set_loaded:
            return
        override = self.data_override
        try:
            data = override if override is not None and override.dataset == "mnist" else load_splits("mnist", self.data_panel.data_dir())
        except KdguiError as exc:
            self.soft_targets_panel.problem.setText(f"No MNIST test set: {exc}")
            return
        self._test_set_loaded = True
        self.soft_targets_panel.set_test_set(data.test_x, data.test_y)
        self.report_panel.set_test_set(data.test_x, data.test_y)

    def _add_drawn_digit(self, pixels) -> None:  # noqa: ANN001 - a [784] tensor
        self.soft_targets_panel.add_drawn_digit(pixels)
        self.show_panel("soft_targets")

    def _refresh_teachers(self, prefer: str | None = None) -> None:
        teachers = self.teacher_runs()
        self.distillation_panel.set_teachers(teachers, {r.id: self.accuracies(r).get("test_acc") for r in teachers}, self.labels,
                                             prefer)

    def accuracies(self, run: Run) -> dict[str, float]:
        """Final accuracies: the summary of a finished run, else its last evaluation (read once per status)."""
        if self.live is not None and run.id == self.live.run_id and run.id in self.curves_panel.runs:
            last = self.curves_panel.runs[run.id].history.last_evaluation()
            return final_accuracies({}, [last] if last else [])
        cached = self._accuracy_cache.get(run.id)
        if cached is None or cached[0] != run.status:
            records = None if run.summary.get("test_acc") is not None else run.metrics()
            cached = (run.status, final_accuracies(run.summary, records))
            self._accuracy_cache[run.id] = cached
        return cached[1]

    def run_by_id(self, run_id: str) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def set_run_shown(self, run_id: str, shown: bool) -> None:
        run = self.run_by_id(run_id)
        if shown and run_id not in self.curves_panel.runs:
            if run is None:
                return
            history = RunHistory.from_records(run.metrics(), run.job)
            self.curves_panel.add_run(run_id, self.labels.get(run_id, run.name), self.colours[run_id], history)
        self.curves_panel.set_shown(run_id, shown)
        self.runs_panel.set_shown(run_id, shown)

    def reopen_run(self, run_id: str) -> None:
        """Show a run's curves and put its settings back into the panels."""
        run = self.run_by_id(run_id)
        if run is None:
            return
        job = run.job
        self.set_run_shown(run_id, True)
        editor = self.networks_panel.teacher if job.kind == "teacher" else self.networks_panel.student
        editor.set_spec(job.net)
        self.training_panel.load_job_config(job.kind, job.train)
        if job.distill is not None:
            self.distillation_panel.set_config(job.distill)
            if job.teacher_run:
                self.distillation_panel.select_teacher(job.teacher_run)
        self.show_panel("distillation" if job.kind == "distilled" else "networks")
        self.statusBar().showMessage(f"Loaded the settings of {self.labels.get(run_id, run.name)}: press "
                                     f"{START_BUTTONS[job.kind]} to train it again", 10000)

    def use_as_teacher(self, run_id: str) -> None:
        if self.distillation_panel.select_teacher(run_id):
            self.show_panel("distillation")
            self.statusBar().showMessage(f"Distil will use the teacher {self.labels.get(run_id, run_id)}", 8000)
        else:
            self.statusBar().showMessage("That run cannot teach: it needs saved weights and the current dataset", 8000)

    def rename_run(self, run_id: str, name: str) -> None:
        try:
            self.store.rename(run_id, name)
        except KdguiError as exc:
            self.banner.show_message(f"Cannot rename: {exc}", "error")
            return
        self.refresh_runs()

    def delete_run(self, run_id: str) -> None:
        if self.live is not None and self.live.run_id == run_id:
            self.statusBar().showMessage("Stop the run before deleting it", 8000)
            return
        try:
            self.store.delete(run_id)
        except (KdguiError, OSError) as exc:
            self.banner.show_message(f"Cannot delete: {exc}", "error")
            return
        self.curves_panel.remove_run(run_id)
        self._accuracy_cache.pop(run_id, None)
        self.refresh_runs()
        self.statusBar().showMessage(f"Deleted run {run_id}", 8000)

    # -- settings and closing -----------------------------------------------------------------------
    def config_state(self) -> dict[str, Any]:
        return {
            "version": SETTINGS_VERSION,
            "data": self.data_panel.state(),
            "networks": self.networks_panel.state(),
            "training": self.training_panel.state(),
            "distillation": self.distillation_panel.state(),
            "curves": {"smoothing": self.curves_panel.smoothing_slider.value(), "log": self.curves_panel.log_box.isChecked(),
                       "raw": self.curves_panel.raw_box.isChecked()},
        }

    def save_settings(self) -> None:
        if not self.remember:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        self.settings.setValue("config/last", json.dumps(self.config_state()))
        self.settings.sync()

    def restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)
        try:
            config = json.loads(self.settings.value("config/last") or "{}")
        except (TypeError, ValueError):
            config = {}
        if not isinstance(config, dict) or config.get("version") != SETTINGS_VERSION:
            return
        wanted_device = (config.get("training") or {}).get("device")
        # Each panel checks its own part through the core's configs and keeps its defaults for anything refused.
        for key, panel in (("data", self.data_panel), ("networks", self.networks_panel), ("training", self.training_panel),
                           ("distillation", self.distillation_panel)):
            if isinstance(config.get(key), dict):
                panel.restore(config[key])
        if wanted_device and self.training_panel.device() != wanted_device:
            self.statusBar().showMessage(f"Device {wanted_device} from last time is not available: using Auto", 15000)
        curves = config.get("curves") or {}
        if isinstance(curves.get("smoothing"), int):
            self.curves_panel.smoothing_slider.setValue(curves["smoothing"])
        if isinstance(curves.get("log"), bool):
            self.curves_panel.log_box.setChecked(curves["log"])
        if isinstance(curves.get("raw"), bool):
            self.curves_panel.raw_box.setChecked(curves["raw"])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.experiments_panel.shutdown(STOP_WAIT_MS)
        live = self.live
        if live is not None and live.thread is not None and shiboken6.isValid(live.thread) and live.thread.isRunning():
            # The token is checked every batch: the run saves its weights, is marked stopped and the thread ends.
            live.token.cancel()
            if not live.thread.wait(STOP_WAIT_MS):
                live.thread.wait()  # an evaluation on a slow machine: the partial run must still reach the disk
        event.accept()

    def _explain(self) -> None:
        ExplainDialog(self).exec()


def unique_labels(runs: list[Run]) -> dict[str, str]:
    """Each run's name, numbered (#1, #2, oldest first) where several runs share it, so legends tell them apart."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    seen: dict[str, int] = {}
    labels = {}
    for run in runs:
        if counts[run.name] > 1:
            seen[run.name] = seen.get(run.name, 0) + 1
            labels[run.id] = f"{run.name} #{seen[run.name]}"
        else:
            labels[run.id] = run.name
    return labels


def latest_per_kind(runs: list[Run]) -> list[Run]:
    """The newest finished run of each kind: what the curves show when the app opens."""
    latest: dict[str, Run] = {}
    for run in runs:
        if run.status == "finished":
            latest[run.job.kind] = run
    return list(latest.values())
