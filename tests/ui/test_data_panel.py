"""The Data panel names the folder and the four files it needs, and a failed download says why."""

from kdgui.core import data as core_data
from kdgui.core.errors import DataError
from kdgui.ui.panels import data as data_panel_module


def test_missing_data_names_folder_and_files_and_blocks_training(qtbot, make_window, isolated_dirs):
    window = make_window(data=None)
    panel = window.data_panel
    assert not panel.ready
    text = panel.status_label.text()
    assert str(isolated_dirs / "data" / "MNIST" / "raw") in text
    for name, _, _ in core_data.RAW_FILES:
        assert name in text
    assert panel.download_button.isVisibleTo(panel)
    assert not window.run_controls.start_buttons["teacher"].isEnabled()
    assert "MNIST is missing" in window.run_controls.start_buttons["teacher"].toolTip()
    assert window.step_bar.states["data"] == "current"


def test_a_truncated_file_is_reported(qtbot, make_window, isolated_dirs):
    raw = isolated_dirs / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01")
    window = make_window(data=None)
    assert "truncated" in window.data_panel.status_label.text()


def test_a_failed_download_shows_the_core_message_and_the_app_stays_usable(qtbot, make_window, isolated_dirs, monkeypatch):
    def offline(data_dir, dataset):
        raise DataError(core_data.missing_files_message(data_dir, dataset, "download failed (no network)"))

    monkeypatch.setattr(data_panel_module.core_data, "download_dataset", offline)
    window = make_window(data=None)
    panel = window.data_panel
    with qtbot.waitSignal(panel.downloadFinished, timeout=5_000) as done:
        panel.download_button.click()
        assert panel.downloading() and panel.busy_bar.isVisibleTo(panel)
        assert not window.run_controls.start_buttons["teacher"].isEnabled()
    assert "download failed (no network)" in done.args[0]
    assert "Download failed" in panel.status_label.text() and "No internet" in panel.status_label.text()
    assert window.banner.isVisible() and "Download of MNIST failed" in window.banner.text.text()
    assert not panel.downloading() and panel.download_button.isEnabled()


def test_a_successful_download_makes_the_data_ready(qtbot, make_window, isolated_dirs, monkeypatch):
    from ui_helpers import REAL_DATA

    def copy_files(data_dir, dataset):
        import shutil

        target = core_data.raw_folder(data_dir, dataset)
        target.mkdir(parents=True)
        for name, _, _ in core_data.RAW_FILES:
            source = core_data.raw_folder(REAL_DATA, dataset) / name
            if not source.is_file():
                raise DataError("no real MNIST to pretend a download with")
            shutil.copy(source, target / name)

    monkeypatch.setattr(data_panel_module.core_data, "download_dataset", copy_files)
    window = make_window(data=None)
    with qtbot.waitSignal(window.data_panel.downloadFinished, timeout=10_000) as done:
        window.data_panel.download_button.click()
    if done.args[0]:
        assert "no real MNIST" in done.args[0]
        return
    assert window.data_panel.ready
    assert window.run_controls.start_buttons["teacher"].isEnabled()
    assert window.step_bar.states["data"] == "done"
