"""Terminal output of kdgui-cli: the progress bar, lines above it, notes, the --json file, and what an interrupt left."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import KdguiError
from ..core.events import Progress

if TYPE_CHECKING:
    from tqdm import tqdm

    from ..core.runs import RunStore


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
    """Write ``obj`` to the --json file, if one was given (checked before the work by ``paths.output_file``; its
    folder is made; failures are one-line errors)."""
    if path is None:
        return
    from ..core.errors import WriteError
    from ..core.files import atomic_write_json, shown
    from .paths import make_parent, output_file

    target = output_file(path, "--json")
    assert target is not None
    make_parent(target)
    try:
        atomic_write_json(target, obj)
    except WriteError:
        raise  # already "cannot write PATH: why"
    except OSError as exc:
        raise KdguiError(f"cannot write {shown(target)}: {exc.strerror or exc}") from None


@dataclass
class Work:
    """What a command has started on disk, so that the line after Ctrl+C (or `kill`) tells what is there."""

    trains: bool = False  # the command trains (so "nothing was saved" is worth saying)
    runs: list[str] = field(default_factory=list)  # run ids, in the order started
    experiments: list[tuple[str, str]] = field(default_factory=list)  # (sweep|study, experiment id)


def _run_outcome(store: RunStore, run_id: str) -> str:
    from ..core.files import shown

    try:
        run = store.get(run_id)
        status, steps = run.stored_status, run.summary.get("steps")
    except KdguiError as exc:
        return f"run {run_id} could not be read back ({shown(exc)})"
    if status == "stopped":
        return f"run {run_id} is kept, marked stopped" + (f" after {steps:,} steps" if isinstance(steps, int) else "")
    if status == "finished":
        return f"run {run_id} had finished and is saved"
    if status == "running":
        return (f"run {run_id} was cut off before it was saved as stopped: it reads as interrupted, with the weights "
                "of its last epoch end if it reached one")
    return f"run {run_id} is marked {status}"


def _experiment_outcome(store: RunStore, kind: str, experiment_id: str) -> str:
    from ..core.experiments import experiment_path, load_experiment
    from ..core.files import shown

    try:
        status = load_experiment(experiment_path(store, experiment_id)).get("status")
    except KdguiError as exc:
        return f"{kind} {experiment_id} could not be read back ({shown(exc)})"
    if status == "running":
        return f"{kind} {experiment_id} was cut off before it was saved as stopped"
    return f"{kind} {experiment_id} is kept, marked {status}"


def interrupted(store: RunStore | None, work: Work) -> str:
    """The line after an interrupt, from what is on disk now: each run's (and sweep's or study's) stored status."""
    parts = [_run_outcome(store, run_id) for run_id in work.runs] if store is not None else []
    if store is not None:
        parts += [_experiment_outcome(store, kind, eid) for kind, eid in work.experiments]
    if parts:
        return "stopped; " + "; ".join(parts)
    return "stopped before a run was created; nothing was saved" if work.trains else "stopped"
