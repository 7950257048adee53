"""Saved sweep and study results: one JSON file per experiment beside the run folders, written atomically."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from .errors import RunError
from .runs import RunStore, atomic_write_json, read_json_file

EXPERIMENT_SCHEMA = "kdgui.experiment/1"
EXPERIMENT_STATUSES = ("running", "finished", "stopped", "failed")


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


def load_experiment(path: Path) -> dict[str, Any]:
    """Read one experiment file; anything unreadable or foreign is a RunError naming the file."""
    record = read_json_file(path, f"{path} is missing")
    if not isinstance(record, dict) or record.get("schema") != EXPERIMENT_SCHEMA:
        raise RunError(f"{path} is not a kdgui experiment file (expected schema {EXPERIMENT_SCHEMA})")
    return record


def list_experiments(store: RunStore, kind: str | None = None) -> list[dict[str, Any]]:
    """Readable experiment records under the runs folder, oldest first; other JSON files are skipped."""
    if not store.root.is_dir():
        return []
    records = []
    for path in sorted(store.root.glob("*.json")):
        try:
            record = load_experiment(path)
        except RunError:
            continue
        if kind is None or record.get("kind") == kind:
            records.append(record)
    records.sort(key=lambda r: (r.get("created", ""), r.get("id", "")))
    return records
