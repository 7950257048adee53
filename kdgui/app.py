"""QApplication set-up and the ``kdgui`` entry point: the main window, or ``--screenshot PATH`` to render it and exit.

Start-up order matters: torch and the window take seconds to import, so ``--help`` imports neither (nor Qt),
and the app shows a splash as soon as the QApplication exists, then imports them and builds the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from .panel_names import PANELS  # no Qt, no torch: --help lists the panels at once

ORGANIZATION = "kdgui"
APPLICATION = "kdgui"
DESKTOP_FILE = "io.github.kdgui.kdgui"
SCREENSHOT_SIZE = (1360, 860)
# When set, the app appends "EVENT UNIX-TIME" lines to this file: splash (first pixel), window (the main window
# shown and painted) and quit (the event loop returned). tests/benchmarks/bench_startup.py reads them.
STARTUP_MARKER_ENV = "KDGUI_STARTUP_MARKER"
EXPOSE_WAIT_S = 1.0  # the longest a window is given to reach the screen before start-up carries on


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdgui", description="Train a teacher and a student on MNIST and watch knowledge distillation happen.",
        epilog="Runs are saved in $KDGUI_RUNS_DIR (else your user data folder); datasets are read from $KDGUI_DATA_DIR.",
    )
    parser.add_argument("--screenshot", metavar="PATH", help="render the main window to a PNG file and exit")
    parser.add_argument("--panel", choices=PANELS, help="with --screenshot: bring this panel to the front")
    parser.add_argument("--runs-dir", help="where runs are saved (default: $KDGUI_RUNS_DIR, else the user data folder)")
    return parser


def mark(event: str) -> None:
    """Note a start-up event for a benchmark, when $KDGUI_STARTUP_MARKER names a file (else nothing)."""
    path = os.environ.get(STARTUP_MARKER_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{event} {time.time():.6f}\n")


def leave_a_core_for_the_interface() -> int:
    """Let torch use all CPU cores but one, so the GUI thread is not starved while a run trains; returns the count."""
    import torch

    threads = max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - 1))
    torch.set_num_threads(threads)
    return threads


def warm_up_engine() -> None:
    """The engine's one-time work, done before the first run rather than during it.

    Importing torchvision (the IDX reader; it pulls in torch._dynamo, over a second) and the first optimiser
    step (lazy imports, kernel set-up) hold the GIL for hundreds of milliseconds at a time; done by the first
    run's worker they froze the window that long. The app runs this in a thread of its own once the window
    is on screen: the window then stays responsive (gaps of at most ~0.2 s, against 1.8 s on the GUI thread).
    """
    import torch
    import torchvision.datasets.mnist  # noqa: F401 - the import is the point

    from .core.config import NetSpec
    from .core.models import build_model

    model = build_model(NetSpec(hidden=(4,)), seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.functional.cross_entropy(model(torch.rand(2, 784)), torch.tensor([0, 1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def prepare_engine() -> None:
    """Set torch's threads and warm the engine up, here and now (benchmarks do this before showing a window)."""
    leave_a_core_for_the_interface()
    warm_up_engine()


def warm_up_engine_in_background() -> None:
    import threading

    def run() -> None:
        try:
            warm_up_engine()
        except Exception:  # noqa: BLE001 - only a warm-up: the first run does this work itself if need be
            pass

    threading.Thread(target=run, name="kdgui-warm-up", daemon=True).start()


def create_application(argv: list[str]):  # noqa: ANN201 - QApplication, imported lazily
    """The QApplication with kdgui's name and icon; Qt only (no torch), so the splash can follow at once."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("kdgui")
    app.setDesktopFileName(DESKTOP_FILE)
    app.setWindowIcon(app_icon())
    return app


def app_icon():  # noqa: ANN201 - QIcon, imported lazily
    """The kdgui icon shipped in kdgui.resources (the .desktop file names the same icon for the desktop)."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon

    return QIcon(str(files("kdgui.resources").joinpath("kdgui.svg")))


def wait_until_painted(widget: Any) -> None:  # noqa: ANN401 - a QWidget
    """Let a just-shown top-level widget reach the screen: Qt paints it when the window system exposes it."""
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + EXPOSE_WAIT_S
    while True:
        QApplication.processEvents()
        handle = widget.windowHandle()
        if (handle is not None and handle.isExposed()) or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    QApplication.processEvents()


def show_splash(app: Any):  # noqa: ANN201, ANN401 - a QFrame, a QApplication: imported lazily
    """A small "kdgui / Loading…" card with the icon, on screen while torch and the window load (a few seconds).

    A plain frameless widget, not QSplashScreen: showing a QSplashScreen took a full second in this Qt (it
    waits for the window system), longer than the splash is meant to save.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

    splash = QFrame(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
    splash.setObjectName("kdguiSplash")
    splash.setWindowTitle("kdgui")
    splash.setFrameShape(QFrame.Shape.Box)
    icon = QLabel()
    icon.setPixmap(app.windowIcon().pixmap(96, 96))
    title = QLabel("<span style='font-size: 20pt; font-weight: bold;'>kdgui</span><br>Knowledge distillation on MNIST")
    status = QLabel("Loading…")
    status.setObjectName("splashStatus")
    text = QVBoxLayout()
    text.addStretch(1)
    text.addWidget(title)
    text.addSpacing(12)
    text.addWidget(status)
    text.addStretch(1)
    layout = QHBoxLayout(splash)
    layout.setContentsMargins(24, 20, 32, 20)
    layout.setSpacing(20)
    layout.addWidget(icon)
    layout.addLayout(text)
    splash.adjustSize()
    screen = app.primaryScreen()
    if screen is not None:
        frame = splash.frameGeometry()
        frame.moveCenter(screen.availableGeometry().center())
        splash.move(frame.topLeft())
    splash.show()
    wait_until_painted(splash)
    return splash


def say_on_splash(splash: Any, text: str) -> None:  # noqa: ANN401 - the splash, or None
    """Change the splash's line and paint it now: the GUI thread is about to be busy importing."""
    from PySide6.QtWidgets import QApplication, QLabel

    if splash is not None:
        status = splash.findChild(QLabel, "splashStatus")
        status.setText(text)
        status.repaint()
        QApplication.processEvents()


