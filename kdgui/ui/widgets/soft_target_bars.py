"""Grouped bar charts of softmax(z/T) over the 10 classes, one bar per model, updated in place with setOpts."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..style import ROLE_COLOURS

ROLE_LABELS = {"teacher": "teacher", "student": "student (labels)", "distilled": "distilled student"}
CLASSES = np.arange(10)
TRUE_CLASS_BRUSH = pg.mkBrush(255, 215, 0, 70)


def role_colour(role: str) -> str:
    return ROLE_COLOURS.get(role, "#7f7f7f")


class SoftTargetBars:
    """Bars for up to a few models side by side in one PlotItem; the true class is shaded behind its bars.

    The bar items are created once; ``set_probabilities`` only changes their heights (setOpts), which is
    what keeps a temperature-slider step cheap.
    """

    def __init__(self, plot: pg.PlotItem, roles: list[str], *, show_axis_labels: bool = True) -> None:
        self.plot = plot
        self.roles = list(roles)
        width = 0.8 / max(1, len(self.roles))
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setXRange(-0.5, 9.5, padding=0)
        plot.setYRange(0, 1, padding=0.02)
        bottom = plot.getAxis("bottom")
        bottom.setTicks([[(i, str(i)) for i in range(10)]])
        left = plot.getAxis("left")
        left.setTicks([[(0, "0"), (0.5, ".5"), (1, "1")]])
        left.setWidth(22)
        if not show_axis_labels:
            bottom.setStyle(showValues=False)
        self.true_class_bar = pg.BarGraphItem(x=[0], height=[1.0], width=0.96, brush=TRUE_CLASS_BRUSH, pen=pg.mkPen(None))
        self.true_class_bar.setVisible(False)
        plot.addItem(self.true_class_bar)
        self.bars: dict[str, pg.BarGraphItem] = {}
        for i, role in enumerate(self.roles):
            offset = (i - (len(self.roles) - 1) / 2) * width
            bar = pg.BarGraphItem(
                x=CLASSES + offset, height=np.zeros(10), width=width * 0.95,
                brush=pg.mkBrush(role_colour(role)), pen=pg.mkPen(None),
            )
            bar.setToolTip(ROLE_LABELS.get(role, role))
            plot.addItem(bar)
            self.bars[role] = bar

    def set_true_class(self, true_class: int | None) -> None:
        if true_class is None:
            self.true_class_bar.setVisible(False)
        else:
            self.true_class_bar.setOpts(x=[true_class])
            self.true_class_bar.setVisible(True)

    def set_probabilities(self, probabilities: dict[str, np.ndarray]) -> None:
        """Heights per role; a role without probabilities is hidden (e.g. no distilled student yet)."""
        for role, bar in self.bars.items():
            p = probabilities.get(role)
            if p is None:
                bar.setVisible(False)
            else:
                bar.setOpts(height=np.asarray(p, dtype=float))
                bar.setVisible(True)

    def heights(self, role: str) -> np.ndarray:
        return np.asarray(self.bars[role].opts["height"], dtype=float)


def make_legend_html(roles: list[str]) -> str:
    """A one-line coloured legend for a QLabel."""
    return "  ".join(
        f"<span style='color:{role_colour(r)}; font-size:14px'>■</span> {ROLE_LABELS.get(r, r)}" for r in roles
    ) + "  <span style='background:rgba(255,215,0,0.3)'>&nbsp;&nbsp;&nbsp;</span> true class"

