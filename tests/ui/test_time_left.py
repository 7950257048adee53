"""The progress bar's time: an estimate of what is left that waits for a few seconds of training, goes by the recent
pace (so slow evaluations and warm-up do not fool it), ignores pauses, and says 'finishing' after the last step."""

import pytest

from kdgui.core.events import Progress, TimeLeft, estimate_seconds_left
from kdgui.ui.panels.run_controls import RunControls, describe_time


def progress(step, elapsed, total=1000, batches=100):
    epoch = (step - 1) // batches + 1
    return Progress(step, total, epoch, total // batches, (step - 1) % batches + 1, batches, 0.1, elapsed)


def test_no_estimate_before_a_few_seconds_of_training():
    assert estimate_seconds_left([], 100) is None
    assert estimate_seconds_left([(1, 0.5), (10, 2.0)], 100, warmup_s=3.0) is None
    assert estimate_seconds_left([(1, 0.5), (30, 3.5)], 100, warmup_s=3.0) == pytest.approx(70 * 3.0 / 29)


def test_the_first_steps_warm_up_costs_are_left_out():
    # A slow first step (1 s) then 0.1 s a step: the pace between the samples, not elapsed/step.
    samples = [(1, 1.0)] + [(s, 1.0 + 0.1 * (s - 1)) for s in range(2, 52)]
    assert estimate_seconds_left(samples, 1000) == pytest.approx(0.1 * (1000 - 51))


def test_after_the_last_step_nothing_is_left():
    assert estimate_seconds_left([(1, 0.1), (100, 9.0)], 100) == 0.0


def test_the_estimate_follows_the_recent_pace_over_at_least_an_epoch():
    estimate = TimeLeft(warmup_s=1.0, window_s=5.0)
    # 0.05 s a step for 300 steps, then the machine gets busy: 0.1 s a step.
    elapsed = 0.0
    for step in range(1, 801):
        elapsed += 0.05 if step <= 300 else 0.1
        estimate.add(progress(step, elapsed))
    assert estimate.samples[-1][0] - estimate.samples[0][0] >= 100  # the window spans an epoch ...
    assert estimate.seconds_left() == pytest.approx(200 * 0.1, rel=0.01)  # ... of the new pace


def test_evaluations_inside_the_window_are_counted_in_the_pace():
    # 100 steps an epoch at 0.01 s each, plus a 1 s evaluation at each epoch end: 2 s an epoch.
    estimate = TimeLeft(warmup_s=0.5, window_s=1.0)
    elapsed = 0.0
    for step in range(1, 501):
        elapsed += 0.01
        estimate.add(progress(step, elapsed, total=1000, batches=100))
        if step % 100 == 0:
            elapsed += 1.0
    assert estimate.seconds_left() == pytest.approx(5 * 2.0, rel=0.05)


def test_a_new_run_starts_a_new_estimate():
    estimate = TimeLeft(warmup_s=0.0)
    for step in range(1, 50):
        estimate.add(progress(step, step * 0.5))
    estimate.add(progress(1, 0.01))  # a study's next run
    assert list(estimate.samples) == [(1, 0.01)]


def test_the_words_on_the_bar():
    assert describe_time(42, None, False) == "0:42 in, estimating time left…"
    assert describe_time(42, 70.4, False) == "0:42 in, about 1:10 left"
    assert describe_time(42, 0.2, False) == "0:42 in, about 0:01 left"  # never "0:00 left" while steps remain
    assert describe_time(61, 0.0, True) == "1:01 in, finishing…"


def test_the_bar_excludes_pauses_and_never_lingers_on_zero(qtbot):
    controls = RunControls()
    qtbot.addWidget(controls)
    controls.set_running(True, "Teacher")
    controls.show_progress("Teacher", progress(1, 0.2))
    assert "estimating" in controls.progress.format()
    for step in range(2, 1001):
        controls.show_progress("Teacher", progress(step, 0.2 + 0.01 * step))  # elapsed: pauses already left out
        if step == 600:
            assert "about 0:04 left" in controls.progress.format() and "0:06 in" in controls.progress.format()
    assert controls.progress.format().endswith("finishing…")
    controls.pause_button.setChecked(True)
    assert controls.progress.format().endswith("· paused")
