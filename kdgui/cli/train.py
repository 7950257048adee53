"""kdgui-cli train-teacher, train-student, distill, reproduce and runs: one network at a time, with a progress bar."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from ..core import config as C
from ..core.errors import KdguiError
from ..core.events import Cancelled, Evaluation, Finished, Progress, Started
from . import options
from .lineup import teacher_member
from .progress import TerminalProgress, note, say, write_json

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
        options.single_run(p, train_group, network_group, spec)
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
    r.add_argument("--epochs-scale", type=options.epochs_scale, default=1.0,
                   help=f"multiply every stage's epochs, above 0 and at most {options.MAX_EPOCHS_SCALE} (e.g. 0.1 for a smoke test)")
    r.add_argument("--recipe", choices=("seed", "best"), default="seed",
                   help="seed: the seed experiment (default); best: a CNN teacher, then 784-50-10 students from labels "
                        f"and distilled, {C.BEST_SEEDS} seeds each, trained together on the same augmented images with "
                        "the same schedule")
    options.common(r)
    r.set_defaults(handler=reproduce_command)
    ls = sub.add_parser("runs", help="list saved runs",
                        description="List the runs saved in the runs folder, and the entries in it that are not readable runs, "
                                    "with the reason.")
    options.runs_dir(ls)
    ls.add_argument("--migrate", action="store_true",
                    help="convert runs saved by older versions (weights.pt) to weights.safetensors, checked tensor by "
                         "tensor; nothing is converted without this option")
    ls.set_defaults(handler=runs_command)


def teacher_run_id(args: argparse.Namespace, store: RunStore) -> str:
    """--teacher as a run id: the lineup's teacher for 'lineup' (or 'latest'), said on stderr; else the run given,
    which must be a teacher run."""
    member = teacher_member(store, args.teacher)
    if member is None:
        run = store.get(args.teacher)  # "no run 'X' in FOLDER", "... is not a run id"
        if run.job.kind != "teacher":
            raise KdguiError(f"run {run.id} is a {C.KIND_TITLES[run.job.kind].lower()}, not a teacher: give a teacher run "
                             "(kdgui-cli runs lists them)")
        return run.id
    say(args, f"teacher: {member.describe()}")
    return member.run_id


def _job_from_args(args: argparse.Namespace, store: RunStore) -> C.Job:
    spec = options.net_spec(args, args.spec)
    train = C.TrainConfig(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed, eval_every=args.eval_every,
        device=args.device, train_limit=args.limit, keep_best=args.keep_best, schedule=args.schedule,
        weight_decay=args.weight_decay, augment=options.augment(args),
    )
    distill, teacher_run = None, None
    if args.kind == "distilled":
        distill = C.DistillConfig(
            temperature=args.temperature, alpha=args.alpha, loss=args.loss, transfer=args.transfer,
            leave_out=args.leave_out, jitter_pixels=args.jitter, other_dataset=args.other_dataset,
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
    args.work.trains = True
    events = execute(job, store, data_dir=args.data_dir, download=args.download)
    # closing: an interrupt that lands here rather than in the engine still stops the run (saved, marked stopped)
    # before the command says what is on disk.
    with TerminalProgress(args, title) as progress, contextlib.closing(events):
        for event in events:
            if isinstance(event, Started):
                result["run_id"] = event.run_id
                args.work.runs.append(event.run_id)
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


def run_together(jobs: list[C.Job], store: RunStore, args: argparse.Namespace, title: str) -> list[dict[str, Any]]:
    """Train students together (kdgui.core.together) with one progress bar; one result per job, in order."""
    from ..core.together import GroupEvaluation, GroupStarted, train_together

    results: list[dict[str, Any]] = [{} for _ in jobs]
    args.work.trains = True
    events = train_together(jobs, store, data_dir=args.data_dir, download=args.download)
    with TerminalProgress(args, title) as progress, contextlib.closing(events):  # closing: as run_job
        for event in events:
            if isinstance(event, GroupStarted):
                for r, run_id in zip(results, event.run_ids):
                    r["run_id"] = run_id
                    args.work.runs.append(run_id)
                progress.start(event.total_steps, f"{title}: {len(jobs)} students together on {event.device}, "
                                                  f"runs {', '.join(event.run_ids)}")
            elif isinstance(event, Progress):
                progress.step(event)
            elif isinstance(event, GroupEvaluation) and event.epoch_end:
                kinds = {"student": "labels", "distilled": "distilled"}
                parts = [f"{kinds[j.kind]} s{j.train.seed} {v:.2%}/{t:.2%}" for j, v, t in zip(jobs, event.val_acc, event.test_acc)]
                progress.say(f"{title}: epoch {event.epoch:.0f}  val/test  " + "  ".join(parts))
            elif isinstance(event, (Finished, Cancelled)):
                r = next(r for r in results if r.get("run_id") == event.run_id)
                if isinstance(event, Finished):
                    r.update(train_acc=event.train_acc, val_acc=event.val_acc, test_acc=event.test_acc,
                             seconds=round(event.seconds, 2), epoch=event.epoch)
                else:
                    r.update(stopped=True, seconds=round(event.seconds, 2))
    for r, job in zip(results, jobs):
        r["seed"] = job.train.seed
    return results


def _mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The seeds' mean accuracies (and the spread of test accuracy), with each seed's row under "seeds"."""
    from ..core.together import group_summary

    done = [r for r in rows if "test_acc" in r]
    mean: dict[str, Any] = {"seeds": rows}
    if done:
        for key in ("train_acc", "val_acc", "test_acc"):
            mean[key] = group_summary([r[key] for r in done])["mean"]
        mean["test_acc_std"] = group_summary([r["test_acc"] for r in done])["std"]
        mean["seconds"] = max(r["seconds"] for r in done)
    if any(r.get("stopped") for r in rows):
        mean["stopped"] = True
    return mean


