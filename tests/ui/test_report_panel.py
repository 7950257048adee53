"""The Compare tab: the networks measured off the GUI thread, one computed sentence, and a checked export off it too."""

import threading

import pytest

from kdgui.core.export import max_abs_difference
from kdgui.core.report import summary_sentence
from kdgui.ui.panels import report


def test_measure_fills_the_table_and_the_sentence(qtbot, window, synthetic_splits):
    window.show_panel("report")
    panel = window.report_panel
    panel.repeats, panel.drawn_digits = 2, 20
    assert panel.measure_button.isEnabled()  # the bundled networks are there on first launch
    with qtbot.waitSignal(panel.measured, timeout=30_000):
        panel.measure_button.click()
    assert set(panel.rows) == {"teacher", "student", "distilled"}
    assert panel.table.rowCount() == 3
    assert panel.sentence.text() == summary_sentence(panel.rows)
    assert {role: row.parameters for role, row in panel.rows.items()} == {
        m.key: sum(p.numel() for p in m.model.parameters()) for m in panel.models}  # the bundled networks, whatever they are
    assert panel.rows["teacher"].test_acc is not None  # scored on the loaded test set


@pytest.fixture
def held_export(monkeypatch):
    """Make the panel's export wait for ``release.set()`` and note the thread it ran in; always released at the end."""
    release = threading.Event()
    threads: list[threading.Thread] = []
    real = report.export_model

    def export_model(model, path):
        threads.append(threading.current_thread())
        release.wait(30)
        return real(model, path)

    monkeypatch.setattr(report, "export_model", export_model)
    yield release, threads
    release.set()


def test_export_runs_off_the_gui_thread_one_at_a_time(qtbot, window, tmp_path, held_export):
    release, threads = held_export
    panel = window.report_panel
    panel.export_choice.setCurrentIndex(panel.export_choice.findData("distilled"))
    path = tmp_path / "distilled.pt"
    try:
        with qtbot.waitSignal(panel.exported, timeout=60_000) as saved:
            assert panel.export_to(str(path))  # returns at once: the GUI thread is free while the export runs
            assert panel.exporting and not panel.export_button.isEnabled() and not panel.export_busy.isHidden()
            assert "Exporting" in panel.status.text()
            assert not panel.export_to(str(tmp_path / "again.pt"))  # one export at a time
            release.set()
    finally:
        release.set()
        panel.wait_for_export()
    assert saved.args == [str(path)]
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert not panel.exporting and panel.export_button.isEnabled() and panel.export_busy.isHidden()
    model = next(m.model for m in panel.models if m.key == "distilled")
    assert max_abs_difference(model, path) < 1e-6
    assert "largest difference from PyTorch" in panel.status.text()
    assert not (tmp_path / "again.pt").exists()


def test_a_bad_export_path_is_explained(qtbot, window, tmp_path):
    panel = window.report_panel
    for path, reason in ((tmp_path / "no-such-folder" / "x.pt", "does not exist"), (tmp_path / "model.txt", "cannot tell the format")):
        with qtbot.waitSignal(panel.exportFailed, timeout=30_000) as failed:
            assert panel.export_to(str(path))
        assert reason in failed.args[0] and reason in panel.status.text()
        assert panel.status.text().startswith("Export failed:")
        assert panel.export_button.isEnabled() and panel.export_busy.isHidden()


def test_an_unexpected_export_error_is_one_line(qtbot, window, tmp_path, monkeypatch):
    def broken(model, path):
        raise RuntimeError("the exporter broke\nTraceback-like detail\nmore detail")

    monkeypatch.setattr(report, "export_model", broken)
    panel = window.report_panel
    with qtbot.waitSignal(panel.exportFailed, timeout=30_000) as failed:
        assert panel.export_to(str(tmp_path / "x.onnx"))
    assert failed.args == ["RuntimeError: the exporter broke"]
    assert panel.status.text() == "Export failed: RuntimeError: the exporter broke"
    assert panel.export_button.isEnabled()


def test_the_compare_tab_can_be_brought_to_the_front(window):
    window.show_panel("report")
    assert window.tabs.currentWidget() is window.report_panel
