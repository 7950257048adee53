"""kdgui-cli export and report: hand the user the small model, and show what distillation bought."""

from __future__ import annotations

import argparse
from typing import Any

from .core.data import load_splits
from .core.errors import DataError, KdguiError
from .core.export import FORMATS, export_model, max_abs_difference
from .core.predict import SOURCES, NamedModel, bundled_models, choose_models
from .core.report import ROLE_TITLES, format_report, measure, network_label, report_dict, test_accuracy
from .core.runs import RunStore, atomic_write_json

ROLES = tuple(ROLE_TITLES)


def add_parsers(sub: Any) -> None:
    e = sub.add_parser(
        "export", help="export a trained network to ONNX or TorchScript",
        description="Write a run's network (or the newest teacher/student/distilled) to ONNX or TorchScript, "
                    "then check the file gives the same logits as PyTorch.",
    )
    e.add_argument("model", help="a run id, or teacher / student / distilled for your newest such run (bundled if none)")
    e.add_argument("out", help="file to write: .onnx for ONNX, .pt for TorchScript")
    e.add_argument("--format", choices=tuple(FORMATS), help="onnx or torchscript (default: from the file name)")
    e.add_argument("--no-check", action="store_true", help="skip comparing the file's outputs with PyTorch's")
    e.add_argument("--runs-dir", help="runs folder (default: $KDGUI_RUNS_DIR, else the user data folder)")
    r = sub.add_parser(
        "report", help="compare teacher and students: size, CPU latency, test accuracy",
        description="Parameters, bytes on disk, CPU latency at batch 1 and 256, and test accuracy of the teacher, "
                    "the student from labels and the distilled student, with one sentence on what distillation bought.",
    )
    r.add_argument("--source", choices=SOURCES, default="auto",
                   help="auto: your newest runs (bundled models where a kind has none); runs; or bundled (default auto)")
    r.add_argument("--repeats", type=int, default=30, help="timed forward passes per measurement (default 30)")
    r.add_argument("--data-dir", help="folder holding MNIST/raw (default: $KDGUI_DATA_DIR); without it, stored accuracies are shown")
    r.add_argument("--runs-dir", help="runs folder (default: $KDGUI_RUNS_DIR, else the user data folder)")
    r.add_argument("--json", metavar="PATH", help="also write the report to this JSON file")


def pick_model(store: RunStore, name: str) -> NamedModel:
    """A run id, or a role: the user's newest finished run of that kind, else the bundled one."""
    if name in ROLES:
        for model in choose_models(store, "auto"):
            if model.key == name:
                return model
        return next(m for m in bundled_models() if m.key == name)
    run = store.get(name)
    if not run.has_weights:
        raise KdguiError(f"run {name} has no saved weights")
    return NamedModel(run.job.kind, f"{ROLE_TITLES[run.job.kind]} {run.job.net.describe()} ({run.name})", run.load_model(), run.id)


def run_export(args: argparse.Namespace, store: RunStore) -> int:
    chosen = pick_model(store, args.model)
    path = export_model(chosen.model, args.out, args.format)
    print(f"wrote {path} ({path.stat().st_size:,} bytes) from {chosen.label}")
    if not args.no_check:
        diff = max_abs_difference(chosen.model, path, args.format)
        print(f"largest |PyTorch - exported| logit difference: {diff:.2e}")
        if diff >= 1e-4:
            raise KdguiError(f"the exported model differs from PyTorch by {diff:.2e} (more than 1e-4)")
    return 0


def run_report(args: argparse.Namespace, store: RunStore) -> int:
    if args.repeats < 1:
        raise KdguiError("--repeats must be at least 1")
    models = choose_models(store, args.source)
    try:
        data = load_splits("mnist", args.data_dir)
    except DataError as exc:
        data = None
        print(f"note: no test set ({exc}); test accuracy is left out")
    rows = {}
    for m in models:
        acc = test_accuracy(m.model, data.test_x, data.test_y) if data is not None else None
        rows[m.key] = measure(m.key, network_label(m.key, m.model, m.label), m.model, acc, args.repeats)
    print(format_report(rows))
    if args.json:
        atomic_write_json(args.json, report_dict(rows))
    return 0


def run(args: argparse.Namespace, store: RunStore) -> int:
    return run_export(args, store) if args.command == "export" else run_report(args, store)