def reproduce_best(args: argparse.Namespace, store: RunStore) -> dict[str, Any]:
    """The best-student recipe: the CNN teacher (execute), then every student together (kdgui.core.together)."""
    import time

    started = time.perf_counter()
    jobs = C.best_jobs(seed=args.seed, device=args.device)

    def scaled(job: C.Job) -> C.Job:
        epochs = max(1, round(job.train.epochs * args.epochs_scale))
        return dataclasses.replace(job, train=dataclasses.replace(job.train, epochs=epochs, train_limit=args.limit))

    results: dict[str, Any] = {"recipe": "best"}
    results["teacher"] = run_job(scaled(jobs["teacher"]), store, args, "teacher")
    if not results["teacher"].get("stopped"):
        teacher = results["teacher"]["run_id"]
        together = [scaled(j) for j in jobs["student"]] + [dataclasses.replace(scaled(j), teacher_run=teacher)
                                                          for j in jobs["distilled"]]
        results["student_epochs"] = together[0].train.epochs
        rows = run_together(together, store, args, "students")
        half = len(jobs["student"])
        results["student"], results["distilled"] = _mean_row(rows[:half]), _mean_row(rows[half:])
    results["seconds_total"] = round(time.perf_counter() - started, 1)
    return results


def format_best_table(results: dict[str, Any]) -> str:
    """The seed's table for the best recipe: the teacher, then per kind of student the seeds' mean and each seed."""
    aug, train, distill = C.BEST_AUGMENT, C.BEST_STUDENT_TRAIN, C.BEST_DISTILL
    loss = {"soft_mse": "soft MSE", "hinton": "KL"}[distill.loss]
    rows: list[tuple[str, dict[str, Any] | None]] = [(f"Teacher {C.BEST_TEACHER_SPEC.describe()}", results.get("teacher"))]
    for key, label in (("student", f"Student {C.BEST_STUDENT_SPEC.describe()} from labels"),
                       ("distilled", f"Distilled student (T={distill.temperature:g}, {loss})")):
        group = results.get(key) or {}
        seeds = group.get("seeds", [])
        rows.append((f"{label}, mean of {len(seeds)}", group if "test_acc" in group else None))
        rows += [(f"  seed {r['seed']}", r) for r in seeds]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'Model':<{width}}  {'Train':>7}  {'Validation':>10}  {'Test':>7}  {'Epoch':>5}  {'Seconds':>7}"]
    for label, r in rows:
        if r and "test_acc" in r:
            epoch = f"{r['epoch']:>5}" if "epoch" in r else f"{'':>5}"
            lines.append(f"{label:<{width}}  {r['train_acc']:>7.2%}  {r['val_acc']:>10.2%}  {r['test_acc']:>7.2%}  "
                         f"{epoch}  {r['seconds']:>7.0f}")
    lines.append("Epoch: the epoch-end weights kept, those with the best validation accuracy.")
    epochs = results.get("student_epochs", train.epochs)
    lines.append(f"Both kinds of student: {epochs} epochs, {C.SCHEDULES[train.schedule].lower()} (peak lr {train.lr:g}), "
                 f"{aug.describe()}; trained together on the same batches, so they share their seconds.")
    student, distilled = results.get("student") or {}, results.get("distilled") or {}
    if "test_acc" in student and "test_acc" in distilled:
        gain = (distilled["test_acc"] - student["test_acc"]) * 100
        lines.append(f"Distillation {'gained' if gain >= 0 else 'lost'} {abs(gain):.2f} points of mean test accuracy over "
                     f"the same student trained on labels with the same augmentation and schedule.")
    if "seconds_total" in results:
        lines.append(f"The whole recipe took {results['seconds_total'] / 60:.1f} minutes.")
    return "\n".join(lines)


