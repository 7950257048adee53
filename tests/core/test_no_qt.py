"""The core and the CLI import without Qt: no PySide6, shiboken6 or pyqtgraph in a fresh interpreter."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import kdgui.core

SCRIPT = r"""
import importlib, json, sys

QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
attempts = []

class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in QT:
            attempts.append(name)
            raise ImportError(f"Qt is not allowed here: {name}")
        return None

sys.meta_path.insert(0, NoQt())
errors = {}
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except Exception as exc:
        errors[module] = f"{type(exc).__name__}: {exc}"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in QT)
print(json.dumps({"attempts": attempts, "loaded": loaded, "errors": errors}))
"""


def test_core_and_cli_never_import_qt():
    core_modules = sorted(f"kdgui.core.{m.name}" for m in pkgutil.iter_modules(kdgui.core.__path__))
    assert {"kdgui.core.training", "kdgui.core.runs", "kdgui.core.data"} <= set(core_modules)
    modules = ["kdgui", "kdgui.core", *core_modules, "kdgui.cli", "torchvision.datasets.mnist"]  # data loading uses it
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *modules],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["attempts"] == []
    assert report["loaded"] == []


def test_the_guard_would_notice_qt():
    """The same script does catch a module that imports Qt (so the test above can fail)."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, "pyqtgraph"], capture_output=True, text=True, timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] and "pyqtgraph" in report["errors"]
