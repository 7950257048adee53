"""Monkey test: a seeded random user on the real window, counting Python exceptions, "deleted object" warnings and hangs.

The monkey clicks enabled buttons and menu actions, presses keys and shortcuts, types into fields, drags sliders,
plots and the drawing canvas, picks from combo boxes and context menus, switches tabs and the lineup, starts,
pauses and stops short trainings (and sweeps, studies, measurements and exports) on small synthetic data,
renames and deletes runs through the models, corrupts run folders on disk, makes the disk read-only or full for
a while, and resizes the window. Modal dialogs answer at once with a random choice (file dialogs with paths
under a scratch folder, some of them unwritable). Each action is timed; a watchdog ends the process with every
thread's traceback if one action blocks for good.

    KDGUI_DATA_DIR=../shared/datasets QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/monkey.py --actions 2000 --seed 1

prints the count, the seed and the result, and exits 0 when there was no exception, no "deleted object" warning
and no hang. tests/ui/test_monkey.py runs a short version of the same monkey in the test suite.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import faulthandler
import os
import random
import shutil
import string
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
UI_TESTS = HERE.parent / "ui"

SLOW_S = 5.0  # an action that takes longer is listed as slow (a hang is much longer: see --hang)
DELETED_MARKS = ("already deleted", "has been deleted", "Internal C++ object")
# Qt says these on an offscreen platform or for a window that is resized: nothing to do with kdgui.
HARMLESS_QT = ("propagateSizeHints", "QWindowsWindow", "This plugin does not support", "setGeometry: Unable to set geometry",
               "QFont::setPointSize", "Populating font family aliases",
               "keyToAscii")  # QTest naming a key (F1, Backtab) that has no ASCII text


@dataclass
class Report:
    """What the monkey did and what went wrong."""

    seed: int
    requested: int
    actions: int = 0
    seconds: float = 0.0
    exceptions: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    qt_warnings: collections.Counter = field(default_factory=collections.Counter)
    slow: list[tuple[str, float]] = field(default_factory=list)
    kinds: collections.Counter = field(default_factory=collections.Counter)
    jobs_started: int = 0
    jobs_ended: collections.Counter = field(default_factory=collections.Counter)
    refusals: collections.Counter = field(default_factory=collections.Counter)
    failures: collections.Counter = field(default_factory=collections.Counter)  # jobs' failure messages (start)
    raw_messages: list[str] = field(default_factory=list)  # banner messages that are not one plain line
    kind_seconds: collections.Counter = field(default_factory=collections.Counter)
    slowest: tuple[str, float] = ("-", 0.0)
    hung: str = ""

    @property
    def ok(self) -> bool:
        return not self.exceptions and not self.deleted and not self.hung and not self.raw_messages

    def lines(self) -> list[str]:
        out = [f"monkey: {self.actions} actions of {self.requested}, seed {self.seed}, {self.seconds:.1f} s: "
               f"{'OK' if self.ok else 'FAILED'}",
               f"  exceptions: {len(self.exceptions)}, deleted-object warnings: {len(self.deleted)}, "
               f"hang: {self.hung or 'none'}, slowest action: {self.slowest[0]} {self.slowest[1]:.2f} s "
               f"({len(self.slow)} over {SLOW_S:.0f} s)",
               f"  jobs started {self.jobs_started}, ended {dict(self.jobs_ended)}; start refused (then settings reset): "
               + ("; ".join(f"{text} (x{n})" for text, n in self.refusals.most_common(3)) or "never"),
               "  why jobs failed: " + ("; ".join(f"{text} (x{n})" for text, n in self.failures.most_common(4)) or "-"),
               f"  banner messages not on one plain line: {len(self.raw_messages)}",
               "  actions (count, seconds): " + ", ".join(f"{k} {v} {self.kind_seconds[k]:.1f} s"
                                                          for k, v in self.kinds.most_common())]
        if self.qt_warnings:
            out.append("  Qt warnings: " + "; ".join(f"{text[:100]} (x{n})" for text, n in self.qt_warnings.most_common(8)))
        for text in self.exceptions[:10]:
            out.append("  EXCEPTION " + text.replace("\n", "\n    "))
        for text in self.deleted[:10]:
            out.append("  DELETED " + text)
        for text in self.raw_messages[:5]:
            out.append("  RAW MESSAGE " + text[:300])
        return out


# -- faults on disk -----------------------------------------------------------------------------------------

def _under(path: object, root: Path) -> bool:
    try:
        return Path(os.fspath(path)).resolve().is_relative_to(root)
    except (TypeError, ValueError, OSError):
        return False


class FailingDisk:
    """Makes every write under ``root`` fail with EROFS or ENOSPC while on (patched where kdgui meets the system)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.code: int | None = None
        self._saved: list[tuple[Any, str, Any]] = []

    def _fail(self, path: object) -> OSError:
        return OSError(self.code, os.strerror(self.code), os.fspath(path))

    def start(self, code: int) -> None:

        if self.code is not None:
            return
        self.code = code
        real_mkdir, real_open, real_rename = Path.mkdir, os.open, os.rename
        real_mkstemp = tempfile.mkstemp
        writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

        def mkdir(path, *args, **kwargs):
            if _under(path, self.root) and not (kwargs.get("exist_ok") and path.is_dir()):
                raise self._fail(path)
            return real_mkdir(path, *args, **kwargs)

        def open_(path, flags, *args, **kwargs):
            if flags & writing and _under(path, self.root):
                raise self._fail(path)
            return real_open(path, flags, *args, **kwargs)

        def rename(src, dst, *args, **kwargs):
            if _under(src, self.root) or _under(dst, self.root):
                raise self._fail(src)
            return real_rename(src, dst, *args, **kwargs)

        def mkstemp(*args, dir=None, **kwargs):  # noqa: A002
            if dir is not None and _under(dir, self.root):
                raise self._fail(dir)
            return real_mkstemp(*args, dir=dir, **kwargs)

        for owner, name, value in ((Path, "mkdir", mkdir), (os, "open", open_), (os, "rename", rename),
                                   (tempfile, "mkstemp", mkstemp)):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)

    def stop(self) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()
        self.code = None


