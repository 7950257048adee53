"""Runs on disk: one folder per run with its job, status, metrics and weights, written atomically, read defensively.

The reading and the one atomic writer are ``kdgui.core.files``; the weights' format is ``kdgui.core.weights``.

A runs folder may be shared, copied or edited by hand, so nothing in it is trusted: every file is opened without
following symbolic links, size-limited, decoded strictly and checked against a schema. A run that does not pass is
reported (``RunStore.scan`` gives ``Unreadable(name, path, reason)``) and never stops the others from opening.
Reading never modifies the folder.

Weights are safetensors files (tensors only: no pickle, so no code can run while loading them). Runs saved by
earlier versions as ``weights.pt`` still open, read with ``torch.load(weights_only=True)`` on torch >= 2.6, and
``Run.migrate_weights`` rewrites them as safetensors when asked.

A running run holds a lock (``.lock`` in its folder, ``fcntl.flock``) for its training process's life: the kernel
drops it when that process ends in any way, so a run whose ``run.json`` says "running" but whose lock is free was
killed (SIGKILL, a crash, a power cut) and reads as "interrupted". ``RunStore.delete`` refuses a locked run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

import platformdirs
import torch

from .config import Job
from .errors import ConfigError, KdguiError, RunError, WriteError
from .models import MLP, build_model
from .files import (
    MAX_JSON_DEPTH, O_BINARY, O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK, atomic_write_json, clean_text, is_regular_file, json_shape_problem,
    kind_of, open_regular, parse_json_bytes, read_file_bytes, read_json_file, shown, text_problem, write_all, write_error,
)
from .weights import load_state_dict, load_weights_into, save_state_dict

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

RUNS_DIR_ENV = "KDGUI_RUNS_DIR"
SCHEMA = "kdgui.run/1"
META_FILE, METRICS_FILE = "run.json", "metrics.jsonl"
WEIGHTS_FILE = "weights.safetensors"
LEGACY_WEIGHTS_FILE = "weights.pt"  # torch.save zip/pickle, written by kdgui before safetensors
LOCK_FILE = ".lock"
STATUSES = ("running", "finished", "stopped", "failed")  # what run.json may say
INTERRUPTED = "interrupted"  # derived when read: run.json says running, but no live process holds the run's lock
READ_STATUSES = (*STATUSES, INTERRUPTED)  # what Run.status may give

MAX_METRICS_BYTES = 256 << 20  # read at most this much of metrics.jsonl (a long run writes a few MB)
MAX_METRICS_LINE = 1 << 16
MAX_NAME = 200

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
RUN_ID_SHAPE = re.compile(r"\d{8}-\d{6}-[a-z]+-[0-9a-f]+\Z")  # what RunStore.create makes



def default_runs_dir() -> Path:
    return platformdirs.user_data_path("kdgui", appauthor=False) / "runs"


def resolve_runs_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--runs-dir beats KDGUI_RUNS_DIR beats the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ[RUNS_DIR_ENV]).expanduser() if os.environ.get(RUNS_DIR_ENV) else default_runs_dir()


# --- run ids and names -----------------------------------------------------------------------------------

def run_id_problem(run_id: Any) -> str | None:
    """Why ``run_id`` is not a run id (None: it is one): ASCII letters, digits, '.', '_' and '-', not starting with '.'."""
    if not isinstance(run_id, str) or not run_id:
        return f"{shown(repr(run_id), 80)} is not a run id (a run id is non-empty text)"
    if not RUN_ID_PATTERN.match(run_id):
        return (f"{shown(repr(run_id), 80)} is not a run id (at most 128 ASCII letters, digits, '.', '_' and '-', "
                "not starting with '.')")
    return None
def is_run_id(value: Any) -> bool:
    return run_id_problem(value) is None
def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a run name (None: it can): text of at most 200 characters, none of them a control character."""
    problem = text_problem(name, MAX_NAME)
    return None if problem is None else f"a run name is text of at most {MAX_NAME} printable characters ({problem[3:]})"
def _is_number(value: Any) -> bool:
    # JSON integers are unbounded; float() of a huge one overflows, so they are not numbers here.
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63




