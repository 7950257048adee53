"""What the What changed tab's views share: the roles, the ink-on-paper colour map, plot helpers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ....core.config import KIND_TITLES
from ...style import theme_plot_item

ROLES = ("teacher", "student", "distilled")
STUDENTS = ("student", "distilled")
PAPER = np.array([[255 - i] * 3 for i in range(256)], dtype=np.uint8)  # dark ink on white, like the canvas


def title_of(role: str) -> str:
    return KIND_TITLES.get(role, role)


def untitled_plot(layout: pg.GraphicsLayout, row: int, col: int) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=col)
    theme_plot_item(plot)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    return plot


def no_answers() -> str:
    return "Every network's answers on the test set appear here once they are computed."
