"""Files anything could have touched: text made safe to show, defensive reads (no links followed, size and depth
limits, strict decoding, regular files only) and the one atomic writer every kdgui file goes through."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from .errors import KdguiError, RunError, WriteError

MAX_JSON_BYTES = 1 << 20  # run.json and the other small JSON files
MAX_JSON_DEPTH = 32  # a run.json nests 4 levels deep
NO_WRITE_ROOTS = ("/proc", "/sys", "/dev")
WRITABLE_UNDER_DEV = ("/dev/shm",)

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO named run.json must not hang the app
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_BINARY = getattr(os, "O_BINARY", 0)


# --- text that is safe to show ------------------------------------------------------------------------------


_UNSAFE = frozenset({"Cc", "Cs", "Zl", "Zp"})  # control characters, unpaired surrogates, line and paragraph separators


def _unsafe(c: str) -> bool:
    return unicodedata.category(c) in _UNSAFE


def _escaped(text: str, keep: str = "") -> str:
    return "".join(c.encode("unicode_escape").decode("ascii") if _unsafe(c) and c not in keep else c for c in text)


def shown(value: Any, limit: int = 300) -> str:
    """``value`` (a path or text) as one printable line: control characters and unpaired surrogates escaped, long text cut."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if text.isprintable() else _escaped(text)


def clean_text(value: Any, limit: int, *, multiline: bool = True) -> str:
    """``value`` as text that run.json accepts: control characters (but newlines and tabs) escaped, at most ``limit`` long."""
    text = _escaped(str(value), "\n\t" if multiline else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"






def text_problem(value: Any, limit: int, *, multiline: bool = False) -> str | None:
    if not isinstance(value, str):
        return "is not text"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    allowed = "\n\t" if multiline else ""
    if not value.isprintable() and any(_unsafe(c) and c not in allowed for c in value):
        return "holds control characters or invalid Unicode"
    return None

# --- reading files defensively ------------------------------------------------------------------------------


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def is_regular_file(path: Path) -> bool:
    """A regular file that is not a symbolic link (never raises)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: Path, *, follow_links: bool = False) -> tuple[int, os.stat_result]:
    """An fd for reading ``path``: never through a symbolic link (unless ``follow_links``), never blocking on a
    FIFO, only a regular file. A missing file raises FileNotFoundError; anything else a RunError naming the file.
    """
    nofollow = 0 if follow_links else O_NOFOLLOW
    try:
        fd = os.open(path, os.O_RDONLY | nofollow | O_NONBLOCK | O_CLOEXEC | O_BINARY)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        if not follow_links and os.path.islink(path):
            raise RunError(f"{shown(path)} is a symbolic link: kdgui does not follow links in the runs folder") from None
        raise RunError(f"cannot read {shown(path)}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RunError(f"{shown(path)} is {kind_of(st.st_mode)}, not a file")
        if not follow_links and O_NOFOLLOW == 0 and os.path.islink(path):
            raise RunError(f"{shown(path)} is a symbolic link: kdgui does not follow links in the runs folder")
        if O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_file_bytes(path: Path, max_bytes: int, *, follow_links: bool = False) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; FileNotFoundError when missing, else RunErrors."""
    fd, st = open_regular(Path(path), follow_links=follow_links)
    try:
        if st.st_size > max_bytes:
            raise RunError(f"{shown(path)} is too large ({st.st_size:,} bytes; kdgui reads at most {max_bytes:,})")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # it grew while being read
                raise RunError(f"{shown(path)} is too large (more than {max_bytes:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise RunError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def json_shape_problem(value: Any, max_depth: int) -> str | None:
    """Nesting deeper than ``max_depth``, or text with an unpaired surrogate (from a \\udxxx escape), anywhere in ``value``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text that is not valid Unicode"
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                return f"nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
    return None


def parse_json_bytes(data: bytes, source: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict UTF-8 JSON, nested at most ``max_depth`` deep, all text valid Unicode; else RunError '{source} is corrupt (...)'."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunError(f"{shown(source)} is corrupt (not UTF-8 text)") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunError(f"{shown(source)} is corrupt (not JSON: {exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise RunError(f"{shown(source)} is corrupt (nested deeper than {max_depth} levels)") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise RunError(f"{shown(source)} is corrupt ({shown(exc, 120)})") from None
    problem = json_shape_problem(value, max_depth)
    if problem:
        raise RunError(f"{shown(source)} is corrupt ({problem})")
    return value


def read_json_file(
    path: Path, missing: str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH, follow_links: bool = False,
) -> Any:
    """Parse a JSON file kdgui wrote; a missing file raises RunError(``missing``), anything odd a RunError naming the file.

    Odd: a symbolic link, a folder or device in its place, more than ``max_bytes``, not UTF-8, not JSON, nested
    deeper than ``max_depth``, text with unpaired surrogates. Symbolic links are refused unless ``follow_links``.
    """
    try:
        data = read_file_bytes(Path(path), max_bytes, follow_links=follow_links)
    except FileNotFoundError:
        raise RunError(missing) from None
    except NotADirectoryError:
        raise RunError(missing) from None
    return parse_json_bytes(data, path, max_depth=max_depth)

# --- the one atomic writer ----------------------------------------------------------------------------------

_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_umask()  # read once, at import, while no other thread can create files under a changed umask


def make_readable(path: Path) -> None:
    """Give a temporary file the permissions a normal new file would get (mkstemp makes it owner-only)."""
    Path(path).chmod(0o666 & ~_umask())


def write_error(path: Path, exc: BaseException) -> WriteError:
    message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return WriteError(f"cannot write {shown(path)}: {message}", getattr(exc, "errno", None))


def check_write_target(path: Path) -> None:
    """Refuse (WriteError) to write ``path`` unless it is absent or a regular file, in a folder outside /proc, /sys, /dev."""
    path = Path(path)
    try:
        folder = os.path.realpath(path.parent)
    except (OSError, ValueError) as exc:
        raise write_error(path, exc) from None
    for root in NO_WRITE_ROOTS:
        if (folder == root or folder.startswith(root + "/")) and not any(
            folder == ok or folder.startswith(ok + "/") for ok in WRITABLE_UNDER_DEV
        ):
            raise WriteError(f"cannot write {shown(path)}: kdgui does not write files under {root}")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise write_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"cannot write {shown(path)}: it is {kind_of(st.st_mode)}, and kdgui replaces only regular files")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (best effort: not every system lets a folder be opened or synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over: readers never see half a file.

    Only a regular file is ever replaced: a symbolic link, folder, device or anything else at ``path`` is refused,
    as is a folder under /proc, /sys or /dev. Every failure is a one-line WriteError (a RunError and an OSError),
    "cannot write PATH: No space left on device", and leaves the old file intact and no temporary file behind.
    """
    path = Path(path)
    check_write_target(path)
    try:
        # A short prefix: the temporary name must not be too long where the final name is not.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    except (OSError, ValueError) as exc:
        raise write_error(path, exc) from None
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
        check_write_target(path)  # again, just before the rename: it may have changed meanwhile
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, KdguiError):
            raise write_error(path, exc) from None
        raise
    _fsync_folder(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())
