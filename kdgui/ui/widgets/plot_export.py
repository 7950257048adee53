"""Saving a pyqtgraph plot to PNG, SVG or CSV with pyqtgraph's own exporters."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers the exporters on pg.exporters

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
