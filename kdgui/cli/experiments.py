"""kdgui-cli sweep and study: the temperature sweep (or alpha x T grid) and the transfer-set studies, with progress and JSON."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from ..core import config as C
from ..core.events import Cancelled, Evaluation, Progress, Started
from . import options
from .options import distinct_floats, distinct_ints
from .progress import TerminalProgress, write_json
from .train import teacher_run_id

if TYPE_CHECKING:
    from ..core.runs import RunStore

# From config (no torch): the parser must not import the engine's modules, so --help stays quick.
DEFAULT_TEMPERATURES, STUDIES, DEFAULT_CLASSES = C.SWEEP_TEMPERATURES, C.STUDIES, C.STUDY_DEFAULT_CLASSES


def _student_options(parser: argparse.ArgumentParser, eval_every: int, *, temperature: bool) -> argparse._ArgumentGroup:
    """The distillation, training and network options of a sweep's or a study's students."""
    g = options.distillation(parser, temperature=temperature)
    options.training(parser, dataclasses.replace(C.SEED_DISTILL_TRAIN, eval_every=eval_every), C.STUDENT_SPEC)
    return g


def add_parsers(sub: Any) -> None:
    """Register ``sweep`` and ``study`` on kdgui-cli's subcommand parser."""
    temps = ",".join(f"{t:g}" for t in DEFAULT_TEMPERATURES)
    s = sub.add_parser(
        "sweep",
        help="distil one student per temperature (and alpha, and seed) at once and tabulate accuracy against T",
        description="Train one student per (temperature, seed) from one teacher, all together as one batched computation "
        "on the teacher's logits computed once, and print validation and test accuracy for each temperature. With "
        "--alphas, one student per (alpha, temperature, seed): the table is a grid of alphas x temperatures.",
    )
    s.add_argument("--temperatures", "-T", type=distinct_floats, default=DEFAULT_TEMPERATURES, help=f"temperatures, comma-separated (default {temps})")
    s.add_argument("--alphas", type=distinct_floats, default=(),
                   help="a grid: these alphas x the temperatures, comma-separated, e.g. 0.1,0.5,0.9,1 (instead of --alpha; "
                        "alpha < 1 mixes in the labels)")
    s.add_argument("--seeds", type=int, default=1, help="students per temperature, seeds --seed, --seed+1, ... (default 1)")
    s.add_argument("--reference-student", default="latest", help="student-from-labels run for the reference line: a run id, 'latest' (default) or 'none'")
    _student_options(s, 0, temperature=False)  # the sweep's -T is --temperatures
    options.common(s)
    s.set_defaults(handler=sweep_command)
    names = ", ".join(f"{n} ({C.STUDY_TITLES[n].lower()})" for n in STUDIES)
    p = sub.add_parser(
        "study",
        help=f"a transfer-set experiment from the paper: {', '.join(STUDIES)}",
        description=f"Distil a student from an unusual transfer set and report the result in words and numbers: {names}.",
    )
    p.add_argument("study", choices=STUDIES, metavar="NAME", help=f"one of {', '.join(STUDIES)}")
    g = _student_options(p, C.SEED_DISTILL_TRAIN.eval_every, temperature=True)
    g.add_argument("--classes", type=distinct_ints, default=None,
                   help=f"leave-out: the digits left out (default {DEFAULT_CLASSES['leave-out'][0]}); only-classes: the digits kept (default 7,8)")
    options.jitter(g)
    others = ", ".join(f"{n} ({t})" for n, t in C.OTHER_TRANSFER_SETS.items())
    g.add_argument("--other", default="letters", choices=tuple(C.OTHER_TRANSFER_SETS), metavar="DATASET",
                   help=f"other-dataset: whose images the teacher answers on, one of {others} (default letters: drawn, "
                        "needs no files)")
    options.common(p)
    p.set_defaults(handler=study_command)


def _student_spec(args: argparse.Namespace) -> C.NetSpec:
    return C.NetSpec(hidden=args.hidden, activation=args.activation)


