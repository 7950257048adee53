"""Results in words: the loss a run's curve shows, what a Distil gained, which T a sweep found best, study headlines."""

import dataclasses
import math

import pytest

from kdgui.core import config as C
from kdgui.core.lineup import write_choices
from kdgui.core.models import build_model
from kdgui.core.studies import BiasShift
from kdgui.core.sweep import Reference, TemperaturePoint, describe_difference, format_sweep_table
from kdgui.core.verdicts import (
    CROSS_ENTROPY, LOSS_KIND_TITLES, accuracy_headline, distil_verdict, distillation_verdict, leave_out_bias_line,
    leave_out_headline, loss_kind, loss_settings, only_classes_bias_line, only_classes_headline, percent, sweep_verdict,
)

STUDENT = C.NetSpec(hidden=(8,))
TRAIN = C.TrainConfig(epochs=3, device="cpu")


def job(kind="distilled", *, epochs=3, train_limit=None, **distill):
    settings = C.DistillConfig(**distill) if kind == "distilled" else None
    return C.Job(kind, STUDENT, dataclasses.replace(TRAIN, epochs=epochs, train_limit=train_limit), settings,
                 teacher_run="t" if settings else None)


# --- the loss a run's curve shows ---------------------------------------------------------------------------


@pytest.mark.parametrize("the_job, kind, settings", [
    (job("teacher"), CROSS_ENTROPY, ""),
    (job("student"), CROSS_ENTROPY, ""),
    (job(loss="soft_mse", temperature=4.0), "soft_mse", "T=4"),
    (job(loss="hinton", temperature=20.0, alpha=0.5), "hinton", "T=20, α=0.5"),
    (job(loss="hinton", temperature=20.0, alpha=0.0), CROSS_ENTROPY, ""),  # alpha 0: labels alone
])
def test_a_runs_loss_follows_from_its_job(the_job, kind, settings):
    assert loss_kind(the_job) == kind and loss_settings(the_job) == settings
    assert kind in LOSS_KIND_TITLES


# --- a Distil against the student from labels ---------------------------------------------------------------


def test_a_gain_is_said_in_points_with_both_accuracies():
    assert distil_verdict(0.9766, job(), 0.9724, job("student")) == (
        "Distillation gained 0.42 points over the student trained on labels (97.66% vs 97.24%).")


def test_a_loss_and_a_tie_are_said_too():
    assert distil_verdict(0.9690, job(), 0.9720, job("student")).startswith(
        "Distillation lost 0.30 points against the student trained on labels (96.90% vs 97.20%)")
    assert distil_verdict(0.97, job(), 0.97, job("student")).startswith("Distillation matched the student")


def test_settings_that_differ_are_a_caveat_from_describe_difference():
    student, distilled = job("student", epochs=20), job(epochs=5, train_limit=5000)
    text = distil_verdict(0.95, distilled, 0.96, student)
    note = describe_difference(student, distilled, "distillation")
    assert note == "not like for like: trained 20 epochs on all 50,000 images; this distillation: 5 epochs on 5,000 images"
    assert text == f"Distillation lost 1.00 points against the student trained on labels (95.00% vs 96.00%); {note}."


def test_without_a_student_it_says_there_is_none_yet():
    text = distil_verdict(0.95, job())
    assert "95.00%" in text and "no student trained on labels yet" in text


def _run(store, kind, test_acc, epochs=3):
    run = store.create(job(kind, epochs=epochs))
    run.save_weights(build_model(STUDENT, seed=0).state_dict())
    run.set_status("finished", val_acc=test_acc, test_acc=test_acc)
    return run


def test_the_distil_verdict_compares_with_the_lineups_student(store):
    assert "no student trained on labels yet" in distillation_verdict(store, job(), 0.9)
    chosen = _run(store, "student", 0.80)
    _run(store, "student", 0.85)  # newer: the default rule's student
    assert "(90.00% vs 85.00%)" in distillation_verdict(store, job(), 0.9)
    write_choices(store, {"student": chosen.id})
    assert distillation_verdict(store, job(), 0.9).startswith("Distillation gained 10.00 points")
    write_choices(store, {"student": "bundled"})  # the bundled network is no run to compare with
    assert "no student trained on labels yet" in distillation_verdict(store, job(), 0.9)


