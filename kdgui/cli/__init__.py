"""kdgui-cli: train teachers and students and distil them without a screen, with terminal progress and JSON output.

Each command module registers its parsers with ``add_parsers(sub)`` (setting ``handler``, the function that runs
the command); this package builds the parser and dispatches. It never imports Qt or ``kdgui.ui``, and building
the parser imports no torch (the command modules import the engine inside their commands), so --help is quick.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, Sequence

from ..core.errors import KdguiError
from . import bundle, experiments, lineup, ship, train
from .options import Parser, printable
from .progress import Work, interrupted

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (train, bundle, experiments, ship, lineup)  # the order of the commands in --help


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kdgui-cli",
        description="Train a teacher and a student on MNIST and distil the teacher into the student, headless.",
        epilog="Run 'kdgui-cli reproduce' to rerun the seed experiment and print its table.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # `kill` or a logout: stop like Ctrl-C, so the partial run is saved and marked stopped, not left "running".
    raise KeyboardInterrupt


def _print_anything() -> None:
    """Names on disk may hold bytes that are not text (a run folder's name, a path): print them escaped, never fail."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text stream of the usual kind: leave it
            pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _print_anything()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args.work = Work()
    store = None
    try:
        # torch: after parsing, so --help and usage errors are quick
        from ..core.runs import RunStore
        from ..core.threads import requesting
        from .paths import output_file, runs_folder

        store = RunStore(runs_folder(getattr(args, "runs_dir", None)))
        output_file(getattr(args, "json", None), "--json")  # a bad --json is refused now, not after the training
        with requesting(getattr(args, "threads", None)):
            return args.handler(args, store)
    except KdguiError as exc:
        print(f"kdgui-cli: error: {printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # what the checks above did not foresee: still one line, never a traceback
        where = f": {printable(exc.filename)[:300]}" if exc.filename else ""
        print(f"kdgui-cli: error: {printable(exc.strerror or exc)[:300]}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # What is on disk now, not what should be: the interrupted run's stored status (and the sweep's or study's).
        try:
            message = interrupted(store, args.work)
        except (Exception, KeyboardInterrupt):  # noqa: BLE001 - a second Ctrl+C, or a folder gone: say less
            message = "stopped"
        print(f"kdgui-cli: {message}", file=sys.stderr)
        return 130
