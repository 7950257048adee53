"""kdgui-cli bundle: write three finished runs as the float16 weights and bundled.json shipped in resources/."""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING, Any

from ..core.config import KINDS
from ..core.errors import KdguiError
from . import options

if TYPE_CHECKING:
    from ..core.runs import RunStore


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "bundle",
        help="write a teacher, a student and a distilled student as the app's bundled float16 models",
        description=(
            "Copy three finished runs as float16 weights plus bundled.json (each model's job, its accuracies as "
            "trained, and the test accuracy of the float16 weights re-measured) into a folder, e.g. resources/."
        ),
    )
    p.add_argument("--teacher", metavar="RUN", help="teacher run id")
    p.add_argument("--student", metavar="RUN", help="student-from-labels run id")
    p.add_argument("--distilled", metavar="RUN", help="distilled run id (distilled from --teacher)")
    p.add_argument("--from-json", metavar="PATH", help="take the run ids from 'kdgui-cli reproduce --json PATH' (the options above override)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into (the repository's resources/ to ship them)")
    p.add_argument("--training-command", default="", metavar="TEXT", help="the command that trained the runs, recorded in bundled.json")
    options.data_dir(p)
    options.runs_dir(p)
    p.set_defaults(handler=run)


def _command(args: argparse.Namespace) -> str:
    """The bundle command as given, rebuilt from its options (recorded in bundled.json)."""
    words = ["kdgui-cli", "bundle"]
    for option in ("from_json", "teacher", "student", "distilled", "out", "data_dir", "runs_dir"):
        value = getattr(args, option)
        if value:
            words += [f"--{option.replace('_', '-')}", value]
    return shlex.join(words)


def run(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.bundled import run_ids_from_json, write_bundle

    ids = run_ids_from_json(args.from_json) if args.from_json else {}
    ids.update({k: getattr(args, k) for k in KINDS if getattr(args, k)})
    missing = [k for k in KINDS if k not in ids]
    if missing:
        raise KdguiError(f"give --{' --'.join(missing)} (run ids) or --from-json with a 'kdgui-cli reproduce --json' file")
    info = write_bundle(store, ids, args.out, data_dir=args.data_dir, command=_command(args), training_command=args.training_command)
    print(f"{'Model':<10}  {'Run':<32}  {'Test (run)':>10}  {'Test (float16)':>14}  {'Bytes':>9}")
    for kind in KINDS:
        m = info["models"][kind]
        run_acc = f"{m['test_acc']:.2%}" if m["test_acc"] is not None else "-"
        print(f"{kind:<10}  {m['run_id']:<32}  {run_acc:>10}  {m['bundle_test_acc']:>14.2%}  {m['bytes']:>9}")
    return 0