# --- the run lock -------------------------------------------------------------------------------------------


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when another open file holds it (any process).

    Other failures (a file system without locks) raise OSError.
    """
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


def _try_lock_or_unknown(fd: int) -> bool:
    try:
        return _try_lock(fd)
    except OSError:
        return True


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def _open_lock_for_check(folder: Path) -> int | None:
    """The run's lock file, opened but never created (reading modifies nothing); None when there is none.

    Opened for writing where allowed (file systems that emulate flock with fcntl locks need it), else read-only.
    """
    path = Path(folder) / LOCK_FILE
    for mode in (os.O_RDWR, os.O_RDONLY):
        try:
            fd = os.open(path, mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_BINARY)
        except (OSError, ValueError):
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass
        os.close(fd)
        return None
    return None


def lock_is_held(folder: Path) -> bool:
    """Whether a live process (this one included) holds the run's lock: it is training that run now."""
    fd = _open_lock_for_check(folder)
    if fd is None:
        return False
    try:
        if _try_lock(fd):
            _unlock(fd)
            return False
        return True
    except OSError:  # no locks on this file system: nothing can be known, so nothing is claimed
        return False
    finally:
        os.close(fd)


def _lock_owner(folder: Path) -> str:
    """'process 1234 on host' from the lock file, for messages; '' when unknown."""
    try:
        info = parse_json_bytes(read_file_bytes(Path(folder) / LOCK_FILE, 4096), folder)
        return f" (process {int(info['pid'])} on {shown(info['host'], 60)})"
    except Exception:  # noqa: BLE001 - only decoration for a message
        return ""


