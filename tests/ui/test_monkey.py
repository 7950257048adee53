"""A short monkey run on the real window: 200 seeded random actions, no exception, no deleted-object warning, no hang.

The long run is a script: ``tests/benchmarks/monkey.py --actions 2000 --seed S`` (same monkey, more actions).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from monkey import DELETED_MARKS, fix_settings, run_monkey  # noqa: E402
from ui_helpers import train  # noqa: E402

ACTIONS = 200
SEED = 20_240


def test_a_random_user_cannot_break_the_window(qtbot, window, tmp_path, capfd):
    report = run_monkey(window, ACTIONS, SEED, tmp_path / "monkey", max_seconds=90, hang_s=90, max_job_s=1.0, wait_scale=0.3)
    summary = "\n".join(report.lines())
    print(summary)  # shown with -s, or when the test fails
    assert report.actions == ACTIONS, summary
    assert report.ok, summary
    assert report.jobs_started >= 1, summary  # it did train (and stop) runs, not only click around them
    err = capfd.readouterr().err
    assert "Traceback" not in err and not any(mark in err for mark in DELETED_MARKS), err[-3000:]
    assert not window.runner.running
    # Whatever the monkey did, the window still works: with valid settings back, a run trains and lands on disk.
    fix_settings(window)
    assert train(qtbot, window, "student")[0] == "finished"
