"""kdgui-cli: train teachers and students and distil them without a screen, with terminal progress and JSON output."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from . import cli_bundle
from .core import config as C
from .core.errors import KdguiError
from .core.events import Cancelled, Evaluation, Finished, Progress, Started
from .core.runs import RunStore, atomic_write_json


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data, runs and device")
    g.add_argument("--data-dir", help="folder holding <Dataset>/raw/*-ubyte (default: $KDGUI_DATA_DIR, else the user data folder)")
    g.add_argument("--download", action="store_true", help="download the dataset if its files are missing")
    g.add_argument("--runs-dir", help="where runs are saved (default: $KDGUI_RUNS_DIR, else the user data folder)")
    g.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps, or auto (GPU when there is one; default)")
    g.add_argument("--json", metavar="PATH", help="also write the accuracies (fractions) and seconds to this JSON file")
    g.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")


def _training(parser: argparse.ArgumentParser, defaults: C.TrainConfig, spec: C.NetSpec) -> None:
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the training set (default {defaults.epochs})")
    g.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr:g})")
    g.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"images per step (default {defaults.batch_size})")
    g.add_argument("--seed", type=int, default=0, help="random seed: same seed, same run (default 0)")
    g.add_argument("--eval-every", type=int, default=defaults.eval_every, help="evaluate on validation and test every N batches; 0 = epoch ends only (default 100)")
    g.add_argument("--limit", type=int, help="train on the first N training images only (quick runs)")
    g.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=defaults.keep_best,
                   help="keep the epoch-end weights with the best validation accuracy rather than the last (default: on)")
    g.add_argument("--dataset", default="mnist", choices=C.DATASETS, help="dataset (default mnist)")
    g.add_argument("--standardize", action="store_true", help="standardise pixels with the training mean and std (the seed did not)")
    g.add_argument("--name", default="", help="a name for the run, shown in the app")
    n = parser.add_argument_group("network")
    n.add_argument("--hidden", type=_ints, default=spec.hidden, help=f"hidden layer widths, comma-separated (default {','.join(map(str, spec.hidden))})")
    n.add_argument("--dropout", type=_floats, default=None, help=f"dropout after each hidden layer, comma-separated (default {','.join(f'{p:g}' for p in spec.dropout)})")
    n.add_argument("--activation", default=spec.activation, choices=C.ACTIVATIONS, help="activation (default relu)")


def _distillation(parser: argparse.ArgumentParser) -> None:
    d = C.SEED_DISTILL
    g = parser.add_argument_group("distillation")
    g.add_argument("--teacher", default="latest", help="teacher run id, or 'latest' for the newest finished teacher (default)")
    g.add_argument("--temperature", "-T", type=float, default=d.temperature, help=f"softmax temperature T > 0 (default {d.temperature:g})")
    g.add_argument("--alpha", type=float, default=d.alpha, help="weight of the soft targets, 1 - alpha goes to the labels (default 1: soft targets only)")
    g.add_argument("--loss", default=d.loss, choices=C.LOSSES, help="soft_mse: the seed's MSE of softened probabilities; hinton: alpha*T^2*KL + (1-alpha)*CE (default soft_mse)")
    g.add_argument("--transfer", default=d.transfer, choices=C.TRANSFER_SETS, help="images the student learns from: train, leave_out (train without --leave-out classes), noise (uniform random), jitter (train shifted up to --jitter pixels)")
    g.add_argument("--leave-out", type=_ints, default=(), help="classes to leave out with --transfer leave_out, e.g. 3 or 7,8")
    g.add_argument("--jitter", type=int, default=d.jitter_pixels, help="largest shift in pixels with --transfer jitter (default 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdgui-cli",
        description="Train a teacher and a student on MNIST and distil the teacher into the student, headless.",
        epilog="Run 'kdgui-cli reproduce' to rerun the seed experiment and print its table.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, kind, spec, train in (
        ("train-teacher", "teacher", C.TEACHER_SPEC, C.SEED_TEACHER_TRAIN),
        ("train-student", "student", C.STUDENT_SPEC, C.SEED_STUDENT_TRAIN),
        ("distill", "distilled", C.STUDENT_SPEC, C.SEED_DISTILL_TRAIN),
    ):
        helps = {
            "teacher": "train the big teacher network from labels (seed: 784-1200-1200-10, 20 epochs)",
            "student": "train the small student from labels only, the baseline (seed: 784-50-10)",
            "distilled": "train a student from a teacher's softened outputs (seed: T=4, soft MSE, 14 epochs)",
        }
        p = sub.add_parser(name, help=helps[kind], description=helps[kind][0].upper() + helps[kind][1:] + ".")
        p.set_defaults(kind=kind, spec=spec)
        _training(p, train, spec)
        if kind == "distilled":
            _distillation(p)
        _common(p)
    r = sub.add_parser(
        "reproduce",
        help="the seed experiment: teacher, student from labels, distilled student, then a table",
        description="Train the seed's three networks with its hyperparameters and print Train/Validation/Test accuracy.",
    )
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--limit", type=int, help="train on the first N training images only (a quick check, not the seed)")
    r.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every stage's epochs (e.g. 0.1 for a smoke test)")
    _common(r)
    ls = sub.add_parser("runs", help="list saved runs", description="List the runs saved in the runs folder.")
    ls.add_argument("--runs-dir", help="runs folder (default: $KDGUI_RUNS_DIR, else the user data folder)")
    cli_bundle.add_parser(sub)
    from . import cli_experiments  # imported late: it reuses this module's option helpers

    cli_experiments.add_parsers(sub)
    from . import cli_ship

    cli_ship.add_parsers(sub)
    return parser


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
        teacher_run = args.teacher
        if teacher_run == "latest":
            latest = store.latest("teacher")
            if latest is None:
                raise KdguiError(f"no finished teacher in {store.root}: run 'kdgui-cli train-teacher' first")
            teacher_run = latest.id
    return C.Job(args.kind, spec, train, distill, dataset=args.dataset, teacher_run=teacher_run, name=args.name,
                 standardize=args.standardize)


class TerminalProgress:
    """One tqdm bar over a run's steps (on a terminal, unless --quiet) and lines that print above it."""

    def __init__(self, args: argparse.Namespace, title: str) -> None:
        self.args, self.title = args, title
        self.bar: tqdm | None = None

    def start(self, total_steps: int, line: str) -> None:
        self.say(line)
        self.bar = tqdm(total=total_steps, desc=self.title, unit="step", disable=self.args.quiet or None, leave=True,
                        dynamic_ncols=True)

    def step(self, event: Progress) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if event.batch % 20 == 0 or event.batch == event.batches_per_epoch:  # the postfix redraw is not free
                self.bar.set_postfix(epoch=f"{event.epoch}/{event.epochs}", loss=f"{event.loss:.4f}", refresh=False)

    def say(self, text: str) -> None:
        _say(self.args, text, self.bar)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_job(job: C.Job, store: RunStore, args: argparse.Namespace, title: str) -> dict[str, Any]:
    """Train one job with a progress bar; return its result as the JSON object the CLI writes."""
    from .core.training import execute

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


