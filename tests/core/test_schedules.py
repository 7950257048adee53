"""Learning-rate schedules and weight decay: the documented curves, applied every batch, AdamW when asked,
and longer runs that stay stoppable and keep their best validation epoch."""

from __future__ import annotations

import math

import pytest
import torch

from kdgui.core import training
from kdgui.core.config import SCHEDULES, Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError
from kdgui.core.events import Cancelled, Evaluation, Finished, Progress
from kdgui.core.training import CancelToken, execute, make_adam, run_to_end, scheduled_lr

SPEC = NetSpec(hidden=(16,))


def test_constant_is_the_learning_rate_throughout():
    assert all(scheduled_lr("constant", 0.01, s, 100) == 0.01 for s in (0, 50, 99, 100))


def test_cosine_decays_from_the_peak_through_half_to_zero():
    assert scheduled_lr("cosine", 0.01, 0, 100) == pytest.approx(0.01)
    assert scheduled_lr("cosine", 0.01, 50, 100) == pytest.approx(0.005)
    assert scheduled_lr("cosine", 0.01, 25, 100) == pytest.approx(0.01 * (1 + math.cos(math.pi / 4)) / 2)
    assert scheduled_lr("cosine", 0.01, 100, 100) == pytest.approx(0.0, abs=1e-12)
    curve = [scheduled_lr("cosine", 0.01, s, 100) for s in range(101)]
    assert all(a >= b for a, b in zip(curve, curve[1:]))


def test_one_cycle_warms_up_from_a_25th_to_the_peak_at_30_percent_then_decays_to_zero():
    lr, total = 0.02, 1000
    curve = [scheduled_lr("one_cycle", lr, s, total) for s in range(total + 1)]
    assert curve[0] == pytest.approx(lr / 25)
    assert max(curve) == pytest.approx(lr) and curve.index(max(curve)) == 300
    assert curve[150] == pytest.approx(lr / 25 + (lr - lr / 25) / 2)  # half way up the half cosine
    assert curve[650] == pytest.approx(lr / 2)  # half way down
    assert curve[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a <= b for a, b in zip(curve[:300], curve[1:301])) and all(a >= b for a, b in zip(curve[300:], curve[301:]))


def test_schedules_are_one_table_and_bad_values_are_refused():
    assert set(SCHEDULES) == {"constant", "cosine", "one_cycle"}
    with pytest.raises(ConfigError, match="schedule must be one of"):
        TrainConfig(schedule="step")
    with pytest.raises(ConfigError, match="weight decay"):
        TrainConfig(weight_decay=-0.1)
    with pytest.raises(ValueError):
        scheduled_lr("step", 0.1, 0, 10)


def test_weight_decay_means_adamw():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert type(make_adam(params, 1e-3, torch.device("cpu"))) is torch.optim.Adam
    adamw = make_adam(params, 1e-3, torch.device("cpu"), weight_decay=0.05)
    assert type(adamw) is torch.optim.AdamW and adamw.param_groups[0]["weight_decay"] == 0.05


@pytest.mark.parametrize("schedule", ["constant", "cosine", "one_cycle"])
def test_execute_steps_with_the_scheduled_rate_every_batch(store, data, monkeypatch, schedule):
    rates: list[float] = []
    original = training.make_adam

    def recording(parameters, lr, device, weight_decay=0.0):
        optimizer = original(parameters, lr, device, weight_decay)
        step = optimizer.step

        def step_and_record(*args, **kwargs):
            rates.append(optimizer.param_groups[0]["lr"])
            return step(*args, **kwargs)

        optimizer.step = step_and_record
        return optimizer

    monkeypatch.setattr(training, "make_adam", recording)
    cfg = TrainConfig(epochs=3, lr=0.01, batch_size=50, eval_every=0, device="cpu", schedule=schedule, weight_decay=0.01)
    run_to_end(execute(Job("student", SPEC, cfg), store, data=data))
    total = 3 * 8
    assert rates == pytest.approx([scheduled_lr(schedule, 0.01, s, total) for s in range(total)])


def test_a_scheduled_run_keeps_its_best_validation_epoch(store, data):
    cfg = TrainConfig(epochs=4, lr=0.05, batch_size=50, eval_every=0, device="cpu", schedule="one_cycle", keep_best=True)
    events = list(execute(Job("student", SPEC, cfg), store, data=data))
    ends = [e for e in events if isinstance(e, Evaluation) and e.epoch_end]
    finished = events[-1]
    assert isinstance(finished, Finished)
    best = max(ends, key=lambda e: (e.val_acc, -e.epoch))  # the first epoch reaching the best validation accuracy
    assert finished.epoch == round(best.epoch) and finished.val_acc == best.val_acc and finished.test_acc == best.test_acc


def test_a_scheduled_run_stops_within_a_batch(store, data):
    token = CancelToken()
    cfg = TrainConfig(epochs=50, lr=0.01, batch_size=50, eval_every=0, device="cpu", schedule="cosine")
    events = []
    for event in execute(Job("student", SPEC, cfg), store, token, data=data):
        events.append(event)
        if isinstance(event, Progress) and event.step == 3:
            token.cancel()
    assert isinstance(events[-1], Cancelled) and events[-1].step == 3
    assert store.get(events[0].run_id).status == "stopped"
