"""The window's state outside the window: the runs on disk (names, colours, accuracies) and the lineup on stage."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from ..core.config import KINDS
from ..core.errors import KdguiError
from ..core.history import final_accuracies
from ..core.lineup import BUNDLED, Lineup, read_choices, resolve_lineup, why_not_showable, write_choices
from ..core.runs import Run, RunStore
from .style import PALETTE


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


class RunsModel(QObject):
    """The runs folder as the views see it: runs (oldest first), unique labels, a colour each, final accuracies.

    ``live_accuracies`` (set by the window) gives the accuracies of the run that is training now, from its
    curves, so the list does not re-read a file that is being appended to.
    """

    changed = Signal()

    def __init__(self, store: RunStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.runs: list[Run] = []
        self.labels: dict[str, str] = {}
        self.colours: dict[str, str] = {}
        self.problems: list[str] = []
        self.live_run_id: str | None = None
        self.live_accuracies: Callable[[str], dict[str, float] | None] = lambda run_id: None
        self._accuracy_cache: dict[str, tuple[str, dict[str, float]]] = {}

    def refresh(self) -> None:
        """Read the runs folder again and tell every view."""
        self.runs, self.problems = self.store.scan()
        ids = {run.id for run in self.runs}
        for run in self.runs:
            self.colour(run.id)
        self._accuracy_cache = {k: v for k, v in self._accuracy_cache.items() if k in ids}
        self.labels = unique_labels(self.runs)
        self.changed.emit()

    def colour(self, run_id: str) -> str:
        """The run's colour, given in the order runs are first seen and kept for the session."""
        return self.colours.setdefault(run_id, PALETTE[len(self.colours) % len(PALETTE)])

    def run(self, run_id: str) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def label(self, run_id: str) -> str:
        return self.labels.get(run_id, run_id)

    def accuracies(self, run: Run) -> dict[str, float]:
        """Final accuracies: the summary of a finished run, else its last evaluation (read once per status)."""
        if run.id == self.live_run_id:
            live = self.live_accuracies(run.id)
            if live is not None:
                return live
        cached = self._accuracy_cache.get(run.id)
        if cached is None or cached[0] != run.status:
            records = None if run.summary.get("test_acc") is not None else run.metrics()
            cached = (run.status, final_accuracies(run.summary, records))
            self._accuracy_cache[run.id] = cached
        return cached[1]

    def teacher_runs(self, dataset: str) -> list[Run]:
        """Teachers a distillation can use: trained on ``dataset``, with weights, not training now."""
        return [r for r in self.runs if r.job.kind == "teacher" and r.job.dataset == dataset
                and r.status in ("finished", "stopped") and r.has_weights and r.id != self.live_run_id]

    def finished_kinds(self, dataset: str) -> set[str]:
        return {r.job.kind for r in self.runs if r.status == "finished" and r.job.dataset == dataset}

    def showable(self, role: str) -> list[Run]:
        """Runs the user may put on stage as ``role`` (newest first)."""
        return [r for r in reversed(self.runs) if why_not_showable(r, role) is None]


class LineupModel(QObject):
    """The lineup's Qt face: the user's choices (kept in the runs folder, shared with kdgui-cli) and the result.

    ``changed`` fires when the networks on stage change (the views reload them); ``problem`` carries a
    message when a choice could not be saved (it still applies for this session).
    """

    changed = Signal(object)  # Lineup
    problem = Signal(str)

    def __init__(self, runs: RunsModel, bundled_networks: dict[str, str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.bundled_networks = bundled_networks
        self.choices: dict[str, str | None] = read_choices(runs.store)
        self.lineup: Lineup = self._resolve()
        runs.changed.connect(self.update)

    def _resolve(self) -> Lineup:
        return resolve_lineup(self.runs.runs, self.choices, self.bundled_networks)

    def update(self) -> None:
        """Resolve again (after the runs changed); a deleted or broken chosen run falls back to the default rule."""
        lineup = self._resolve()
        if lineup != self.lineup:
            self.lineup = lineup
            self.changed.emit(lineup)

    def choose(self, role: str, choice: str | None) -> None:
        """Put a run (its id), the bundled network (``"bundled"``) or the default rule (None) on stage as ``role``."""
        if role not in KINDS:
            raise ValueError(f"no role {role!r}")
        if self.choices.get(role) == choice:
            return
        self.choices = {**self.choices, role: choice}
        try:
            write_choices(self.runs.store, self.choices)
        except KdguiError as exc:
            self.problem.emit(f"The lineup applies until you quit but could not be saved: {exc}")
        self.update()

    def forget(self, run_id: str) -> None:
        """A run was deleted: roles that showed it go back to the default rule."""
        for role, choice in list(self.choices.items()):
            if choice == run_id:
                self.choose(role, None)

    def choose_bundled(self) -> None:
        for role in KINDS:
            self.choose(role, BUNDLED)
