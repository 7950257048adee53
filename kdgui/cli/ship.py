"""kdgui-cli export and report: hand the user the small model, and show what distillation bought.

Both take their networks from the lineup (the networks the app shows), with --teacher/--student/--distilled
to name others, and print which runs they used.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..core.config import EXPORT_SUFFIXES
from ..core.errors import DataError, KdguiError
from . import lineup as cli_lineup
from . import options
from .options import ROLES
from .progress import note, write_json

if TYPE_CHECKING:
    from ..core.predict import NamedModel
    from ..core.runs import RunStore

FORMATS = tuple(EXPORT_SUFFIXES)  # from config, not core.export: that imports torch, and --help must stay quick
SOURCES = ("lineup", "bundled")
DRAWN_DIGITS = 200  # as kdgui.core.report.DRAWN_DIGITS: that imports torch, and --help must stay quick
OLD_SOURCES = {"auto": "lineup", "runs": "lineup"}  # report --source before the lineup: both meant "your newest runs"


def _source(text: str) -> str:
    return OLD_SOURCES.get(text, text)


def _digit_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 10_000:
        raise argparse.ArgumentTypeError(f"expected a whole number of test digits from 0 to 10,000, got {text!r}")
    return n


def add_parsers(sub: Any) -> None:
    e = sub.add_parser(
        "export", help="export a trained network to ONNX or TorchScript",
        description="Write a run's network, or the lineup's teacher, student or distilled student, to ONNX or "
                    "TorchScript, then check the file gives the same logits as PyTorch.",
    )
    e.add_argument("model", metavar="RUN|ROLE",
                   help="a run id, or teacher / student / distilled for that network of the lineup ('kdgui-cli lineup')")
    e.add_argument("out", metavar="FILE", help="file to write: .onnx for ONNX, .pt for TorchScript (missing folders are made)")
    e.add_argument("--format", choices=FORMATS, help="onnx or torchscript (default: from the file name)")
    e.add_argument("--no-check", action="store_true", help="skip comparing the file's outputs with PyTorch's")
    options.lineup_roles(e, allow_default=False)
    options.runs_dir(e)
    e.set_defaults(handler=run_export)
    r = sub.add_parser(
        "report", help="compare teacher and students: size, CPU latency, accuracy, fidelity to the teacher",
        description="Parameters, bytes on disk, CPU latency at batch 1 and 256, test and drawn-digit accuracy of the lineup's "
                    "teacher, student from labels and distilled student; each student's agreement with the teacher and "
                    "KL divergence from it; the test digits distillation fixed and broke; one sentence on what it bought.",
    )
    r.add_argument("--source", type=_source, choices=SOURCES, default="lineup",
                   help="lineup: the lineup's networks (default); bundled: the three bundled ones, short for "
                        "--teacher bundled --student bundled --distilled bundled (a role given by its own option wins)")
    r.add_argument("--repeats", type=options.repeat_count, default=50,
                   help=f"timed blocks of forward passes per measurement, 1 to {options.MAX_REPEATS:,}; the fastest tenth is "
                        "reported (default 50)")
    r.add_argument("--drawn", type=_digit_count, default=DRAWN_DIGITS, metavar="N",
                   help=f"MNIST test digits to redraw as canvas strokes, in every pen, size and slant variant, for the "
                        f"drawn-digit accuracy; 0 leaves it out (default {DRAWN_DIGITS}, about 8 s)")
    options.threads(r, "1: the same for every network, so the ratio compares the networks")
    options.lineup_roles(r, allow_default=False)
    g = r.add_argument_group("data and runs")
    options.data_dir(g, "; without MNIST there, test accuracy is left out")
    options.runs_dir(g)
    options.json_path(g, "the report (with each network's run_id)")
    r.set_defaults(handler=run_report)


def load_splits(*args: Any, **kwargs: Any) -> Any:
    """kdgui.core.data.load_splits, imported when a report runs (torch); a name of this module that tests replace."""
    from ..core.data import load_splits as load

    return load(*args, **kwargs)


def model_of_run(store: RunStore, run_id: str) -> NamedModel:
    """A run's network by id (any finished or stopped run with weights, whatever the lineup holds)."""
    from ..core.predict import NamedModel
    from ..core.report import ROLE_TITLES

    run = store.get(run_id)
    if not run.has_weights:
        raise KdguiError(f"run {run_id} has no saved weights")
    return NamedModel(run.job.kind, f"{ROLE_TITLES[run.job.kind]} {run.job.net.describe()} ({run.name})", run.load_model(), run.id)


def _load(lineup: Any, store: RunStore) -> list[NamedModel]:
    from ..core.lineup import load_models

    models, problems = load_models(lineup, store)
    for problem in problems:
        note(problem)
    return models


def run_export(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.export import export_model, format_for, max_abs_difference
    from .paths import make_parent, output_file

    out = output_file(args.out, "the export file")  # before loading anything: a bad target is refused at once
    assert out is not None
    format_for(out, args.format)  # an unknown suffix too
    given = cli_lineup.overrides(args)
    if args.model in ROLES:
        from ..core.lineup import Lineup

        member = cli_lineup.current(store, given)[args.model]
        if member.bundled:
            found = _load(Lineup((member,)), store)
            if not found:
                raise KdguiError(f"the bundled {args.model} could not be loaded")
            chosen = found[0]
        else:
            chosen = model_of_run(store, member.run_id)  # a run that will not load is an error here, not a swap
        print(f"using {member.describe()}")
    else:
        if given:
            raise KdguiError(f"--{' --'.join(given)} choose a role's network; with a run id ({args.model}) there is none to choose")
        chosen = model_of_run(store, args.model)
        print(f"using {chosen.label}, run {chosen.source}")
    make_parent(out)
    path = export_model(chosen.model, out, args.format)
    print(f"wrote {path} ({path.stat().st_size:,} bytes) from {chosen.label}")
    if not args.no_check:
        diff = max_abs_difference(chosen.model, path, args.format)
        print(f"largest |PyTorch - exported| logit difference: {diff:.2e}")
        if diff >= 1e-4:
            raise KdguiError(f"the exported model differs from PyTorch by {diff:.2e} (more than 1e-4)")
    return 0


def run_report(args: argparse.Namespace, store: RunStore) -> int:
    from ..core.report import format_report, measure_lineup, report_drawn_sets, report_dict

    given = cli_lineup.overrides(args)
    if args.source == "bundled":
        from ..core.lineup import BUNDLED

        given = {role: given.get(role, BUNDLED) for role in ROLES}
    lineup = cli_lineup.current(store, given)
    models = _load(lineup, store)
    try:
        data = load_splits("mnist", args.data_dir)
    except DataError as exc:
        data = None
        note(f"no test set ({exc}); test accuracy is left out")
    test_set = (data.test_x, data.test_y) if data is not None else None
    drawn = report_drawn_sets(data.test_x, data.test_y, args.drawn) if data is not None else None
    rows, changed = measure_lineup(models, test_set, args.repeats, drawn)
    print(format_report(rows, changed))
    print()
    print("Networks:")
    for m in models:
        member = lineup[m.key]
        used = member.describe() if m.source == member.source else f"{m.label}: instead of run {member.run_id}, which did not load"
        print(f"  {used}")
    report = report_dict(rows, changed)
    for m in models:
        report["models"][m.key]["run_id"] = m.source
    write_json(args.json, report)
    return 0
