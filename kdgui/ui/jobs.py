"""One job slot for the whole window: a training run, a sweep or a study, run in a worker thread.

The runner owns the job's lifecycle (start, pause, resume, stop, shutdown on close) and turns the
worker's events into a few signals; it never touches a widget, so it is tested without a window.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.events import Cancelled, Finished, Progress, Started
from ..core.studies import StudyCancelled, StudyFinished, StudyStarted
from ..core.sweep import SweepCancelled, SweepFinished, SweepStarted
from ..core.training import CancelToken
from .worker import PROGRESS_INTERVAL_S, QtJobWorker, start_in_thread, thread_running, wait_for_thread

MakeEvents = Callable[[CancelToken], Iterator[Any]]


class JobRunner(QObject):
    """Runs one job at a time; every signal arrives in the GUI thread, ``ended`` last of all.

    ``start(kind, title, make_events)`` calls ``make_events(token)`` inside the worker thread, so slow
    set-up never blocks the GUI. Signals:

    * ``started(kind)`` at once, from ``start``;
    * ``progressed(progress, losses)``: the newest Progress and every (step, loss) since the last one,
      at most every ``progress_interval`` s; the newest is always sent before any other event;
    * ``event(obj)`` for every other event (Started, Evaluation, Sweep*, Study*, Finished, Cancelled…);
    * ``failed(kind, message)`` when the job raises (see worker.describe_failure);
    * ``ended(kind, outcome)`` once the thread has finished: "finished", "stopped" or "failed";
    * ``stateChanged()`` whenever ``running``, ``paused`` or ``stopping`` changes.

    ``kind``, ``title``, ``run_id`` and ``device`` describe the running job, or the last one once it has
    ended (so ``ended`` handlers can read them); ``start`` resets them. ``running`` is already False when
    ``ended`` is emitted, so an ``ended`` handler may start the next job.
    """

    started = Signal(str)  # kind
    progressed = Signal(object, object)  # latest Progress, list[tuple[int, float]] of (step, loss)
    occurred = Signal(object)  # every non-Progress event, in order (not "event": that would shadow QObject.event)
    failed = Signal(str, str)  # kind ('oom', 'config', 'data', 'run', 'error'), one-line message
    ended = Signal(str, str)  # job kind, outcome: finished, stopped or failed
    stateChanged = Signal()

    def __init__(self, parent: QObject | None = None, *, progress_interval: float = PROGRESS_INTERVAL_S) -> None:
        super().__init__(parent)
        self.progress_interval = progress_interval
        # Held from start until ended: Python must not free the worker while its thread still emits.
        self._worker: QtJobWorker | None = None
        self._thread: QThread | None = None
        self._token: CancelToken | None = None
        self._kind: str | None = None
        self._title = ""
        self._run_id: str | None = None
        self._device: str | None = None
        self._outcome: str | None = None  # decided by the events: finished, stopped or failed
        self._in_study = False  # a study's own Finished/Cancelled decide, not its inner run's

    # -- state ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def kind(self) -> str | None:
        return self._kind

    @property
    def title(self) -> str:
        return self._title

    @property
    def paused(self) -> bool:
        return self.running and self._token is not None and self._token.paused

    @property
    def stopping(self) -> bool:
        """Stop was asked and the job has not ended yet."""
        return self.running and self._token is not None and self._token.cancelled

    @property
    def run_id(self) -> str | None:
        """The run of the job's Started event, once it has arrived."""
        return self._run_id

    @property
    def device(self) -> str | None:
        return self._device

    # -- control (GUI thread) ---------------------------------------------------------------------------
    def start(self, kind: str, title: str, make_events: MakeEvents) -> bool:
        """Run ``make_events(token)``'s events in a new thread; False (and nothing started) if a job is running."""
        if self.running:
            return False
        self._kind, self._title = kind, title
        self._run_id = self._device = self._outcome = None
        self._in_study = False
        worker = QtJobWorker(make_events, progress_interval=self.progress_interval)
        worker.progressed.connect(self._on_progressed)
        worker.occurred.connect(self._on_event)
        worker.failed.connect(self._on_failed)
        self._worker, self._token = worker, worker.token
        self._thread = start_in_thread(worker, self, on_finished=self._on_thread_finished)
        self.started.emit(kind)
        self.stateChanged.emit()
        return True

    def pause(self) -> None:
        if self.running and not self.paused and not self.stopping:
            self._token.pause()
            self.stateChanged.emit()

    def resume(self) -> None:
        if self.paused:
            self._token.resume()
            self.stateChanged.emit()

    def stop(self) -> None:
        """Ask the job to stop after the current batch (a paused job wakes up to stop)."""
        if self.running and not self.stopping:
            self._token.cancel()
            self.stateChanged.emit()

    def shutdown(self, wait_ms: int = 2000) -> None:
        """For window close: stop the job and wait for its thread, past ``wait_ms`` if need be.

        A run still saving (an evaluation on a slow machine) is waited for without limit, so the partial
        run reaches the disk. ``ended`` still comes later, through the event loop, after the queued events.
        """
        thread = self._thread
        if not self.running or not thread_running(thread):
            return
        self.stop()
        if not wait_for_thread(thread, wait_ms):
            wait_for_thread(thread)

    # -- worker signals (queued to this object's thread) ------------------------------------------------
    @Slot(object, object)
    def _on_progressed(self, progress: Progress, losses: list) -> None:
        self.progressed.emit(progress, losses)

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, Started):
            self._run_id, self._device = event.run_id, event.device
        elif isinstance(event, SweepStarted):
            self._device = event.device
        elif isinstance(event, StudyStarted):
            self._in_study = True
        if self._outcome != "failed":
            if isinstance(event, (SweepFinished, StudyFinished)) or (isinstance(event, Finished) and not self._in_study):
                self._outcome = "finished"
            elif isinstance(event, (SweepCancelled, StudyCancelled)) or (isinstance(event, Cancelled) and not self._in_study):
                self._outcome = "stopped"
        self.occurred.emit(event)

    @Slot(str, str)
    def _on_failed(self, kind: str, message: str) -> None:
        self._outcome = "failed"
        self.failed.emit(kind, message)

    @Slot()
    def _on_thread_finished(self) -> None:
        token, kind = self._token, self._kind or ""
        outcome = self._outcome or ("stopped" if token is not None and token.cancelled else "failed")
        # Qt deletes the worker and the thread (deleteLater); only now may Python let go of them.
        self._worker = self._thread = self._token = None
        self.stateChanged.emit()
        self.ended.emit(kind, outcome)
