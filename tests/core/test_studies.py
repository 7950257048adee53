"""Transfer-set studies: the exact bias-shift search, which images the teacher labels, curves, cancel, saved results."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdgui.core import training
from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError
from kdgui.core.events import Cancelled, Evaluation, Finished, Progress, Started
from kdgui.core.experiments import list_experiments
from kdgui.core.studies import (
    PARAGRAPH,
    StudyCancelled,
    StudyConfig,
    StudyFinished,
    StudyStarted,
    best_bias_shift,
    bias_shift_report,
    run_study,
    shift_logits,
)
from kdgui.core.training import CancelToken, execute, run_to_end
from kdgui.core.verdicts import percent

TEACHER = NetSpec(hidden=(64,), dropout=(0.5,))
STUDENT = NetSpec(hidden=(16,))


@pytest.fixture
def teacher(store, data) -> str:
    job = Job("teacher", TEACHER, TrainConfig(epochs=3, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
    return run_to_end(execute(job, store, data=data)).run_id


@pytest.fixture
def labelled(monkeypatch):
    """Every batch of images the teacher is asked to label."""
    seen: list[torch.Tensor] = []
    original = training.teacher_logits

    def recording(model, x):
        seen.append(x.clone())
        return original(model, x)

    monkeypatch.setattr(training, "teacher_logits", recording)
    return seen


def study(name: str, teacher: str, **overrides) -> StudyConfig:
    settings = dict(epochs=2, lr=1e-2, batch_size=40, eval_every=0, device="cpu", student=STUDENT)
    return StudyConfig(name, teacher, **{**settings, **overrides})


def accuracy(logits, labels) -> float:
    return float((logits.argmax(1) == labels).float().mean())


# --- the bias shift ----------------------------------------------------------------------------------------


def skewed_logits(seed: int, classes, skew: float, n: int = 300):
    """Logits that mostly favour the right class, with ``classes`` pushed down by ``skew``."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    logits = torch.randn(n, 10, generator=g) * 1.5
    logits[torch.arange(n), labels] += 2.0
    logits[:, list(classes)] -= skew
    return logits, labels


@pytest.mark.parametrize("seed, classes, skew", [(0, (3,), 2.5), (1, (3,), -2.0), (2, (7, 8), -3.0), (3, (0, 5, 9), 1.0), (4, (4,), 0.0)])
def test_the_chosen_shift_is_at_least_as_good_as_any_on_a_fine_grid(seed, classes, skew):
    logits, labels = skewed_logits(seed, classes, skew)
    shift = best_bias_shift(logits, labels, classes)
    found = accuracy(shift_logits(logits, classes, shift), labels)
    grid = max(accuracy(shift_logits(logits, classes, s), labels) for s in torch.linspace(-12, 12, 2401).tolist())
    assert found >= grid
    assert found >= accuracy(logits, labels)
    if skew > 1:
        assert shift > 0  # a class pushed down is pushed back up
    if skew < -1:
        assert shift < 0


def test_no_shift_when_nothing_beats_the_unshifted_accuracy():
    labels = torch.arange(10).repeat(5)
    logits = torch.nn.functional.one_hot(labels, 10).float() * 5  # already perfect
    assert best_bias_shift(logits, labels, (3,)) == 0.0


def test_a_class_that_is_never_right_is_shifted_below_every_breakpoint():
    g = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 9, (200,), generator=g)  # no 9s at all
    logits = torch.randn(200, 10, generator=g)
    logits[torch.arange(200), labels] += 3.0
    logits[:, 9] += 4.0 * torch.rand(200, generator=g)  # 9 wins often, and is always wrong
    shift = best_bias_shift(logits, labels, (9,))
    assert (shift_logits(logits, (9,), shift).argmax(1) != 9).all()
    assert accuracy(shift_logits(logits, (9,), shift), labels) == accuracy(shift_logits(logits, (9,), -1e3), labels)


