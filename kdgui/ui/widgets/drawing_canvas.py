"""A canvas to draw a digit with mouse, pen or touch: thick anti-aliased strokes, undo, clear; any size on screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

CANVAS_SIZE = 280  # the ink image: ten times MNIST's 28 pixels, whatever size the canvas has on screen
STROKE_WIDTH = 22.0  # MNIST strokes are 2 to 3 pixels wide at 28x28
MIN_SIDE = 180  # the smallest the canvas is shown
PAPER, INK, EDGE, HINT = QColor("#ffffff"), QColor("#000000"), QColor("#888888"), QColor("#999999")  # paper, on any theme


class DrawingCanvas(QWidget):
    """Keeps the strokes (for undo) and an ink image: ink high (255) on a zero background, as MNIST stores it.

    The ink image is always CANVAS_SIZE pixels square and the strokes are kept in its coordinates; the widget
    may be any size and shows the paper as the largest square that fits, scaled. So the same digit drawn
    on a small or a large canvas gives the networks the same ink. Shown as dark ink on white paper; pen
    and touch input reach it as the mouse events Qt synthesises.
    """

    strokeMoved = Signal()  # while a stroke is being drawn
    strokeFinished = Signal()  # a stroke ended, was undone, or the canvas was cleared
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strokes: list[list[QPointF]] = []
        self._drawing = False
        self.ink = QImage(CANVAS_SIZE, CANVAS_SIZE, QImage.Format.Format_Grayscale8)
        self.ink.fill(0)
        self.preferred_side = CANVAS_SIZE
        self.setMinimumSize(MIN_SIDE, MIN_SIDE)
        self.setMaximumSize(CANVAS_SIZE, CANVAS_SIZE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.resize(CANVAS_SIZE, CANVAS_SIZE)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setToolTip("Draw a digit here. Right click or Esc clears, Ctrl+Z undoes the last stroke.")
        self.setAccessibleName("drawing canvas")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.preferred_side, self.preferred_side)

    def set_side(self, side: int) -> None:
        """Ask for a ``side`` x ``side`` canvas: it is shown at most that large, and never forces a window wider
        than MIN_SIDE does (its minimum stays MIN_SIDE, so the window can always shrink again)."""
        side = max(MIN_SIDE, int(side))
        if side != self.preferred_side:
            self.preferred_side = side
            self.setMaximumSize(side, side)
            self.updateGeometry()

    # -- the paper on screen -----------------------------------------------------------------------------
    def paper_rect(self) -> QRectF:
        """Where the paper is drawn: the largest centred square in the widget."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def scale(self) -> float:
        """Screen pixels per ink pixel."""
        return self.paper_rect().width() / CANVAS_SIZE

    def to_ink(self, point: QPointF) -> QPointF:
        paper = self.paper_rect()
        factor = CANVAS_SIZE / paper.width() if paper.width() else 1.0
        return QPointF((point.x() - paper.x()) * factor, (point.y() - paper.y()) * factor)

    def _screen_rect(self, rect: QRectF) -> QRectF:
        paper, factor = self.paper_rect(), self.scale()
        return QRectF(paper.x() + rect.x() * factor, paper.y() + rect.y() * factor, rect.width() * factor, rect.height() * factor)

    # -- the ink image ---------------------------------------------------------------------------------
    def ink_array(self) -> np.ndarray:
        """The ink as float32 [280, 280] in [0, 1] (a copy)."""
        ptr = self.ink.constBits()
        rows = np.frombuffer(ptr, dtype=np.uint8, count=self.ink.sizeInBytes()).reshape(CANVAS_SIZE, self.ink.bytesPerLine())
        return rows[:, :CANVAS_SIZE].astype(np.float32) / 255.0

    def is_empty(self) -> bool:
        return not self.strokes

    def _pen(self, colour: QColor = QColor(255, 255, 255)) -> QPen:
        pen = QPen(colour, STROKE_WIDTH)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint_stroke(self, painter: QPainter, stroke: list[QPointF]) -> None:
        if len(stroke) == 1:  # a tap is a dot
            painter.drawPoint(stroke[0])
            return
        path = QPainterPath(stroke[0])
        for point in stroke[1:]:
            path.lineTo(point)
        painter.drawPath(path)

    def _render(self) -> None:
        """Redraw every stroke into the ink image (after an undo)."""
        self.ink.fill(0)
        painter = QPainter(self.ink)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen())
        for stroke in self.strokes:
            self._paint_stroke(painter, stroke)
        painter.end()

    def _paint_segment(self, a: QPointF, b: QPointF) -> None:
        painter = QPainter(self.ink)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen())
        if a == b:
            painter.drawPoint(a)
        else:
            painter.drawLine(a, b)
        painter.end()
        margin = STROKE_WIDTH
        self.update(self._screen_rect(QRectF(a, b).normalized().adjusted(-margin, -margin, margin, margin)).toAlignedRect())

    # -- editing ---------------------------------------------------------------------------------------
    def clear(self) -> None:
        self.strokes.clear()
        self._drawing = False
        self.ink.fill(0)
        self.update()
        self.cleared.emit()
        self.strokeFinished.emit()

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self._drawing = False
            self._render()
            self.update()
            self.strokeFinished.emit()

    def draw_stroke(self, points: list[tuple[float, float]]) -> None:
        """Add a whole stroke programmatically (tests, demos), as if drawn with the mouse."""
        stroke = [QPointF(x, y) for x, y in points]
        if not stroke:
            return
        self.strokes.append(stroke)
        self._render()
        self.update()
        self.strokeFinished.emit()

    # -- input -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.clear()
        elif event.button() == Qt.MouseButton.LeftButton:
            point = self.to_ink(event.position())
            self.strokes.append([point])
            self._drawing = True
            self._paint_segment(point, point)
            self.strokeMoved.emit()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drawing and event.buttons() & Qt.MouseButton.LeftButton:
            point = self.to_ink(event.position())
            stroke = self.strokes[-1]
            self._paint_segment(stroke[-1], point)
            stroke.append(point)
            self.strokeMoved.emit()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drawing:
            self._drawing = False
            # Redraw the finished stroke as one path: the ink is then exactly what undo and replay produce.
            self._render()
            self.update()
            self.strokeFinished.emit()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # The canvas takes focus when drawn on (StrongFocus), so its keys work right after a stroke.
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        # Dark ink on white paper for the eye, drawn from the strokes at the screen's scale (crisp at any size);
        # the stored image keeps MNIST's ink-high convention.
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        paper = self.paper_rect()
        painter.fillRect(paper, PAPER)
        painter.save()
        painter.setClipRect(paper)
        painter.translate(paper.topLeft())
        painter.scale(self.scale(), self.scale())
        painter.setPen(self._pen(INK))
        for stroke in self.strokes:
            self._paint_stroke(painter, stroke)
        painter.restore()
        painter.setPen(QPen(EDGE, 1))
        painter.drawRect(paper.adjusted(0, 0, -1, -1))
        if self.is_empty():
            painter.setPen(HINT)
            painter.drawText(paper, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.end()
