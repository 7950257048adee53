"""The window's state outside the window: the runs on disk (names, colours, accuracies) and the lineup on stage."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from ..core.config import KINDS
from ..core.errors import KdguiError
from ..core.history import final_accuracies
from ..core.lineup import (
    BUNDLED, Lineup, bundled_network_names, read_choices, resolve_lineup, why_not_showable, write_choices,
)
from ..core.runs import INTERRUPTED, Run, RunStore, Unreadable
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


# A run in one of these states has ended and its weights (when it has any) can be used: "interrupted" is a run whose
# process died (SIGKILL, a crash); it kept its metrics and the weights of its last epoch end.
ENDED_WITH_WEIGHTS = ("finished", "stopped", INTERRUPTED)


class RunsModel(QObject):
    """The runs folder as the views see it: runs (oldest first), unique labels, a colour each, final accuracies.

    ``live_accuracies`` (set by the window) gives the accuracies of the run that is training now, from its
    curves, so the list does not re-read a file that is being appended to. ``unreadable`` lists the entries of the
    runs folder that are not readable runs (with the reason); ``folder_problem`` says why the folder itself could
    not be read (None when it could). Neither ever keeps the readable runs from the views.
    """

    changed = Signal()

    def __init__(self, store: RunStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.runs: list[Run] = []
        self.labels: dict[str, str] = {}
        self.colours: dict[str, str] = {}
        self.unreadable: list[Unreadable] = []
        self.problems: list[str] = []  # the reasons of ``unreadable``, one line each
        self.folder_problem: str | None = None
        # While ``changed`` is emitted: the ids of the only runs that changed (one this window started or ended),
        # or None when the whole folder was read again. Views use it to update a row instead of rebuilding.
        self.changed_ids: frozenset[str] | None = None
        self.live_run_id: str | None = None
        self.live_accuracies: Callable[[str], dict[str, float] | None] = lambda run_id: None
        self._accuracy_cache: dict[str, tuple[str, dict[str, float]]] = {}
        self._weights_cache: dict[str, tuple[Run, bool]] = {}  # run id: (the Run object it was read for, has weights)

    def refresh(self) -> None:
        """Read the runs folder again and tell every view."""
        found = self.store.scan()
        root = self.store.root
        self.runs = found.runs
        self.unreadable = [u for u in found.unreadable if u.path != root]
        self.problems = [u.reason for u in self.unreadable]
        self.folder_problem = next((u.reason for u in found.unreadable if u.path == root), None)
        ids = {run.id for run in self.runs}
        for run in self.runs:
            self.colour(run.id)
        self._accuracy_cache = {k: v for k, v in self._accuracy_cache.items() if k in ids}
        self._weights_cache.clear()
        self.labels = unique_labels(self.runs)
        self.changed_ids = None
        self.changed.emit()

    def refresh_run(self, run_id: str) -> None:
        """Read one run again, e.g. one this window started or ended: its folder alone, not the whole runs folder.

        Reading every run.json takes tens of milliseconds per hundred runs, too long for the GUI thread while a
        run streams its curves. A run that cannot be read (any more) makes it read the whole folder instead.
        """
        try:
            run = self.store.get(run_id)
        except KdguiError:
            self.refresh()
            return
        index = next((i for i, r in enumerate(self.runs) if r.id == run_id), None)
        if index is None:
            self.runs.append(run)
            self.runs.sort(key=lambda r: (r.created, r.id))
        else:
            self.runs[index] = run
        self.colour(run_id)
        self._accuracy_cache.pop(run_id, None)
        self.labels = unique_labels(self.runs)
        self.changed_ids = frozenset({run_id})
        try:
            self.changed.emit()
        finally:
            self.changed_ids = None

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
        """Teachers a distillation can use: trained on ``dataset``, ended (also interrupted) with weights, not training now."""
        return [r for r in self.runs if r.job.kind == "teacher" and r.job.dataset == dataset
                and r.status in ENDED_WITH_WEIGHTS and r.id != self.live_run_id and self.has_weights(r)]

    def has_weights(self, run: Run) -> bool:
        """``run.has_weights``, looked up once per read of the run (it checks the disk; views ask often)."""
        found = self._weights_cache.get(run.id)
        if found is None or found[0] is not run:
            found = self._weights_cache[run.id] = (run, run.has_weights)
        return found[1]

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
        # Read once: resolving the lineup after every runs refresh must not read bundled.json each time.
        self.bundled_networks = bundled_networks if bundled_networks is not None else bundled_network_names()
        self.choices: dict[str, str | None] = read_choices(runs.store)
        self.lineup: Lineup = self._resolve()
        runs.changed.connect(self.update)

    def _resolve(self) -> Lineup:
        return resolve_lineup(self.runs.runs, self.choices, self.bundled_networks)

    def update(self) -> None:
        """Resolve again (after the runs changed); a deleted or broken chosen run falls back to the default rule.

        A run that is training is never on stage (neither chosen nor by default): when only the live run changed
        (it started), the lineup cannot have changed and is not resolved again.
        """
        changed, live = self.runs.changed_ids, self.runs.live_run_id
        if changed and live is not None and changed <= {live}:
            return
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
