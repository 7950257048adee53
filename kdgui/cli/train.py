"""kdgui-cli train-teacher, train-student, distill, reproduce and runs: one network at a time, with a progress bar."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from ..core import config as C
from ..core.errors import KdguiError
from ..core.events import Cancelled, Evaluation, Finished, Progress, Started
from . import options
from .lineup import teacher_member
from .progress import TerminalProgress, say, write_json

if TYPE_CHECKING:
    from ..core.runs import RunStore

HELPS = {
    "teacher": "train the big teacher network from labels (seed: 784-1200-1200-10, 20 epochs)",
    "student": "train the small student from labels only, the baseline (seed: 784-50-10)",
    "distilled": "train a student from a teacher's softened outputs (seed: T=4, soft MSE, 14 epochs)",
}


def add_parsers(sub: Any) -> None:
    for name, kind, spec, train in (
        ("train-teacher", "teacher", C.TEACHER_SPEC, C.SEED_TEACHER_TRAIN),
        ("train-student", "student", C.STUDENT_SPEC, C.SEED_STUDENT_TRAIN),
        ("distill", "distilled", C.STUDENT_SPEC, C.SEED_DISTILL_TRAIN),
    ):
        p = sub.add_parser(name, help=HELPS[kind], description=HELPS[kind][0].upper() + HELPS[kind][1:] + ".")
        p.set_defaults(kind=kind, spec=spec, handler=train_command)
        train_group, network_group = options.training(p, train, spec)
        options.single_run(train_group, network_group, spec)
        if kind == "distilled":
            g = options.distillation(p)
            options.transfer_set(g)
            options.jitter(g)
        options.common(p)
    r = sub.add_parser(
        "reproduce",
        help="the seed experiment: teacher, student from labels, distilled student, then a table",
        description="Train the seed's three networks with its hyperparameters and print Train/Validation/Test accuracy.",
    )
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--limit", type=int, help="train on the first N training images only (a quick check, not the seed)")
    r.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every stage's epochs (e.g. 0.1 for a smoke test)")
    options.common(r)
    r.set_defaults(handler=reproduce_command)
    ls = sub.add_parser("runs", help="list saved runs", description="List the runs saved in the runs folder.")
    options.runs_dir(ls)
    ls.set_defaults(handler=runs_command)


def teacher_run_id(args: argparse.Namespace, store: RunStore) -> str:
    """--teacher as a run id: the lineup's teacher for 'lineup' (or 'latest'), said on stderr; else as given."""
    member = teacher_member(store, args.teacher)
    if member is None:
        return args.teacher
    say(args, f"teacher: {member.describe()}")
    return member.run_id


def _job_from_args(args: argparse.Namespace, store: RunStore) -> C.Job:
    spec = C.NetSpec(
        hidden=args.hidden,
        dropout=args.dropout if args.dropout is not None else (args.spec.dropout if args.hidden == args.spec.hidden else ()),
        activation=args.activation,
    )
    train = C.TrainConfig(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed, eval_every=args.eval_every,
        device=args.device, train_limit=args.limit, keep_best=args.keep_best,
    )
    distill, teacher_run = None, None
    if args.kind == "distilled":
        distill = C.DistillConfig(
            temperature=args.temperature, alpha=args.alpha, loss=args.loss, transfer=args.transfer,
            leave_out=args.leave_out, jitter_pixels=args.jitter,
        )
        if args.dataset != "mnist" and args.teacher in options.LINEUP_TEACHER:
            raise KdguiError(f"the lineup holds MNIST networks only: give --teacher RUN, a teacher trained on {args.dataset}")
        teacher_run = teacher_run_id(args, store)
    return C.Job(args.kind, spec, train, distill, dataset=args.dataset, teacher_run=teacher_run, name=args.name,
                 standardize=args.standardize)