def _acquire_lock(folder: Path) -> int:
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_BINARY, 0o666)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _try_lock(fd):
            raise RunError(f"{shown(folder)} is locked by another process")
        os.ftruncate(fd, 0)
        write_all(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
    except OSError as exc:
        os.close(fd)
        raise write_error(path, exc) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


# --- the run.json schema ------------------------------------------------------------------------------------

SUMMARY_NUMBERS = ("train_acc", "val_acc", "test_acc", "seconds", "steps", "epoch")
SUMMARY_TEXTS = {"device": 64, "error": 20_000}


def meta_problem(meta: Any) -> str | None:
    """What is wrong with a run.json's content (None: it is a valid kdgui run), as the end of a sentence."""
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        return f"is not a kdgui run file (expected schema {SCHEMA})"
    if meta.get("status") not in STATUSES or not isinstance(meta.get("id"), str):
        return "is missing its id or status"
    if not is_run_id(meta["id"]):
        return f"has an id that is not a run id: {run_id_problem(meta['id'])}"
    name = meta.get("name")
    if name is not None and text_problem(name, MAX_NAME):
        return f"has a name that {text_problem(name, MAX_NAME)} (a name is text of at most {MAX_NAME} printable characters)"
    for key in ("created", "ended"):
        value = meta.get(key)
        if value is None:
            continue
        if text_problem(value, 64):
            return f"has a {key} time that is not a timestamp"
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return f"has a {key} time that is not a timestamp ({shown(repr(value), 70)})"
    origin = meta.get("origin")
    if origin is not None and text_problem(origin, MAX_NAME):
        return f"has an origin that {text_problem(origin, MAX_NAME)}"
    summary = meta.get("summary", {})
    if not isinstance(summary, dict):
        return "has a summary that is not a JSON object"
    for key in SUMMARY_NUMBERS:
        if summary.get(key) is not None and not _is_number(summary[key]):
            return f"has a summary {key} that is not a number ({shown(repr(summary[key]), 70)})"
    for key, limit in SUMMARY_TEXTS.items():
        if summary.get(key) is not None and text_problem(summary[key], limit, multiline=True):
            return f"has a summary {key} that {text_problem(summary[key], limit, multiline=True)}"
    return None


def _job_of(meta: dict[str, Any]) -> Job:
    """The validated job of a run.json; every problem (of any type) becomes a ConfigError."""
    try:
        job = Job.from_dict(meta.get("job"))
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. OverflowError from a 400-digit learning rate
        raise ConfigError(f"not a valid kdgui job ({type(exc).__name__})") from None
    if job.name and text_problem(job.name, MAX_NAME):
        raise ConfigError(f"its name {text_problem(job.name, MAX_NAME)}")
    if job.teacher_run is not None and not is_run_id(job.teacher_run):
        raise ConfigError(f"its teacher: {run_id_problem(job.teacher_run)}")
    if text_problem(job.train.device, 64):
        raise ConfigError(f"its device name {text_problem(job.train.device, 64)}")
    return job


# --- runs ---------------------------------------------------------------------------------------------------


class Run:
    """A run folder: ``run.json`` (job, status, summary), ``metrics.jsonl`` (appended), ``weights.safetensors``.

    A Run from ``Run.open``/``RunStore`` passed the schema: its ``id``, ``name``, ``created``, ``status``,
    ``summary``, ``job`` and ``has_weights`` never raise, and ``meta`` holds values of the documented types.
    """

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta
        self._job: Job | None = None
        self._lock_fd: int | None = None  # set while this process trains the run
        self._interrupted: bool | None = None  # the lock check, made once per Run object

    # --- what the views show (never raises on an opened run) ---

    @property
    def id(self) -> str:
        """The folder's name (a run id: ASCII, no separators), which is also run.json's id for runs kdgui made."""
        return self.path.name

    @property
    def job(self) -> Job:
        if self._job is None:
            self._job = Job.from_dict(self.meta.get("job"))
        return self._job

    @property
    def stored_status(self) -> str:
        """The status run.json says: running, finished, stopped or failed."""
        return self.meta["status"]

    @property
    def status(self) -> str:
        """The stored status, except "interrupted" for a "running" run whose training process is gone.

        The lock is checked once per Run object (a fresh ``RunStore.get``/``scan`` checks again).
        """
        status = self.meta["status"]
        if status != "running" or self._lock_fd is not None:
            return status
        if self._interrupted is None:
            self._interrupted = not lock_is_held(self.path)
        return INTERRUPTED if self._interrupted else status

    @property
    def interrupted(self) -> bool:
        return self.status == INTERRUPTED

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.job.label()

    @property
    def created(self) -> str:
        """The creation time as ISO text ('' when unknown): runs sort by it."""
        return self.meta.get("created") or ""

    @property
    def summary(self) -> dict[str, Any]:
        return self.meta.get("summary") or {}

    @property
    def origin(self) -> str:
        return self.meta.get("origin") or ""

    # --- the lock ---

    def lock_held(self) -> bool:
        """Whether a live process (this one included) is training this run now (checked afresh)."""
        return self._lock_fd is not None or lock_is_held(self.path)

    def release_lock(self) -> None:
        """Let go of the run's lock (this process's training of it is over); harmless when not held."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            _unlock(fd)
            os.close(fd)

    # --- run.json ---

    def _write_meta(self, meta: dict[str, Any] | None = None) -> None:
        """Write ``meta`` (default: self.meta) to run.json; only once it is on disk does it become self.meta."""
        meta = self.meta if meta is None else meta
        atomic_write_json(self.path / META_FILE, meta)
        self.meta = meta

    def set_status(self, status: str, **summary: Any) -> None:
        """Write the new status (and summary fields) to run.json; memory changes only after the write succeeded.

        A final status lets go of the run's lock.
        """
        assert status in STATUSES, status
        for key, limit in SUMMARY_TEXTS.items():
            if isinstance(summary.get(key), str):
                summary[key] = clean_text(summary[key], limit)
        meta = {**self.meta, "status": status, "summary": {**self.summary, **summary}}
        if status != "running":
            meta["ended"] = dt.datetime.now().isoformat(timespec="seconds")
        problem = meta_problem(meta)
        if problem:  # what kdgui writes, kdgui must be able to read back
            raise RunError(f"{shown(self.path / META_FILE)} would not be valid: it {problem}")
        self._write_meta(meta)
        self._interrupted = None
        if status != "running":
            self.release_lock()

    def rename(self, name: str) -> None:
        if not isinstance(name, str):
            raise ConfigError("a run name is text")
        name = name.strip()
        problem = name_problem(name)
        if problem:
            raise ConfigError(problem)
        self._write_meta({**self.meta, "name": name})

    # --- metrics ---

    def append_metrics(self, records: Iterable[dict[str, Any]]) -> None:
        """Append whole lines (earlier lines stay intact even if the app dies mid-write); a torn last line is ended first."""
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        if not text:
            return
        path = self.path / METRICS_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_BINARY, 0o666)
        except OSError as exc:
            raise write_error(path, exc) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise WriteError(f"cannot write {shown(path)}: it is {kind_of(st.st_mode)}, not a file")
            if st.st_size:
                os.lseek(fd, -1, os.SEEK_END)  # writes still go to the end: O_APPEND
                if os.read(fd, 1) != b"\n":
                    text = "\n" + text  # the app died mid-line last time: end that line first
            write_all(fd, text.encode("utf-8"))
        except OSError as exc:
            raise write_error(path, exc) from None
        finally:
            os.close(fd)

    def metrics(self) -> list[dict[str, Any]]:
        """Every valid metrics line; anything else (torn, not UTF-8, not a JSON object, bad values) is skipped. Never raises."""
        try:
            fd, _ = open_regular(self.path / METRICS_FILE)
        except (OSError, RunError):
            return []
        records: list[dict[str, Any]] = []
        try:
            with os.fdopen(fd, "rb") as f:
                remaining = MAX_METRICS_BYTES
                while remaining > 0:
                    line = f.readline(min(MAX_METRICS_LINE + 1, remaining))
                    if not line:
                        break
                    remaining -= len(line)
                    if len(line) > MAX_METRICS_LINE and not line.endswith(b"\n"):
                        while remaining > 0:  # too long to be kdgui's: skip to the end of the line
                            rest = f.readline(min(MAX_METRICS_LINE, remaining))
                            remaining -= len(rest)
                            if not rest or rest.endswith(b"\n"):
                                break
                        continue
                    record = metrics_record(line)
                    if record is not None:
                        records.append(record)
        except OSError:
            pass
        return records

    # --- weights ---

    @property
    def weights_path(self) -> Path:
        """Where the run's weights are: weights.safetensors, or a legacy weights.pt when only that exists."""
        current = self.path / WEIGHTS_FILE
        legacy = self.path / LEGACY_WEIGHTS_FILE
        if not is_regular_file(current) and is_regular_file(legacy):
            return legacy
        return current

    @property
    def has_weights(self) -> bool:
        return is_regular_file(self.path / WEIGHTS_FILE) or is_regular_file(self.path / LEGACY_WEIGHTS_FILE)

    def save_weights(self, state: Mapping[str, torch.Tensor]) -> None:
        save_state_dict(state, self.path / WEIGHTS_FILE)

    def load_state(self) -> dict[str, torch.Tensor]:
        """The saved tensors (safetensors, or a legacy weights.pt read with weights_only=True); RunError if unreadable."""
        return load_state_dict(self.weights_path)

    def load_model(self, device: torch.device | str = "cpu") -> MLP:
        """The trained network, in eval mode, on ``device``."""
        path = self.weights_path
        model = build_model(self.job.net)
        load_weights_into(model, load_state_dict(path), path)
        return model.to(device).eval()

    def migrate_weights(self) -> bool:
        """Rewrite a legacy weights.pt as weights.safetensors (same tensors, checked), then remove weights.pt.

        Only on request, never while reading. False when there is nothing to migrate; RunError when the legacy
        file is unreadable or differs from a weights.safetensors already there.
        """
        legacy, target = self.path / LEGACY_WEIGHTS_FILE, self.path / WEIGHTS_FILE
        if not is_regular_file(legacy):
            return False
        if self.lock_held():
            raise RunError(f"run {self.id} is training now; migrate its weights once it has ended")
        state = load_state_dict(legacy)
        if not is_regular_file(target):
            save_state_dict(state, target)
        written = load_state_dict(target)
        if set(written) != set(state) or not all(torch.equal(written[k], state[k]) for k in state):
            raise RunError(f"{shown(target)} and {LEGACY_WEIGHTS_FILE} hold different weights; remove the wrong one")
        try:
            legacy.unlink()
        except OSError as exc:
            raise write_error(legacy, exc) from None
        return True

    # --- opening ---

    @classmethod
    def open(cls, path: Path) -> Run:
        """Read and validate a run folder; anything missing, corrupt, foreign or odd is a RunError naming the file."""
        path = Path(path)
        problem = run_id_problem(path.name)
        if problem:
            raise RunError(f"{shown(path)}: {problem}")
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise RunError(f"{shown(path)} does not exist") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"cannot read {shown(path)}: {getattr(exc, 'strerror', None) or exc}") from None
        if stat.S_ISLNK(st.st_mode):
            raise RunError(f"{shown(path)} is a symbolic link: kdgui does not follow links in the runs folder")
        if not stat.S_ISDIR(st.st_mode):
            raise RunError(f"{shown(path)} is {kind_of(st.st_mode)}, not a run folder")
        meta_path = path / META_FILE
        meta = read_json_file(meta_path, f"{shown(path)} is not a kdgui run: it has no {META_FILE}")
        problem = meta_problem(meta)
        if problem:
            raise RunError(f"{shown(meta_path)} {problem}")
        try:
            job = _job_of(meta)
        except ConfigError as exc:
            raise RunError(f"{shown(meta_path)} holds an invalid job: {shown(exc)}") from None
        run = cls(path, meta)
        run._job = job
        return run


