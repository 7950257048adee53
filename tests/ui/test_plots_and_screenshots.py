"""Plots export PNG/SVG/CSV and show values on hover; ``kdgui --screenshot`` renders the window and exits."""

import csv
import re

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from kdgui import app as kdgui_app
from kdgui.ui import style
from kdgui.ui.main_window import PANELS
from kdgui.ui.widgets.plot_export import export_plot
from ui_helpers import train


@pytest.fixture
def trained_window(qtbot, window):
    train(qtbot, window, "teacher")
    window.curves_panel.flush()
    return window


@pytest.mark.parametrize("suffix", [".png", ".svg", ".csv"])
def test_plots_export(trained_window, tmp_path, suffix):
    path = export_plot(trained_window.curves_panel.accuracy_item, tmp_path / f"accuracy{suffix}")
    assert path.is_file() and path.stat().st_size > 100
    if suffix == ".csv":
        rows = list(csv.reader(path.open()))
        assert rows[0][:2] == ["teacher_x", "teacher_y"] and len(rows) == 1 + 8


def test_the_plot_menu_offers_the_exports(trained_window):
    panel = trained_window.curves_panel
    for plot in (*panel.loss_items.values(), panel.accuracy_item):
        texts = [a.text() for a in plot.vb.menu.actions()]
        assert {"Export PNG…", "Export SVG…", "Export CSV…"} <= set(texts)


def test_hover_shows_the_values_under_the_mouse(qtbot, trained_window):
    panel = trained_window.curves_panel
    vb = panel.accuracy_item.vb
    panel.accuracy_plot.resize(600, 300)
    (x0, x1), (y0, y1) = vb.viewRange()
    scene_pos = vb.mapViewToScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    panel._hovered("accuracy", scene_pos)
    _, line, text, _ = panel._hover["accuracy"]
    assert text.isVisible() and line.isVisible()
    assert "teacher: val" in text.textItem.toPlainText() and "test" in text.textItem.toPlainText()


def test_screenshot_renders_the_window_with_a_panel_in_front(qtbot, trained_window, tmp_path):
    for panel in ("runs", "distillation"):
        path = kdgui_app.take_screenshot(trained_window, tmp_path / f"{panel}.png", panel)
        image = QImage(str(path))
        assert (image.width(), image.height()) == kdgui_app.SCREENSHOT_SIZE
    assert trained_window.docks["distillation"].visibleRegion().isEmpty() is False


def test_the_screenshot_command_shows_saved_runs(qtbot, trained_window, tmp_path, capsys):
    path = tmp_path / "main.png"
    assert kdgui_app.main(["--screenshot", str(path), "--panel", "curves"]) == 0
    assert QImage(str(path)).width() == kdgui_app.SCREENSHOT_SIZE[0]
    assert "saved" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        kdgui_app.main(["--screenshot", str(path), "--panel", "nonsense"])
    assert set(PANELS) == {"data", "networks", "training", "distillation", "runs", "curves", "soft_targets", "draw",
                           "experiments", "report", "insight", "changed", "confusion", "hidden", "probe"}


def test_the_application_has_the_kdgui_icon(qapp):
    from kdgui.app import app_icon

    icon = app_icon()
    assert not icon.isNull() and not icon.pixmap(32, 32).isNull()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_plots_and_notes_follow_the_palette(qapp, make_window, dark):
    """Curves, Experiments and Compare draw on the palette's base in its text colour; their notes use style's colours."""
    old = qapp.palette()
    if dark:
        qapp.setPalette(style.dark_palette())
    try:
        window = make_window()
        background, foreground = style.plot_colours()
        assert (background, foreground) == (("#1f1f1f", "#e6e6e6") if dark else ("#ffffff", "#000000"))
        panels = (window.curves_panel, window.experiments_panel, window.report_panel)
        plots = [plot for panel in panels for plot in panel.findChildren(pg.PlotWidget)]
        assert len(plots) == 7  # three loss charts, accuracy, fidelity, the sweep and the study
        for plot in plots:
            assert plot.backgroundBrush().color().name() == background
            item = plot.getPlotItem()
            assert item.getAxis("left").textPen().color().name() == foreground
            assert item.titleLabel.opts["color"] == foreground
        legend = window.curves_panel.accuracy_item.legend
        assert legend.opts["labelTextColor"] == foreground
        assert legend.opts["brush"].color().name() == background
        # No fixed greys: every colour in these panels' style sheets is one of style's, for this palette.
        allowed = {style.text_colour(kind) for kind in ("muted", "hint", "info", "ok", "warning", "error")}
        allowed |= {style.background_colour(kind) for kind in ("info", "warning", "error", "ok", "waiting")}
        for panel in panels:
            for widget in [panel, *panel.findChildren(QWidget)]:
                assert set(re.findall(r"#[0-9a-fA-F]{3,8}\b", widget.styleSheet())) <= allowed, widget
        muted = style.text_style("muted")
        curves = window.curves_panel
        assert curves.hint.styleSheet() == curves.loss_caption.styleSheet() == muted
    finally:
        qapp.setPalette(old)
