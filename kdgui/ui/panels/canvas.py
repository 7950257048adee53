"""Draw a digit and watch the teacher and the students answer live, with their soft targets at the shared T."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget,
)

from ...core.errors import KdguiError
from ...core.insight import predictions, test_logits
from ...core.predict import NamedModel, Prediction, Predictor
from ...core.probe import apply_probe, apply_probes, sweep
from ...core.preprocess import preprocess_detailed
from ...core.softtargets import softmax_np
from ..style import background_colour, text_style, theme_plot
from ..temperature_model import TemperatureModel
from ..widgets.drawing_canvas import MIN_SIDE, DrawingCanvas
from ..widgets.probe_sliders import SETTINGS, ProbeSliders
from ..widgets.soft_target_bars import ROLE_LABELS, SoftTargetBars, role_colour
from ..widgets.viewing_temperature import ViewingTemperature

ROLES = ("teacher", "student", "distilled")
LIVE_INTERVAL_MS = 60  # predictions while a stroke is drawn, at most this often: strokes stay smooth
STRIPS_DELAY_MS = 120  # the answer strips (about 80 images through each network) follow when a slider rests
MAX_SIDE = 900  # the canvas grows with the window up to this many pixels
PREVIEW_SIDE = 84  # what the networks see, three screen pixels per input pixel
CHART_MIN_HEIGHT = 150  # the soft-target chart with its class labels 0-9
CHART_MIN_HEIGHT_WITH_PROBE = 110  # smaller while the probe is open: both fit a 700-pixel screen
VERDICT_STYLE = "font-size: 13pt; padding: 4px;"


class ModelAnswer(QWidget):
    """One model's answer: its predicted digit, how sure it is, and which network it is."""

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.title = QLabel(f"<b style='color:{role_colour(role)}'>■ {ROLE_LABELS.get(role, role)}</b>")
        self.origin = QLabel()
        self.origin.setStyleSheet(text_style("muted"))
        self.origin.setWordWrap(True)
        self.origin.setMinimumWidth(60)
        self.title.setMinimumWidth(60)
        self.title.setWordWrap(True)
        self.digit = QLabel("–")
        font = QFont(self.digit.font())
        font.setPointSize(30)
        font.setBold(True)
        self.digit.setFont(font)
        self.confidence = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.digit)
        layout.addWidget(self.confidence)
        layout.addWidget(self.origin)
        layout.addStretch(1)

    def show_answer(self, predicted: int | None, confidence: float | None) -> None:
        self.digit.setText("–" if predicted is None else str(predicted))
        self.confidence.setText("" if confidence is None else f"{confidence:.1%} sure (T = 1)")