_EVAL_NUMBERS = ("epoch", "val_loss", "val_acc", "test_loss", "test_acc")
_EVAL_OPTIONAL = ("train_loss", "train_acc", "elapsed", "agreement", "teacher_kl")


def metrics_record(line: bytes | str) -> dict[str, Any] | None:
    """One metrics line as a record, or None when it is not a valid one (never raises).

    Loss lines need an integer step and a numeric loss; evaluation lines an integer step and numeric epoch,
    losses and accuracies (train_loss, train_acc and elapsed may be null). Lines of other types are kept when
    they are JSON objects with a text ``type``.
    """
    try:
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return None
    kind = record["type"]
    if kind == "loss":
        if _is_int(record.get("step")) and _is_number(record.get("loss")):
            return record
        return None
    if kind == "eval":
        if not _is_int(record.get("step")) or not all(_is_number(record.get(k)) for k in _EVAL_NUMBERS):
            return None
        if not all(record.get(k) is None or _is_number(record[k]) for k in _EVAL_OPTIONAL):
            return None
        if not isinstance(record.get("epoch_end", False), bool):
            return None
        return record
    return record if json_shape_problem(record, MAX_JSON_DEPTH) is None else None


@dataclass(frozen=True)
class Unreadable:
    """An entry of the runs folder that is not a readable run: its (printable) name, its path, and why, in one line."""

    name: str
    path: Path
    reason: str

    def __str__(self) -> str:
        return self.reason


