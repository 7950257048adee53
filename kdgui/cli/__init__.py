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

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (train, bundle, experiments, ship, lineup)  # the order of the commands in --help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdgui-cli",
        description="Train a teacher and a student on MNIST and distil the teacher into the student, headless.",
        epilog="Run 'kdgui-cli reproduce' to rerun the seed experiment and print its table.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # `kill` or a logout: stop like Ctrl-C, so the partial run is saved and marked stopped, not left "running".
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        from ..core.runs import RunStore  # torch: after parsing, so --help and usage errors are quick

        return args.handler(args, RunStore(args.runs_dir))
    except KdguiError as exc:
        print(f"kdgui-cli: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kdgui-cli: stopped; the partial run is kept and marked stopped", file=sys.stderr)
        return 130
