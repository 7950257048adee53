"""The Sweep page's alpha x T grid: the alphas field, a heatmap of validation accuracy with test accuracy on hover."""

import pyqtgraph as pg
import pytest

from kdgui.core.config import NetSpec
from kdgui.core.errors import ConfigError
from kdgui.core.sweep import Reference, SweepFinished, SweepStarted, summarize
from kdgui.ui.panels.results_table import RESULT_COLUMNS
from kdgui.ui.panels.sweep_page import SweepPage
from test_experiments import WAIT_MS, fake_window, make_panel, runner, trained  # noqa: F401 - the tab's fixtures

STUDENT = lambda: NetSpec(hidden=(8,))  # noqa: E731


@pytest.fixture
def page(qtbot):
    page = SweepPage()
    qtbot.addWidget(page)
    page.show()
    return page


def grid_points(shift=0.0):
    # alphas 0.5 and 1 x temperatures 2 and 4, one seed each; validation and test differ, so the tooltip can tell
    return summarize([2.0, 4.0, 2.0, 4.0], [0.90 + shift, 0.95, 0.91, 0.97], [0.89, 0.94, 0.92, 0.96], [0.5, 0.5, 1.0, 1.0])


def test_the_grid_alphas_make_a_grid_sweep_and_bad_ones_are_refused(page):
    page.temperatures_edit.setText("1, 4")
    page.alphas_edit.setText("0.1, 0.5, 1")
    assert not page.sweep_alpha.isEnabled()
    config = page.sweep_config("t", STUDENT)
    assert config.alphas == (0.1, 0.5, 1.0) and config.is_grid and len(config.members) == 6
    page.alphas_edit.setText("0.5, 2")
    with pytest.raises(ConfigError, match="alpha"):
        page.sweep_config("t", STUDENT)
    page.alphas_edit.setText("0.5, x")
    with pytest.raises(ConfigError, match="'x' is not a number"):
        page.sweep_config("t", STUDENT)
    page.alphas_edit.setText("")
    assert page.sweep_alpha.isEnabled() and page.sweep_config("t", STUDENT).alphas == ()


def test_a_grid_shows_a_heatmap_of_validation_with_test_on_hover_updated_in_place(page):
    page.show_points(grid_points())
    assert page.result_views.currentIndex() == 1  # the heatmap, not the curve
    heat = page.heatmap
    assert (heat.rowCount(), heat.columnCount()) == (2, 2)
    assert [heat.verticalHeaderItem(i).text() for i in range(2)] == ["α=0.5", "α=1"]
    assert [heat.horizontalHeaderItem(j).text() for j in range(2)] == ["T=2", "T=4"]
    assert [[heat.item(i, j).text() for j in range(2)] for i in range(2)] == [["90.00%", "95.00%"], ["91.00%", "97.00%"]]
    assert heat.item(1, 0).toolTip() == "α=1, T=2: validation 91.00%, test 92.00%"
    # The colour follows validation accuracy along viridis: the best cell yellow, the worst dark purple, white on dark.
    viridis = pg.colormap.get("viridis")
    assert heat.item(1, 1).background().color().name() == viridis.map(1.0, mode="qcolor").name() == "#fde725"
    assert heat.item(0, 0).background().color().name() == viridis.map(0.0, mode="qcolor").name() == "#440154"
    assert heat.item(1, 0).background().color().name() == viridis.map(1 / 7, mode="qcolor").name()
    assert heat.item(0, 0).foreground().color().name() == "#ffffff" and heat.item(1, 1).foreground().color().name() == "#000000"
    item = heat.item(0, 0)
    page.show_points(grid_points(shift=0.08))  # a later evaluation: the same items, new numbers
    assert heat.item(0, 0) is item and item.text() == "98.00%" and item.toolTip().startswith("α=0.5, T=2: validation 98.00%")
    headers = [page.sweep_table.horizontalHeaderItem(c).text() for c in range(page.sweep_table.columnCount())]
    assert headers == ["α", "T", "seeds", "validation", "test", "test range"] and page.sweep_table.rowCount() == 4
    assert [page.sweep_table.item(r, 0).text() for r in range(4)] == ["0.5", "0.5", "1", "1"]