# -- dialogs that answer at once ----------------------------------------------------------------------------

@contextlib.contextmanager
def answering_dialogs(rng: random.Random, scratch: Path) -> Iterator[None]:
    """Every modal dialog and popup menu answers at once, with a random choice; restored afterwards."""
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMenu, QMessageBox

    import kdgui.core.data as core_data
    from kdgui.core.errors import DataError

    exports = scratch / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "a-folder.png").mkdir(exist_ok=True)
    counter = [0]

    def save_name(parent=None, caption="", directory="", filter="", *args, **kwargs):  # noqa: A002, ANN001
        counter[0] += 1
        suffix = Path(str(directory)).suffix or ".png"
        if suffix == ".onnx":  # torch's ONNX exporter takes seconds: the monkey exports TorchScript
            suffix = ".pt"
        choice = rng.random()
        if choice < 0.3:
            return "", ""
        if choice < 0.45:
            return str(scratch / "no-such-folder" / f"x{counter[0]}{suffix}"), ""
        if choice < 0.5:
            return str(exports / "a-folder.png"), ""
        if choice < 0.55:
            return str(exports / f"no-suffix-{counter[0]}"), ""
        return str(exports / f"export-{counter[0]}{suffix}"), ""

    def existing_directory(*args, **kwargs):
        return rng.choice(["", str(scratch / "data"), str(scratch / "missing-data"), "/"])

    def pick_from_menu(menu: QMenu, *args, **kwargs):  # noqa: ANN202
        actions = [a for a in menu.actions() if a.isEnabled() and a.isVisible() and not a.isSeparator() and a.menu() is None
                   and "Quit" not in a.text()]
        if not actions or rng.random() < 0.2:
            return None
        action = rng.choice(actions)
        action.trigger()
        return action

    def question(*args, **kwargs):
        return rng.choice([QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])

    def text(*args, **kwargs):
        return random_text(rng), rng.random() < 0.7

    def offline(*args, **kwargs):
        raise DataError("the monkey is offline: no download")

    patches = [
        (QMessageBox, "question", staticmethod(question)),
        (QMessageBox, "warning", staticmethod(question)),
        (QMessageBox, "information", staticmethod(question)),
        (QMessageBox, "critical", staticmethod(question)),
        (QMessageBox, "about", staticmethod(lambda *a, **k: None)),
        (QInputDialog, "getText", staticmethod(text)),
        (QInputDialog, "getInt", staticmethod(lambda *a, **k: (rng.randint(-5, 500), rng.random() < 0.7))),
        (QInputDialog, "getDouble", staticmethod(lambda *a, **k: (rng.uniform(-5, 500), rng.random() < 0.7))),
        (QFileDialog, "getSaveFileName", staticmethod(save_name)),
        (QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", ""))),
        (QFileDialog, "getExistingDirectory", staticmethod(existing_directory)),
        (QDialog, "exec", lambda self, *a, **k: 0),
        (QMenu, "exec", pick_from_menu),
        (QMenu, "popup", pick_from_menu),
        (QDesktopServices, "openUrl", staticmethod(lambda *a, **k: True)),
        (core_data, "download_dataset", offline),
    ]
    saved = [(owner, name, owner.__dict__.get(name, getattr(owner, name))) for owner, name, _ in patches]
    for owner, name, value in patches:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return str(rng.choice([0, 1, 2, -1, 3, 10, 50, 100, 1000, 0.5, 1e-3, 1e9, -0.0]))
    if kind < 0.4:
        return ""
    if kind < 0.5:
        return "".join(rng.choice("\t\n\x00\u202e<b>&é漢😀 ,;/\\'\"") for _ in range(rng.randint(1, 12)))
    if kind < 0.55:
        return "x" * rng.randint(150, 400)
    return "".join(rng.choice(string.ascii_letters + string.digits + " -_.,") for _ in range(rng.randint(1, 20)))


# -- the monkey ---------------------------------------------------------------------------------------------

class Monkey:
    """Random user actions on ``window`` (a QtMainWindow), one at a time; ``report`` collects what went wrong."""

    KEYS = ("Tab", "Backtab", "Escape", "Return", "Space", "Up", "Down", "Left", "Right", "PageUp", "PageDown", "Home",
            "End", "Backspace", "Delete", "A", "Z", "0", "1", "5", "9", "Minus", "Period", "F1")
    SHORTCUTS = ("Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+P", "Ctrl+.", "Ctrl+Shift+H", "Ctrl+Shift+R", "Ctrl+Z", "Ctrl+A",
                 "Alt+F", "Alt+V", "Alt+R")

    def __init__(self, window: Any, rng: random.Random, scratch: Path, report: Report, *,  # noqa: ANN401
                 max_job_s: float = 2.0, slow_s: float = SLOW_S, wait_scale: float = 1.0) -> None:
        from PySide6.QtWidgets import QApplication

        self.window, self.rng, self.scratch, self.report = window, rng, scratch, report
        self.app = QApplication.instance()
        self.max_job_s, self.slow_s, self.wait_scale = max_job_s, slow_s, wait_scale
        self.disk = FailingDisk(window.store.root)
        self.disk_actions_left = 0
        self.detail = ""  # what the current action did, for the slowest action's line
        self.job_started_at: float | None = None
        window.runner.started.connect(self._job_started)
        window.runner.ended.connect(self._job_ended)
        window.runner.failed.connect(self._job_failed)
        banner = window.banner
        shown = banner.show_message

        def show_message(text: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            if "\n" in text or "Traceback" in text or "Errno" in text:
                report.raw_messages.append(text)
            return shown(text, *args, **kwargs)

        banner.show_message = show_message  # every caller looks it up on the instance: all messages pass here
        self.actions: list[tuple[str, float, Callable[[], None]]] = [
            ("click", 24, self.click_button),
            ("menu", 5, self.trigger_menu_action),
            ("key", 8, self.press_key),
            ("shortcut", 4, self.press_shortcut),
            ("type", 8, self.type_text),
            ("slider", 7, self.move_slider),
            ("combo", 7, self.pick_combo),
            ("draw", 7, self.draw),
            ("plot", 3, self.drag_plot),
            ("tab", 6, self.switch_tab),
            ("lineup", 3, self.choose_lineup),
            ("runs", 6, self.runs_action),
            ("train", 6, self.train),
            ("resize", 2, self.resize),
            ("disk", 1.5, self.disk_fault),
            ("files", 1.5, self.corrupt_files),
            ("wait", 4, self.wait),
        ]
        self._weights = [w for _, w, _ in self.actions]

    # -- bookkeeping ---
    def _job_started(self, kind: str) -> None:
        self.report.jobs_started += 1
        self.job_started_at = time.monotonic()

    def _job_failed(self, kind: str, message: str) -> None:
        self.report.failures[f"{kind}: {message[:60]}"] += 1

    def _job_ended(self, kind: str, outcome: str) -> None:
        self.report.jobs_ended[outcome] += 1
        self.job_started_at = None

    def step(self) -> None:
        name, _, action = self.rng.choices(self.actions, weights=self._weights)[0]
        self.detail = ""
        self.report.kinds[name] += 1
        start = time.monotonic()
        try:
            action()
            self.app.processEvents()
        except Exception as exc:  # noqa: BLE001 - an exception out of the app's code, reached through a direct call
            self.report.exceptions.append(f"during {name}: " + "".join(traceback.format_exception(exc)[-3:]).strip())
        took = time.monotonic() - start
        self.report.kind_seconds[name] += took
        if took > self.report.slowest[1]:
            self.report.slowest = (f"{name} ({self.detail})" if self.detail else name, took)
        if took > self.slow_s:
            self.report.slow.append((name, took))
        self.report.actions += 1
        if self.disk_actions_left:
            self.disk_actions_left -= 1
            if not self.disk_actions_left:
                self.disk.stop()
        # A job the monkey left running too long is stopped, as a user would (time is bounded).
        if self.job_started_at is not None and time.monotonic() - self.job_started_at > self.max_job_s:
            self.window.runner.stop()

    # -- what the monkey can reach ---
    def _visible(self, widget_type: type) -> list:
        return [w for w in self.window.findChildren(widget_type) if w.isVisible() and w.isEnabled()]

    def _point_in(self, widget: Any):  # noqa: ANN401, ANN202
        from PySide6.QtCore import QPointF

        return QPointF(self.rng.uniform(1, max(2, widget.width() - 1)), self.rng.uniform(1, max(2, widget.height() - 1)))

    def _mouse(self, widget: Any, kind: str, point: Any, button: Any = None, buttons: Any = None) -> None:  # noqa: ANN401
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QMouseEvent

        button = Qt.MouseButton.LeftButton if button is None else button
        types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove, "release": QEvent.Type.MouseButtonRelease}
        if buttons is None:
            buttons = Qt.MouseButton.NoButton if kind == "release" else button
        event = QMouseEvent(types[kind], point, widget.mapToGlobal(point), Qt.MouseButton.NoButton if kind == "move" else button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        self.app.sendEvent(widget, event)

    def _drag(self, widget: Any, steps: int = 6, button: Any = None) -> None:  # noqa: ANN401
        from PySide6.QtCore import QPointF

        start = self._point_in(widget)
        end = self._point_in(widget)
        self._mouse(widget, "press", start, button)
        for i in range(1, steps + 1):
            if not _alive(widget):
                return
            t = i / steps
            self._mouse(widget, "move", QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t),
                        button)
        if _alive(widget):
            self._mouse(widget, "release", end, button)

    # -- actions ---
    def click_button(self) -> None:
        from PySide6.QtWidgets import QAbstractButton

        # A button with a menu opens it with Qt's own blocking exec: its actions are reached through the menus instead.
        buttons = [b for b in self._visible(QAbstractButton) if getattr(b, "menu", lambda: None)() is None]
        if buttons:
            button = self.rng.choice(buttons)
            self.detail = button.text() or button.toolTip()[:40] or type(button).__name__
            button.click()

    def trigger_menu_action(self) -> None:
        actions = []
        for menu_action in self.window.menuBar().actions():
            menu = menu_action.menu()
            if menu is None:
                continue
            actions += [a for a in menu.actions() if a.isEnabled() and not a.isSeparator() and a.menu() is None
                        and "Quit" not in a.text()]
        if actions:
            action = self.rng.choice(actions)
            self.detail = action.text().replace("&", "")
            action.trigger()

    def _key(self, sequence: str) -> None:
        from PySide6.QtGui import QKeySequence
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        target = QApplication.focusWidget() or self.window
        combo = QKeySequence(sequence)[0]
        QTest.keyClick(target, combo.key(), combo.keyboardModifiers())

    def press_key(self) -> None:
        self._key(self.rng.choice(self.KEYS))

    def press_shortcut(self) -> None:
        self.window.activateWindow()
        self._key(self.rng.choice(self.SHORTCUTS))

    def _type(self, widget: Any, text: str) -> None:  # noqa: ANN401
        """Key events carrying ``text``, one character each (QTest.keyClicks asserts on characters outside ASCII)."""
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent

        for ch in text:
            if not _alive(widget):
                return
            key = ord(ch.upper()) if ch.isascii() and ch.isalnum() else 0
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                self.app.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))

    def type_text(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit

        fields = [f for f in self._visible(QLineEdit) + self._visible(QAbstractSpinBox)
                  if not (isinstance(f, QLineEdit) and f.isReadOnly())]
        if not fields:
            return
        target = self.rng.choice(fields)
        target.setFocus()
        if isinstance(target, QLineEdit):
            target.selectAll()
        else:
            target.selectAll()
        self._type(target, random_text(self.rng)[:40])
        if _alive(target) and self.rng.random() < 0.6:
            QTest.keyClick(target, Qt.Key.Key_Return)
        if _alive(target) and self.rng.random() < 0.5:
            target.clearFocus()  # editingFinished, as when the user moves on

    def move_slider(self) -> None:
        from PySide6.QtWidgets import QAbstractSlider

        sliders = [s for s in self._visible(QAbstractSlider) if s.maximum() > s.minimum()]
        if not sliders:
            return
        slider = self.rng.choice(sliders)
        if self.rng.random() < 0.5:
            self._drag(slider, steps=8)
        else:
            slider.setSliderPosition(self.rng.randint(slider.minimum(), slider.maximum()))
            slider.setValue(slider.sliderPosition())

    def pick_combo(self) -> None:
        from PySide6.QtWidgets import QComboBox

        combos = [c for c in self._visible(QComboBox) if c.count()]
        if not combos:
            return
        combo = self.rng.choice(combos)
        index = self.rng.randrange(combo.count())
        self.detail = combo.accessibleName() or combo.itemText(index)[:40]
        combo.setCurrentIndex(index)
        if _alive(combo):
            combo.activated.emit(index)

    def draw(self) -> None:
        from PySide6.QtCore import Qt

        canvas = self.window.canvas_panel.canvas
        if not canvas.isVisible():
            self.window.show_panel("draw")
            self.app.processEvents()
        choice = self.rng.random()
        if choice < 0.6:
            self._drag(canvas, steps=self.rng.randint(1, 12))
        elif choice < 0.75:
            side = max(canvas.width(), 10)
            canvas.draw_stroke([(self.rng.uniform(-20, side + 20), self.rng.uniform(-20, side + 20))
                                for _ in range(self.rng.randint(1, 6))])
        elif choice < 0.85:
            point = self._point_in(canvas)
            self._mouse(canvas, "press", point, Qt.MouseButton.RightButton)
            self._mouse(canvas, "release", point, Qt.MouseButton.RightButton)
        else:
            canvas.setFocus()
            self._key(self.rng.choice(["Escape", "Ctrl+Z", "Backspace"]))

    def drag_plot(self) -> None:
        import pyqtgraph as pg
        from PySide6.QtCore import QPoint, QPointF, Qt
        from PySide6.QtGui import QWheelEvent

        views = [v for v in self._visible(pg.GraphicsView)]
        if not views:
            return
        view = self.rng.choice(views)
        choice = self.rng.random()
        if choice < 0.5:
            self._drag(view.viewport(), steps=5, button=self.rng.choice([Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton]))
        elif choice < 0.8:
            point = self._point_in(view.viewport())
            event = QWheelEvent(point, view.viewport().mapToGlobal(point), QPoint(0, 0), QPoint(0, self.rng.choice([-240, 120, 480])),
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
            self.app.sendEvent(view.viewport(), event)
        else:  # a plot's own context menu (export PNG/SVG/CSV, axes, ...): a random entry
            boxes = [item for item in view.scene().items() if isinstance(item, pg.ViewBox) and item.menu is not None]
            if boxes:
                menu = self.rng.choice(boxes).menu
                menu.popup(QPointF(0, 0).toPoint())

    def switch_tab(self) -> None:
        from PySide6.QtWidgets import QTabWidget

        tabs = [t for t in self._visible(QTabWidget) if t.count()]
        if tabs:
            tab = self.rng.choice(tabs)
            tab.setCurrentIndex(self.rng.randrange(tab.count()))

    def choose_lineup(self) -> None:
        from kdgui.core.config import KINDS

        runs = self.window.runs_model.runs
        choice = self.rng.choice([None, "bundled", "no-such-run"] + [r.id for r in runs])
        role = self.rng.choice(KINDS)
        self.detail = f"{role}: {choice}"
        self.window.lineup_model.choose(role, choice)

    def runs_action(self) -> None:
        from PySide6.QtCore import Qt

        window, rng = self.window, self.rng
        model, view, panel = window.runs_model, window.runs_view, window.runs_panel
        ids = [r.id for r in model.runs] + [u.name for u in model.unreadable]
        choice = rng.random()
        if choice < 0.15 or not ids:
            model.refresh()
        elif choice < 0.35:
            view.rename(rng.choice(ids), random_text(rng))
        elif choice < 0.45:
            view.delete(rng.choice(ids))
        elif choice < 0.75:
            panel.select(rng.choice(ids))
        else:
            item = panel.item_for(rng.choice(ids))
            if item is not None and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                checked = item.checkState(0) == Qt.CheckState.Checked
                item.setCheckState(0, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def train(self) -> None:
        window = self.window
        if window.runner.running:
            button = self.rng.choice([window.run_controls.stop_button, window.run_controls.pause_button])
            if button.isEnabled():
                button.click()
            return
        stage = self.rng.choice(["teacher", "teacher", "student", "distilled"])
        button = window.run_controls.start_buttons[stage]
        if not button.isEnabled() and self.rng.random() < 0.6:
            # The monkey typed something the panels refuse (their tooltips say what): a user would fix it.
            self.report.refusals[button.toolTip()[:70]] += 1
            self.fix_settings()
        if button.isEnabled():
            button.click()

    def fix_settings(self) -> None:
        fix_settings(self.window)

    def resize(self) -> None:
        self.window.resize(self.rng.randint(500, 1700), self.rng.randint(400, 1100))

    def disk_fault(self) -> None:
        if self.disk.code is None:
            self.disk.start(self.rng.choice([errno.EROFS, errno.ENOSPC]))
            self.disk_actions_left = self.rng.randint(3, 25)

    def corrupt_files(self) -> None:
        if self.disk.code is not None:  # the monkey's own writes would fail too
            return
        root = self.window.store.root
        runs = self.window.runs_model.runs
        choice = self.rng.random()
        if choice < 0.3 or not runs:
            bad = root / f"20250101-000000-teacher-{self.rng.randrange(16**4):04x}"
            bad.mkdir(parents=True, exist_ok=True)
            (bad / "run.json").write_bytes(self.rng.choice([b"{ not json", b"\xff\xfe", b"[]", b'{"schema": "kdgui.run/1"}']))
        else:
            run = self.rng.choice(runs)
            if run.id == self.window.runs_model.live_run_id or run.status == "running":
                return
            target = self.rng.choice([run.path / "weights.safetensors", run.path / "metrics.jsonl", run.path / "run.json"])
            if target.is_file() or not target.exists():
                target.write_bytes(self.rng.choice([b"garbage", b"", b"\x00" * 64, b'{"type": "eval"}\n{torn']))
        if self.rng.random() < 0.5:
            self.window.runs_model.refresh()

    def wait(self) -> None:
        from PySide6.QtTest import QTest

        QTest.qWait(int(self.rng.uniform(5, 150) * self.wait_scale))

    # -- the end ---
    def finish(self, timeout_s: float = 60.0) -> None:
        """Stop what runs, wait for it to end (bounded), and put the disk back."""
        from PySide6.QtTest import QTest

        self.disk.stop()
        deadline = time.monotonic() + timeout_s
        while self.window.runner.running and time.monotonic() < deadline:
            self.window.runner.stop()
            QTest.qWait(20)
        if self.window.runner.running:
            self.report.hung = f"the job did not stop within {timeout_s:.0f} s"
        report_panel = getattr(self.window, "report_panel", None)
        if report_panel is not None and hasattr(report_panel, "wait_for_export"):
            report_panel.wait_for_export()
        self.app.processEvents()


def fix_settings(window: Any) -> None:  # noqa: ANN401 - QtMainWindow
    """What a user does after typing nonsense: put quick, valid settings back in every panel."""
    from kdgui.core.config import SEED_DISTILL
    from ui_helpers import configure_quick

    configure_quick(window)
    window.training_panel.seed.setValue(0)
    window.training_panel.set_device("cpu")
    window.distillation_panel.set_config(SEED_DISTILL)


def _alive(obj: Any) -> bool:  # noqa: ANN401
    import shiboken6

    return shiboken6.isValid(obj)


@contextlib.contextmanager
def watching(report: Report) -> Iterator[None]:
    """Record Python exceptions (in slots, in threads) and Qt warnings while the monkey runs."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def excepthook(kind, value, tb):  # noqa: ANN001
        text = "".join(traceback.format_exception(kind, value, tb)[-4:]).strip()
        (report.deleted if any(m in text for m in DELETED_MARKS) else report.exceptions).append(text)

    def thread_hook(args):  # noqa: ANN001
        excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def on_message(kind, context, message):  # noqa: ANN001
        if kind == QtMsgType.QtFatalMsg:  # Qt aborts the process after this: say what it was first
            sys.stderr.write(f"Qt fatal: {message}\n")
            sys.stderr.flush()
        if any(m in message for m in DELETED_MARKS):
            report.deleted.append(f"Qt: {message}")
        elif kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            if not any(h in message for h in HARMLESS_QT):
                report.qt_warnings[message] += 1

    old_hook, old_thread_hook = sys.excepthook, threading.excepthook
    sys.excepthook, threading.excepthook = excepthook, thread_hook
    previous = qInstallMessageHandler(on_message)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
        sys.excepthook, threading.excepthook = old_hook, old_thread_hook


def run_monkey(window: Any, actions: int, seed: int, scratch: Path, *, max_seconds: float = 600.0,  # noqa: ANN401
               hang_s: float = 120.0, max_job_s: float = 2.0, wait_scale: float = 1.0,
               progress: Callable[[Report], None] | None = None) -> Report:
    """``actions`` random actions on ``window`` (already shown, quick settings), seeded; at most ``max_seconds``."""
    report = Report(seed, actions)
    rng = random.Random(seed)
    start = time.monotonic()
    with watching(report), answering_dialogs(rng, scratch):
        monkey = Monkey(window, rng, scratch, report, max_job_s=max_job_s, wait_scale=wait_scale)
        try:
            for i in range(actions):
                if time.monotonic() - start > max_seconds:
                    report.hung = f"the run took more than {max_seconds:.0f} s (stopped after {i} actions)"
                    break
                faulthandler.dump_traceback_later(hang_s, exit=True)  # one action blocking for good ends the process
                monkey.step()
                if progress is not None and (i + 1) % 250 == 0:
                    progress(report)
        finally:
            faulthandler.cancel_dump_traceback_later()
            monkey.finish()
    report.seconds = time.monotonic() - start
    return report


def build_window(scratch: Path, synthetic: bool = True):  # noqa: ANN201 - QtMainWindow
    """A window as the UI tests make it: runs and settings under ``scratch``, small synthetic data, quick settings."""
    os.environ["KDGUI_RUNS_DIR"] = str(scratch / "runs")
    os.environ.setdefault("KDGUI_DATA_DIR", str(scratch / "data"))
    sys.path.insert(0, str(UI_TESTS))
    from PySide6.QtCore import QSettings

    from kdgui.core.runs import RunStore
    from kdgui.ui.main_window import QtMainWindow
    from ui_helpers import configure_quick, make_synthetic_splits

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    window = QtMainWindow(RunStore(), data=make_synthetic_splits() if synthetic else None)
    window.show()
    configure_quick(window)
    return window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Exit status 0: no exception, no deleted-object warning, no hang; 1 otherwise.")
    parser.add_argument("--actions", type=int, default=2000, help="how many random actions (default 2000)")
    parser.add_argument("--seed", type=int, default=None, help="the random seed (default: chosen and printed)")
    parser.add_argument("--max-seconds", type=float, default=None, help="bound on the whole run (default 1.5 s per action + 60)")
    parser.add_argument("--hang", type=float, default=120.0, help="seconds one action may block before the process is ended")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="kdgui-monkey-"))
    print(f"monkey: seed {seed}, {args.actions} actions, scratch folder {scratch}", flush=True)

    from PySide6.QtWidgets import QApplication

    import torch

    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("kdgui-monkey")
    app.setApplicationName("kdgui-monkey")
    window = build_window(scratch)
    sys.path.insert(0, str(HERE))
    from qt_exit import dispose

    max_seconds = args.max_seconds if args.max_seconds is not None else 1.5 * args.actions + 60
    report = run_monkey(window, args.actions, seed, scratch, max_seconds=max_seconds, hang_s=args.hang,
                        progress=lambda r: print(f"  ... {r.actions} actions, {len(r.exceptions)} exceptions, "
                                                 f"{len(r.deleted)} deleted-object warnings", flush=True))
    with watching(report):
        dispose(window)
    for line in report.lines():
        print(line)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
