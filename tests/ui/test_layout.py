"""The window's layout: it fits 1024x700, the Runs list folds and follows the runs, the settings column hides, and the
Soft targets and Draw tabs show their whole content (all ten class labels, the heatmap, a canvas that grows)."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QApplication

from kdgui.core.preprocess import preprocess
from kdgui.ui.panels.soft_targets import CELL_MIN_HEIGHT, CELL_MIN_WIDTH, grid_columns
from kdgui.ui.widgets.drawing_canvas import CANVAS_SIZE, DrawingCanvas
from ui_helpers import train

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]
SIZES = [(1024, 700), (1360, 860), (1920, 1080)]


def settle(window, width, height):
    window.resize(width, height)
    for _ in range(4):
        QApplication.processEvents()


def fully_shown(widget) -> bool:
    """The whole widget is on screen: nothing of it is cut off by its page, a scroll area or the window."""
    shown = widget.viewport() if hasattr(widget, "viewport") else widget  # a plot draws in its viewport
    return widget.isVisible() and shown.visibleRegion().boundingRect() == shown.rect()


def test_the_window_fits_a_1024_by_700_screen(window):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    settle(window, 1024, 700)
    assert window.width() == 1024 and window.height() == 700
    for toolbar in (window.run_toolbar, window.lineup_toolbar):
        assert toolbar.geometry().right() < 1024
    assert window.hint_label.width() > 0  # the hint shortens with an ellipsis, it does not widen the window


def test_the_runs_list_hides_without_runs_and_comes_back_with_the_first(qtbot, window):
    assert window.runs_model.runs == [] and window.runs_dock.isHidden()
    outcome, _ = train(qtbot, window, "teacher")
    assert outcome == "finished"
    assert not window.runs_dock.isHidden()
    assert "1 run" in window.runs_dock.title_bar.summary.text()


def test_a_runs_folder_with_only_unreadable_entries_still_shows_the_runs_list(make_window):
    """The list is where a user learns why a run is unreadable, so a folder with nothing else must not hide it."""
    from kdgui.core.runs import RunStore

    broken = RunStore().root / "20261130-120000-student-ab12"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text('{"name": [1, 2]')
    window = make_window()
    assert window.runs_model.runs == [] and window.runs_model.unreadable
    assert not window.runs_dock.isHidden()


def test_the_runs_list_folds_to_one_line_and_unfolds_on_request(qtbot, window):
    train(qtbot, window, "teacher")
    settle(window, 1360, 860)
    dock = window.runs_dock
    dock.set_folded(True)
    settle(window, 1360, 860)
    assert dock.height() <= dock.title_bar.sizeHint().height() + 4 and not dock.content.isVisible()
    assert dock.width() > 600  # the strip keeps the width of the area, with its summary readable
    window.show_step("compare")  # the Compare step opens the runs list
    settle(window, 1360, 860)
    assert not dock.folded and dock.content.isVisible() and dock.height() > 100
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700  # unfolded, it still fits a small screen


def test_the_settings_column_hides_and_comes_back_as_it_was(window):
    window.show_panel("training")
    settle(window, 1360, 860)
    page_width = window.tabs.width()
    window.panels_button.click()
    settle(window, 1360, 860)
    assert not window.settings_panels_shown() and window.tabs.width() > page_width + 250
    window.panels_button.click()
    settle(window, 1360, 860)
    assert window.settings_panels_shown()
    assert not window.docks["training"].visibleRegion().isEmpty()  # the same dock is in front again


def test_the_run_controls_and_lineup_share_a_row_only_when_there_is_room(window):
    settle(window, 1920, 1080)
    assert not window.toolBarBreak(window.lineup_toolbar)
    settle(window, 1360, 860)
    assert window.toolBarBreak(window.lineup_toolbar)


@pytest.mark.parametrize("size", SIZES)
def test_the_draw_chart_shows_all_ten_class_labels(window, size):
    window.show_panel("draw")
    window.canvas_panel.canvas.draw_stroke(SEVEN)
    settle(window, *size)
    plot = window.canvas_panel.plot_widget
    assert fully_shown(plot)
    axis = plot.getPlotItem().getAxis("bottom")
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    if axis.style["tickFont"] is not None:
        painter.setFont(axis.style["tickFont"])
    _, _, texts = axis.generateDrawSpecs(painter)  # what the axis paints, as its paint() would
    painter.end()
    labels = {text for _, _, text in texts}
    assert {str(i) for i in range(10)} <= labels
    box = axis.boundingRect()
    assert all(box.contains(rect) for rect, _, text in texts if text in labels)
    for answer in window.canvas_panel.answers.values():  # the three networks' answers are all there too
        assert fully_shown(answer.digit)


def test_the_canvas_grows_with_the_window_and_stays_square(window):
    window.show_panel("draw")
    sides = []
    for size in SIZES:
        settle(window, *size)
        canvas = window.canvas_panel.canvas
        assert canvas.width() == canvas.height() and fully_shown(canvas)
        sides.append(canvas.width())
    assert sides[0] < sides[1] < sides[2]
    assert sides[2] > 1.8 * CANVAS_SIZE  # far past the old fixed 280 pixels on a 1920x1080 screen


def drag(widget, points):
    def send(kind, x, y):
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(x, y), widget.mapToGlobal(QPointF(x, y)),
                                                   Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier))
    send(QEvent.Type.MouseButtonPress, *points[0])
    for point in points[1:]:
        send(QEvent.Type.MouseMove, *point)
    send(QEvent.Type.MouseButtonRelease, *points[-1])


@pytest.mark.parametrize("side", [200, 280, 560, 840])
def test_the_same_drawing_on_any_canvas_size_gives_the_networks_the_same_input(qtbot, side):
    reference = DrawingCanvas()
    qtbot.addWidget(reference)
    drag(reference, SEVEN)
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.set_side(side)
    canvas.resize(side, side)
    scale = side / CANVAS_SIZE
    drag(canvas, [(x * scale, y * scale) for x, y in SEVEN])
    assert canvas.ink_array().shape == (CANVAS_SIZE, CANVAS_SIZE)
    np.testing.assert_allclose(canvas.ink_array(), reference.ink_array(), atol=1e-6)
    assert np.array_equal(preprocess(canvas.ink_array()).numpy(), preprocess(reference.ink_array()).numpy())


def test_soft_targets_show_the_default_digits_and_the_whole_heatmap_without_scrolling(window):
    window.show_panel("soft_targets")
    settle(window, 1360, 860)
    panel = window.soft_targets_panel
    assert len(panel.cells) == 4  # the default: one each of 4, 9, 3 and 5
    assert not panel.scroll.verticalScrollBar().isVisible() and not panel.scroll.horizontalScrollBar().isVisible()
    assert fully_shown(panel.heatmap_widget)
    heatmap = panel.heatmap_plot.sceneBoundingRect()
    assert panel.heatmap_widget.rect().toRectF().contains(heatmap)  # rows 0-9 and the colour bar's labels
    colour_axis = panel.colour_bar.getAxis("right")
    assert panel.heatmap_widget.rect().toRectF().contains(colour_axis.sceneBoundingRect())


@pytest.mark.parametrize("n, width, height, columns", [
    (4, 500, 520, 2), (4, 1100, 800, 2), (1, 500, 400, 1), (12, 500, 400, 2), (4, 200, 300, 1), (6, 1200, 400, 3),
])
def test_the_digit_grid_uses_the_fewest_columns_that_fit(n, width, height, columns):
    assert grid_columns(n, width, height) == columns
    rows = -(-n // columns)
    if rows * CELL_MIN_HEIGHT <= height:
        assert width // columns >= CELL_MIN_WIDTH


@pytest.mark.parametrize("screen, size", [((1024, 700), (1024, 700)), ((1440, 900), (1360, 860)),
                                          ((1920, 1080), (1632, 918)), ((800, 600), (800, 600))])
def test_the_window_opens_no_larger_than_its_screen(screen, size):
    from PySide6.QtCore import QSize

    from kdgui.ui.window_layout import window_size

    assert window_size(QSize(*screen)) == size