QUIT_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")  # kill, Ctrl+C in the terminal, the terminal closed or a logout


def quit_quietly_until_the_window_exists() -> None:
    """Until ``close_on_signals`` takes over, SIGINT, SIGTERM and SIGHUP end the process at once, quietly.

    While torch and the window load there is nothing to save; without this, Ctrl+C in those seconds printed a
    KeyboardInterrupt traceback from wherever the import happened to be.
    """
    import signal

    def leave(signum: int, frame: Any) -> None:  # noqa: ANN401
        end_process(128 + signum)

    for name in QUIT_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            try:
                signal.signal(signum, leave)
            except (OSError, ValueError):  # not the main thread, or not settable here
                pass


def close_on_signals(window: Any) -> tuple[Any, ...]:  # noqa: ANN401 - QtMainWindow
    """SIGTERM (``kill``, a logout), SIGHUP (the terminal closed) and SIGINT (Ctrl+C in the terminal) close the window
    as File › Quit does.

    The window then saves its settings and stops a running job, which is kept and marked stopped, instead of
    dying at once (SIGTERM) or raising KeyboardInterrupt in whichever slot runs next (SIGINT). Python runs a
    signal handler only between bytecodes of the main thread, which sits in Qt's event loop: the wake-up fd
    wakes the loop, and the handler queues the close. Returns what must stay alive while the loop runs.
    """
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    try:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno())
    except (OSError, ValueError, AttributeError):  # not on this platform: keep the default behaviour
        return ()

    def drain() -> None:  # Python runs the pending handler as this slot starts; only empty the pipe here
        try:
            reader.recv(512)
        except OSError:
            pass

    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(drain)

    def close(signum: int, frame: Any) -> None:  # noqa: ANN401
        QTimer.singleShot(0, window.close)

    for name in QUIT_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, close)
    return reader, writer, notifier


def end_process(code: int) -> NoReturn:
    """Exit now, skipping Python's interpreter teardown.

    By the time the event loop returns, everything kdgui writes is written and closed: the window's closeEvent
    saved its settings (QSettings.sync) and stopped a running job, waiting for its thread, which saves the run;
    an export in progress has been waited for; runs, lineup choices and exports are written atomically. What
    is left is the interpreter's teardown (about 2,300 modules with torch, torch's and Qt's libraries, pyqtgraph's
    clean-up), which took 1.3-1.6 s on a 2-core machine (most of the 2-7 s from Ctrl+Q to exit the issue
    reported) and writes nothing of ours. A download still in its daemon thread is cut off either way.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def dispose_window(window: Any) -> None:  # noqa: ANN401 - QtMainWindow
    """Close and delete the window now, while the QApplication and the interpreter are whole.

    Left to PySide's teardown at interpreter exit, a window's pyqtgraph scenes can be destroyed in an order that
    crashes (a segmentation fault after the work is done).
    """
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    if not shiboken6.isValid(window):
        return
    window.close()
    window.deleteLater()
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


def take_screenshot(window, path: str | Path, panel: str | None = None) -> Path:  # noqa: ANN001 - QtMainWindow
    """Lay the window out at a fixed size, let it paint, and save it as a PNG."""
    from PySide6.QtWidgets import QApplication

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    if panel:
        window.show_panel(panel)
    window.settle_views()
    for _ in range(5):  # docks, plots and auto-ranged axes settle over a few event-loop passes
        QApplication.processEvents()
        window.curves_panel.flush()
    image = window.grab().toImage()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG"):
        raise OSError(f"cannot write {path}")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; the interactive app does not return but ends the process (see ``end_process``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(args_list)
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    if argv is None:  # the command, not a test calling main(): Ctrl+C while loading must not print a traceback
        quit_quietly_until_the_window_exists()
    app = create_application([sys.argv[0] if sys.argv else "kdgui"])
    splash = None if args.screenshot else show_splash(app)
    mark("splash")

    say_on_splash(splash, "Loading PyTorch…")
    leave_a_core_for_the_interface()  # imports torch: most of the wait
    say_on_splash(splash, "Building the window…")
    from .core.errors import KdguiError
    from .core.runs import RunStore
    from .ui.main_window import QtMainWindow

    try:
        store = RunStore(args.runs_dir)
    except KdguiError as exc:
        if splash is not None:
            splash.close()
        print(f"kdgui: error: {exc}", file=sys.stderr)
        return 2
    # A screenshot shows the defaults and the runs on disk, never this user's remembered layout, and saves nothing.
    window = QtMainWindow(store, restore=not args.screenshot)
    if args.screenshot:
        path = take_screenshot(window, args.screenshot, args.panel)
        print(f"kdgui: saved {path}")
        dispose_window(window)
        if argv is None:  # the command: nothing is left to write, so skip the interpreter's teardown (see end_process)
            end_process(0)
        return 0
    keep_alive = close_on_signals(window)  # noqa: F841 - the wake-up socket and its notifier live while the loop runs
    window.show()
    wait_until_painted(window)
    splash.close()
    splash.deleteLater()
    mark("window")
    warm_up_engine_in_background()
    code = app.exec() if window.isVisible() else 0  # a SIGTERM while it was painting has closed it already
    mark("quit")
    window.report_panel.wait_for_export()  # a half-written export would be left as a hidden temporary file
    end_process(code)
