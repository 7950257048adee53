"""Pretrained teacher, student and distilled student shipped in kdgui.resources (float16), and the writer that makes them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from .config import KIND_TITLES, KINDS, NetSpec, _build
from .data import Splits, load_splits
from .errors import ConfigError, KdguiError, RunError
from .models import MLP, build_model, parameter_count
from .runs import RunStore
from .files import atomic_write_bytes, atomic_write_json, check_write_target, read_json_file, shown
from .weights import load_weights_into, state_from_bytes, state_to_bytes

BUNDLE_SCHEMA = "kdgui.bundle/1"
BUNDLE_JSON = "bundled.json"
WEIGHT_FILES = {kind: f"bundled_{kind}.safetensors" for kind in KINDS}
MAX_BUNDLE_FILE = 1 << 30
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
    # Links are followed here: packagers may install package data as links; the weights are checksummed anyway.
    info = read_json_file(path, f"{path} is missing: kdgui was installed without its bundled models", follow_links=True)
    if not isinstance(info, dict) or info.get("schema") != BUNDLE_SCHEMA or not isinstance(info.get("models"), dict):
        raise RunError(f"{path} is not a kdgui bundle description (expected schema {BUNDLE_SCHEMA})")
    for kind in KINDS:
        entry = info["models"].get(kind)
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("file", "sha256")):
            raise RunError(f"{path} has no valid entry for the {kind}")
        # Only a plain file name beside bundled.json: the JSON must not point the loader anywhere else.
        if Path(entry["file"]).name != entry["file"] or entry["file"].startswith(".") or "\\" in entry["file"]:
            raise RunError(f"{path}: the {kind}'s file {shown(repr(entry['file']), 80)} is not a file name")
        if not _is_number(entry.get("bundle_test_acc")):
            raise RunError(f"{path}: the {kind} has no measured test accuracy (bundle_test_acc)")
        for key in NUMBER_FIELDS:
            if entry.get(key) is not None and not _is_number(entry[key]):
                raise RunError(f"{path}: the {kind}'s {key} is not a number")
        if entry.get("run_id") is not None and not isinstance(entry["run_id"], str):
            raise RunError(f"{path}: the {kind}'s run_id is not text")
    return info


NUMBER_FIELDS = ("bundle_test_acc", "bundle_val_acc", "train_acc", "val_acc", "test_acc", "seconds", "epoch", "bytes", "parameters")


def _is_number(value: Any) -> bool:
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)


def _net_of(entry: dict[str, Any], source: Any) -> NetSpec:
    try:
        return _build(NetSpec, entry.get("net"))
    except (ConfigError, TypeError) as exc:
        raise RunError(f"{source}: invalid network: {shown(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. OverflowError from a 400-digit number
        raise RunError(f"{source}: invalid network ({type(exc).__name__})") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bundle_file(path: Path, kind: str) -> bytes:
    """A bundled weights file's bytes: a regular file (links are followed: packagers install data as links)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise RunError(f"{shown(path)} is not a file")
        if st.st_size > MAX_BUNDLE_FILE:
            raise RunError(f"{shown(path)} is too large for a bundled network ({st.st_size:,} bytes)")
        return path.read_bytes()
    except FileNotFoundError:
        raise RunError(f"{shown(path)} is missing: kdgui was installed without its bundled {kind}") from None
    except OSError as exc:
        raise RunError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None


