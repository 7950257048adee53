"""Saving a pyqtgraph plot to PNG, SVG or CSV with pyqtgraph's own exporters, written atomically and checked."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers the exporters on pg.exporters
from PySide6.QtCore import QBuffer, QByteArray, QIODevice

from ...core.errors import ConfigError, KdguiError, WriteError
from ...core.files import atomic_write_bytes, shown

def _tolerate_close_path() -> None:
    """Let pyqtgraph's SVG exporter read paths that end in 'Z', as Qt 6.12's QSvgGenerator writes them.

    pyqtgraph 0.14 expects every token of a path to be 'x,y' and fails with "not enough values to unpack" on
    the close-path command; the paths it rewrites (frames, boxes) already return to their start, so dropping
    the 'Z' draws the same picture.
    """
    module = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = module.correctCoordinates
    if getattr(original, "tolerates_close_path", False):
        return

    def correct_coordinates(node, defs, item, options):  # noqa: ANN001, ANN202 - pyqtgraph's signature
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if any(t.upper().endswith("Z") for t in tokens):
                kept = [t.rstrip("Zz") for t in tokens]
                path.setAttribute("d", " ".join(t for t in kept if t))
        return original(node, defs, item, options)

    correct_coordinates.tolerates_close_path = True
    module.correctCoordinates = correct_coordinates


_tolerate_close_path()

FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)", ".csv": "CSV data (*.csv)"}


def _png_bytes(plot_item: pg.PlotItem) -> bytes:
    exporter = pg.exporters.ImageExporter(plot_item)
    # Twice the on-screen size so the picture stays sharp in documents.
    exporter.parameters()["width"] = max(800, int(plot_item.sceneBoundingRect().width() * 2))
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image is not None and not image.isNull() and image.save(buffer, "PNG")
    buffer.close()
    if not ok or data.isEmpty():
        raise KdguiError("the plot could not be drawn as a PNG image")
    return bytes(data.data())


def _svg_bytes(plot_item: pg.PlotItem) -> bytes:
    return pg.exporters.SVGExporter(plot_item).export(toBytes=True)


def _csv_bytes(plot_item: pg.PlotItem) -> bytes:
    # pyqtgraph's CSV exporter only writes to a file: let it write in a private temporary folder, then read it back.
    with tempfile.TemporaryDirectory(prefix="kdgui-export-") as folder:
        scratch = Path(folder) / "plot.csv"
        pg.exporters.CSVExporter(plot_item).export(str(scratch))
        return scratch.read_bytes()


RENDERERS = {".png": _png_bytes, ".svg": _svg_bytes, ".csv": _csv_bytes}


def export_plot(plot_item: pg.PlotItem, path: str | Path) -> Path:
    """Write ``plot_item`` to ``path``; the suffix picks the exporter (CSV holds every curve's x and y).

    The file is drawn in memory, then written with the project's atomic writer and checked on disk, so it is
    either all there or not there at all. Every failure is one line: a ``WriteError`` (a KdguiError and an
    OSError: "cannot write PATH: Permission denied", also when the picture itself could not be made) or, for a
    suffix that is not .png, .svg or .csv, a ``ConfigError`` (a KdguiError and a ValueError).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RENDERERS:
        raise ConfigError(f"cannot export to {shown(path.name)}: use one of {', '.join(FORMATS)}")
    try:
        data = RENDERERS[suffix](plot_item)
    except KdguiError as exc:
        raise WriteError(f"cannot write {shown(path)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyqtgraph's exporters raise many types; the user gets one line
        reason = getattr(exc, "strerror", None) or shown(str(exc).splitlines()[0] if str(exc) else "", 200)
        raise WriteError(f"cannot write {shown(path)}: the plot could not be exported ({type(exc).__name__}"
                         f"{': ' + reason if reason else ''})") from None
    if not isinstance(data, bytes) or not data:
        raise WriteError(f"cannot write {shown(path)}: the exporter produced nothing")
    atomic_write_bytes(path, data)  # WriteError("cannot write PATH: ...") on a read-only or full disk, a missing folder...
    try:
        written = os.lstat(path)
    except OSError as exc:
        raise WriteError(f"cannot write {shown(path)}: the file is not there after saving ({exc.strerror or exc})") from None
    if not stat.S_ISREG(written.st_mode) or written.st_size != len(data):
        raise WriteError(f"cannot write {shown(path)}: the file on disk is not what was saved "
                         f"({written.st_size:,} of {len(data):,} bytes)")
    return path
