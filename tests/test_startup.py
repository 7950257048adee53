"""Start-up and quit: --help imports neither torch nor Qt, the splash comes before torch, and the app quits cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kdgui import app as kdgui_app
from kdgui.cli import build_parser as cli_parser

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "PySide6", "shiboken6", "pyqtgraph", "torchvision", "tqdm")


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """Run ``python -X importtime ARGS`` and return the top-level packages it imported (from the import log)."""
    result = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120,
                            cwd=REPO, check=False)
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert "kdgui" in names, result.stderr[-2000:]
    return names, result


def subcommands() -> list[str]:
    sub = next(a for a in cli_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("args", [("-m", "kdgui", "--help"), ("-m", "kdgui.cli", "--help")], ids=["kdgui", "kdgui-cli"])
def test_help_imports_neither_torch_nor_qt(args):
    names, result = imported_modules(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_every_cli_command_help_imports_no_torch():
    commands = subcommands()
    assert {"train-teacher", "distill", "sweep", "study", "export", "report", "lineup", "bundle"} <= set(commands)
    for command in commands:
        names, result = imported_modules("-m", "kdgui.cli", command, "--help")
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
        assert not names & set(HEAVY), f"{command}: {sorted(names & set(HEAVY))}"


def test_a_usage_error_imports_no_torch():
    names, result = imported_modules("-m", "kdgui.cli", "train-teacher", "--epochs", "many")
    assert result.returncode == 2 and "invalid int value" in result.stderr
    assert "torch" not in names


def test_the_parsers_offer_what_the_engine_and_the_window_take():
    """The parsers read their choices from torch-free modules; the engine and the window use the same tables."""
    from kdgui.cli import experiments, ship
    from kdgui.core import export, studies, sweep
    from kdgui.ui.main_window import PANELS

    assert kdgui_app.PANELS is PANELS
    assert experiments.DEFAULT_TEMPERATURES is sweep.DEFAULT_TEMPERATURES
    assert experiments.STUDIES is studies.STUDIES
    assert experiments.DEFAULT_CLASSES is studies.DEFAULT_CLASSES
    assert ship.FORMATS == tuple(export.FORMATS)


# The app, run for real (offscreen): notes whether torch was loaded at each start-up mark, and quits on SIGTERM.
APP_SCRIPT = r"""
import json, sys
import kdgui.app as A

real_mark = A.mark

def mark(event):
    real_mark(event)
    print(json.dumps({"event": event, "torch": "torch" in sys.modules}), flush=True)

A.mark = mark
A.main([])
print(json.dumps({"event": "returned"}), flush=True)  # never: the app ends the process itself
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess on Windows")
def test_the_app_shows_a_splash_before_torch_and_quits_on_sigterm(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KDGUI_RUNS_DIR": str(tmp_path / "runs"), "KDGUI_DATA_DIR": str(tmp_path / "data"),
           kdgui_app.STARTUP_MARKER_ENV: str(tmp_path / "marks.txt")}
    proc = subprocess.Popen([sys.executable, "-c", APP_SCRIPT], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    events = []
    try:
        for line in proc.stdout:
            if line.startswith("{"):
                events.append(json.loads(line))
                if events[-1]["event"] == "window":
                    proc.send_signal(signal.SIGTERM)  # as File › Quit: the window closes, saving its settings
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    proc.stderr.close()
    proc.stdout.close()
    assert code == 0, stderr[-2000:]
    assert events == [{"event": "splash", "torch": False}, {"event": "window", "torch": True},
                      {"event": "quit", "torch": True}], stderr[-2000:]
    assert (tmp_path / "config" / "kdgui" / "kdgui.conf").is_file()  # written before the process ended itself
    marks = (tmp_path / "marks.txt").read_text().split()
    assert marks[0::2] == ["splash", "window", "quit"]
