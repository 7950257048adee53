"""Saved sweep and study results: one JSON file per experiment beside the run folders, written atomically."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from .errors import RunError
from .runs import RUN_ID_SHAPE, RunStore, Unreadable, is_run_id
from .files import atomic_write_json, read_json_file, shown, text_problem

EXPERIMENT_SCHEMA = "kdgui.experiment/1"
EXPERIMENT_STATUSES = ("running", "finished", "stopped", "failed")
EXPERIMENT_KINDS = ("sweep", "study")
MAX_EXPERIMENT_BYTES = 16 << 20  # a sweep keeps every evaluation of every student


def new_experiment_id(kind: str) -> str:
    """A sortable id like ``20261128-131500-sweep-3fa2`` (same shape as run ids)."""
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{kind}-{secrets.token_hex(2)}"


def experiment_path(store: RunStore, experiment_id: str) -> Path:
    # A file, not a folder, at the runs root: RunStore.scan skips plain files, so run listings stay clean.
    return store.root / f"{experiment_id}.json"


def save_experiment(store: RunStore, record: dict[str, Any]) -> Path:
    """Atomically (re)write an experiment record; it needs ``id``, ``kind`` and ``status``."""
    assert record.get("status") in EXPERIMENT_STATUSES, record.get("status")
    try:
        store.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the runs folder {store.root}: {exc.strerror or exc}") from None
    path = experiment_path(store, record["id"])
    atomic_write_json(path, {"schema": EXPERIMENT_SCHEMA, **record})
    return path


def new_record(kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A fresh record in status running; callers fill in results and call save_experiment."""
    now = dt.datetime.now()
    return {
        "id": new_experiment_id(kind),
        "kind": kind,
        "name": name,
        "created": now.isoformat(timespec="seconds"),
        "status": "running",
        "config": config,
    }


def finish_record(record: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    record.update(fields, status=status, ended=dt.datetime.now().isoformat(timespec="seconds"))
    return record


def _is_number(value: Any) -> bool:
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)


def _is_text(value: Any, limit: int) -> bool:
    return text_problem(value, limit) is None


def record_problem(record: Any) -> str | None:
    """What is wrong with an experiment record (None: nothing), as the end of a sentence.

    The fields the views read are checked for their types: id, kind, status, name, times, the config's
    student, temperatures, loss and epochs, a sweep's table and a study's result.
    """
    if not isinstance(record, dict) or record.get("schema") != EXPERIMENT_SCHEMA:
        return f"is not a kdgui experiment file (expected schema {EXPERIMENT_SCHEMA})"
    if not is_run_id(record.get("id")):
        return "has no valid id"
    if record.get("kind") not in EXPERIMENT_KINDS or record.get("status") not in EXPERIMENT_STATUSES:
        return "has no valid kind or status"
    for key, limit in (("name", 200), ("created", 64), ("ended", 64), ("study", 64), ("title", 500),
                       ("description", 500), ("teacher_run", 128), ("device", 64), ("dataset", 64)):
        if record.get(key) is not None and not _is_text(record[key], limit):
            return f"has a {key} that is not text"
    for key in ("created", "ended"):
        if record.get(key) is not None:
            try:
                dt.datetime.fromisoformat(record[key])
            except ValueError:
                return f"has a {key} time that is not a timestamp"
    config = record.get("config")
    if config is not None:
        if not isinstance(config, dict):
            return "has a config that is not a JSON object"
        student = config.get("student")
        if student is not None and not (isinstance(student, dict) and isinstance(student.get("hidden", []), list)
                                        and all(isinstance(h, int) and not isinstance(h, bool) for h in student.get("hidden", []))):
            return "has a config student that is not a network"
        temps = config.get("temperatures")
        if temps is not None and not (isinstance(temps, list) and all(_is_number(t) for t in temps)):
            return "has config temperatures that are not numbers"
        for key in ("temperature", "epochs"):
            if config.get(key) is not None and not _is_number(config[key]):
                return f"has a config {key} that is not a number"
        if config.get("loss") is not None and not _is_text(config["loss"], 64):
            return "has a config loss that is not text"
    table = record.get("table")
    if table is not None:
        if not isinstance(table, list) or not all(isinstance(row, dict) for row in table):
            return "has a table that is not a list of rows"
        for row in table:
            if not _is_number(row.get("temperature")) or not all(
                row.get(k) is None or _is_number(row[k]) for k in ("val_mean", "test_mean", "val_std", "test_std")
            ):
                return "has a table row whose temperature or accuracies are not numbers"
    result = record.get("result")
    if result is not None:
        if not isinstance(result, dict):
            return "has a result that is not a JSON object"
        if not all(result.get(k) is None or _is_number(result[k]) for k in ("val_acc", "test_acc")):
            return "has a result whose accuracies are not numbers"
    return None


def load_experiment(path: Path) -> dict[str, Any]:
    """Read one experiment file; anything unreadable, foreign or malformed is a RunError naming the file.

    Read as defensively as a run.json: no symbolic links, a size limit, strict UTF-8, a nesting limit.
    """
    record = read_json_file(path, f"{shown(path)} is missing", max_bytes=MAX_EXPERIMENT_BYTES)
    problem = record_problem(record)
    if problem:
        raise RunError(f"{shown(path)} {problem}")
    return record


class ExperimentScan(NamedTuple):
    """Readable experiment records (oldest first) and the experiment files that are not readable."""

    records: list[dict[str, Any]]
    unreadable: list[Unreadable]


def scan_experiments(store: RunStore, kind: str | None = None) -> ExperimentScan:
    """Every experiment record under the runs folder; other JSON files (the lineup's) are skipped silently, and
    a file named like an experiment that does not read is reported. Never raises for a bad file."""
    records: list[dict[str, Any]] = []
    unreadable: list[Unreadable] = []
    try:
        names = sorted(os.listdir(store.root))
    except OSError:
        return ExperimentScan(records, unreadable)
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = store.root / name
        try:
            record = load_experiment(path)
        except RunError as exc:
            if RUN_ID_SHAPE.match(name[: -len(".json")]):
                unreadable.append(Unreadable(shown(name), path, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
            unreadable.append(Unreadable(shown(name), path, f"{shown(path)} could not be read ({type(exc).__name__})"))
            continue
        if kind is None or record.get("kind") == kind:
            records.append(record)
    records.sort(key=lambda r: (r.get("created") or "", r["id"]))
    return ExperimentScan(records, unreadable)


def list_experiments(store: RunStore, kind: str | None = None) -> list[dict[str, Any]]:
    """Readable experiment records under the runs folder, oldest first; other and unreadable files are skipped."""
    return scan_experiments(store, kind).records
