"""Runs on disk: one folder per run with its job, status, metrics and weights, written atomically."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import platformdirs
import torch

from .config import Job
from .errors import ConfigError, KdguiError, RunError
from .models import MLP

RUNS_DIR_ENV = "KDGUI_RUNS_DIR"
SCHEMA = "kdgui.run/1"
META_FILE, METRICS_FILE, WEIGHTS_FILE = "run.json", "metrics.jsonl", "weights.pt"
STATUSES = ("running", "finished", "stopped", "failed")


def default_runs_dir() -> Path:
    return platformdirs.user_data_path("kdgui", appauthor=False) / "runs"


def resolve_runs_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--runs-dir beats KDGUI_RUNS_DIR beats the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ[RUNS_DIR_ENV]).expanduser() if os.environ.get(RUNS_DIR_ENV) else default_runs_dir()


def make_readable(path: Path) -> None:
    """Give a temporary file the permissions a normal new file would get (mkstemp makes it owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    Path(path).chmod(0o666 & ~umask)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        make_readable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_state_dict(state: dict[str, torch.Tensor], path: Path) -> None:
    """Atomically save a state_dict (tensors moved to the CPU so any machine can load it)."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_json_file(path: Path, missing: str) -> Any:
    """Parse a JSON file kdgui wrote; a missing file raises RunError(``missing``), an unreadable one says it is corrupt."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(missing) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is corrupt ({type(exc).__name__})") from None


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load weights with ``weights_only=True`` (no arbitrary code); anything else becomes a RunError."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunError(f"{path} is missing: the run has no saved weights") from None
    except Exception as exc:  # noqa: BLE001 - unpickling and zip errors have many types
        raise RunError(f"{path} is not a readable weights file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise RunError(f"{path} does not hold a state_dict of tensors")
    return state


def load_weights_into(model: MLP, state: dict[str, torch.Tensor], source: Path | str) -> MLP:
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError:
        raise RunError(f"{source} does not match the network {model.spec.describe()}") from None
    return model


class Run:
    """A run folder: ``run.json`` (job, status, summary), ``metrics.jsonl`` (appended), ``weights.pt``."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta
        self._job: Job | None = None

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def job(self) -> Job:
        if self._job is None:
            self._job = Job.from_dict(self.meta.get("job"))
        return self._job

    @property
    def status(self) -> str:
        return self.meta["status"]

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.job.label()

    @property
    def summary(self) -> dict[str, Any]:
        return self.meta.get("summary", {})

    def _write_meta(self) -> None:
        atomic_write_json(self.path / META_FILE, self.meta)

    def set_status(self, status: str, **summary: Any) -> None:
        assert status in STATUSES, status
        self.meta["status"] = status
        self.meta["summary"] = {**self.summary, **summary}
        if status != "running":
            self.meta["ended"] = dt.datetime.now().isoformat(timespec="seconds")
        self._write_meta()

    def rename(self, name: str) -> None:
        name = name.strip()
        if len(name) > 200:
            raise ConfigError("a run name is at most 200 characters")
        self.meta["name"] = name
        self._write_meta()

    def append_metrics(self, records: Iterable[dict[str, Any]]) -> None:
        # Appending whole lines keeps earlier lines intact even if the app dies mid-write.
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        if text:
            with open(self.path / METRICS_FILE, "a", encoding="utf-8") as f:
                f.write(text)

    def metrics(self) -> list[dict[str, Any]]:
        """Every complete metrics line; a torn last line (the app died while writing) is skipped."""
        try:
            lines = (self.path / METRICS_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def save_weights(self, state: dict[str, torch.Tensor]) -> None:
        save_state_dict(state, self.path / WEIGHTS_FILE)

    @property
    def has_weights(self) -> bool:
        return (self.path / WEIGHTS_FILE).is_file()

    def load_model(self, device: torch.device | str = "cpu") -> MLP:
        """The trained network, in eval mode, on ``device``."""
        model = MLP(self.job.net)
        load_weights_into(model, load_state_dict(self.path / WEIGHTS_FILE), self.path / WEIGHTS_FILE)
        return model.to(device).eval()

    @classmethod
    def open(cls, path: Path) -> Run:
        """Read a run folder; a missing, corrupt or foreign ``run.json`` gives a RunError naming it."""
        meta_path = Path(path) / META_FILE
        meta = read_json_file(meta_path, f"{path} is not a kdgui run: it has no {META_FILE}")
        if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
            raise RunError(f"{meta_path} is not a kdgui run file (expected schema {SCHEMA})")
        if meta.get("status") not in STATUSES or not isinstance(meta.get("id"), str):
            raise RunError(f"{meta_path} is missing its id or status")
        if not isinstance(meta.get("summary", {}), dict):
            raise RunError(f"{meta_path} has a summary that is not a JSON object")
        run = cls(Path(path), meta)
        try:
            run.job  # noqa: B018 - validate now so a bad job is reported at load time
        except ConfigError as exc:
            raise RunError(f"{meta_path} holds an invalid job: {exc}") from None
        return run


class RunStore:
    """All runs under one folder (``KDGUI_RUNS_DIR`` or the platform's user data folder)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_runs_dir(root)

    def create(self, job: Job, origin: str = "") -> Run:
        """A new run folder in status running; ``origin`` names the study that made it (those never become defaults)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the runs folder {self.root}: {exc.strerror or exc}") from None
        now = dt.datetime.now()
        run_id = f"{now:%Y%m%d-%H%M%S}-{job.kind}-{secrets.token_hex(2)}"
        path = self.root / run_id
        path.mkdir()
        meta = {
            "schema": SCHEMA,
            "id": run_id,
            "name": job.name,
            "created": now.isoformat(timespec="microseconds"),  # sub-second: runs sort in creation order
            "status": "running",
            "job": job.to_dict(),
            "summary": {},
        }
        if origin:
            meta["origin"] = origin
        run = Run(path, meta)
        run._write_meta()
        return run

    def get(self, run_id: str) -> Run:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise RunError(f"{run_id!r} is not a run id")
        path = self.root / run_id
        if not path.is_dir():
            raise RunError(f"no run {run_id!r} in {self.root}")
        return Run.open(path)

    def list(self) -> list[Run]:
        """Readable runs, oldest first; folders that are not kdgui runs are skipped (see ``problems``)."""
        runs, _ = self.scan()
        return runs

    def scan(self) -> tuple[list[Run], list[str]]:
        runs, problems = [], []
        if not self.root.is_dir():
            return runs, problems
        for path in sorted(self.root.iterdir()):
            if not path.is_dir() or path.name.startswith("."):
                continue
            try:
                runs.append(Run.open(path))
            except KdguiError as exc:
                problems.append(str(exc))
        runs.sort(key=lambda r: (str(r.meta.get("created", "")), r.id))
        return runs, problems

    def delete(self, run_id: str) -> None:
        run = self.get(run_id)
        shutil.rmtree(run.path)

    def rename(self, run_id: str, name: str) -> Run:
        run = self.get(run_id)
        run.rename(name)
        return run
