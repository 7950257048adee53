"""Results in words: what a distillation gained, what a study found, which temperature a sweep found best.

Pure functions over numbers, jobs and references, so the window, the command line and the tests say the same
thing. Accuracies are fractions (0.9766); differences are given in points of percentage (0.42 points).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from .config import LOSS_TITLES, Job
from .errors import KdguiError
from .lineup import current_lineup
from .runs import Run, RunStore
from .sweep import Reference, TemperaturePoint, describe_difference

if TYPE_CHECKING:  # studies imports this module; the type is only named here
    from .studies import BiasShift

CROSS_ENTROPY = "cross_entropy"  # the loss of a network trained on labels
LOSS_KIND_TITLES = {CROSS_ENTROPY: "Cross-entropy on labels", **LOSS_TITLES}
LOSS_KINDS = tuple(LOSS_KIND_TITLES)
SAME = 0.005  # differences under this many points read as equal (both round to the same 0.01%)


# --- which loss a run's curve shows --------------------------------------------------------------------------


def loss_kind(job: Job) -> str:
    """The loss a run minimised: cross-entropy for a teacher or student, else the distillation's loss.

    With alpha 0 a distillation learns from the labels alone, so its loss is plain cross-entropy too.
    """
    if job.kind != "distilled" or job.distill is None or job.distill.alpha == 0:
        return CROSS_ENTROPY
    return job.distill.loss


def loss_settings(job: Job) -> str:
    """What sets the scale of a distillation's loss, 'T=4' or 'T=20, α=0.5'; '' for cross-entropy."""
    if loss_kind(job) == CROSS_ENTROPY:
        return ""
    distill = job.distill
    return f"T={distill.temperature:g}" + (f", α={distill.alpha:g}" if distill.alpha != 1 else "")


# --- small words --------------------------------------------------------------------------------------------


def points(a: float, b: float) -> float:
    """a - b in points of percentage (0.9766 - 0.9724 -> 0.42)."""
    return 100 * (a - b)


def percent(x: float) -> str:
    """'63%' for a round headline; one decimal near 0 and 100%, where whole numbers would mislead."""
    return f"{x:.0%}" if 0.01 <= x <= 0.99 else f"{x:.1%}"


def digits_plural(classes: Sequence[int], joiner: str = "and") -> str:
    """(3,) -> '3s'; (3, 5) -> '3s and 5s'."""
    words = [f"{c}s" for c in classes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joiner} " + words[-1]


def digits_singular(classes: Sequence[int], joiner: str = "or") -> str:
    """(3,) -> '3'; (3, 5) -> '3 or 5'."""
    words = [str(c) for c in classes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joiner} " + words[-1]


# --- a distillation against the student trained on labels ---------------------------------------------------


def distil_verdict(distilled_test: float, distilled_job: Job, student_test: float | None = None,
                   student_job: Job | None = None) -> str:
    """One sentence: what distillation gained (or lost) over the student trained on labels, in points of test accuracy.

    With no student to compare with it says so; when the two were not trained alike it says how
    (``sweep.describe_difference``), since then the gap is not distillation's alone.
    """
    if student_test is None or student_job is None:
        return (f"The distilled student scores {distilled_test:.2%} on test. There is no student trained on labels yet "
                "to compare it with: press Train student to see what distillation gains.")
    gap = points(distilled_test, student_test)
    both = f"({distilled_test:.2%} vs {student_test:.2%})"
    if abs(gap) < SAME:
        sentence = f"Distillation matched the student trained on labels {both}"
    elif gap > 0:
        sentence = f"Distillation gained {gap:.2f} points over the student trained on labels {both}"
    else:
        sentence = f"Distillation lost {-gap:.2f} points against the student trained on labels {both}"
    note = describe_difference(student_job, distilled_job, "distillation")
    return f"{sentence}" + (f"; {note}" if note else "") + "."


def lineup_student(store: RunStore) -> Run | None:
    """The student from labels on stage, if it is a run of the user's with a final test accuracy."""
    try:
        member = current_lineup(store)["student"]
        if member.run_id is None:
            return None
        run = store.get(member.run_id)
    except KdguiError:
        return None
    return run if isinstance(run.summary.get("test_acc"), (int, float)) else None


def distillation_verdict(store: RunStore, distilled_job: Job, distilled_test: float) -> str:
    """``distil_verdict`` against the lineup's student (the one every view shows), read from ``store``."""
    student = lineup_student(store)
    if student is None:
        return distil_verdict(distilled_test, distilled_job)
    return distil_verdict(distilled_test, distilled_job, float(student.summary["test_acc"]), student.job)


# --- a temperature sweep -----------------------------------------------------------------------------------


def _reference_student(references: Sequence[Reference]) -> Reference | None:
    return next((r for r in references if r.label != "teacher"), None)


