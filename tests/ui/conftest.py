"""Fixtures for the UI tests: offscreen Qt, settings and runs in tmp folders, small synthetic data, quick windows."""

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QSettings  # noqa: E402

from kdgui.core.data import Splits  # noqa: E402
from kdgui.core.runs import RunStore  # noqa: E402
from kdgui.ui.main_window import QtMainWindow  # noqa: E402
from ui_helpers import configure_quick, make_synthetic_splits  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch, qapp):
    """Every test gets its own settings file, runs folder and (empty) data folder.

    It also starts with the previous tests' windows gone. pytest-qt closes them with deleteLater, so without this
    they would be destroyed in this test's first event loop, while its training worker runs. CI hung that way once
    (test_keyboard): the main thread, holding the GIL, was destroying an old window's menu and waited for a Qt
    mutex, while the worker thread waited for the GIL.
    """
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()  # wrappers in reference cycles (pyqtgraph's) go now too, not at a random later moment
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    qapp.setOrganizationName("kdgui-tests")
    qapp.setApplicationName("kdgui-tests")
    monkeypatch.setenv("KDGUI_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("KDGUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="session")
def synthetic_splits() -> Splits:
    return make_synthetic_splits()


@pytest.fixture
def make_window(qtbot, synthetic_splits):
    """Build a main window over the test's runs folder (with synthetic data unless ``data=None`` is given)."""

    def make(data: Splits | None = synthetic_splits, quick: bool = True, **kwargs) -> QtMainWindow:
        window = QtMainWindow(RunStore(), data=data, **kwargs)
        qtbot.addWidget(window)
        window.show()
        if quick:
            configure_quick(window)
        return window

    return make


@pytest.fixture
def window(make_window) -> QtMainWindow:
    return make_window()


@pytest.fixture
def models():
    """A random teacher, student and distilled student: spread-out logits whose values only need to be matched."""
    from kdgui.core.config import NetSpec
    from kdgui.core.models import build_model
    from kdgui.core.predict import NamedModel

    return [NamedModel(role, role, build_model(NetSpec(hidden=(16,)), seed=i))
            for i, role in enumerate(("teacher", "student", "distilled"))]
