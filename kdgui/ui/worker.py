"""Workers that run the core off the GUI thread: one Qt signal per event of a core generator, never touching a widget."""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable

import shiboken6
import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..core.errors import KdguiError
from ..core.events import Progress
from ..core.files import shown
from ..core import training

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second: the GUI thread gets the rest


def is_out_of_memory(exc: BaseException) -> bool:
    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None)) if t)
    return isinstance(exc, oom_types) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


MAX_MESSAGE = 400  # a failure is one line in the banner, never a traceback


def one_line(text: str, limit: int = MAX_MESSAGE, *, whole: bool = False) -> str:
    """``text`` as one line: its first non-empty line (``whole``: all its lines joined), control characters escaped,
    cut to ``limit`` characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return shown(" ".join(lines) if whole else (lines[0] if lines else ""), limit)


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(kind, one-line message): 'oom', 'config', 'data', 'run', 'write' and 'os' for what a user can act on, 'error' for bugs.

    A failure of the system (a read-only or full disk, a missing folder: any OSError the core did not already
    phrase) reads "cannot use PATH: Read-only file system", without the exception's type or errno.
    """
    if is_out_of_memory(exc):
        return "oom", f"the device ran out of memory ({one_line(str(exc)) or type(exc).__name__})"
    if isinstance(exc, KdguiError):
        # kdgui's own messages are written for the user: all of it, on one line.
        return type(exc).__name__.removesuffix("Error").lower(), one_line(str(exc), whole=True) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        target = f"cannot use {shown(exc.filename)}: " if exc.filename else ""
        return "os", one_line(f"{target}{exc.strerror}")
    return "error", one_line(f"{type(exc).__name__}: {exc}")


class QtTaskWorker(QObject):
    """Runs one blocking callable (e.g. a download) in a thread; the result or a one-line failure comes back as a signal."""

    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, task: Callable[[], Any]) -> None:
        super().__init__()
        self.task = task

    @Slot()
    def run(self) -> None:
        try:
            result = self.task()
        except Exception as exc:  # noqa: BLE001 - shown to the user as one line
            self.failed.emit(str(exc) if isinstance(exc, KdguiError) else f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()


def thread_running(thread: QThread | None) -> bool:
    """True while ``thread`` exists, has not been destroyed on the C++ side and runs."""
    return thread is not None and shiboken6.isValid(thread) and thread.isRunning()


def wait_for_thread(thread: QThread | None, msecs: int = -1) -> bool:
    """Block until ``thread`` has ended (at once when it is not running); False if ``msecs`` ran out first."""
    if not thread_running(thread):
        return True
    return thread.wait() if msecs < 0 else thread.wait(msecs)


def start_in_thread(worker: QObject, parent: QObject | None = None, on_finished: Callable[[], None] | None = None) -> QThread:
    """Move ``worker`` to a new QThread wired the Qt way and start it; Qt deletes the thread when it ends.

    The worker is not given to deleteLater: Python owns it, and the caller drops its reference once the
    thread has finished (in ``on_finished``). Both deleting it at once raced and crashed (a Python decref
    in the GUI thread against the deferred delete in the ending thread). ``on_finished`` is connected
    before the thread starts: a worker that fails at once may end before the caller could connect.
    """
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: QThread.quit is thread-safe, and a queued quit would never run while the GUI thread waits on the thread.
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    if on_finished is not None:
        thread.finished.connect(on_finished)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


class QtJobWorker(QObject):
    """Iterates any core event generator (a training run, a sweep, a study) in its own thread.

    ``make_events(token)`` builds the generator inside the thread, so slow set-up (loading data, the
    teacher) never blocks the GUI. Progress is batched: ``progressed`` carries the
    newest Progress plus every (step, loss) since the previous signal, at most every ``progress_interval``,
    and the pending one is always sent before any other event (and before ``failed``). Every other event
    becomes ``occurred``. The worker never touches a widget.
    """

    progressed = Signal(object, object)  # latest Progress, list[tuple[int, float]] of (step, loss)
    occurred = Signal(object)  # every non-Progress event, in order
    failed = Signal(str, str)  # kind ('oom', 'config', 'data', 'run', 'error'), one-line message
    finished = Signal()  # always last: the thread may quit

    def __init__(self, make_events: Callable[[training.CancelToken], Any], *,
                 progress_interval: float = PROGRESS_INTERVAL_S) -> None:
        super().__init__()
        self.make_events = make_events
        self.progress_interval = progress_interval
        self.token = training.CancelToken()

    # Called from the GUI thread: the token is thread-safe, and a queued slot would wait behind the loop.
    def stop(self) -> None:
        self.token.cancel()

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    @Slot()
    def run(self) -> None:
        pending: Progress | None = None
        losses: list[tuple[int, float]] = []
        last_emit = float("-inf")  # the first batch goes out at once: the bar moves immediately

        def flush() -> None:
            nonlocal pending, losses, last_emit
            if pending is not None:
                self.progressed.emit(pending, losses)
                pending, losses = None, []
                last_emit = time.monotonic()

        events = None
        try:
            events = self.make_events(self.token)
            for event in events:
                if isinstance(event, Progress):
                    pending = event
                    losses.append((event.step, event.loss))
                    if time.monotonic() - last_emit >= self.progress_interval:
                        flush()
                    continue
                flush()
                self.occurred.emit(event)
            flush()  # a generator that ends on a Progress still delivers it
        except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not kill the thread silently
            flush()
            kind, message = describe_failure(exc)
            if kind == "error":
                traceback.print_exc()
            self.failed.emit(kind, message)
        finally:
            try:
                if events is not None and hasattr(events, "close"):
                    events.close()
            finally:
                self.finished.emit()  # even if closing failed: a thread that never quits would hang the window