# --- sweeps -------------------------------------------------------------------------------------------------


def point(t, val, test, n=1):
    return TemperaturePoint(t, n, val, 0.0, val, val, test, 0.0, test, test)


def test_a_sweep_names_the_best_t_and_its_margins():
    points = [point(1, 0.90, 0.89), point(4, 0.93, 0.925), point(20, 0.91, 0.90)]
    teacher = Reference("teacher", "t", 0.98, 0.975)
    student = Reference("student from labels (784-8-10)", "s", 0.92, 0.915, comparable=False, note="not like for like: x")
    text = sweep_verdict(points, [teacher, student])
    assert text.startswith("T=4 was best on validation (93.00%), 3.00 points above the worst, T=1 (90.00%); "
                           "on test it scores 92.50%.")
    assert "1.00 points above the student trained on labels (91.50%); not like for like: x." in text
    assert text in format_sweep_table(points, [teacher, student])


def test_a_sweep_of_one_t_or_without_results_says_so():
    assert sweep_verdict([point(4, 0.9, 0.8, n=3)]) == "Only T=4 was tried: validation 90.00%, mean of 3 seeds, test 80.00%."
    assert sweep_verdict([]) == "" and sweep_verdict([point(4, math.nan, math.nan)]) == ""
    assert "below the student" in sweep_verdict([point(4, 0.9, 0.8)], [Reference("student from labels", "s", 0.9, 0.85)])


# --- studies ----------------------------------------------------------------------------------------------


def shift_of(classes, shift, errors, class_errors, errors_after, class_errors_after, class_count, test_count=10_000):
    return BiasShift(tuple(classes), shift, 0.88, 0.89, errors, errors_after, class_errors, class_errors_after,
                     class_count, test_count)


def test_a_leave_out_study_leads_with_the_left_out_digit():
    shift = shift_of([3], 1.09, 1279, 323, 1173, 172, 1010)
    assert leave_out_headline(shift) == "Without seeing a single 3, the student recognises 68% of the test 3s."
    line = leave_out_bias_line(shift)
    assert line.startswith("Bias shift: the student never saw a 3, so it names 3 too rarely. Adding one constant, +1.09,")
    assert "it then recognises 83% of the test 3s (172 errors on 3s, 1173 in all), recovering 47% of the 3s it missed." in line
    two = shift_of([3, 5], 0.0, 500, 400, 500, 400, 2000)
    assert leave_out_headline(two) == "Without seeing a single 3 or 5, the student recognises 80% of the test 3s and 5s."
    assert "no constant did better on validation" in leave_out_bias_line(two)


def test_an_only_classes_study_leads_with_the_digits_it_never_saw():
    shift = shift_of([7, 8], -3.78, 8074, 81, 6765, 675, 2002)
    assert only_classes_headline(shift) == (
        "Having seen only 7s and 8s, the student recognises 0.1% of the other digits (and 96% of the 7s and 8s).")
    line = only_classes_bias_line(shift)
    assert "so it names them too often. Lowering the biases of 7 and 8 by 3.78" in line
    assert line.endswith("brings the test error to 67.7%: it now recognises 24% of the other digits.")


def test_noise_and_jitter_headlines_name_the_student_from_labels():
    refs = [Reference("teacher", "t", 0.98, 0.97), Reference("student from labels (784-8-10)", "s", 0.9, 0.95)]
    assert accuracy_headline("Taught on noise", 0.4, refs) == (
        "Taught on noise, the student recognises 40% of the test digits (the student trained on labels: 95%).")


def test_percent_keeps_a_decimal_where_whole_numbers_would_mislead():
    assert [percent(x) for x in (0.63, 0.001, 0.996, 1.0)] == ["63%", "0.1%", "99.6%", "100.0%"]