class CanvasPanel(QWidget):
    """Canvas, what the network sees (28x28), and every model's answer; disagreements are called out."""

    addToSoftTargets = Signal(object)  # the [784] tensor the networks saw
    useTemperatureForDistil = Signal(float)

    def __init__(self, temperature: TemperatureModel, training_temperature: TemperatureModel | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature = temperature
        self.predictor: Predictor | None = None
        self.prediction: Prediction | None = None
        self.drawn: torch.Tensor | None = None  # the [784] digit as drawn and preprocessed, before the probe
        self.canvas = DrawingCanvas()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the canvas (Esc or a right click)")
        self.undo_button = QPushButton("Undo stroke")
        self.undo_button.setToolTip("Take back the last stroke (Ctrl+Z)")
        self.add_button = QPushButton("Add to soft targets")
        self.add_button.setToolTip("Show this digit in the Soft targets tab beside the test digits")
        self.add_button.setEnabled(False)
        self.preview_view = pg.GraphicsLayoutWidget()
        theme_plot(self.preview_view)
        self.preview_view.setBackground("w")  # white paper, like the canvas
        self.preview_view.ci.setContentsMargins(0, 0, 0, 0)
        self.preview_box = self.preview_view.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.preview_image = pg.ImageItem(axisOrder="row-major")
        self.preview_box.addItem(self.preview_image)
        self.preview_view.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview_view.setToolTip("What the networks see: the drawing as a 28x28 MNIST-style image")
        self.status = QLabel("Draw a digit on the canvas.")
        self.status.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet(VERDICT_STYLE)
        self.viewing = ViewingTemperature(temperature, training_temperature)
        self.viewing.useForDistil.connect(self.useTemperatureForDistil)
        self.slider = self.viewing.slider
        self.answers = {role: ModelAnswer(role) for role in ROLES}
        self.plot_widget = pg.PlotWidget(title="Soft targets softmax(z/T) of each network")
        theme_plot(self.plot_widget)
        self.plot_widget.setMinimumSize(220, CHART_MIN_HEIGHT)
        self.plot_widget.getPlotItem().setLabel("bottom", "class")
        self.bars = SoftTargetBars(self.plot_widget.getPlotItem(), list(ROLES))
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(LIVE_INTERVAL_MS)
        self.probe = ProbeSliders()
        # Folded by default: open, the sliders cost the page 80 pixels of height a 700-pixel screen may not have.
        self.probe_button = QToolButton()
        self.probe_button.setText("Probe: move, turn, thicken, thin")
        self.probe_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.probe_button.setAutoRaise(True)
        self.probe_button.setCheckable(True)
        self.probe_button.setToolTip("Sliders that change the drawn digit and show where each network changes its mind. "
                                     "Under each slider, a row per network: its colour where it keeps its answer, "
                                     "pale where it changes its mind.")
        self.probe.setToolTip(self.probe_button.toolTip())
        self.strips_timer = QTimer(self)
        self.strips_timer.setSingleShot(True)
        self.strips_timer.setInterval(STRIPS_DELAY_MS)

        # Across the top: the viewing temperature. Left: the canvas (square, as large as the room allows), its
        # buttons, what the networks see. Right: the verdict, each network's answer and the chart of soft targets.
        self.left = QVBoxLayout()
        self.left.setSpacing(4)
        self.left.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignHCenter)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.undo_button)
        self.left.addLayout(buttons)
        seen = QHBoxLayout()
        seen.addWidget(self.preview_view, 0, Qt.AlignmentFlag.AlignTop)
        caption = QLabel("What the networks see: 28x28, the ink's box scaled to 20 pixels, centre of mass in the middle "
                         "(as MNIST was made).")
        caption.setWordWrap(True)
        caption.setStyleSheet(text_style("muted"))
        caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        seen_right = QVBoxLayout()
        seen_right.addWidget(caption, 1)
        seen_right.addWidget(self.add_button)
        seen.addLayout(seen_right, 1)
        self.left.addLayout(seen)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.left.addWidget(self.status)
        self.left.addStretch(1)
        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.verdict)
        row = QHBoxLayout()
        for answer in self.answers.values():
            row.addWidget(answer, 1)
        right.addLayout(row)
        probe_row = QHBoxLayout()
        probe_row.addWidget(self.probe_button)
        probe_row.addStretch(1)
        probe_row.addWidget(self.probe.reset_button)
        right.addLayout(probe_row)
        right.addWidget(self.probe)
        right.addWidget(self.plot_widget, 1)
        columns = QHBoxLayout()
        columns.addLayout(self.left)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addWidget(self.viewing)  # across the page: the slider gets room to be read
        layout.addLayout(columns, 1)
        # Ctrl+Z takes back a stroke wherever focus is on this page (a text field keeps its own undo).
        self.undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self.canvas.undo)
        for first, second in ((self.canvas, self.clear_button), (self.clear_button, self.undo_button),
                              (self.undo_button, self.add_button)):
            QWidget.setTabOrder(first, second)

        self.canvas.strokeMoved.connect(self._stroke_moved)
        self.canvas.strokeFinished.connect(self.update_prediction)
        self.live_timer.timeout.connect(self.update_prediction)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.add_button.clicked.connect(self._add_to_soft_targets)
        self.temperature.temperatureChanged.connect(self._temperature_changed)
        self.probe.changed.connect(self._probe_changed)
        self.probe_button.toggled.connect(self.set_probe_shown)
        self.set_probe_shown(False)
        self.strips_timer.timeout.connect(self.update_strips)
        self.update_prediction()

    def show_view(self, name: str) -> None:
        """``--panel probe``: the probe's sliders open and take the focus."""
        if name != "probe":
            raise ValueError(f"no view {name!r} on the Draw tab: choose probe")
        self.set_probe_shown(True)
        self.probe.sliders[SETTINGS[0].name].setFocus()

    def set_probe_shown(self, shown: bool) -> None:
        """Open or fold the probe's sliders; folded, the digit goes back as drawn (nothing hidden changes the answers)."""
        self.probe_button.setChecked(shown)
        self.probe_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.probe.setVisible(shown)
        self.probe.reset_button.setVisible(shown)
        self.plot_widget.setMinimumHeight(CHART_MIN_HEIGHT_WITH_PROBE if shown else CHART_MIN_HEIGHT)
        if not shown:
            self.probe.reset()

    # -- models ----------------------------------------------------------------------------------------
    def set_models(self, models: list[NamedModel]) -> None:
        """The networks that answer; a kind without a model shows a dash."""
        try:
            self.predictor = Predictor(models) if models else None
        except KdguiError as exc:
            self.predictor = None
            self.status.setText(str(exc))
        by_key = {m.key: m for m in models}
        for role, answer in self.answers.items():
            m = by_key.get(role)
            answer.origin.setText(m.label if m else "not available: its weights could not be loaded")
            answer.setEnabled(m is not None)
        self.update_prediction()

    # -- predicting ------------------------------------------------------------------------------------
    def _stroke_moved(self) -> None:
        if not self.live_timer.isActive():
            self.live_timer.start()

    def update_prediction(self) -> None:
        """Preprocess the canvas and ask every model; an empty canvas gets no answer rather than a guess."""
        self.live_timer.stop()
        result = preprocess_detailed(self.canvas.ink_array()) if not self.canvas.is_empty() else None
        self.drawn = result.pixels if result is not None else None
        self._predict(result)
        self.strips_timer.start()

    def _probe_changed(self) -> None:
        self._predict(None)
        self.strips_timer.start()

    def _predict(self, result) -> None:  # noqa: ANN001 - the preprocessing's result, or None to keep its last status
        """Ask every network about the drawn digit as the probe changes it; the preview shows what they are asked."""
        probe = self.probe.probe()
        pixels = self.drawn if self.drawn is None or probe.identity else apply_probe(self.drawn, probe)
        if pixels is None:
            self.preview_image.clear()
        else:
            self.preview_image.setImage(pixels.reshape(28, 28).numpy(), levels=(0, 1), lut=_PAPER)
            self.preview_box.autoRange(padding=0)
        self.add_button.setEnabled(pixels is not None)
        if pixels is None or self.predictor is None:
            self.prediction = None
            if self.predictor is None and pixels is not None:
                self.status.setText("No networks to ask: none of the lineup's networks could be loaded (see the banner).")
            elif result is not None or self.drawn is None:
                self.status.setText("Draw a digit on the canvas." if result is None else result.reason.capitalize() + ".")
            self._show()
            return
        self.prediction = self.predictor.predict(pixels)
        self.status.setText("")
        self._show()

    def update_strips(self) -> None:
        """Every network's answer at every position of every slider (the others held where they are), in one batch."""
        self.strips_timer.stop()
        if self.drawn is None or self.predictor is None:
            for strip in self.probe.strips.values():
                strip.set_answers({}, {})
            return
        probe = self.probe.probe()
        probes = [p for s in SETTINGS for p in sweep(probe, s.name, s.values())]
        batch = torch.cat([self.drawn.reshape(1, -1), apply_probes(self.drawn, probes)])
        answers = {m.key: predictions(test_logits(m.model, batch)).tolist() for m in self.predictor.models}
        reference = {role: a[0] for role, a in answers.items()}  # the digit as drawn
        start = 1
        for s in SETTINGS:
            end = start + s.positions
            self.probe.strips[s.name].set_answers({role: a[start:end] for role, a in answers.items()}, reference)
            start = end

    def _temperature_changed(self, t: float) -> None:
        self._show()

    def _show(self) -> None:
        p = self.prediction
        if p is None:
            for answer in self.answers.values():
                answer.show_answer(None, None)
            self.bars.set_probabilities({})
            self.verdict.setText("")
            return
        # numpy softmax: a slider step stays cheap however busy torch's thread pool is (see core.softtargets.softmax_np)
        logits = {k: v.numpy() for k, v in p.logits.items()}
        for role, answer in self.answers.items():
            if role in logits:
                answer.show_answer(p.classes[role], float(softmax_np(logits[role], 1.0).max()))
            else:
                answer.show_answer(None, None)
        self.bars.set_probabilities({k: softmax_np(v, self.temperature.temperature) for k, v in logits.items()})
        if p.disagree:
            said = ", ".join(f"<span style='color:{role_colour(k)}'>{ROLE_LABELS.get(k, k)}</span> says <b>{c}</b>"
                             for k, c in p.classes.items())
            self.verdict.setText(f"They disagree: {said}.")
            self.verdict.setStyleSheet(f"{VERDICT_STYLE} background: {background_colour('warning')};")
        else:
            self.verdict.setText(f"All say <b>{p.agreed_class}</b>.")
            self.verdict.setStyleSheet(VERDICT_STYLE)

    # -- size ----------------------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_canvas()

    def fit_canvas(self) -> None:
        """The canvas as large as the page's height allows below it, at most half the width, always square."""
        layout = self.layout()
        margins = layout.contentsMargins()
        above = self.viewing.sizeHint().height() + layout.spacing()
        below = sum(item.sizeHint().height() + self.left.spacing() for item in
                    (self.left.itemAt(i) for i in range(self.left.count())) if item.widget() is not self.canvas)
        tall = self.height() - margins.top() - margins.bottom() - above - below
        wide = round((self.width() - margins.left() - margins.right()) * 0.48)
        self.canvas.set_side(max(MIN_SIDE, min(MAX_SIDE, tall, wide)))

    def _add_to_soft_targets(self) -> None:
        if self.prediction is not None:
            self.addToSoftTargets.emit(self.prediction.pixels.clone())


_PAPER = np.array([[255 - i] * 3 for i in range(256)], dtype=np.uint8)  # dark ink on white, like the canvas
