"""Help: the "What is distillation?" page (with live soft-target bars from the bundled teacher) and About."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from ... import __version__
from ...core.errors import KdguiError
from ...core.predict import bundled_models
from ...core.softtargets import softmax_np
from ..style import theme_plot
from ..widgets.soft_target_bars import SoftTargetBars

HOMEPAGE = "https://github.com/kdgui/kdgui"
PAPER = "https://arxiv.org/abs/1503.02531"
EXPLANATION = (
    "<p>A big network, the <b>teacher</b>, is trained on the labels. Its output says more than the label: for a 7 "
    "it gives a little probability to the digits that 7 resembles. Dividing its logits <i>z</i> by a <b>temperature T</b> before the "
    "softmax, <i>softmax(z/T)</i>, makes those small probabilities visible: at T = 1 the bars below are almost one "
    "bar; at T = 5 the teacher's ranking of the wrong classes shows. A small network, the <b>student</b>, trained "
    "to match these soft targets learns more from each image than one trained on hard labels alone.</p>"
    "<p><b>alpha</b> mixes the two teachers a student can have: the loss is alpha · T² · KL(teacher‖student) at "
    "temperature T, plus (1 − alpha) · cross-entropy with the true labels. alpha = 1 learns from soft targets only "
    "(the seed experiment); the T² keeps the soft part's gradients the same size whatever T is, so T and alpha can "
    "be changed independently.</p>"
)
# A 7 drawn as strokes on a 28x28 grid (ink high), so the picture needs no dataset.
SEVEN = [(6, 6, 21, 6), (21, 6, 12, 23)]


def draw_seven() -> torch.Tensor:
    image = np.zeros((28, 28), dtype=np.float32)
    for x0, y0, x1, y1 in SEVEN:
        for t in np.linspace(0, 1, 60):
            x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            image[max(0, int(y) - 1) : int(y) + 2, max(0, int(x) - 1) : int(x) + 1] = 1.0
    return torch.from_numpy(image.reshape(784))


class ExplainDialog(QDialog):
    """Two paragraphs on T and alpha, with the bundled teacher's soft targets for a 7 at T = 1 and T = 5."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("What is distillation?")
        text = QLabel(EXPLANATION)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        self.charts: dict[float, SoftTargetBars] = {}
        try:
            teacher = next(m.model for m in bundled_models() if m.key == "teacher")
            with torch.inference_mode():
                logits = teacher(draw_seven()[None]).numpy()[0]
        except (KdguiError, StopIteration):
            logits = None
        row = QHBoxLayout()
        for t in (1.0, 5.0):
            plot = pg.PlotWidget(title=f"teacher's softmax(z/T) for a 7, T = {t:g}")
            theme_plot(plot)
            plot.setMinimumSize(300, 170)
            bars = SoftTargetBars(plot.getPlotItem(), ["teacher"])
            bars.set_true_class(7)
            if logits is not None:
                bars.set_probabilities({"teacher": softmax_np(logits, t)})
            self.charts[t] = bars
            row.addWidget(plot)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 520)


def about_text() -> str:
    import PySide6

    return (
        f"<h3>kdgui {__version__}</h3>"
        "<p>Train a big teacher and a small student on MNIST, distil one into the other and watch it happen.</p>"
        f"<p>Licence: MIT. Method: Hinton, Vinyals and Dean (2015), "
        f"<a href='{PAPER}'>Distilling the Knowledge in a Neural Network</a>.<br>"
        f"Home page: <a href='{HOMEPAGE}'>{HOMEPAGE}</a></p>"
        f"<p>torch {torch.__version__}, PySide6 {PySide6.__version__}, pyqtgraph {pg.__version__}.<br>"
        "MNIST is by LeCun, Cortes and Burges (CC BY-SA 3.0); kdgui does not ship it.</p>"
    )


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About kdgui", about_text())
