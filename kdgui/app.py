"""QApplication set-up and the ``kdgui`` entry point: the main window, or ``--screenshot PATH`` to render it and exit."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

ORGANIZATION = "kdgui"
APPLICATION = "kdgui"
DESKTOP_FILE = "io.github.kdgui.kdgui"
SCREENSHOT_SIZE = (1360, 860)


def build_parser() -> argparse.ArgumentParser:
    from .ui.main_window import PANELS

    parser = argparse.ArgumentParser(
        prog="kdgui", description="Train a teacher and a student on MNIST and watch knowledge distillation happen.",
        epilog="Runs are saved in $KDGUI_RUNS_DIR (else your user data folder); datasets are read from $KDGUI_DATA_DIR.",
    )
    parser.add_argument("--screenshot", metavar="PATH", help="render the main window to a PNG file and exit")
    parser.add_argument("--panel", choices=PANELS, help="with --screenshot: bring this panel to the front")
    parser.add_argument("--runs-dir", help="where runs are saved (default: $KDGUI_RUNS_DIR, else the user data folder)")
    return parser


def leave_a_core_for_the_interface() -> int:
    """Let torch use all CPU cores but one, so the GUI thread is not starved while a run trains; returns the count."""
    import torch

    threads = max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - 1))
    torch.set_num_threads(threads)
    return threads


def prepare_engine() -> None:
    """Do the engine's one-time work before the window shows, not in the worker while the interface runs.

    Importing torchvision (the IDX reader) and the first optimiser step (lazy imports, kernel set-up) hold the
    GIL for hundreds of milliseconds; done during the first run they froze the window that long.
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


def create_application(argv: list[str]):  # noqa: ANN201 - QApplication, imported lazily
    from PySide6.QtWidgets import QApplication

    leave_a_core_for_the_interface()
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


def take_screenshot(window, path: str | Path, panel: str | None = None) -> Path:  # noqa: ANN001 - QtMainWindow
    """Lay the window out at a fixed size, let it paint, and save it as a PNG."""
    from PySide6.QtWidgets import QApplication

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    if panel:
        window.show_panel(panel)
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
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(args_list)
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    app = create_application([sys.argv[0] if sys.argv else "kdgui"])

    from .core.errors import KdguiError
    from .core.runs import RunStore
    from .ui.main_window import QtMainWindow

    try:
        store = RunStore(args.runs_dir)
    except KdguiError as exc:
        print(f"kdgui: error: {exc}", file=sys.stderr)
        return 2
    if not args.screenshot:
        prepare_engine()
    # A screenshot shows the defaults and the runs on disk, never this user's remembered layout, and saves nothing.
    window = QtMainWindow(store, restore=not args.screenshot)
    if args.screenshot:
        path = take_screenshot(window, args.screenshot, args.panel)
        print(f"kdgui: saved {path}")
        window.close()
        return 0
    window.show()
    return app.exec()