def sweep_verdict(points_: Sequence[TemperaturePoint], references: Sequence[Reference] = ()) -> str:
    """Which T was best on validation and by how much: above the worst T, and on test against the student from labels.

    '' while there are no accuracies yet.
    """
    found = [p for p in points_ if not math.isnan(p.val_mean)]
    if not found:
        return ""
    best = max(found, key=lambda p: (p.val_mean, -p.temperature))
    seeds = f", mean of {best.n} seeds" if best.n > 1 else ""
    if len(found) == 1:
        text = f"Only T={best.temperature:g} was tried: validation {best.val_mean:.2%}{seeds}, test {best.test_mean:.2%}."
    else:
        worst = min(found, key=lambda p: (p.val_mean, p.temperature))
        gap = points(best.val_mean, worst.val_mean)
        if gap < SAME:
            text = (f"Every temperature did as well on validation ({best.val_mean:.2%}{seeds}); "
                    f"T={best.temperature:g} scores {best.test_mean:.2%} on test.")
        else:
            text = (f"T={best.temperature:g} was best on validation ({best.val_mean:.2%}{seeds}), {gap:.2f} points above "
                    f"the worst, T={worst.temperature:g} ({worst.val_mean:.2%}); on test it scores {best.test_mean:.2%}.")
    student = _reference_student(references)
    if student is not None and not math.isnan(student.test_acc):
        gap = points(best.test_mean, student.test_acc)
        if abs(gap) < SAME:
            against = f"the same as the student trained on labels ({student.test_acc:.2%})"
        else:
            against = (f"{abs(gap):.2f} points {'above' if gap > 0 else 'below'} the student trained on labels "
                       f"({student.test_acc:.2%})")
        text += f" That is {against}" + (f"; {student.note}" if student.note else "") + "."
    return text


# --- the studies ---------------------------------------------------------------------------------------------


def leave_out_headline(shift: BiasShift) -> str:
    """'Without seeing a single 3, the student recognises 63% of the test 3s.'"""
    right = (shift.class_count - shift.class_errors_before) / max(1, shift.class_count)
    return (f"Without seeing a single {digits_singular(shift.classes)}, the student recognises {percent(right)} of the "
            f"test {digits_plural(shift.classes)}.")


def only_classes_headline(shift: BiasShift) -> str:
    """'Having seen only 7s and 8s, the student recognises 2% of the other digits (and 96% of the 7s and 8s).'"""
    others = shift.test_count - shift.class_count
    other_right = (others - (shift.test_errors_before - shift.class_errors_before)) / max(1, others)
    kept_right = (shift.class_count - shift.class_errors_before) / max(1, shift.class_count)
    return (f"Having seen only {digits_plural(shift.classes)}, the student recognises {percent(other_right)} of the other "
            f"digits (and {percent(kept_right)} of the {digits_plural(shift.classes)}).")


def leave_out_bias_line(shift: BiasShift) -> str:
    """The bias shift of a leave-out study in words: what it is, why it helps, what it recovered."""
    one, many = digits_singular(shift.classes), digits_plural(shift.classes)
    if shift.shift == 0:
        return (f"Bias shift: adding a constant to the student's output for {one} could make it name {one} more often, "
                "but no constant did better on validation, so none was added.")
    right = (shift.class_count - shift.class_errors_after) / max(1, shift.class_count)
    why = f"the student never saw a {one}, so it names {one} too rarely. " if shift.shift > 0 else ""
    text = (f"Bias shift: {why}Adding one constant, {shift.shift:+.2f}, to its output for {one} (chosen on validation: "
            f"{shift.val_acc_before:.2%} -> {shift.val_acc_after:.2%}) makes it name {one} "
            f"{'more' if shift.shift > 0 else 'less'} often: it then recognises {percent(right)} of the test {many} "
            f"({shift.class_errors_after} errors on {many}, {shift.test_errors_after} in all)")
    if shift.class_errors_before > 0 and shift.class_errors_after < shift.class_errors_before:
        recovered = (shift.class_errors_before - shift.class_errors_after) / shift.class_errors_before
        text += f", recovering {percent(recovered)} of the {many} it missed"
    return text + "."


def only_classes_bias_line(shift: BiasShift) -> str:
    """The bias shift of an only-classes study in words: lowering the seen classes lets the others through."""
    many = digits_plural(shift.classes)
    n = max(1, shift.test_count)
    if shift.shift == 0:
        return (f"Bias shift: changing the student's output for {many} by a constant could change how often it names them, "
                "but no constant did better on validation, so none was added.")
    others = shift.test_count - shift.class_count
    other_right = (others - (shift.test_errors_after - shift.class_errors_after)) / max(1, others)
    verb = "Lowering" if shift.shift < 0 else "Raising"
    why = f"it saw only {many}, so it names them too often. " if shift.shift < 0 else ""
    return (f"Bias shift: {why}{verb} the biases of {digits_singular(shift.classes, 'and')} by {abs(shift.shift):.2f} "
            f"(chosen on validation: {shift.val_acc_before:.2%} -> {shift.val_acc_after:.2%}) brings the test error to "
            f"{shift.test_errors_after / n:.1%}: it now recognises {percent(other_right)} of the other digits.")


def accuracy_headline(what: str, test_acc: float, references: Sequence[Reference] = ()) -> str:
    """'Taught only on random noise, the student recognises 40% of the test digits (the student from labels: 97%).'"""
    student = _reference_student(references)
    beside = f" (the student trained on labels: {percent(student.test_acc)})" if student is not None else ""
    return f"{what}, the student recognises {percent(test_acc)} of the test digits{beside}."
