"""The Compare tab: the networks measured off the GUI thread, one computed sentence, and a checked export."""

from kdgui.core.export import max_abs_difference
from kdgui.core.report import summary_sentence


def test_measure_fills_the_table_and_the_sentence(qtbot, window, synthetic_splits):
    window.show_panel("report")
    panel = window.report_panel
    panel.repeats = 2
    assert panel.measure_button.isEnabled()  # the bundled networks are there on first launch
    with qtbot.waitSignal(panel.measured, timeout=30_000):
        panel.measure_button.click()
    assert set(panel.rows) == {"teacher", "student", "distilled"}
    assert panel.table.rowCount() == 3
    assert panel.sentence.text() == summary_sentence(panel.rows)
    assert panel.rows["teacher"].parameters == 2_395_210 and panel.rows["distilled"].parameters == 39_760
    assert panel.rows["teacher"].test_acc is not None  # scored on the loaded test set


def test_export_writes_a_file_that_matches_pytorch(qtbot, window, tmp_path):
    panel = window.report_panel
    panel.export_choice.setCurrentIndex(panel.export_choice.findData("distilled"))
    with qtbot.waitSignal(panel.exported):
        assert panel.export_to(str(tmp_path / "distilled.pt"))
    model = next(m.model for m in panel.models if m.key == "distilled")
    assert max_abs_difference(model, tmp_path / "distilled.pt") < 1e-6
    assert "largest difference from PyTorch" in panel.status.text()


def test_a_bad_export_path_is_explained(window, tmp_path):
    panel = window.report_panel
    assert not panel.export_to(str(tmp_path / "no-such-folder" / "x.pt"))
    assert "does not exist" in panel.status.text()
    assert not panel.export_to(str(tmp_path / "model.txt"))
    assert "cannot tell the format" in panel.status.text()


def test_the_compare_tab_can_be_brought_to_the_front(window):
    window.show_panel("report")
    assert window.tabs.currentWidget() is window.report_panel
