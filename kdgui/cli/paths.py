"""The files and folders kdgui-cli is told to use, checked before any work: the runs folder and output files.

A bad --json path or export target is refused at once, in one line, not after hours of training. Output files
are written atomically (kdgui.core.runs) and their missing parent folders are made, for --json and export alike.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core.errors import KdguiError

NAME_MAX = 255  # bytes in one file name on the usual file systems


def _under_system_root(path: Path) -> str | None:
    from ..core.files import NO_WRITE_ROOTS, WRITABLE_UNDER_DEV

    real = os.path.realpath(path)
    for root in NO_WRITE_ROOTS:
        if (real == root or real.startswith(root + "/")) and not any(
            real == ok or real.startswith(ok + "/") for ok in WRITABLE_UNDER_DEV
        ):
            return root
    return None


def runs_folder(explicit: str | None) -> Path:
    """The runs folder (--runs-dir, else $KDGUI_RUNS_DIR, else the user data folder), refused when it cannot be one:
    empty, under /proc, /sys or /dev, or something other than a folder. A missing folder is fine (made when needed)."""
    from ..core.runs import RUNS_DIR_ENV, resolve_runs_dir
    from ..core.files import shown

    if explicit is not None and not explicit.strip():
        raise KdguiError("--runs-dir needs a folder name, got an empty one")
    root = resolve_runs_dir(explicit)
    source = "--runs-dir" if explicit else (RUNS_DIR_ENV if os.environ.get(RUNS_DIR_ENV) else "the runs folder")
    system = _under_system_root(root)
    if system:
        raise KdguiError(f"{source} {shown(root)} is under {system}: kdgui keeps no runs there")
    try:
        st = os.stat(root)  # a link to a folder is fine: the user chose it
    except FileNotFoundError:
        return root
    except (OSError, ValueError) as exc:
        raise KdguiError(f"cannot use {source} {shown(root)}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise KdguiError(f"{source} {shown(root)} is a file, not a folder" if stat.S_ISREG(st.st_mode)
                         else f"{source} {shown(root)} is not a folder")
    return root


def output_file(path: str | None, option: str) -> Path | None:
    """Check an output file before any work (None: no file asked for); its folder may be missing (made on writing).

    Refused, in one line: an empty name, a folder, a symbolic link, a device, FIFO or other non-file, anything
    under /proc, /sys or /dev, a name too long, a parent that is a file, a folder that cannot be written in.
    """
    if path is None:
        return None
    from ..core.files import check_write_target, shown

    if not path.strip():
        raise KdguiError(f"{option} needs a file name, got an empty one")
    target = Path(path).expanduser()
    for part in target.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise KdguiError(f"cannot write {shown(target)}: a name in it is longer than {NAME_MAX} bytes")
    if path.endswith(("/", os.sep)) or target.is_dir():
        raise KdguiError(f"{option} {shown(target)} is a folder: give a file name")
    check_write_target(target)  # a WriteError (a KdguiError) for /proc, /sys, /dev, links, devices, FIFOs
    existing = target.absolute().parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise KdguiError(f"cannot write {shown(target)}: {shown(existing)} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise KdguiError(f"cannot write {shown(target)}: no permission to write in {shown(existing)}")
    return target


def make_parent(target: Path) -> None:
    """Make ``target``'s missing parent folders; a failure is one line."""
    from ..core.files import shown

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KdguiError(f"cannot write {shown(target)}: cannot make its folder ({exc.strerror or exc})") from None