def reproduce_command(args: argparse.Namespace, store: RunStore) -> int:
    if args.recipe == "best":
        results = reproduce_best(args, store)
        print(format_best_table(results))
        write_json(args.json, results)
        stopped = results["teacher"].get("stopped") or any(results.get(k, {}).get("stopped") for k in ("student", "distilled"))
        return 130 if stopped else 0
    results = reproduce(args, store)
    print(format_table(results))
    write_json(args.json, results)
    return 130 if any(r.get("stopped") for r in results.values()) else 0


def _run_line(run: Any) -> str:
    from ..core.runs import READ_STATUSES
    from ..core.files import shown

    width = max(len(s) for s in READ_STATUSES)  # "interrupted": a run whose process died (its lock is gone)
    line = f"{shown(run.id):<30}  {run.status:<{width}}  {shown(run.name, 40):<24}  {shown(run.job.net.describe()):<18}"
    acc = run.summary.get("test_acc")
    return f"{line}  test {acc:.2%}" if isinstance(acc, (int, float)) else line.rstrip()


def runs_command(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.files import shown

    if args.migrate:
        return migrate_command(store)
    runs, unreadable = store.scan()
    if len(unreadable) == 1 and unreadable[0].path == store.root:  # the folder itself cannot be read
        raise KdguiError(unreadable[0].reason)
    if not runs and not unreadable:
        note(f"no runs in {shown(store.root)}")
    for run in runs:
        try:
            line = _run_line(run)
        except Exception as exc:  # noqa: BLE001 - one odd run never stops the listing
            line = f"{shown(run.id):<30}  unreadable: {shown(exc)}"
        print(line)
    for entry in unreadable:
        print(f"{shown(entry.name):<30}  unreadable: {shown(entry.reason)}")
    return 0


def migrate_command(store: RunStore) -> int:
    """runs --migrate: every run's weights.pt rewritten as weights.safetensors (checked), and what failed."""
    from ..core.files import shown

    migrated, failed = store.migrate_weights()
    for run_id in migrated:
        print(f"{run_id}  weights.pt -> weights.safetensors")
    for entry in failed:
        print(f"{shown(entry.name)}  not converted: {shown(entry.reason)}")
    if failed:
        raise KdguiError(f"{len(failed)} run(s) could not be converted (listed above); the others are done")
    if not migrated:
        note(f"no run in {shown(store.root)} has old weights.pt to convert")
    return 0
