"""Hidden units: the students' first-layer weights as 28x28 tiles, label-trained beside distilled, live."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ....core.events import Evaluation, Started
from ....core.insight import hidden_unit_tiles
from ....core.predict import NamedModel
from ...style import plot_colours, text_style, theme_plot
from .common import STUDENTS, title_of


def tile_mosaic(tiles: np.ndarray, gap: int = 1) -> tuple[np.ndarray, int]:
    """[H, 28, 28] tiles laid out in a near-square grid, each scaled to its own largest |weight| (so every unit's
    pattern shows, however large its weights), with NaN in the gaps; returns (the image, columns)."""
    count = len(tiles)
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    side = 28 + gap
    out = np.full((rows * side - gap, columns * side - gap), np.nan)
    scale = np.abs(tiles).reshape(count, -1).max(1)
    scale[scale == 0] = 1.0
    for i in range(count):
        r, c = divmod(i, columns)
        out[r * side : r * side + 28, c * side : c * side + 28] = tiles[i] / scale[i]
    return out, columns


class HiddenView(QWidget):
    """The students' first-layer weights as 28x28 tiles, label-trained beside distilled, live while either trains."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour_map = pg.colormap.get("CET-D1A")
        self.graphics = pg.GraphicsLayoutWidget()
        theme_plot(self.graphics)
        self.tiles: dict[str, np.ndarray | None] = {role: None for role in STUDENTS}  # what each side shows now
        self.lineup_tiles: dict[str, np.ndarray | None] = {role: None for role in STUDENTS}
        self.reasons: dict[str, str] = {role: "not loaded" for role in STUDENTS}
        self.labels: dict[str, str] = {role: title_of(role) for role in STUDENTS}
        self.live_role: str | None = None  # the student a workflow run is training now
        self.live_note = ""
        self.titles: dict[str, QLabel] = {}
        self.boxes: dict[str, pg.ViewBox] = {}
        self.images: dict[str, pg.ImageItem] = {}
        titles = QHBoxLayout()
        for col, role in enumerate(STUDENTS):
            # Qt labels, not plot labels: a long network name wraps instead of pushing the other side off the page.
            self.titles[role] = QLabel()
            self.titles[role].setWordWrap(True)
            self.titles[role].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            titles.addWidget(self.titles[role], 1)
            box = self.graphics.ci.addViewBox(row=0, col=col, lockAspect=True, enableMouse=False, invertY=True)
            self.graphics.ci.layout.setColumnStretchFactor(col, 1)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            self.boxes[role], self.images[role] = box, image
        note = QLabel("Each tile is one hidden unit of the first layer: its 784 weights drawn as the 28x28 image it "
                      "responds to. Red pixels excite the unit, blue ones inhibit it; each tile is scaled to its own "
                      "largest weight.")
        note.setWordWrap(True)
        note.setStyleSheet(text_style("muted"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(titles)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(note)
        self._show_all()

    def set_models(self, models: list[NamedModel]) -> None:
        by_role = {m.key: m for m in models}
        for role in STUDENTS:
            m = by_role.get(role)
            tiles = hidden_unit_tiles(m.model) if m is not None else None
            self.lineup_tiles[role] = tiles.numpy() if tiles is not None else None
            self.labels[role] = m.label if m is not None else title_of(role)
            self.reasons[role] = ("its weights could not be loaded" if m is None else
                                  "it has no first layer that takes the 784 pixels (a CNN's first layer is small "
                                  "convolution filters), so there are no 28x28 tiles")
        self._show_all()

    def training_event(self, event: object) -> None:
        if isinstance(event, Started):
            self.live_role = event.kind if event.kind in STUDENTS else None
            self.live_note = ""
        elif isinstance(event, Evaluation) and self.live_role is not None and event.first_layer is not None:
            self.live_note = f"training now, epoch {event.epoch:.2f}"
            self.tiles[self.live_role] = event.first_layer.detach().cpu().reshape(-1, 28, 28).numpy()
            self._show(self.live_role)

    def training_ended(self) -> None:
        """Back to the lineup's networks (a finished run joins the lineup, which then sends its weights)."""
        if self.live_role is not None:
            self.live_role, self.live_note = None, ""
            self._show_all()

    def _show_all(self) -> None:
        for role in STUDENTS:
            if role != self.live_role or self.tiles[role] is None:
                self.tiles[role] = self.lineup_tiles[role]
            self._show(role)

    def _show(self, role: str) -> None:
        tiles = self.tiles[role]
        live = role == self.live_role and self.live_note
        if tiles is None:
            self.images[role].clear()
            self.titles[role].setText(f"{self.labels[role]}: {self.reasons[role]}")
            return
        mosaic, _ = tile_mosaic(tiles)
        rgba = self.colour_map.map(np.nan_to_num((mosaic + 1) / 2, nan=0.5), mode="byte")
        background = QColor(plot_colours()[0])
        rgba[np.isnan(mosaic)] = (background.red(), background.green(), background.blue(), 255)
        self.images[role].setImage(rgba, autoLevels=False, levels=(0, 255))
        self.boxes[role].autoRange(padding=0.01)
        what = f"{self.labels[role]}, {len(tiles)} units" if not live else f"{title_of(role)} {self.live_note}, {len(tiles)} units"
        self.titles[role].setText(what)