def load_bundled_model(kind: str, folder: Any = None, info: dict[str, Any] | None = None) -> BundledModel:
    """One bundled network as a float32 MLP in eval mode; a missing, altered or corrupt file is a RunError."""
    if kind not in KINDS:
        raise RunError(f"no bundled model of kind {kind!r}: choose one of {', '.join(KINDS)}")
    info = read_bundle_info(folder) if info is None else info
    entry = info["models"][kind]
    base = resource_folder() if folder is None else Path(folder)
    # as_file gives a real path even when kdgui runs from a zip. safetensors holds tensors only: no code runs.
    with importlib.resources.as_file(base / entry["file"]) as path:
        data = _read_bundle_file(Path(path), kind)
        # The checksum catches a truncated or swapped file before it is parsed (and names the problem).
        if _sha256(data) != entry["sha256"]:
            raise RunError(f"{path} does not match {BUNDLE_JSON} (checksum differs): the file is corrupt or from another bundle")
        # Bundles written before safetensors hold .pt files: read with weights_only=True on torch >= 2.6 only.
        state = state_from_bytes(data, Path(path), legacy=not entry["file"].endswith(".safetensors"))
    model = build_model(_net_of(entry, base / BUNDLE_JSON))  # an MLP, or a CNN teacher
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
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KdguiError(f"cannot create {shown(folder.parent)}: {exc.strerror or exc}") from None
    exists = os.path.lexists(folder)
    if exists and not folder.is_dir():
        raise KdguiError(f"cannot write a bundle into {shown(folder)}: it is not a folder")
    names = [*WEIGHT_FILES.values(), BUNDLE_JSON]  # bundled.json last: it names the checksums of the others
    for name in names:
        check_write_target(folder / name)  # only regular files are ever replaced
    # Everything is written and checked in a staging folder first; the old bundle stays intact until then.
    try:
        staging = Path(tempfile.mkdtemp(prefix=".bundle-" if exists else f".{folder.name[:40]}.", suffix=".tmp",
                                        dir=folder if exists else folder.parent))
    except OSError as exc:
        raise KdguiError(f"cannot write a bundle into {shown(folder)}: {exc.strerror or exc}") from None
    try:
        models: dict[str, Any] = {}
        for kind, run in runs.items():
            path = staging / WEIGHT_FILES[kind]
            atomic_write_bytes(path, state_to_bytes(_half(run.load_state())))
            written = path.read_bytes()
            # Measure what is shipped: the float16 file read back the way the app reads it, not the float32 run.
            shipped = load_weights_into(build_model(run.job.net), state_from_bytes(written, path), path).eval()
            _, val_acc = evaluate(shipped, data.val_x, data.val_y)
            _, test_acc = evaluate(shipped, data.test_x, data.test_y)
            summary = run.summary
            models[kind] = {
                "kind": kind,
                "file": path.name,
                "bytes": len(written),
                "sha256": _sha256(written),
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
        atomic_write_json(staging / BUNDLE_JSON, info)
        load_bundled(staging)  # the staged bundle loads as the app will load it: description, checksums, networks
        if exists:
            _swap_files(staging, folder, names)
        else:
            try:
                os.rename(staging, folder)  # a new folder appears whole
            except OSError as exc:
                raise KdguiError(f"cannot write a bundle into {shown(folder)}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def _swap_files(staging: Path, folder: Path, names: list[str]) -> None:
    """Move the staged files over the old ones, in order; if a move fails, put back the ones already moved."""
    backups = staging / ".old"
    try:
        backups.mkdir()
        for name in names:
            if os.path.lexists(folder / name):
                try:
                    os.link(folder / name, backups / name)
                except OSError:
                    shutil.copy2(folder / name, backups / name)
    except OSError as exc:
        raise KdguiError(f"cannot write a bundle into {shown(folder)}: {exc.strerror or exc}") from None
    moved: list[str] = []
    try:
        for name in names:
            check_write_target(folder / name)
            os.replace(staging / name, folder / name)
            moved.append(name)
    except BaseException as exc:
        for name in reversed(moved):
            try:
                if os.path.lexists(backups / name):
                    os.replace(backups / name, folder / name)
                else:
                    os.unlink(folder / name)
            except OSError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, KdguiError):
            raise KdguiError(f"cannot write a bundle into {shown(folder)}: {exc.strerror or exc}") from None
        raise
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def run_ids_from_json(path: str | Path) -> dict[str, str]:
    """Run ids per kind from the JSON that ``kdgui-cli reproduce --json`` writes; for a recipe trained with several
    seeds (``--recipe best``), the first seed's run, so the bundle never picks the luckiest seed."""
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KdguiError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KdguiError(f"{path} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(results, dict):
        raise KdguiError(f"{path} is not the JSON of 'kdgui-cli reproduce --json'")
    def run_id(entry: dict[str, Any]) -> Any:
        seeds = entry.get("seeds")
        if "run_id" not in entry and isinstance(seeds, list) and seeds and isinstance(seeds[0], dict):
            return seeds[0].get("run_id")
        return entry.get("run_id")

    ids = {k: run_id(v) for k, v in results.items() if k in KINDS and isinstance(v, dict)}
    return {k: v for k, v in ids.items() if isinstance(v, str)}