def sweep_command(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.sweep import (
        SweepCancelled, SweepConfig, SweepEvaluation, SweepFinished, SweepStarted, format_sweep_table, grid_of, run_sweep,
    )

    reference = None if args.reference_student.lower() == "none" else args.reference_student
    config = SweepConfig(
        teacher_run=args.teacher, temperatures=args.temperatures, seeds=args.seeds, seed=args.seed,
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, loss=args.loss, alpha=args.alpha, alphas=args.alphas,
        student=_student_spec(args), eval_every=args.eval_every, train_limit=args.limit, keep_best=args.keep_best,
        device=args.device, student_run=reference, name=args.name,
    )  # the values are checked first, then the teacher is looked up
    config = dataclasses.replace(config, teacher_run=teacher_run_id(args, store))
    result: dict[str, Any] = {}
    references = ()
    args.work.trains = True
    events = run_sweep(config, store, data_dir=args.data_dir, download=args.download)
    with TerminalProgress(args, "sweep") as progress, contextlib.closing(events):  # an interrupt here still saves
        for event in events:
            if isinstance(event, SweepStarted):
                args.work.experiments.append(("sweep", event.sweep_id))
                references = event.references
                result.update(sweep_id=event.sweep_id, teacher_run=event.teacher_run)
                alphas = f"{len(config.alpha_list)} alphas x " if config.is_grid else ""
                progress.start(event.total_steps, f"sweep {event.sweep_id}: {len(event.temperatures)} students "
                               f"({alphas}{len(config.temperatures)} temperatures x {config.seeds} seed(s)) of "
                               f"{config.student.describe()} from teacher {event.teacher_run} on {event.device}")
            elif isinstance(event, Progress):
                progress.step(event)
            elif isinstance(event, SweepEvaluation) and event.epoch_end:
                if config.is_grid:  # a line per grid point would not fit: the best on validation so far
                    grid = grid_of(event.by_temperature())
                    i, j = grid.best() or (0, 0)
                    progress.say(f"sweep: epoch {event.epoch:.0f}  best on validation α={grid.alphas[i]:g} "
                                 f"T={grid.temperatures[j]:g}: val {grid.val[i][j]:.2%}  test {grid.test[i][j]:.2%}")
                else:
                    accs = "  ".join(f"T={p.temperature:g} {p.test_mean:.2%}" for p in event.by_temperature())
                    progress.say(f"sweep: epoch {event.epoch:.0f}  test  {accs}")
            elif isinstance(event, SweepFinished):
                result.update(
                    seconds=round(event.seconds, 2), teacher_seconds=round(event.teacher_seconds, 2), path=event.path,
                    table=[dataclasses.asdict(p) for p in event.points],
                    students=[{"alpha": al, "temperature": t, "seed": s, "val_acc": v, "test_acc": a, "epoch": e}
                              for (al, t, s), v, a, e in zip(config.members, event.val_acc, event.test_acc, event.epochs)],
                    references=[dataclasses.asdict(r) for r in references],
                )
                if config.is_grid:
                    result["grid"] = grid_of(event.points).to_dict()
                progress.close()
                print(format_sweep_table(event.points, references))
                if config.keep_best:
                    epochs = ", ".join(f"T={t:g}: {e}" for (t, _), e in zip(config.students, event.epochs))
                    shown = config.seeds == 1 and not config.is_grid
                    print("each student at its best epoch on validation" + (f" ({epochs})" if shown else ""))
                else:
                    print(f"each student at its last epoch ({config.epochs})")
                print(f"{len(event.val_acc)} students in {event.seconds:.1f} s (teacher logits {event.teacher_seconds:.1f} s); "
                      f"saved to {event.path}")
            elif isinstance(event, SweepCancelled):
                result.update(stopped=True, seconds=round(event.seconds, 2), path=event.path)
    write_json(args.json, result)
    return 130 if result.get("stopped") else 0


def study_command(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.studies import StudyCancelled, StudyConfig, StudyFinished, StudyStarted, run_study

    config = StudyConfig(
        study=args.study, teacher_run=args.teacher, classes=args.classes or (),
        temperature=args.temperature, alpha=args.alpha, loss=args.loss, epochs=args.epochs, lr=args.lr,
        batch_size=args.batch_size, seed=args.seed, eval_every=args.eval_every, train_limit=args.limit,
        keep_best=args.keep_best, device=args.device, jitter_pixels=args.jitter, other_dataset=args.other,
        student=_student_spec(args), name=args.name,
    )  # the values are checked first, then the teacher is looked up
    config = dataclasses.replace(config, teacher_run=teacher_run_id(args, store))
    result: dict[str, Any] = {"study": args.study}
    args.work.trains = True
    events = run_study(config, store, data_dir=args.data_dir, download=args.download)
    with TerminalProgress(args, args.study) as progress, contextlib.closing(events):  # an interrupt here still saves
        for event in events:
            if isinstance(event, StudyStarted):
                args.work.experiments.append(("study", event.study_id))
            elif isinstance(event, Started):
                result["run_id"] = event.run_id
                args.work.runs.append(event.run_id)
                progress.start(event.total_steps, f"{args.study}: {config.describe()}; run {event.run_id} on {event.device}")
            elif isinstance(event, Progress):
                progress.step(event)
            elif isinstance(event, Evaluation) and event.epoch_end:
                progress.say(f"{args.study}: epoch {event.epoch:.0f}  val {event.val_acc:.2%}  test {event.test_acc:.2%}")
            elif isinstance(event, StudyFinished):
                progress.close()
                result.update(study_id=event.study_id, summary=event.summary, seconds=round(event.seconds, 2),
                              path=event.path, **event.result)
                print(event.summary)
                print(f"({event.seconds:.0f} s, run {event.run_id}; saved to {event.path})")
            elif isinstance(event, (Cancelled, StudyCancelled)):
                result.update(stopped=True)
                if isinstance(event, StudyCancelled):
                    result.update(study_id=event.study_id, path=event.path)
    write_json(args.json, result)
    return 130 if result.get("stopped") else 0
