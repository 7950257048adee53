"""Pretrained teacher, student and distilled student shipped in kdgui.resources (float16), and the writer that makes them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from .config import KIND_TITLES, KINDS, NetSpec, _build
from .data import Splits, load_splits
from .errors import ConfigError, KdguiError, RunError
from .models import MLP, parameter_count
from .runs import (
    WEIGHTS_FILE, RunStore, atomic_write_json, load_state_dict, load_weights_into, read_json_file, save_state_dict,
)

BUNDLE_SCHEMA = "kdgui.bundle/1"
BUNDLE_JSON = "bundled.json"
WEIGHT_FILES = {kind: f"bundled_{kind}.pt" for kind in KINDS}
RESOURCE_PACKAGE = "kdgui.resources"


@dataclass(frozen=True)
class BundledModel:
    """One bundled network, float32 in eval mode, with its bundled.json entry (job, accuracies, file)."""

    kind: str
    model: MLP
    info: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{KIND_TITLES[self.kind]} {self.model.spec.describe()} (bundled)"

    @property
    def test_acc(self) -> float:
        """Test accuracy of the float16 weights as shipped (a fraction), measured when the bundle was written."""
        return float(self.info["bundle_test_acc"])


def resource_folder() -> Any:
    """Where the bundle lives: the installed kdgui.resources package (a Path or an importlib Traversable)."""
    return importlib.resources.files(RESOURCE_PACKAGE)


def read_bundle_info(folder: Any = None) -> dict[str, Any]:
    """The validated bundled.json of ``folder`` (default: kdgui.resources); any problem is a RunError."""
    path = (resource_folder() if folder is None else Path(folder)) / BUNDLE_JSON
    info = read_json_file(path, f"{path} is missing: kdgui was installed without its bundled models")
    if not isinstance(info, dict) or info.get("schema") != BUNDLE_SCHEMA or not isinstance(info.get("models"), dict):
        raise RunError(f"{path} is not a kdgui bundle description (expected schema {BUNDLE_SCHEMA})")
    for kind in KINDS:
        entry = info["models"].get(kind)
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("file", "sha256")):
            raise RunError(f"{path} has no valid entry for the {kind}")
        # Only a plain file name beside bundled.json: the JSON must not point the loader anywhere else.
        if Path(entry["file"]).name != entry["file"] or entry["file"].startswith("."):
            raise RunError(f"{path}: the {kind}'s file {entry['file']!r} is not a file name")
    return info


def _net_of(entry: dict[str, Any], source: Any) -> NetSpec:
    try:
        return _build(NetSpec, entry.get("net"))
    except (ConfigError, TypeError) as exc:
        raise RunError(f"{source}: invalid network: {exc}") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_bundled_model(kind: str, folder: Any = None, info: dict[str, Any] | None = None) -> BundledModel:
    """One bundled network as a float32 MLP in eval mode; a missing, altered or corrupt file is a RunError."""
    if kind not in KINDS:
        raise RunError(f"no bundled model of kind {kind!r}: choose one of {', '.join(KINDS)}")
    info = read_bundle_info(folder) if info is None else info
    entry = info["models"][kind]
    base = resource_folder() if folder is None else Path(folder)
    # as_file gives a real path even when kdgui runs from a zip; torch.load reads it with weights_only=True.
    with importlib.resources.as_file(base / entry["file"]) as path:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise RunError(f"{path} is missing: kdgui was installed without its bundled {kind}") from None
        except OSError as exc:
            raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
        # The checksum catches a truncated or swapped file before unpickling it (and names the problem).
        if _sha256(data) != entry["sha256"]:
            raise RunError(f"{path} does not match {BUNDLE_JSON} (checksum differs): the file is corrupt or from another bundle")
        state = load_state_dict(Path(path))
    model = MLP(_net_of(entry, base / BUNDLE_JSON))
    load_weights_into(model, state, path)  # float16 on disk -> float32 parameters
    return BundledModel(kind, model.eval(), entry)


def load_bundled(folder: Any = None) -> dict[str, BundledModel]:
    """The bundled teacher, student and distilled student, keyed by kind, ready to predict (eval mode, float32)."""
    info = read_bundle_info(folder)
    return {kind: load_bundled_model(kind, folder, info) for kind in KINDS}


def _half(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # float16 halves the files; MNIST-sized MLP weights lose well under 0.1 pp of accuracy to it (re-measured below).
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}


def write_bundle(
    store: RunStore,
    run_ids: Mapping[str, str],
    out: str | Path,
    *,
    data: Splits | None = None,
    data_dir: str | None = None,
    command: str = "",
    training_command: str = "",
) -> dict[str, Any]:
    """Write the three runs' weights as float16 plus bundled.json (accuracies re-measured in that form) into ``out``.

    The runs must be finished, of the kind their slot names, on one dataset, unstandardised (the canvas feeds
    raw [0,1] pixels), and the distilled student must have been distilled from the bundled teacher.
    """
    missing = [k for k in KINDS if not run_ids.get(k)]
    if missing:
        raise KdguiError(f"a bundle needs a run for each of {', '.join(KINDS)}; missing: {', '.join(missing)}")
    runs = {k: store.get(run_ids[k]) for k in KINDS}
    for kind, run in runs.items():
        if run.job.kind != kind:
            raise KdguiError(f"run {run.id} is a {run.job.kind}, not a {kind}")
        if run.status != "finished" or not run.has_weights:
            raise KdguiError(f"run {run.id} is {run.status}{'' if run.has_weights else ' and has no weights'}: bundle finished runs only")
        if run.job.standardize:
            raise KdguiError(f"run {run.id} was trained on standardised pixels; drawn digits are raw [0,1] pixels")
    datasets = {run.job.dataset for run in runs.values()}
    if len(datasets) != 1:
        raise KdguiError(f"the three runs were trained on different datasets ({', '.join(sorted(datasets))})")
    if runs["distilled"].job.teacher_run != runs["teacher"].id:
        raise KdguiError(
            f"distilled run {runs['distilled'].id} learnt from teacher {runs['distilled'].job.teacher_run}, "
            f"not from {runs['teacher'].id}"
        )
    from .training import evaluate  # training imports more than loading a bundle needs

    dataset = datasets.pop()
    data = data if data is not None else load_splits(dataset, data_dir)
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KdguiError(f"cannot create {folder}: {exc.strerror or exc}") from None
    models: dict[str, Any] = {}
    for kind, run in runs.items():
        path = folder / WEIGHT_FILES[kind]
        save_state_dict(_half(load_state_dict(run.path / WEIGHTS_FILE)), path)
        # Measure what is shipped: the float16 file read back the way the app reads it, not the float32 run.
        shipped = load_weights_into(MLP(run.job.net), load_state_dict(path), path).eval()
        _, val_acc = evaluate(shipped, data.val_x, data.val_y)
        _, test_acc = evaluate(shipped, data.test_x, data.test_y)
        summary = run.summary
        models[kind] = {
            "kind": kind,
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": _sha256(path.read_bytes()),
            "dtype": "float16",
            "parameters": parameter_count(run.job.net),
            "net": dataclasses.asdict(run.job.net),
            "job": run.job.to_dict(),
            "run_id": run.id,
            # As the run itself reported them at its end, in float32 (fractions).
            "train_acc": summary.get("train_acc"),
            "val_acc": summary.get("val_acc"),
            "test_acc": summary.get("test_acc"),
            "seconds": summary.get("seconds"),
            "epoch": summary.get("epoch"),  # the epoch whose weights the run kept (the best on validation with keep_best)
            "device": summary.get("device"),
            # The shipped float16 weights, re-measured.
            "bundle_val_acc": val_acc,
            "bundle_test_acc": test_acc,
        }
    info = {
        "schema": BUNDLE_SCHEMA,
        "dataset": dataset,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "training_command": training_command,
        "command": command,
        "models": models,
    }
    info = json.loads(json.dumps(info))  # tuples become lists: what is returned is what a reader will get
    atomic_write_json(folder / BUNDLE_JSON, info)  # last: it names the checksums of the files written above
    return info


def run_ids_from_json(path: str | Path) -> dict[str, str]:
    """Run ids per kind from the JSON that ``kdgui-cli reproduce --json`` writes."""
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KdguiError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KdguiError(f"{path} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(results, dict):
        raise KdguiError(f"{path} is not the JSON of 'kdgui-cli reproduce --json'")
    ids = {k: v.get("run_id") for k, v in results.items() if k in KINDS and isinstance(v, dict)}
    return {k: v for k, v in ids.items() if isinstance(v, str)}