def run_job(job: C.Job, store: RunStore, args: argparse.Namespace, title: str) -> dict[str, Any]:
    """Train one job with a progress bar; return its result as the JSON object the CLI writes."""
    from ..core.training import execute

    result: dict[str, Any] = {}
    with TerminalProgress(args, title) as progress:
        for event in execute(job, store, data_dir=args.data_dir, download=args.download):
            if isinstance(event, Started):
                result["run_id"] = event.run_id
                progress.start(event.total_steps, f"{title}: run {event.run_id} on {event.device}, {job.net.describe()}")
            elif isinstance(event, Progress):
                progress.step(event)
            elif isinstance(event, Evaluation) and event.epoch_end:
                progress.say(f"{title}: epoch {event.epoch:.0f}  train {event.train_acc:.2%}  val {event.val_acc:.2%}  "
                             f"test {event.test_acc:.2%}")
            elif isinstance(event, Finished):
                result.update(train_acc=event.train_acc, val_acc=event.val_acc, test_acc=event.test_acc,
                              seconds=round(event.seconds, 2), epoch=event.epoch)
            elif isinstance(event, Cancelled):
                result.update(stopped=True, seconds=round(event.seconds, 2))
    return result


def train_command(args: argparse.Namespace, store: RunStore) -> int:
    job = _job_from_args(args, store)
    result = run_job(job, store, args, job.label())
    if "test_acc" in result:
        kept = f"weights of epoch {result['epoch']}" + (", best on validation" if job.train.keep_best else "")
        print(f"{job.label()}: train {result['train_acc']:.2%}  validation {result['val_acc']:.2%}  "
              f"test {result['test_acc']:.2%}  ({kept}; {result['seconds']:.0f} s, run {result['run_id']})")
    write_json(args.json, result)
    return 0


def format_table(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        ("teacher", f"Teacher {C.TEACHER_SPEC.describe()}"),
        ("student", f"Student {C.STUDENT_SPEC.describe()} from labels"),
        ("distilled", f"Distilled student (T={C.SEED_DISTILL.temperature:g}, soft MSE)"),
    ]
    width = max(len(label) for _, label in rows)
    lines = [f"{'Model':<{width}}  {'Train':>7}  {'Validation':>10}  {'Test':>7}  {'Epoch':>5}  {'Seconds':>7}"]
    for key, label in rows:
        r = results.get(key)
        if r and "test_acc" in r:
            lines.append(f"{label:<{width}}  {r['train_acc']:>7.2%}  {r['val_acc']:>10.2%}  {r['test_acc']:>7.2%}  "
                         f"{r.get('epoch', 0):>5}  {r['seconds']:>7.0f}")
    lines.append("Epoch: the epoch-end weights kept, those with the best validation accuracy.")
    return "\n".join(lines)


def reproduce(args: argparse.Namespace, store: RunStore) -> dict[str, dict[str, Any]]:
    jobs = C.seed_jobs(seed=args.seed, device=args.device)
    results: dict[str, dict[str, Any]] = {}
    for key in ("teacher", "student", "distilled"):
        job = jobs[key]
        epochs = max(1, round(job.train.epochs * args.epochs_scale))
        job = dataclasses.replace(job, train=dataclasses.replace(job.train, epochs=epochs, train_limit=args.limit))
        if key == "distilled":
            job = dataclasses.replace(job, teacher_run=results["teacher"]["run_id"])
        results[key] = run_job(job, store, args, key)
        if results[key].get("stopped"):
            break
    return results


def reproduce_command(args: argparse.Namespace, store: RunStore) -> int:
    results = reproduce(args, store)
    print(format_table(results))
    write_json(args.json, results)
    return 130 if any(r.get("stopped") for r in results.values()) else 0


def runs_command(args: argparse.Namespace, store: RunStore) -> int:
    for run in store.list():
        acc = run.summary.get("test_acc")
        print(f"{run.id}  {run.status:<8}  {run.name:<24}  {run.job.net.describe():<18}  test {acc:.2%}" if acc is not None
              else f"{run.id}  {run.status:<8}  {run.name:<24}  {run.job.net.describe()}")
    return 0
