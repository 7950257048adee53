"""Saving a pyqtgraph plot to PNG, SVG or CSV with pyqtgraph's own exporters."""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers the exporters on pg.exporters

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


def export_plot(plot_item: pg.PlotItem, path: str | Path) -> Path:
    """Write ``plot_item`` to ``path``; the suffix picks the exporter (CSV holds every curve's x and y)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        exporter = pg.exporters.ImageExporter(plot_item)
        # Twice the on-screen size so the picture stays sharp in documents.
        exporter.parameters()["width"] = max(800, int(plot_item.sceneBoundingRect().width() * 2))
    elif suffix == ".svg":
        exporter = pg.exporters.SVGExporter(plot_item)
    elif suffix == ".csv":
        exporter = pg.exporters.CSVExporter(plot_item)
    else:
        raise ValueError(f"cannot export to {path.name}: use one of {', '.join(FORMATS)}")
    exporter.export(str(path))
    return path
