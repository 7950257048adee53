"""The app's colours in one place: fixed run and role colours, text colours that follow the palette (light or dark),
plot colours from the palette, a dark palette for screenshots and dark desktops, and the keyboard focus ring."""

from __future__ import annotations

import os

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPaintEvent, QPen
from PySide6.QtWidgets import QApplication, QFocusFrame, QWidget

# Ten distinguishable colours (matplotlib's tab10), one per run in the order runs are first seen.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# One colour per role, shared by every view that shows the lineup's networks (bars, legends, answers, the lineup bar).
ROLE_COLOURS = {"teacher": "#1f77b4", "student": "#ff7f0e", "distilled": "#2ca02c"}
# The light palette's values, kept for code that wants a constant; prefer text_colour(), which follows the palette.
HINT_COLOUR = "#0d47a1"
MUTED_COLOUR = "#666666"

# Text meant to stand out by its colour, as (on a light window, on a dark window).
_TEXT = {
    "hint": ("#0d47a1", "#90caf9"),
    "info": ("#0d47a1", "#90caf9"),
    "ok": ("#1b5e20", "#a5d6a7"),
    "warning": ("#8a6d00", "#ffd54f"),
    "error": ("#b71c1c", "#ef9a9a"),
}
# Backgrounds of message strips and marked fields, as (light, dark).
_BACKGROUND = {
    "info": ("#e8f1fb", "#1c3147"),
    "warning": ("#fff8e1", "#3d3413"),
    "error": ("#fdecea", "#4a2020"),
    "ok": ("#e8f5e9", "#1e3a24"),
    "waiting": ("#f2f2f2", "#3a3a3a"),
}
# Workflow chips: (text, background, border) for light and dark windows.
_CHIPS = {
    "done": (("#1b5e20", "#e8f5e9", "#a5d6a7"), ("#c8e6c9", "#1e3a24", "#4c7f50")),
    "current": (("#ffffff", "#1565c0", "#0d47a1"), ("#ffffff", "#1565c0", "#90caf9")),
    "waiting": (("#555555", "#f2f2f2", "#cfcfcf"), ("#bdbdbd", "#3a3a3a", "#5a5a5a")),
}

_DARK = {
    QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6", QPalette.ColorRole.Base: "#1f1f1f",
    QPalette.ColorRole.AlternateBase: "#292929", QPalette.ColorRole.ToolTipBase: "#3a3a3a",
    QPalette.ColorRole.ToolTipText: "#f0f0f0", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
    QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535", QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.BrightText: "#ff6e6e", QPalette.ColorRole.Light: "#4a4a4a", QPalette.ColorRole.Midlight: "#3f3f3f",
    QPalette.ColorRole.Mid: "#2f2f2f", QPalette.ColorRole.Dark: "#1a1a1a", QPalette.ColorRole.Shadow: "#101010",
    QPalette.ColorRole.Highlight: "#3d8fd6", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7ab8f5", QPalette.ColorRole.LinkVisited: "#b39ddb",
}
_DARK_DISABLED = {QPalette.ColorRole.WindowText: "#7a7a7a", QPalette.ColorRole.Text: "#7a7a7a",
                  QPalette.ColorRole.ButtonText: "#7a7a7a", QPalette.ColorRole.Highlight: "#505050",
                  QPalette.ColorRole.HighlightedText: "#a0a0a0"}


# -- the palette ---------------------------------------------------------------------------------------
def palette() -> QPalette:
    return QGuiApplication.palette()


def is_dark(pal: QPalette | None = None) -> bool:
    """True when the window background is darker than its text (a dark desktop theme, or KDGUI_PALETTE=dark)."""
    pal = pal or palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < pal.color(QPalette.ColorRole.WindowText).lightness()


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, colour in _DARK.items():
        pal.setColor(role, QColor(colour))
    for role, colour in _DARK_DISABLED.items():
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return pal