def test_the_verdict_names_the_best_grid_point_and_the_references(page):
    teacher = Reference("teacher", "t1", 0.98, 0.975)
    page.show_event(SweepStarted("s1", (2.0,) * 4, (0,) * 4, 10, "cpu", "t1", (teacher,), (0.5, 0.5, 1.0, 1.0)))
    points = grid_points()
    page.show_event(SweepFinished("s1", points, (), (), 1.0, 0.1, "/tmp/x.json"))
    text = page.verdict.text()
    assert text.startswith("α=1, T=4 was best on validation (97.00%), 7.00 points above the worst, α=0.5, T=2 (90.00%)")
    assert "on test it scores 96.00%" in text and "teacher: test 97.50%" in text


def test_a_sweep_over_temperatures_alone_keeps_its_curve(page):
    page.show_points(grid_points())
    page.show_points(summarize([1.0, 4.0], [0.9, 0.95], [0.89, 0.94], [1.0, 1.0]))
    assert page.result_views.currentIndex() == 0
    x, y = page.val_curve.getData()
    assert list(y) == pytest.approx([90.0, 95.0])
    headers = [page.sweep_table.horizontalHeaderItem(c).text() for c in range(page.sweep_table.columnCount())]
    assert headers == ["T", "seeds", "validation", "test", "test range"]
    page.clear()
    assert page.heatmap.rowCount() == 0 and page.sweep_table.rowCount() == 0


# --- through the Experiments tab ---------------------------------------------------------------------------------


def test_a_grid_sweep_in_the_tab_fills_the_heatmap_and_the_results_name_its_best_point(qtbot, trained, runner,  # noqa: F811
                                                                                         make_panel):  # noqa: F811
    panel, page = trained, trained.sweep
    page.temperatures_edit.setText("1, 4")
    page.alphas_edit.setText("0.5, 1")
    page.sweep_loss.setCurrentIndex(page.sweep_loss.findData("hinton"))
    page.sweep_epochs.setValue(1)
    page.sweep_limit.setValue(200)
    assert page.run_button.isEnabled(), page.run_button.toolTip()
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        page.run_button.click()
    assert blocker.args == ["sweep", "finished"]
    assert page.result_views.currentIndex() == 1 and (page.heatmap.rowCount(), page.heatmap.columnCount()) == (2, 2)
    cells = [page.heatmap.item(i, j) for i in range(2) for j in range(2)]
    assert all(c.text().endswith("%") and "test" in c.toolTip() for c in cells)
    assert "was best on validation" in page.verdict.text() and "α=" in page.verdict.text()
    panel.tabs.setCurrentWidget(panel.results)
    (row,) = [r for r in panel.results.visible_rows() if r[0] == "Sweep"]
    assert row[RESULT_COLUMNS.index("name")].startswith("2 x 2 grid, best α=")
    # Opened again (a restart), the tab shows the newest finished sweep: the same heatmap and verdict.
    again = make_panel().sweep
    assert again.result_views.currentIndex() == 1
    assert [[again.heatmap.item(i, j).toolTip() for j in range(2)] for i in range(2)] == [
        [page.heatmap.item(i, j).toolTip() for j in range(2)] for i in range(2)]
    assert again.verdict.text() == page.verdict.text() and "The last sweep" in again.status.text()


def test_the_other_dataset_study_is_one_click_away_and_reports(qtbot, trained, runner):  # noqa: F811
    page = trained.study
    page.study_choice.setCurrentIndex(page.study_choice.findData("other-dataset"))
    assert page.study_other.isEnabled() and page.study_other.currentData() == "letters"
    assert not page.study_classes.isEnabled()
    page.study_epochs.setValue(1)
    page.study_limit.setValue(200)
    assert page.study_config("t", STUDENT).job().distill.transfer == "other"
    with qtbot.waitSignal(runner.ended, timeout=WAIT_MS) as blocker:
        page.run_button.click()
    assert blocker.args == ["study", "finished"]
    words = page.study_words.text()
    assert "Never shown a digit, only the teacher&#x27;s answers on drawn Latin letters" in words
    assert "200 images of drawn Latin letters" in words
    page.study_choice.setCurrentIndex(page.study_choice.findData("noise"))
    assert not page.study_other.isEnabled()
