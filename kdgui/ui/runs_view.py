"""Keeps the Runs panel, the curves' run list, the teacher choice and the lineup bar in step with the runs on disk."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from ..core.config import KIND_TITLES, KINDS
from ..core.errors import KdguiError
from ..core.history import RunHistory
from ..core.lineup import Lineup
from ..core.files import shown as one_line
from .panels.curves import CurvesPanel
from .panels.distillation import DistillationPanel
from .panels.networks import NetworksPanel
from .panels.run_controls import START_BUTTONS
from .panels.runs import RunsPanel
from .panels.training import TrainingPanel
from .state import LineupModel, RunsModel
from .widgets.banner import MessageBanner
from .widgets.lineup_bar import LineupBar


class RunsView(QObject):
    """Answers the Runs panel's requests (show, put on stage, reopen, rename, delete, use as teacher) through the models.

    ``dataset()`` names the dataset in use; ``status(text, ms)`` writes the status bar; ``show_panel(name)`` raises one.
    """

    def __init__(self, runs: RunsModel, lineup: LineupModel, panel: RunsPanel, curves: CurvesPanel,
                 distillation: DistillationPanel, networks: NetworksPanel, training: TrainingPanel, banner: MessageBanner,
                 status: Callable[[str, int], None], dataset: Callable[[], str], show_panel: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs, self.lineup, self.panel, self.curves = runs, lineup, panel, curves
        self.distillation, self.networks, self.training, self.banner = distillation, networks, training, banner
        self.status, self.dataset, self.show_panel = status, dataset, show_panel
        self._ticked_lineup = False
        self._staged_teacher: str | None = None
        self._folder_problem: str | None = None
        self._reported_unreadable: tuple[str, ...] = ()
        self._teachers_shown: tuple | None = None  # what the Distillation panel's teacher list was last given
        runs.changed.connect(self.update)
        panel.visibilityChanged.connect(self.set_shown)
        panel.reopenRequested.connect(self.reopen)
        panel.teacherChosen.connect(self.use_as_teacher)
        panel.stageRequested.connect(self.put_on_stage)
        panel.renameRequested.connect(self.rename)
        panel.deleteRequested.connect(self.delete)
        panel.refreshRequested.connect(runs.refresh)

    def update(self) -> None:
        """After the runs folder was read: curves keep only existing runs, the list and the teacher choice follow."""
        # The run training now stays: its curves exist from Started on, a moment before the list reads its folder.
        ids = {run.id for run in self.runs.runs} | {self.runs.live_run_id}
        for run_id in list(self.curves.runs):
            if run_id not in ids:
                self.curves.remove_run(run_id)
        for run_id, label in self.runs.labels.items():
            self.curves.set_label(run_id, label)
        if not self._ticked_lineup:  # at start the curves show the networks on stage
            self._ticked_lineup = True
            for member in self.lineup.lineup.members:
                if member.run_id:
                    self.set_shown(member.run_id, True)
        self._fill_panel(self.runs.changed_ids)
        if not self._only_live_run_changed():  # a run that trains now cannot teach: the teachers did not change
            self.refresh_teachers()
        if self.runs.folder_problem and self.runs.folder_problem != self._folder_problem:
            self.banner.show_message(f"{self.runs.folder_problem[0].upper()}{self.runs.folder_problem[1:]}: no saved runs can "
                                     "be listed; the bundled networks answer.", "warning")
        self._folder_problem = self.runs.folder_problem
        unreadable = self.runs.unreadable
        names = tuple(u.name for u in unreadable)
        if names and names != self._reported_unreadable:  # once per change, not at every refresh
            count = f"{len(names)} entries" if len(names) > 1 else "One entry"
            self.status(f"{count} of the runs folder could not be read (greyed in the Runs list, where they can be "
                        f"deleted): {unreadable[0].reason}", 15000)
        self._reported_unreadable = names

    def _only_live_run_changed(self) -> bool:
        changed = self.runs.changed_ids
        return bool(changed) and self.runs.live_run_id is not None and changed <= {self.runs.live_run_id}

    def _fill_panel(self, only: frozenset[str] | None = None) -> None:
        """The Runs panel from the model: only the rows of ``only`` (run ids) when just those changed, else all of them."""
        on_stage = {m.run_id: m.role for m in self.lineup.lineup.members if m.run_id}
        if only is not None and all(self.runs.run(run_id) is not None for run_id in only):
            shown = self.curves.shown_run_ids()
            for run_id in only:
                run = self.runs.run(run_id)
                self.panel.update_run(run, self.runs.labels, self.runs.colours.get(run_id), self.runs.accuracies(run),
                                      run_id in shown, self.runs.live_run_id, on_stage)
            return
        accuracies = {run.id: self.runs.accuracies(run) for run in self.runs.runs}
        self.panel.set_runs(self.runs.runs, self.runs.labels, self.runs.colours, accuracies, self.curves.shown_run_ids(),
                            self.runs.live_run_id, on_stage, self.runs.unreadable)

    def refresh_teachers(self, prefer: str | None = None) -> None:
        """The Distillation panel's teachers; left alone when they did not change (a refresh while a run streams)."""
        teachers = self.runs.teacher_runs(self.dataset())
        accuracies = {run.id: self.runs.accuracies(run).get("test_acc") for run in teachers}
        key = tuple((run.id, self.runs.label(run.id), run.status, accuracies[run.id]) for run in teachers)
        if prefer is None and key == self._teachers_shown:
            return
        self._teachers_shown = key
        self.distillation.set_teachers(teachers, accuracies, self.runs.labels, prefer)

    def show_lineup(self, lineup: Lineup, bar: LineupBar) -> None:
        """The lineup bar's menus and the Runs panel's 'on stage' marks; the Distil teacher follows a chosen teacher run."""
        candidates = {}
        for role in KINDS:
            candidates[role] = [(run.id, self._choice_text(run)) for run in self.runs.showable(role)]
        bar.show_lineup(lineup, self.lineup.choices, candidates)
        self._fill_panel()
        # Distil uses the teacher on stage unless the user picks another: a new teacher on stage is preselected.
        teacher = lineup["teacher"].run_id
        if teacher and teacher != self._staged_teacher:
            self.refresh_teachers(prefer=teacher)
        self._staged_teacher = teacher

    def _choice_text(self, run) -> str:  # noqa: ANN001 - a Run
        test = self.runs.accuracies(run).get("test_acc")
        status = "" if run.status == "finished" else f" [{run.status}]"
        return f"{self.runs.label(run.id)}{status} · {run.job.net.describe()}" + (f" · {test:.2%}" if test is not None else "")

    # -- requests from the Runs panel -----------------------------------------------------------------
    def set_shown(self, run_id: str, shown: bool) -> None:
        run = self.runs.run(run_id)
        if shown and run_id not in self.curves.runs:
            if run is None:
                return
            history = RunHistory.from_records(run.metrics(), run.job)
            self.curves.add_run(run_id, self.runs.label(run_id), self.runs.colour(run_id), history, job=run.job)
        self.curves.set_shown(run_id, shown)
        self.panel.set_shown(run_id, shown)

    def put_on_stage(self, run_id: str) -> None:
        run = self.runs.run(run_id)
        if run is None:
            return
        self.lineup.choose(run.job.kind, run_id)
        member = self.lineup.lineup[run.job.kind]
        if member.run_id == run_id:
            self.status(f"On stage as the {KIND_TITLES[run.job.kind].lower()}: {self.runs.label(run_id)}", 8000)
        else:
            self.status(f"Cannot show {self.runs.label(run_id)}: {member.note}", 10000)

    def reopen(self, run_id: str) -> None:
        """Show a run's curves and put its settings back into the panels."""
        run = self.runs.run(run_id)
        if run is None:
            return
        job = run.job
        self.set_shown(run_id, True)
        (self.networks.teacher if job.kind == "teacher" else self.networks.student).set_spec(job.net)
        self.training.load_job_config(job.kind, job.train)
        if job.distill is not None:
            self.distillation.set_config(job.distill)
            if job.teacher_run:
                self.distillation.select_teacher(job.teacher_run)
        self.show_panel("distillation" if job.kind == "distilled" else "networks")
        self.status(f"Loaded the settings of {self.runs.label(run_id)}: press {START_BUTTONS[job.kind]} to train it again", 10000)

    def use_as_teacher(self, run_id: str) -> None:
        if self.distillation.select_teacher(run_id):
            self.show_panel("distillation")
            self.status(f"Distil will use the teacher {self.runs.label(run_id)}", 8000)
        else:
            self.status("That run cannot teach: it needs saved weights and the current dataset", 8000)

    def rename(self, run_id: str, name: str) -> None:
        run = self.runs.run(run_id)
        if run is not None and (run_id == self.runs.live_run_id or run.status == "running"):
            self.status("A run that is training cannot be renamed: its process rewrites its run.json when it ends", 8000)
            return
        try:
            self.runs.store.rename(run_id, name)
        except (KdguiError, OSError) as exc:
            self.banner.show_message(f"Cannot rename: {one_line(exc)}", "error")
            return
        self.runs.refresh()

    def delete(self, run_id: str) -> None:
        """Delete a run, or an unreadable entry of the runs folder; the core refuses a run a live process trains."""
        if run_id == self.runs.live_run_id:
            self.status("Stop the run before deleting it", 8000)
            return
        try:
            self.runs.store.delete(run_id)
        except (KdguiError, OSError) as exc:
            self.banner.show_message(f"Cannot delete: {one_line(exc)}", "error")
            self.runs.refresh()  # what the folder holds now (another process may have changed it)
            return
        self.lineup.forget(run_id)  # its role goes back to the default rule, without a warning the user caused
        self.curves.remove_run(run_id)
        self.runs.refresh()
        self.status(f"Deleted run {run_id}", 8000)
