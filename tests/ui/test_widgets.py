"""Reusable widgets and helpers: the temperature slider and model, number fields, curve history and smoothing."""

import math

import pytest

from kdgui.core.history import EmaSmoother, RunHistory, final_accuracies, smooth
from kdgui.ui.temperature_model import TemperatureModel
from kdgui.ui.widgets.number_field import NumberField
from kdgui.ui.widgets.temperature_slider import (
    SLIDER_STEPS, TemperatureSlider, slider_to_temperature, temperature_to_slider,
)


def test_slider_spans_half_to_twenty_with_finer_steps_at_low_t():
    assert slider_to_temperature(0) == 0.5 and slider_to_temperature(SLIDER_STEPS) == 20.0
    values = sorted({slider_to_temperature(p) for p in range(SLIDER_STEPS + 1)})
    low_step = values[1] - values[0]
    high_step = values[-1] - values[-2]
    assert low_step == pytest.approx(0.05) and high_step == pytest.approx(0.5)
    for t in (0.5, 1.0, 2.0, 4.0, 8.0, 20.0):
        assert slider_to_temperature(temperature_to_slider(t)) == pytest.approx(t, rel=0.03)


def test_temperature_model_emits_only_real_changes(qtbot):
    model = TemperatureModel(4.0)
    with qtbot.assertNotEmitted(model.temperatureChanged):
        model.setTemperature(4.0)
    with qtbot.waitSignal(model.temperatureChanged) as changed:
        model.setTemperature(2.0)
    assert changed.args == [2.0]
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            model.setTemperature(bad)
    assert model.temperature == 2.0


def test_slider_and_typed_value_stay_in_step(qtbot):
    slider = TemperatureSlider(4.0)
    qtbot.addWidget(slider)
    with qtbot.waitSignal(slider.temperatureChanged) as moved:
        slider.slider.setValue(SLIDER_STEPS)
    assert moved.args == [20.0] and slider.field.value() == 20.0
    with qtbot.waitSignal(slider.temperatureChanged) as typed:
        slider.field.setText("50")  # beyond the slider: allowed, the slider waits at its end
    assert typed.args == [50.0] and slider.slider.value() == SLIDER_STEPS
    slider.field.setText("-2")
    assert slider.temperature() is None and "greater than 0" in slider.field.problem()


@pytest.mark.parametrize("text, value", [("50,000", 50000), ("1e3", 1000), (" 7 ", 7)])
def test_whole_number_fields_accept_readable_forms(qtbot, text, value):
    field = NumberField("size", integer=True, low=1, high=100_000)
    qtbot.addWidget(field)
    field.setText(text)
    assert field.value() == value


def test_whole_number_fields_refuse_fractions(qtbot):
    field = NumberField("epochs", integer=True, low=1, high=10)
    qtbot.addWidget(field)
    field.setText("2.5")
    assert field.value() is None and "whole number" in field.problem()


def test_smoothing_is_tensorboards_debiased_ema():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # debiasing: no ramp-up from 0
    assert smooth([3.0, 1.0], 0.0) == [3.0, 1.0]
    streamed = EmaSmoother(0.6)
    assert streamed.feed([4.0, 2.0]) + streamed.feed([1.0]) == pytest.approx(smooth([4.0, 2.0, 1.0], 0.6))


def test_history_from_records_and_final_accuracies():
    records = [{"type": "loss", "step": s, "loss": 1.0 / s} for s in range(1, 11)]
    records.append({"type": "eval", "step": 5, "epoch": 0.5, "val_acc": 0.8, "test_acc": 0.7})
    records.append({"type": "eval", "step": 10, "epoch": 1.0, "val_acc": 0.9, "test_acc": 0.85, "epoch_end": True})
    history = RunHistory.from_records(records)
    assert history.batches_per_epoch == 10 and history.loss_epochs()[-1] == 1.0
    assert history.eval_column("val_acc") == [0.8, 0.9]
    assert final_accuracies({}, records) == {"val_acc": 0.9, "test_acc": 0.85}
    assert final_accuracies({"val_acc": 0.5, "test_acc": 0.4}, None) == {"val_acc": 0.5, "test_acc": 0.4}