def _say(args: argparse.Namespace, text: str, bar: tqdm | None = None) -> None:
    if not args.quiet:
        (bar.write if bar is not None else tqdm.write)(text, file=sys.stderr)


def _write_json(path: str | None, obj: dict[str, Any]) -> None:
    if path:
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(target, obj)
        except OSError as exc:
            raise KdguiError(f"cannot write {target}: {exc.strerror or exc}") from None


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


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # `kill` or a logout: stop like Ctrl-C, so the partial run is saved and marked stopped, not left "running".
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        store = RunStore(args.runs_dir)
        if args.command == "runs":
            for run in store.list():
                acc = run.summary.get("test_acc")
                print(f"{run.id}  {run.status:<8}  {run.name:<24}  {run.job.net.describe():<18}  test {acc:.2%}" if acc is not None
                      else f"{run.id}  {run.status:<8}  {run.name:<24}  {run.job.net.describe()}")
            return 0
        if args.command == "bundle":
            return cli_bundle.run(args, store)
        if args.command in ("export", "report"):
            from . import cli_ship

            return cli_ship.run(args, store)
        if args.command in ("sweep", "study"):
            from . import cli_experiments

            return cli_experiments.run(args, store)
        if args.command == "reproduce":
            results = reproduce(args, store)
            print(format_table(results))
            _write_json(args.json, results)
            return 130 if any(r.get("stopped") for r in results.values()) else 0
        job = _job_from_args(args, store)
        result = run_job(job, store, args, job.label())
        if "test_acc" in result:
            kept = f"weights of epoch {result['epoch']}" + (", best on validation" if job.train.keep_best else "")
            print(f"{job.label()}: train {result['train_acc']:.2%}  validation {result['val_acc']:.2%}  "
                  f"test {result['test_acc']:.2%}  ({kept}; {result['seconds']:.0f} s, run {result['run_id']})")
        _write_json(args.json, result)
        return 0
    except KdguiError as exc:
        print(f"kdgui-cli: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kdgui-cli: stopped; the partial run is kept and marked stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