def use_dark_palette(app: QApplication) -> None:
    """Fusion with a dark palette: how the screenshots show a dark desktop (Xvfb has no platform theme)."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())


def wants_dark(argv: list[str] | None = None) -> bool:
    """KDGUI_PALETTE=dark in the environment, or --dark among the arguments."""
    return os.environ.get("KDGUI_PALETTE", "").strip().lower() == "dark" or "--dark" in (argv or [])


def apply_requested_palette(app: QApplication, argv: list[str] | None = None) -> bool:
    """Switch to the dark palette when it was asked for (see ``wants_dark``); True when it did (or already had)."""
    if not wants_dark(argv):
        return False
    if app.property("kdguiDark") is not True:
        use_dark_palette(app)
        app.setProperty("kdguiDark", True)
    return True


# -- text and backgrounds ----------------------------------------------------------------------------------
def text_colour(kind: str) -> str:
    """'muted' (secondary text), or one of hint, info, ok, warning, error, readable on the current palette."""
    if kind == "muted":
        return _opaque(palette().color(QPalette.ColorRole.PlaceholderText), palette().color(QPalette.ColorRole.Window)).name()
    return _TEXT[kind][is_dark()]


def _opaque(colour: QColor, over: QColor) -> QColor:
    """``colour`` blended over ``over`` by its opacity: Fusion's placeholder text is black at 50%, and a style sheet
    given only its name would draw it fully black."""
    a = colour.alphaF()
    return QColor.fromRgbF(*(a * getattr(colour, c)() + (1 - a) * getattr(over, c)() for c in ("redF", "greenF", "blueF")))


def background_colour(kind: str) -> str:
    """The background of a message strip or marked field: info, warning, error, ok or waiting."""
    return _BACKGROUND[kind][is_dark()]


def text_style(kind: str, extra: str = "") -> str:
    """A QLabel style sheet: ``color: …;`` plus anything in ``extra``."""
    return f"color: {text_colour(kind)};{(' ' + extra) if extra else ''}"


def chip_colours(state: str) -> tuple[str, str, str]:
    """(text, background, border) of a workflow chip: done, current or waiting."""
    return _CHIPS[state][is_dark()]


def plain_text_colour() -> str:
    return palette().color(QPalette.ColorRole.Text).name()


# -- plots -------------------------------------------------------------------------------------------------
def plot_colours() -> tuple[str, str]:
    """(background, foreground) for a plot: the palette's base and text colours."""
    pal = palette()
    return pal.color(QPalette.ColorRole.Base).name(), pal.color(QPalette.ColorRole.Text).name()


def theme_plot(plot) -> None:  # noqa: ANN001 - a pyqtgraph PlotWidget, PlotItem or GraphicsLayoutWidget
    """Give a pyqtgraph widget the palette's base as background and its text colour for axes and titles.

    Plots never take keyboard focus: there is nothing to do in them with keys, and an invisible focus stop
    would make Tab look broken.
    """
    import pyqtgraph as pg

    background, foreground = plot_colours()
    if hasattr(plot, "setBackground"):
        plot.setBackground(background)
    if hasattr(plot, "setFocusPolicy"):
        plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot if isinstance(plot, pg.PlotItem) else None
    if item is not None:
        theme_plot_item(item)


def theme_plot_item(item) -> None:  # noqa: ANN001 - a pyqtgraph PlotItem
    import pyqtgraph as pg

    _, foreground = plot_colours()
    pen = pg.mkPen(foreground)
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pen)
        axis.setTextPen(pen)
    item.titleLabel.opts["color"] = foreground
    if item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text)


# -- the keyboard focus ----------------------------------------------------------------------------------------
class FocusRing(QFocusFrame):
    """A 2-pixel ring in the palette's highlight colour around the widget that has keyboard focus.

    Fusion's own focus marks are faint; a style sheet focus rule would restyle every button and combo box.
    This frame sits just outside the focused widget (QFocusFrame follows it as it moves) and changes nothing
    else. It shows when focus moves by keyboard and hides when a mouse click moved it, like a browser's
    :focus-visible.
    """

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.widget() is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
        painter.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), 3, 3)
        painter.end()


class _FocusTracker(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.ring = FocusRing()
        self.ring.setObjectName("kdguiFocusRing")
        app.focusChanged.connect(self._moved)

    def _moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        if not shiboken6.isValid(self.ring):  # it lived in a window that was closed and deleted
            self.ring = FocusRing()
            self.ring.setObjectName("kdguiFocusRing")
        try:
            by_mouse = QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton
            wanted = (new is not None and not by_mouse and bool(new.focusPolicy() & Qt.FocusPolicy.TabFocus)
                      and new.window().isWindow() and not new.inherits("QMenu"))
            self.ring.setWidget(new if wanted else None)
            if not wanted:
                self.ring.hide()
        except RuntimeError:  # a widget deleted while focus moved
            pass


def install_focus_ring(app: QApplication) -> FocusRing:
    """Install the focus ring once per application; returns it."""
    tracker = app.findChild(_FocusTracker)
    if tracker is None:
        tracker = _FocusTracker(app)
    return tracker.ring