def test_report_counts_errors_overall_and_on_the_classes_before_and_after():
    # Class 3 is always scored 1 too low: the 3s are misread as 5s, which a shift of about +1 fixes.
    labels = torch.tensor([3, 3, 3, 5, 5, 1])
    logits = torch.full((6, 10), -5.0)
    logits[torch.arange(6), labels] = 2.0
    logits[:3, 5] = 2.5  # the 3s score 2.0 for 3 and 2.5 for 5
    logits[5, 3] = 1.0  # the 1 is safe unless 3 rises by more than 1
    report = bias_shift_report(logits, labels, logits, labels, (3,))
    assert 0.5 < report.shift < 1.0
    assert (report.test_errors_before, report.class_errors_before, report.class_count) == (3, 3, 3)
    assert (report.test_errors_after, report.class_errors_after) == (0, 0)
    assert (report.val_acc_before, report.val_acc_after, report.test_count) == (0.5, 1.0, 6)


# --- leave-out and only-classes ----------------------------------------------------------------------------


def _rows_in(images: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """For each row of images, whether it equals some row of pool."""
    return (images[:, None, :] == pool[None, :, :]).all(-1).any(1)


def test_leave_out_never_shows_the_teacher_the_left_out_digit(store, data, teacher, labelled):
    events = list(run_study(study("leave-out", teacher, classes=(3,)), store, data=data))
    threes, others = data.train_x[data.train_y == 3], data.train_x[data.train_y != 3]
    (transfer,) = labelled
    assert len(transfer) == len(others) and len(threes) > 0
    assert not _rows_in(transfer, threes).any() and _rows_in(transfer, others).all()
    done = events[-1]
    assert isinstance(done, StudyFinished) and done.result["transfer_size"] == len(others)
    r = done.result
    assert r["val_acc_after"] >= r["val_acc_before"]
    assert r["class_count"] == int((data.test_y == 3).sum()) and r["test_count"] == len(data.test_y)
    assert r["paper"]["test_errors_before"] == 206 and "206 errors" in done.summary
    # The headline leads: how many of the left-out digit it recognises without seeing one; the bias shift is explained.
    headline, numbers, bias, paper = done.summary.split(PARAGRAPH)
    right = (r["class_count"] - r["class_errors_before"]) / r["class_count"]
    assert headline == f"Without seeing a single 3, the student recognises {percent(right)} of the test 3s."
    assert numbers.startswith("Without any 3s in the transfer set") and bias.startswith("Bias shift: ")
    assert paper.startswith("The paper: 206 errors")
    assert store.get(done.run_id).status == "finished"


def test_only_classes_teaches_from_those_classes_and_lowers_their_bias_on_validation(store, data, teacher, labelled):
    events = list(run_study(study("only-classes", teacher), store, data=data))
    (transfer,) = labelled
    kept = data.train_x[(data.train_y == 7) | (data.train_y == 8)]
    assert len(transfer) == len(kept) and _rows_in(transfer, kept).all()
    done = events[-1]
    r = done.result
    assert r["classes"] == [7, 8] and r["val_acc_after"] >= r["val_acc_before"]
    # Trained only on 7s and 8s, the student over-predicts them: the better shift lowers their biases.
    assert r["shift"] < 0 and r["test_errors_after"] < r["test_errors_before"]
    assert "Lowering the biases of 7 and 8" in done.summary


# --- noise and jitter --------------------------------------------------------------------------------------


def test_noise_reports_accuracy_against_iterations(store, data, teacher, labelled):
    events = list(run_study(study("noise", teacher, eval_every=3), store, data=data))
    steps = len([e for e in events if isinstance(e, Progress)])
    assert steps == 20 and len(labelled) == 20  # the teacher labels fresh noise every batch
    assert all(x.min() >= 0 and x.max() <= 1 and not _rows_in(x, data.train_x).any() for x in labelled)
    done = events[-1]
    points = done.result["points"]
    assert [p[0] for p in points] == [3, 6, 9, 10, 12, 15, 18, 20]
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert [p[1] for p in points] == [e.test_acc for e in evals]
    assert done.result["iterations"] == 20 and "iterations" in done.summary


def test_jitter_shifts_the_transfer_images(store, data, teacher, labelled):
    events = list(run_study(study("jitter", teacher, jitter_pixels=2, epochs=1), store, data=data))
    assert len(labelled) == 10 and sum(len(x) for x in labelled) == len(data.train_y)
    shifted = torch.cat(labelled)
    assert (~_rows_in(shifted, data.train_x)).float().mean() > 0.5  # most images moved (a shift of 0,0 is allowed)
    done = events[-1]
    assert done.result["test_acc"] == store.get(done.run_id).summary["test_acc"]
    assert done.result["jitter_pixels"] == 2


def test_the_study_reference_is_an_ordinary_label_student_with_a_note_when_not_alike(store, data, teacher):
    train = TrainConfig(epochs=1, lr=1e-2, batch_size=40, eval_every=0, device="cpu")
    ordinary = store.create(Job("student", STUDENT, dataclasses.replace(train, epochs=5)))
    ordinary.set_status("finished", val_acc=0.5, test_acc=0.5)
    made = store.create(Job("student", STUDENT, train), origin="study 20240101-000000-study-abcd")  # alike, but a study's
    made.set_status("finished", val_acc=0.6, test_acc=0.6)
    done = list(run_study(study("jitter", teacher, epochs=1), store, data=data))[-1]
    teacher_ref, student_ref = done.result["references"]
    assert teacher_ref["run_id"] == teacher and teacher_ref["comparable"] is True and teacher_ref["note"] == ""
    assert student_ref["run_id"] == ordinary.id and student_ref["comparable"] is False
    note = "not like for like: trained 5 epochs on all 50,000 images; this study: 1 epoch on all 50,000 images"
    assert student_ref["note"] == note
    assert f"student from labels (784-16-10) 50.00% ({note})" in done.summary


# --- events, cancel, saving --------------------------------------------------------------------------------


def test_a_study_streams_training_events_between_its_own(store, data, teacher):
    events = list(run_study(study("leave-out", teacher), store, data=data))
    kinds = [type(e) for e in events]
    assert kinds[0] is StudyStarted and kinds[1] is Started and kinds[-2] is Finished and kinds[-1] is StudyFinished
    (record,) = list_experiments(store, "study")
    assert record["status"] == "finished" and record["study"] == "leave-out" and record["run_id"] == events[-1].run_id
    assert record["summary"] == events[-1].summary and record["result"]["shift"] == events[-1].result["shift"]
    kept = store.get(events[-1].run_id).summary
    assert record["result"]["epoch"] == kept["epoch"] and record["result"]["test_acc"] == kept["test_acc"]
    assert f"epoch {kept['epoch']}, best on validation" in record["summary"]
    assert store.scan()[1] == []


def test_cancel_stops_the_study_within_a_batch(store, data, teacher):
    token = CancelToken()
    seen = []
    for event in run_study(study("jitter", teacher), store, token, data=data):
        seen.append(event)
        if isinstance(event, Progress) and event.step == 2:
            token.cancel()
    assert [type(e) for e in seen[-3:]] == [Progress, Cancelled, StudyCancelled]
    assert seen[-2].step == 2
    (record,) = list_experiments(store, "study")
    assert record["status"] == "stopped"
    assert store.get(seen[-1].run_id).status == "stopped"


@pytest.mark.parametrize("name, overrides, needle", [
    ("reverse", {}, "study must be one of"),
    ("noise", {"classes": (3,)}, "takes no classes"),
    ("leave-out", {"classes": (11,)}, "digits 0 to 9"),
    ("only-classes", {"classes": tuple(range(10))}, "fewer than all ten"),
    ("noise", {"alpha": 0.5}, "alpha must be 1"),
    ("jitter", {"jitter_pixels": 9}, "jitter"),
])
def test_bad_study_settings_are_one_line_config_errors(name, overrides, needle):
    with pytest.raises(ConfigError) as exc:
        StudyConfig(name, "some-teacher", **overrides)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_default_classes_are_the_papers():
    assert StudyConfig("leave-out", "t").classes == (3,)
    assert StudyConfig("only-classes", "t").classes == (7, 8)
    assert StudyConfig("only-classes", "t").distill_config().leave_out == (0, 1, 2, 3, 4, 5, 6, 9)