class ScanResult(NamedTuple):
    """What ``RunStore.scan`` found: readable runs (oldest first) and the entries that are not (by name)."""

    runs: list[Run]
    unreadable: list[Unreadable]


class RunStore:
    """All runs under one folder (``KDGUI_RUNS_DIR`` or the platform's user data folder)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_runs_dir(root)

    def create(self, job: Job, origin: str = "") -> Run:
        """A new run folder in status running, locked by this process until a final status is set (or
        ``release_lock``); ``origin`` names the study that made it (those never become defaults).

        The folder is made with an exclusive mkdir, retried with a new random suffix (a longer one after a few
        tries) if the id is taken: two processes never get the same id.
        """
        now = dt.datetime.now()
        meta = {
            "schema": SCHEMA,
            "id": f"{now:%Y%m%d-%H%M%S}-{job.kind}-0000",
            "name": job.name,
            "created": now.isoformat(timespec="microseconds"),  # sub-second: runs sort in creation order
            "status": "running",
            "job": job.to_dict(),
            "summary": {},
        }
        if origin:
            meta["origin"] = origin
        # What kdgui writes, kdgui must be able to read back (e.g. a name without control characters).
        problem = meta_problem(meta)
        if problem:
            raise ConfigError(f"cannot start this run: its run.json {problem}")
        _job_of(meta)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the runs folder {shown(self.root)}: {exc.strerror or exc}") from None
        for attempt in range(16):
            run_id = f"{now:%Y%m%d-%H%M%S}-{job.kind}-{secrets.token_hex(2 if attempt < 4 else 6)}"
            path = self.root / run_id
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise RunError(f"cannot create a run folder in {shown(self.root)}: {exc.strerror or exc}") from None
        else:
            raise RunError(f"cannot create a run folder in {shown(self.root)}: no free run id after 16 tries")
        meta["id"] = run_id
        run = Run(path, meta)
        run._job = job
        try:
            run._lock_fd = _acquire_lock(path)
            run._write_meta()
        except BaseException:
            run.release_lock()
            shutil.rmtree(path, ignore_errors=True)
            raise
        return run

    def _folder(self, run_id: str) -> Path:
        problem = run_id_problem(run_id)
        if problem:
            raise RunError(problem)
        return self.root / run_id

    def get(self, run_id: str) -> Run:
        path = self._folder(run_id)
        try:
            os.lstat(path)
        except (OSError, ValueError):
            raise RunError(f"no run {run_id!r} in {shown(self.root)}") from None
        return Run.open(path)

    def list(self) -> list[Run]:
        """Readable runs, oldest first; entries that are not readable runs are left out (see ``scan``)."""
        return self.scan().runs

    def scan(self) -> ScanResult:
        """Every run folder: readable runs (oldest first) and ``Unreadable(name, path, reason)`` for the others.

        Hidden entries are skipped, as are plain files (experiment and lineup JSON files live here too) unless
        named like a run. One bad entry never stops the others; nothing is modified.
        """
        runs: list[Run] = []
        unreadable: list[Unreadable] = []
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except FileNotFoundError:
            return ScanResult(runs, unreadable)
        except (OSError, ValueError) as exc:
            reason = f"cannot read the runs folder {shown(self.root)}: {getattr(exc, 'strerror', None) or exc}"
            return ScanResult(runs, [Unreadable(shown(self.root.name), self.root, reason)])
        for entry in entries:
            name, path = entry.name, Path(entry.path)
            if name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    if not name.endswith(".json"):
                        unreadable.append(Unreadable(shown(name), path, f"{shown(path)} is a symbolic link: kdgui does not "
                                                                         "follow links in the runs folder"))
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    if RUN_ID_SHAPE.match(name):
                        unreadable.append(Unreadable(shown(name), path, f"{shown(path)} is a file, not a run folder"))
                    continue
                runs.append(Run.open(path))
            except RunError as exc:
                unreadable.append(Unreadable(shown(name), path, str(exc)))
            except Exception as exc:  # noqa: BLE001 - whatever it is, it must not stop the other runs from opening
                unreadable.append(Unreadable(shown(name), path, f"{shown(path)} could not be read ({type(exc).__name__})"))
        runs.sort(key=lambda r: (r.created, r.id))
        return ScanResult(runs, unreadable)

    def delete(self, run_id: str) -> None:
        """Remove a run folder; refused while a live process (this one or another) trains the run.

        Unreadable runs can be deleted too, as long as the folder is a kdgui run's (it has a run.json) or empty; a
        symbolic link in the runs folder is removed itself, never followed.
        """
        path = self._folder(run_id)
        try:
            st = os.lstat(path)
        except (OSError, ValueError):
            raise RunError(f"no run {run_id!r} in {shown(self.root)}") from None
        if stat.S_ISLNK(st.st_mode):
            try:
                os.unlink(path)
            except OSError as exc:
                raise RunError(f"cannot delete {shown(path)}: {exc.strerror or exc}") from None
            return
        if not stat.S_ISDIR(st.st_mode):
            raise RunError(f"{shown(path)} is {kind_of(st.st_mode)}, not a run folder")
        try:
            contents = os.listdir(path)
        except OSError as exc:
            raise RunError(f"cannot delete {shown(path)}: {exc.strerror or exc}") from None
        if contents and META_FILE not in contents:
            raise RunError(f"{shown(path)} is not a kdgui run folder (it has no {META_FILE}); kdgui leaves it alone")
        fd = _open_lock_for_check(path)
        try:
            # Holding the lock while deleting: no one can start to use the folder meanwhile.
            if fd is not None and not _try_lock_or_unknown(fd):
                raise RunError(f"run {run_id} is training now{_lock_owner(path)}: stop it before deleting it")
            trash = self.root / f".deleting-{run_id}-{secrets.token_hex(4)}"
            try:
                os.rename(path, trash)  # at once out of every listing; the rest is cleanup
                shutil.rmtree(trash)
            except OSError as exc:
                raise RunError(f"cannot delete {shown(path)}: {exc.strerror or exc}") from None
        finally:
            if fd is not None:
                os.close(fd)

    def rename(self, run_id: str, name: str) -> Run:
        run = self.get(run_id)
        run.rename(name)
        return run

    def migrate_weights(self) -> tuple[list[str], list[Unreadable]]:
        """Rewrite every legacy weights.pt as safetensors (``Run.migrate_weights``): the migrated run ids and the failures."""
        migrated: list[str] = []
        failed: list[Unreadable] = []
        for run in self.list():
            try:
                if run.migrate_weights():
                    migrated.append(run.id)
            except KdguiError as exc:
                failed.append(Unreadable(run.id, run.path, str(exc)))
        return migrated, failed
