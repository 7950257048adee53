"""Training runs of the workflow (teacher, student, distil) through the one job runner, shown in curves and controls."""

from __future__ import annotations

import dataclasses
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.config import Job
from ..core.data import Splits
from ..core.errors import ConfigError, KdguiError
from ..core.events import Cancelled, Evaluation, Finished, Progress, Started
from ..core.history import RunHistory, final_accuracies
from ..core.runs import INTERRUPTED, RunStore
from ..core import training
from ..core.training import resolve_device
from ..core.verdicts import distillation_verdict
from .jobs import JobRunner
from .panels.curves import CurvesPanel
from .panels.run_controls import RunControls, format_seconds
from .panels.training import STAGE_TITLES
from .state import RunsModel
from .widgets.banner import MessageBanner

TRAIN = "train"  # the runner's kind for a workflow training run
LIST_NEW_RUN_AFTER_MS = 40  # after Started, the Runs list gains the new run this much later (not in the same burst)


def job_title(job: Job) -> str:
    return STAGE_TITLES[job.kind] if job.kind != "distilled" else f"Distil T={job.distill.temperature:g}"


class TrainingSession(QObject):
    """Starts a Job on the runner and turns its events into curves, progress and messages; retries on the CPU after OOM.

    ``status(text, ms)`` writes the status bar; ``data()`` gives (in-memory data or None, data folder).
    """

    runStarted = Signal(str)  # run id
    runEnded = Signal(str, str)  # outcome (finished, stopped, failed), run id ("" if it never started)

    def __init__(self, runner: JobRunner, store: RunStore, runs: RunsModel, curves: CurvesPanel, controls: RunControls,
                 banner: MessageBanner, status: Callable[[str, int], None],
                 data: Callable[[], tuple[Splits | None, str | None]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner, self.store, self.runs, self.curves, self.controls = runner, store, runs, curves, controls
        self.banner, self.status, self.data = banner, status, data
        self.job: Job | None = None
        self.run_id: str | None = None
        self.device: str | None = None  # where the run really trains, once it has started
        self._retry_on_cpu = False
        runs.live_accuracies = self._live_accuracies
        runner.progressed.connect(self._on_progress)
        runner.occurred.connect(self._on_event)
        runner.failed.connect(self._on_failed)
        runner.ended.connect(self._on_ended)

    @property
    def training(self) -> bool:
        return self.runner.running and self.runner.kind == TRAIN

    def start(self, job: Job) -> bool:
        """Train ``job`` off the GUI thread; False (with the reason shown) when it cannot start."""
        if self.runner.running:
            self.status(f"{self.runner.title} is in progress: one job at a time", 8000)
            return False
        try:
            resolve_device(job.train.device)
        except ConfigError as exc:
            self.banner.show_message(f"{exc}: training on the CPU instead.", "warning")
            job = dataclasses.replace(job, train=dataclasses.replace(job.train, device="cpu"))
        self.banner.hide()
        data, data_dir = self.data()
        title = job_title(job)
        self.job, self.run_id, self.device, self._retry_on_cpu = job, None, None, False
        self.runner.start(TRAIN, title, lambda token: training.execute(job, self.store, token, data=data, data_dir=data_dir))
        # Set the epoch axis now, while the worker loads data, so the first points do not also re-render the axes.
        self.curves.follow_live_run(job.train.epochs)
        self.status(f"{title}: loading data…", 0)
        return True

    def _live_accuracies(self, run_id: str) -> dict[str, float] | None:
        if run_id != self.run_id or run_id not in self.curves.runs:
            return None
        last = self.curves.runs[run_id].history.last_evaluation()
        return final_accuracies({}, [last] if last else [])

    # -- events (queued to the GUI thread) --------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        if self.runner.kind != TRAIN:
            return
        title = self.runner.title
        if isinstance(event, Started):
            self.run_id = self.runs.live_run_id = event.run_id
            self.device = event.device
            run_id = event.run_id
            # Shown at once, while its curves are empty: pyqtgraph fails to add items that already hold data to a
            # plot set to clip to its view ("autoRangeEnabled"), which a progress event in between would cause.
            self.curves.add_run(run_id, event.label, self.runs.colour(run_id), RunHistory(), job=self.job)
            self.curves.set_shown(run_id, True)
            # The Runs list gains the run (read from its folder alone, not every run.json) a little later, in an event
            # of its own: no handler of the start holds the GUI thread for a frame.
            QTimer.singleShot(LIST_NEW_RUN_AFTER_MS, self.runs, lambda: self.runs.refresh_run(run_id))
            self.controls.show_message(f"{title}: started on {event.device}", 0.0)
            self.status(f"{title}: training {self.job.net.describe()} on {event.device} (run {event.run_id})", 0)
            self.runStarted.emit(event.run_id)
        elif isinstance(event, Evaluation) and self.run_id:
            self.curves.append_evaluation(self.run_id, event)
            self.status(f"{title}: epoch {event.epoch:.2f}, validation {event.val_acc:.2%}, test {event.test_acc:.2%}", 0)
        elif isinstance(event, Finished):
            self.controls.show_message(f"{title}: finished in {format_seconds(event.seconds)}", 1.0)
            kept = f" (weights of epoch {event.epoch}, the best on validation)" if self.job.train.keep_best and event.epoch else ""
            self.status(f"{title} finished: validation {event.val_acc:.2%}, test {event.test_acc:.2%}{kept} "
                        f"in {format_seconds(event.seconds)}", 0)
            if self.job.kind == "distilled":  # what it achieved, in words, against the student on stage
                self.banner.show_message(distillation_verdict(self.store, self.job, event.test_acc), "info")
        elif isinstance(event, Cancelled):
            self.controls.show_message(f"{title}: stopped at step {event.step}; the partial run is kept")
            self.status(f"{title} stopped after {event.step} steps; the partial run is kept, marked stopped", 0)

    def _on_progress(self, event: Progress, losses: list[tuple[int, float]]) -> None:
        if self.runner.kind != TRAIN or self.run_id is None:
            return
        self.curves.append_losses(self.run_id, losses, event.batches_per_epoch)

    def _on_failed(self, kind: str, message: str) -> None:
        if self.runner.kind != TRAIN:
            return
        title = self.runner.title
        device = self.device or self.job.train.device
        if kind == "oom" and not device.startswith("cpu"):
            self._retry_on_cpu = True
            self.banner.show_message(f"Out of memory on {device}: training again on the CPU.", "warning")
        else:
            advice = " Try a smaller batch size or network." if kind == "oom" else ""
            self.banner.show_message(f"{title} failed: {message.rstrip('.')}.{advice}{self._what_was_kept()}", "error")
        self.controls.show_message(f"{title}: failed")
        self.status(f"{title} failed: {message}", 15000)

    def _what_was_kept(self) -> str:
        """What the failed run left on disk, read back (a full or read-only disk may have kept it from saying "failed")."""
        if not self.run_id:
            return ""
        try:
            run = self.store.get(self.run_id)
            status, weights = run.status, run.has_weights
        except KdguiError:
            return " The run could not be read back from disk."
        if status == "failed":
            return " The run is kept on disk, marked failed."
        if status == INTERRUPTED:
            return (" The run is kept on disk as last saved (it reads as interrupted" +
                    (", with the weights of its last epoch end)." if weights else ", without weights)."))
        return f" The run is kept on disk, marked {status}."

    def _on_ended(self, kind: str, outcome: str) -> None:
        if kind != TRAIN:
            return
        job, run_id = self.job, self.run_id
        self.runs.live_run_id = None
        self.curves.follow_live_run(None)
        self.curves.flush()
        if run_id:
            self.runs.refresh_run(run_id)  # its final status and accuracies; the other runs did not change
        else:
            self.runs.refresh()  # it never started: a full or read-only disk, say; show the folder as it is
        self.runEnded.emit(outcome, run_id or "")
        if self._retry_on_cpu:
            QTimer.singleShot(0, self, lambda: self.start(dataclasses.replace(job, train=dataclasses.replace(job.train, device="cpu"))))
