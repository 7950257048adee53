"""Terminal output of kdgui-cli: the progress bar, lines above it, notes, and the --json file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import KdguiError
from ..core.events import Progress

if TYPE_CHECKING:
    from tqdm import tqdm


class TerminalProgress:
    """One tqdm bar over a run's steps (on a terminal, unless --quiet) and lines that print above it."""

    def __init__(self, args: argparse.Namespace, title: str) -> None:
        self.args, self.title = args, title
        self.bar: tqdm | None = None

    def start(self, total_steps: int, line: str) -> None:
        from tqdm import tqdm

        self.say(line)
        self.bar = tqdm(total=total_steps, desc=self.title, unit="step", disable=self.args.quiet or None, leave=True,
                        dynamic_ncols=True)

    def step(self, event: Progress) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if event.batch % 20 == 0 or event.batch == event.batches_per_epoch:  # the postfix redraw is not free
                self.bar.set_postfix(epoch=f"{event.epoch}/{event.epochs}", loss=f"{event.loss:.4f}", refresh=False)

    def say(self, text: str) -> None:
        say(self.args, text, self.bar)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def say(args: argparse.Namespace, text: str, bar: tqdm | None = None) -> None:
    """A progress line on stderr (above the bar when there is one), unless --quiet."""
    if not getattr(args, "quiet", False):
        from tqdm import tqdm

        (bar.write if bar is not None else tqdm.write)(text, file=sys.stderr)


def note(text: str) -> None:
    """A 'note: ...' line on stderr: something the user should know that does not stop the command."""
    print(f"note: {text}", file=sys.stderr)


def write_json(path: str | None, obj: dict[str, Any]) -> None:
    """Write ``obj`` to the --json file, if one was given (its folder is made; failures are one-line errors)."""
    if path:
        from ..core.runs import atomic_write_json

        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(target, obj)
        except OSError as exc:
            raise KdguiError(f"cannot write {target}: {exc.strerror or exc}") from None
