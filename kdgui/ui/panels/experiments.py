"""The Experiments tab: a temperature sweep, the transfer-set studies and a results table.

The pages (sweep_page, study_page, results_table) build, check and show; this panel starts their jobs on
the window's one JobRunner, routes the runner's signals back to the page whose job it is, and says why
Run is off (another job running, no dataset, no teacher). It holds no reference to the window: what it
needs from it comes in as ``ExperimentInputs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ...core.config import NetSpec
from ...core.data import Splits
from ...core.errors import ConfigError, KdguiError
from ...core.experiments import list_experiments
from ...core.events import Progress
from ...core.runs import RunStore
from ...core.studies import StudyConfig, run_study
from ...core.sweep import SweepConfig, run_sweep
from ...core.training import CancelToken
from ..jobs import JobRunner
from .results_table import ResultsPage
from .study_page import StudyPage
from .experiment_page import ExperimentPage
from .sweep_page import SweepPage

KINDS = ("sweep", "study")  # the runner's job kinds this panel starts
TAB_KEYS = ("sweep", "study", "results")  # the sub-tabs, in order, as remembered across restarts


@dataclass(frozen=True)
class ExperimentInputs:
    """What the Experiments tab reads from the rest of the window, asked afresh each time it is needed."""

    store: RunStore
    data: Callable[[], tuple[Splits | None, str | None]]  # (in-memory data override, data folder)
    data_ready: Callable[[], bool]
    teacher: Callable[[], tuple[str | None, str]]  # (teacher run id or None, words for the label)
    student: Callable[[], NetSpec]  # the Networks panel's student; raises ConfigError(reason) when invalid
    labels: Callable[[], dict[str, str]]  # run id -> display label


class ExperimentsPanel(QWidget):
    """Sweep, Studies and Results; a sweep or study runs as a "sweep" or "study" job of ``runner``.

    The runner's signals are acted on only while its job is one of ours; every widget is updated here,
    in the GUI thread. The window shuts the runner down and refreshes its runs list on ``runner.ended``.
    """

    exported = Signal(str)

    def __init__(self, runner: JobRunner, inputs: ExperimentInputs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.inputs = inputs
        self.sweep = SweepPage()
        self.study = StudyPage()
        self.results = ResultsPage(inputs.store, inputs.labels)
        self.pages: dict[str, ExperimentPage] = {"sweep": self.sweep, "study": self.study}
        self.tabs = QTabWidget()
        self.tabs.addTab(self.sweep, "Sweep")
        self.tabs.addTab(self.study, "Studies")
        self.tabs.addTab(self.results, "Results")
        self.tabs.currentChanged.connect(lambda i: self.results.refresh() if self.tabs.widget(i) is self.results else None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)

        self.sweep.run_button.clicked.connect(self.start_sweep)
        self.study.run_button.clicked.connect(self.start_study)
        for page in (self.sweep, self.study, self.results):
            page.exported.connect(self.exported)
        for page in self.pages.values():
            page.stop_button.clicked.connect(self.stop)
            page.changed.connect(self.update_actions)
        runner.stateChanged.connect(self.update_actions)
        runner.progressed.connect(self._on_progressed)
        runner.occurred.connect(self._on_event)
        runner.failed.connect(self._on_failed)
        runner.ended.connect(self._on_ended)
        self.update_actions()
        self._show_last_sweep()

    def _show_last_sweep(self) -> None:
        """The newest finished sweep's results, so a restart does not hide them (a folder that cannot be read: none)."""
        try:
            records = list_experiments(self.inputs.store, "sweep")
        except KdguiError:
            return
        for record in reversed(records):
            if record.get("status") == "finished" and self.sweep.show_saved(record):
                return

    # -- remembered across restarts -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The Sweep and Studies forms as typed, and the sub-tab in front."""
        index = self.tabs.currentIndex()
        return {"tab": TAB_KEYS[index] if 0 <= index < len(TAB_KEYS) else TAB_KEYS[0],
                "sweep": self.sweep.state(), "study": self.study.state()}

    def restore(self, state: dict[str, Any]) -> str | None:
        """Put back what ``state`` gave; anything the forms would refuse keeps its default, quietly (no note)."""
        for key, page in (("sweep", self.sweep), ("study", self.study)):
            if isinstance(state.get(key), dict):
                page.restore(state[key])
        if state.get("tab") in TAB_KEYS:
            self.tabs.setCurrentIndex(TAB_KEYS.index(state["tab"]))
        return None

    # -- state ------------------------------------------------------------------------------------------
    def running(self) -> bool:
        """A sweep or study of this panel is running."""
        return self.runner.running and self.runner.kind in KINDS

    def _page(self) -> ExperimentPage | None:
        """The page of the runner's job (the running one, or the one whose signals are still arriving); None if not ours."""
        return self.pages.get(self.runner.kind or "")

    def sweep_config(self) -> SweepConfig:
        """The sweep Run sweep would start (a ConfigError says why not)."""
        return self.sweep.sweep_config(self.inputs.teacher()[0] or "", self.inputs.student)

    def study_config(self) -> StudyConfig:
        """The study Run study would start (a ConfigError says why not)."""
        return self.study.study_config(self.inputs.teacher()[0] or "", self.inputs.student)

    def blocked_reason(self) -> str | None:
        """Why no sweep or study may start now, whatever the form says; None when one may."""
        return self._blocked(self.inputs.teacher()[0])

    def _busy(self) -> str:
        return f"{self.runner.title} is running: stop it or wait for it to end"

    def _blocked(self, teacher_run: str | None) -> str | None:
        if self.runner.running:
            return self._busy()
        if not self.inputs.data_ready():
            return "the dataset is missing: see the Data panel"
        if teacher_run is None:
            return "train a teacher first: a sweep or study distils from it"
        return None

    def update_actions(self) -> None:
        """Enable Run only when it can start; the problem label says why not, where the inputs are."""
        teacher_run, words = self.inputs.teacher()
        blocked = self._blocked(teacher_run)
        ours = self.running()
        builds = {"sweep": self.sweep.sweep_config, "study": self.study.study_config}
        for kind, page in self.pages.items():
            page.teacher_label.setText(words)
            problems = []
            try:
                builds[kind](teacher_run or "", self.inputs.student)
            except ConfigError as exc:
                problems.append(str(exc))
            if blocked and not ours:  # while ours runs, Stop is the way on; its status line says what it does
                problems.insert(0, blocked)
            page.run_button.setEnabled(not problems and not ours)
            page.run_button.setToolTip(problems[0] if problems else "")
            page.problem.show_problems(problems)
            page.stop_button.setEnabled(ours and self.runner.kind == kind and not self.runner.stopping)

    # -- starting and stopping ----------------------------------------------------------------------------
    def start_sweep(self) -> bool:
        try:
            config = self.sweep_config()
        except ConfigError as exc:
            self.sweep.problem.show_problems([str(exc)])
            return False
        store, (data, data_dir) = self.inputs.store, self.inputs.data()
        n = len(config.students)
        if not self._start("sweep", f"Sweep of {n} student{'' if n == 1 else 's'}",
                           lambda token: run_sweep(config, store, token, data=data, data_dir=data_dir)):
            return False
        self.sweep.clear()
        teacher = self.inputs.labels().get(config.teacher_run, config.teacher_run)
        self.sweep.status.setText(f"Sweep: {n} students from teacher {teacher}: loading…")
        return True

    def start_study(self) -> bool:
        try:
            config = self.study_config()
        except ConfigError as exc:
            self.study.problem.show_problems([str(exc)])
            return False
        store, (data, data_dir) = self.inputs.store, self.inputs.data()
        if not self._start("study", f"{config.study.capitalize()} study",
                           lambda token: run_study(config, store, token, data=data, data_dir=data_dir)):
            return False
        self.study.clear(config)
        self.study.status.setText(f"{config.study}: loading…")
        return True

    def _start(self, kind: str, title: str, make_events: Callable[[CancelToken], Iterator[Any]]) -> bool:
        """Start a ``kind`` job on the runner; False, with the reason on the page, if it may not start now."""
        blocked = self.blocked_reason()
        if blocked is None and not self.runner.start(kind, title, make_events):
            blocked = self._busy()
        if blocked:
            self.pages[kind].problem.show_problems([blocked])
            return False
        return True

    def stop(self) -> None:
        """Stop our sweep or study after the current batch (another kind of job is not this panel's to stop)."""
        page = self._page()
        if self.running() and page is not None:
            self.runner.stop()
            page.status.setText("Stopping after the current batch…")

    # -- the runner's signals -------------------------------------------------------------------------------
    def _on_progressed(self, progress: Progress, _losses: list) -> None:
        page = self._page()
        if page is not None:
            page.show_progress(progress)

    def _on_event(self, event: Any) -> None:
        page = self._page()
        if page is not None:
            page.show_event(event)

    def _on_failed(self, _kind: str, message: str) -> None:
        page = self._page()
        if page is not None:
            page.show_failure(message)

    def _on_ended(self, kind: str, _outcome: str) -> None:
        if kind in KINDS:  # the buttons followed stateChanged, which comes just before
            self.results.refresh()
