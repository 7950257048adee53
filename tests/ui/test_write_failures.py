"""Nothing on disk can break the window: a read-only or full runs folder, unwritable export folders, corrupt and
unreadable runs, a run killed mid-training, a run another process trains. Each is a one-line message; nothing is
lost and the app stays usable.

Root ignores chmod, so a read-only or full disk is simulated where kdgui meets the system: creating folders,
the atomic writer's temporary file, opening files for writing, renaming.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from kdgui.core import runs as core_runs
from kdgui.core.errors import KdguiError, WriteError
from kdgui.core.runs import RunStore
from kdgui.ui.panels.runs import INTERRUPTED_MEANING, UNREADABLE
from kdgui.ui.widgets.plot_export import export_plot

from ui_helpers import train

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]


def _under(path: object, root: Path) -> bool:
    try:
        return Path(os.fspath(path)).resolve().is_relative_to(root.resolve())
    except (TypeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def failing_disk(monkeypatch, root: Path, code: int = errno.EROFS):
    """Every write under ``root`` fails with ``code`` (EROFS: read-only; ENOSPC: full), as the system would say it."""

    def fail(path: object) -> OSError:
        return OSError(code, os.strerror(code), os.fspath(path))

    real_mkdir, real_open, real_rename, real_mkstemp = Path.mkdir, os.open, os.rename, tempfile.mkstemp
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def mkdir(self, *args, **kwargs):
        if _under(self, root) and not (kwargs.get("exist_ok") and self.is_dir()):
            raise fail(self)
        return real_mkdir(self, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if flags & writing and _under(path, root):
            raise fail(path)
        return real_open(path, flags, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):
        if _under(src, root) or _under(dst, root):
            raise fail(src)
        return real_rename(src, dst, *args, **kwargs)

    def mkstemp(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's name
        if dir is not None and _under(dir, root):
            raise fail(dir)
        return real_mkstemp(*args, dir=dir, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "mkdir", mkdir)
        patch.setattr(os, "open", open_)
        patch.setattr(os, "rename", rename)
        patch.setattr(tempfile, "mkstemp", mkstemp)
        yield


def one_line(text: str) -> bool:
    return "\n" not in text and "Traceback" not in text and "Errno" not in text


# -- starting, renaming, deleting, the lineup -----------------------------------------------------------------

@pytest.mark.parametrize("code, words", [(errno.EROFS, "Read-only file system"), (errno.ENOSPC, "No space left on device")])
def test_starting_a_run_on_a_read_only_or_full_disk_is_one_line_and_the_app_stays_usable(qtbot, window, monkeypatch, capfd,
                                                                                          code, words):
    assert train(qtbot, window, "teacher")[0] == "finished"
    root = window.store.root
    with failing_disk(monkeypatch, root, code):
        outcome, run_id = train(qtbot, window, "student")
    assert (outcome, run_id) == ("failed", "")
    text = window.banner.text.text()
    assert window.banner.isVisible() and window.banner.level == "error"
    assert words in text and str(root) in text and one_line(text), text
    assert "Traceback" not in capfd.readouterr().err
    assert len(window.runs_model.runs) == 1  # nothing half-made was left behind
    assert train(qtbot, window, "student")[0] == "finished"  # the disk is back: the app just works


def test_a_disk_that_fills_up_mid_run_says_so_and_keeps_the_last_checkpoint(qtbot, window, monkeypatch, capfd):
    from kdgui.ui.panels.training import STAGES

    for stage in STAGES:
        window.training_panel.forms[stage].epochs.setValue(3)
    real_save = core_runs.Run.save_weights
    saves = []

    def full_after_first_checkpoint(self, state):
        saves.append(self.id)
        if len(saves) > 1:  # the first epoch's checkpoint is written; then the disk is full
            raise WriteError(f"cannot write {self.path / 'weights.safetensors'}: No space left on device", errno.ENOSPC)
        return real_save(self, state)

    real_set_status = core_runs.Run.set_status

    def full_disk_status(self, status, **summary):
        if status != "running":
            raise WriteError(f"cannot write {self.path / 'run.json'}: No space left on device", errno.ENOSPC)
        return real_set_status(self, status, **summary)

    monkeypatch.setattr(core_runs.Run, "save_weights", full_after_first_checkpoint)
    monkeypatch.setattr(core_runs.Run, "set_status", full_disk_status)
    outcome, run_id = train(qtbot, window, "teacher")
    assert outcome == "failed" and run_id
    text = window.banner.text.text()
    assert "No space left on device" in text and one_line(text), text
    assert "interrupted" in text and "last epoch" in text  # what is on disk, read back, not guessed
    assert "Traceback" not in capfd.readouterr().err
    run = RunStore().get(run_id)
    assert run.status == "interrupted" and run.has_weights
    # The interrupted teacher is listed as such, explained, and can teach.
    item = window.runs_panel.item_for(run_id)
    assert item.text(3) == "interrupted" and INTERRUPTED_MEANING in item.toolTip(3)
    window.runs_panel.select(run_id)
    assert INTERRUPTED_MEANING in window.runs_panel.details.toPlainText()
    assert window.runs_panel.teacher_button.isEnabled()
    assert run_id in [r.id for r in window.runs_model.teacher_runs("mnist")]
    monkeypatch.undo()
    assert train(qtbot, window, "student")[0] == "finished"


def test_rename_delete_and_the_lineup_on_a_read_only_disk_are_messages(qtbot, window, monkeypatch):
    _, run_id = train(qtbot, window, "teacher")
    root = window.store.root
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    with failing_disk(monkeypatch, root):
        window.runs_view.rename(run_id, "my teacher")
        text = window.banner.text.text()
        assert text.startswith("Cannot rename:") and "Read-only file system" in text and one_line(text), text
        window.banner.hide()
        window.runs_panel.select(run_id)
        window.runs_panel.delete_button.click()
        text = window.banner.text.text()
        assert text.startswith("Cannot delete:") and "Read-only file system" in text and one_line(text), text
        window.banner.hide()
        window.lineup_model.choose("teacher", "bundled")
        text = window.banner.text.text()
        assert "could not be saved" in text and one_line(text), text
    assert RunStore().get(run_id).name != "my teacher" and window.runs_panel.item_for(run_id) is not None
    assert window.lineup_model.lineup["teacher"].bundled  # the choice holds for this session
    window.runs_view.rename(run_id, "my teacher")
    assert RunStore().get(run_id).name == "my teacher"


def test_a_run_another_process_trains_cannot_be_deleted_or_renamed(qtbot, window, synthetic_splits):
    from kdgui.core.config import Job, NetSpec, TrainConfig

    # This test's process holds the lock, as another kdgui process would: the window did not start this run.
    other = RunStore().create(Job("teacher", NetSpec(hidden=(8,)), TrainConfig(epochs=1)))
    try:
        window.runs_model.refresh()
        panel = window.runs_panel
        panel.select(other.id)
        assert panel.item_for(other.id).text(3) == "running"
        assert not panel.delete_button.isEnabled() and "Another kdgui process" in panel.delete_button.toolTip()
        assert not panel.rename_button.isEnabled()
        assert "another kdgui process" in panel.details.toPlainText()
        window.runs_view.delete(other.id)  # asked anyway (e.g. through the model): the core refuses, in words
        text = window.banner.text.text()
        assert text.startswith("Cannot delete:") and "is training now" in text and one_line(text)
        assert (RunStore().root / other.id).is_dir()
    finally:
        other.set_status("stopped")
    window.runs_model.refresh()
    panel.select(other.id)
    assert panel.delete_button.isEnabled()


# -- runs that cannot be read, or were killed ---------------------------------------------------------------

def test_a_corrupt_teacher_leaves_every_view_with_networks_and_the_banner_names_it(qtbot, make_window):
    first = make_window()
    _, teacher_id = train(qtbot, first, "teacher")
    RunStore().get(teacher_id).weights_path.write_bytes(b"not a weights file")
    window = make_window()  # the app opened again over the runs folder with the bad run
    assert window.lineup_model.lineup["teacher"].run_id == teacher_id  # still its newest teacher: nothing hides it
    text = window.banner.text.text()
    assert window.banner.isVisible() and teacher_id in text and "bundled one answers instead" in text and one_line(text)
    sources = {m.key: m.source for m in window.canvas_panel.predictor.models}
    assert sources == {"teacher": "bundled", "student": "bundled", "distilled": "bundled"}
    window.show_panel("draw")
    window.canvas_panel.canvas.draw_stroke(SEVEN)
    assert window.canvas_panel.prediction is not None
    assert "No networks" not in window.canvas_panel.status.text()
    window.show_panel("report")
    assert window.report_panel.measure_button.isEnabled()


def test_unreadable_entries_are_listed_greyed_with_the_reason_and_can_be_deleted(qtbot, window, monkeypatch):
    _, good_id = train(qtbot, window, "teacher")
    root = RunStore().root
    bad = root / "20250101-000000-teacher-dead"
    bad.mkdir()
    (bad / "run.json").write_text("{ not json")
    stranger = root / "20250101-000000-student-beef"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("not kdgui's")
    window.runs_panel.refresh_button.click()
    panel = window.runs_panel
    assert [r.id for r in window.runs_model.runs] == [good_id]  # the good run is untouched
    item = panel.item_for(bad.name)
    assert item is not None and item.text(3) == UNREADABLE and "corrupt" in item.toolTip(0)
    assert not (item.flags() & item.flags().ItemIsUserCheckable)
    assert "unreadable" in panel.summary()
    assert "could not be read" in window.statusBar().currentMessage()
    panel.select(bad.name)
    assert panel.delete_button.isEnabled() and not panel.reopen_button.isEnabled() and not panel.stage_button.isEnabled()
    assert "corrupt" in panel.details.toPlainText()
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    panel.delete_button.click()
    assert not bad.exists() and panel.item_for(bad.name) is None
    panel.select(stranger.name)
    panel.delete_button.click()  # not a kdgui run folder: the core leaves it alone, and says so
    assert stranger.is_dir() and "not a kdgui run folder" in window.banner.text.text()
    assert panel.item_for(good_id) is not None


def test_a_killed_run_reads_as_interrupted_and_can_teach(qtbot, make_window, synthetic_splits):
    from kdgui.core.config import Job, NetSpec, TrainConfig
    from kdgui.core.models import build_model

    store = RunStore()
    run = store.create(Job("teacher", NetSpec(hidden=(8,)), TrainConfig(epochs=1)))
    run.save_weights(build_model(NetSpec(hidden=(8,)), seed=0).state_dict())
    run.release_lock()  # as SIGKILL would leave it: run.json says running, no process holds the lock
    window = make_window()
    assert window.runs_model.run(run.id).status == "interrupted"
    item = window.runs_panel.item_for(run.id)
    assert item.text(3) == "interrupted"
    window.runs_panel.select(run.id)
    assert INTERRUPTED_MEANING in window.runs_panel.details.toPlainText()
    assert window.runs_panel.delete_button.isEnabled() and window.runs_panel.stage_button.isEnabled()
    assert window.distillation_panel.teacher_run_id() == run.id
    assert train(qtbot, window, "distilled")[0] == "finished"


# -- plot exports -------------------------------------------------------------------------------------------

@pytest.fixture
def plot(qtbot):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.plot([0, 1, 2], [1, 3, 2], name="curve")
    widget.resize(300, 200)
    yield widget.getPlotItem()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".csv"])
def test_exporting_a_plot_writes_the_file_or_raises_one_line(plot, tmp_path, monkeypatch, suffix):
    path = export_plot(plot, tmp_path / f"plot{suffix}")
    data = path.read_bytes()
    assert data.startswith({".png": b"\x89PNG", ".svg": b"<?xml", ".csv": b"curve_x,curve_y"}[suffix])
    for target in (tmp_path / "no-such-folder" / f"plot{suffix}", tmp_path / "a-folder"):
        if target.name == "a-folder":
            (target / f"inside{suffix}").mkdir(parents=True)
            target = target / f"inside{suffix}"
        with pytest.raises(WriteError) as raised:
            export_plot(plot, target)
        assert str(raised.value).startswith("cannot write") and one_line(str(raised.value))
    with failing_disk(monkeypatch, tmp_path, errno.ENOSPC), pytest.raises(WriteError, match="No space left on device"):
        export_plot(plot, tmp_path / f"full{suffix}")
    assert not (tmp_path / f"full{suffix}").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    with pytest.raises(KdguiError, match="use one of"):
        export_plot(plot, tmp_path / "plot.bmp")


def test_a_failing_picture_is_one_line_too(plot, tmp_path, monkeypatch):
    import pyqtgraph.exporters

    def broken(self, *args, **kwargs):
        raise RuntimeError("the scene went away\nmore detail")

    monkeypatch.setattr(pyqtgraph.exporters.ImageExporter, "export", broken)
    with pytest.raises(WriteError) as raised:
        export_plot(plot, tmp_path / "plot.png")
    assert "RuntimeError: the scene went away" in str(raised.value) and one_line(str(raised.value))
    assert not (tmp_path / "plot.png").exists()


def test_the_results_table_csv_to_an_unwritable_folder_is_a_message(qtbot, window, tmp_path, monkeypatch):
    page = window.experiments_panel.results
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "missing" / "r.csv"), ""))
    page._ask_export_csv()
    assert "Could not save" in page.results_status.text() and not (tmp_path / "missing").exists()


# -- the app killed by a signal while it trains ---------------------------------------------------------------

APP_SCRIPT = textwrap.dedent(r"""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from PySide6.QtCore import QTimer
    import kdgui.app as A
    from kdgui.core.runs import RunStore
    from kdgui.ui.main_window import QtMainWindow
    from ui_helpers import configure_quick, make_synthetic_splits

    app = A.create_application([sys.argv[0]])
    window = QtMainWindow(RunStore(), data=make_synthetic_splits(), restore=False)
    configure_quick(window, epochs=2000)
    keep = A.close_on_signals(window)
    window.runStarted.connect(lambda run_id: print(json.dumps({"run": run_id}), flush=True))
    window.show()
    QTimer.singleShot(0, lambda: window.start_stage("teacher"))
    code = app.exec()
    A.end_process(code)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_sighup_and_sigint_stop_the_run_and_quit_without_a_traceback(tmp_path):
    import signal

    procs = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "KDGUI_RUNS_DIR": str(tmp_path / f"runs-{sig.name}")}
        procs[sig] = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(Path(__file__).parent)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for sig, proc in procs.items():
            line = proc.stdout.readline()
            run_id = json.loads(line)["run"]
            proc.send_signal(sig)
            code = proc.wait(timeout=60)
            stderr = proc.stderr.read()
            assert code == 0, (sig.name, stderr[-2000:])
            assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, (sig.name, stderr[-2000:])
            run = RunStore(tmp_path / f"runs-{sig.name}").get(run_id)
            assert run.status == "stopped" and run.has_weights, sig.name
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
