"""Temperature sweep: batched students equal solo runs, stay independent, share one teacher pass, cancel, save results."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from kdgui.core import losses, training
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError
from kdgui.core.events import Progress
from kdgui.core.experiments import list_experiments
from kdgui.core.models import build_model
from kdgui.core.sweep import (
    Reference,
    StackedStudents,
    SweepCancelled,
    SweepConfig,
    SweepEvaluation,
    SweepFinished,
    SweepStarted,
    batched_distillation_loss,
    describe_difference,
    format_sweep_table,
    run_sweep,
    soft_targets,
    student_reference,
)
from kdgui.core.training import CancelToken, execute, run_to_end

TEACHER = NetSpec(hidden=(64,), dropout=(0.5,))
STUDENT = NetSpec(hidden=(16, 8))  # two hidden layers: exercises both the grouped first layer and the batched ones


@pytest.fixture
def teacher(store, data) -> str:
    job = Job("teacher", TEACHER, TrainConfig(epochs=2, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
    return run_to_end(execute(job, store, data=data)).run_id


def sweep_config(teacher: str, **overrides) -> SweepConfig:
    settings = dict(temperatures=(2.0, 5.0), seeds=2, epochs=2, lr=1e-2, batch_size=40, student=STUDENT,
                    device="cpu", student_run=None)
    return SweepConfig(teacher, **{**settings, **overrides})


def sweep(config, store, data, token=None):
    """Run a sweep to the end; return its events and the stacked students it trained."""
    holder = []
    events = list(run_sweep(config, store, token, data=data, on_students=holder.append))
    return events, (holder[0] if holder else None)


# --- equal to training alone -------------------------------------------------------------------------------


@pytest.mark.parametrize("loss, alpha", [("soft_mse", 1.0), ("hinton", 0.7)])
def test_each_sweep_student_ends_with_the_weights_of_its_solo_run(store, data, teacher, loss, alpha):
    config = sweep_config(teacher, loss=loss, alpha=alpha, keep_best=False)  # the solo runs save their last weights
    events, students = sweep(config, store, data)
    finished = events[-1]
    assert isinstance(finished, SweepFinished)
    for k in (1, 2):  # (T=5, seed 0) and (T=2, seed 1): a different temperature and a different seed
        temperature, seed = config.students[k]
        solo = run_to_end(execute(config.student_job(temperature, seed), store, data=data))
        solo_weights = store.get(solo.run_id).load_model().state_dict()
        mine = students.state_dict_of(k)
        assert mine.keys() == solo_weights.keys()
        for name in mine:
            torch.testing.assert_close(mine[name], solo_weights[name], rtol=1e-4, atol=2e-5)
        initial = build_model(STUDENT, seed=seed).state_dict()
        assert max((mine[n] - initial[n]).abs().max() for n in mine) > 1e-2  # it did train
        assert finished.test_acc[k] == pytest.approx(solo.test_acc, abs=1.5 / len(data.test_y))
        assert finished.val_acc[k] == pytest.approx(solo.val_acc, abs=1.5 / len(data.val_y))


def test_stacked_students_start_as_build_model_and_compute_the_same_logits():
    spec = NetSpec(hidden=(12, 7), activation="tanh")
    students = StackedStudents(spec, group_seeds=[3, 9], per_group=3)
    x = torch.rand(25, 784, generator=torch.Generator().manual_seed(0))
    logits = students(x)
    grouped = students(torch.stack([x, x]))
    for k in range(6):
        model = build_model(spec, seed=[3, 9][k // 3])
        state = students.state_dict_of(k)
        assert all(torch.equal(state[n], t) for n, t in model.state_dict().items())
        torch.testing.assert_close(logits[k].t(), model(x), rtol=1e-5, atol=1e-6)  # class-major [C, N]
        torch.testing.assert_close(grouped[k].t(), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, alpha", [("soft_mse", 1.0), ("soft_mse", 0.6), ("hinton", 1.0), ("hinton", 0.3)])
def test_batched_loss_is_each_students_own_loss(kind, alpha):
    g = torch.Generator().manual_seed(1)
    logits, teacher = torch.randn(4, 32, 10, generator=g) * 3, torch.randn(4, 32, 10, generator=g) * 3
    labels = torch.randint(0, 10, (4, 32), generator=g)
    temps = torch.tensor([1.0, 2.5, 4.0, 20.0])
    targets = torch.stack([soft_targets(kind, teacher[k], [float(temps[k])])[:, 0].t() for k in range(4)])
    batched = batched_distillation_loss(kind, logits.transpose(1, 2), targets, labels, temps, alpha)
    for k in range(4):
        alone = losses.distillation_loss(kind, logits[k], teacher[k], labels[k], float(temps[k]), alpha)
        torch.testing.assert_close(batched[k], alone, rtol=1e-5, atol=1e-7)


# --- independence ------------------------------------------------------------------------------------------


def test_changing_one_students_temperature_leaves_the_others_alone(store, data, teacher):
    _, a = sweep(sweep_config(teacher, temperatures=(1.0, 4.0), seeds=1), store, data)
    _, b = sweep(sweep_config(teacher, temperatures=(1.0, 8.0), seeds=1), store, data)
    same_a, same_b = a.state_dict_of(0), b.state_dict_of(0)
    for name in same_a:
        torch.testing.assert_close(same_a[name], same_b[name], rtol=0, atol=1e-6)
    changed_a, changed_b = a.state_dict_of(1), b.state_dict_of(1)
    assert max((changed_a[n] - changed_b[n]).abs().max() for n in changed_a) > 1e-3


def test_seeds_give_different_students_and_the_same_seed_the_same_start(store, data, teacher):
    events, students = sweep(sweep_config(teacher, temperatures=(3.0,), seeds=3), store, data)
    states = [students.state_dict_of(k) for k in range(3)]
    assert all(max((s[n] - states[0][n]).abs().max() for n in s) > 1e-2 for s in states[1:])
    started = events[0]
    assert isinstance(started, SweepStarted) and started.seeds == (0, 1, 2) and started.temperatures == (3.0,) * 3


# --- the teacher runs once ---------------------------------------------------------------------------------


def test_the_teacher_labels_the_transfer_set_once_for_all_students_and_sweeps(store, data, teacher, monkeypatch):
    calls = []
    original = training.teacher_logits

    def counting(model, x):
        calls.append(len(x))
        assert not model.training
        return original(model, x)

    monkeypatch.setattr(training, "teacher_logits", counting)
    config = sweep_config(teacher, temperatures=(1.0, 2.0, 4.0), seeds=2)
    sweep(config, store, data)
    assert calls == [len(data.train_y)]
    sweep(dataclasses.replace(config, temperatures=(3.0,)), store, data)
    assert calls == [len(data.train_y)]  # the same transfer set: reused from the cache


# --- events, references, cancel ----------------------------------------------------------------------------


def test_evaluations_carry_every_students_accuracy_at_each_point(store, data, teacher):
    config = sweep_config(teacher, eval_every=4, keep_best=False)  # 10 batches an epoch
    events, _ = sweep(config, store, data)
    evals = [e for e in events if isinstance(e, SweepEvaluation)]
    assert [e.step for e in evals] == [4, 8, 10, 12, 16, 20]  # every 4th step overall, as execute does
    assert [e.epoch_end for e in evals] == [False, False, True, False, False, True]
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == list(range(1, 21)) and progress[-1].total_steps == 20
    last = evals[-1]
    assert len(last.val_acc) == len(last.test_acc) == 4 and all(0 <= a <= 1 for a in last.val_acc + last.test_acc)
    points = last.by_temperature()
    assert [p.temperature for p in points] == [2.0, 5.0]
    for p in points:
        mine = [a for (t, _), a in zip(config.students, last.test_acc) if t == p.temperature]
        assert p.n == 2 and p.test_mean == pytest.approx(sum(mine) / 2)
        assert p.test_min == min(mine) and p.test_max == max(mine)
        assert p.test_std == pytest.approx(abs(mine[0] - mine[1]) / 2**0.5)
    assert events[-1].points == points


def test_keep_best_reports_each_student_at_the_epoch_its_solo_run_keeps(store, data, teacher):
    config = sweep_config(teacher, epochs=4, lr=3e-2)
    assert config.keep_best  # the seed presets' default
    events, _ = sweep(config, store, data)
    finished = events[-1]
    ends = [e for e in events if isinstance(e, SweepEvaluation) and e.epoch_end]
    for k in range(4):
        best = max(range(4), key=lambda i: (ends[i].val_acc[k], -i))  # the first epoch with the highest accuracy
        assert finished.epochs[k] == best + 1
        assert (finished.val_acc[k], finished.test_acc[k]) == (ends[best].val_acc[k], ends[best].test_acc[k])
    assert finished.epochs != (4, 4, 4, 4)  # else this test could not tell best from last
    solo = run_to_end(execute(config.student_job(*config.students[2]), store, data=data))
    assert solo.epoch == finished.epochs[2]
    assert solo.test_acc == pytest.approx(finished.test_acc[2], abs=1e-6)
    last_events, _ = sweep(dataclasses.replace(config, keep_best=False), store, data)
    assert last_events[-1].epochs == (4, 4, 4, 4)
    assert last_events[-1].test_acc == ends[-1].test_acc


def test_reference_lines_are_the_teacher_and_the_newest_matching_student(store, data, teacher):
    def student_run(hidden):
        job = Job("student", NetSpec(hidden=hidden), TrainConfig(epochs=1, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
        return run_to_end(execute(job, store, data=data))

    matching = student_run((16, 8))
    student_run((32,))  # newer, but another architecture: not a fair reference
    events, _ = sweep(sweep_config(teacher, student_run="latest", epochs=1), store, data)
    refs = events[0].references
    assert [r.run_id for r in refs] == [teacher, matching.run_id]
    assert refs[0].test_acc == store.get(teacher).summary["test_acc"]
    assert refs[1].test_acc == matching.test_acc
    events, _ = sweep(sweep_config(teacher, student_run=None, epochs=1), store, data)
    assert [r.run_id for r in events[0].references] == [teacher]


def label_run(store, hidden=(16, 8), epochs=2, train_limit=None, origin="", name="", acc=0.9) -> str:
    """A finished label-trained student run, made without training."""
    train = TrainConfig(epochs=epochs, lr=1e-2, batch_size=40, eval_every=0, device="cpu", train_limit=train_limit)
    run = store.create(Job("student", NetSpec(hidden=hidden), train, name=name), origin=origin)
    run.set_status("finished", val_acc=acc, test_acc=acc)
    return run.id


def test_a_student_trained_like_the_sweep_is_preferred_over_newer_ones_trained_otherwise(store):
    target = sweep_config("teacher-id", epochs=2).student_job(2.0, 0)
    alike = label_run(store, epochs=2, train_limit=60_000)  # a limit above the training set is all of it
    label_run(store, epochs=20)  # newer, longer trained
    label_run(store, epochs=2, train_limit=300)  # newer, fewer images
    label_run(store, hidden=(32,), epochs=2)  # newer, another architecture
    ref = student_reference(store, "latest", target)
    assert ref.run_id == alike and ref.comparable and ref.note == ""
    assert student_reference(store, None, target) is None


def test_a_student_trained_otherwise_is_a_reference_with_a_note_saying_what_differs(store, data, teacher):
    other = label_run(store, epochs=20)
    label_run(store, hidden=(32,), epochs=1, train_limit=300)  # like for like except the architecture: never chosen
    config = sweep_config(teacher, student_run="latest", epochs=1, seeds=1, train_limit=300)
    events, _ = sweep(config, store, data)
    student = events[0].references[1]
    assert student.run_id == other and not student.comparable
    assert student.note == "not like for like: trained 20 epochs on all 50,000 images; this sweep: 1 epoch on 300 images"
    assert events[0].references[0].comparable and events[0].references[0].note == ""  # the teacher: as ever
    saved = list_experiments(store, "sweep")[-1]["references"]
    assert saved[1]["comparable"] is False and saved[1]["note"] == student.note
    assert [Reference.from_dict(r) for r in saved] == list(events[0].references)
    table = format_sweep_table(events[-1].points, events[0].references)
    assert student.note in table and f"run {other}" in table


def test_runs_made_by_a_study_are_never_references(store):
    target = sweep_config("teacher-id", epochs=2).student_job(2.0, 0)
    label_run(store, epochs=2, origin="study 20240101-120000-study-abcd")
    label_run(store, epochs=2, name="study: no 3s in the transfer set")  # made by a study before runs had an origin
    assert student_reference(store, "latest", target) is None
    ordinary = label_run(store, epochs=5)
    label_run(store, epochs=2, origin="sweep 1")
    ref = student_reference(store, "latest", target)
    assert ref.run_id == ordinary and not ref.comparable and "trained 5 epochs" in ref.note


def test_a_reference_run_given_by_id_is_kept_and_gets_the_note(store):
    target = sweep_config("teacher-id", epochs=2).student_job(2.0, 0)
    label_run(store, epochs=2)
    given = label_run(store, hidden=(32,), epochs=2, origin="study x")
    ref = student_reference(store, given, target)
    assert ref.run_id == given and not ref.comparable
    assert ref.note == ("not like for like: a 784-32-10 network, trained 2 epochs on all 50,000 images; "
                        "this sweep: a 784-16-8-10 network, 2 epochs on all 50,000 images")
    assert student_reference(store, label_run(store, epochs=2), target).comparable


def test_describe_difference_is_empty_like_for_like_and_names_dataset_and_study():
    train = TrainConfig(epochs=3, lr=1e-2, batch_size=40, device="cpu", train_limit=5000)
    mine = Job("student", STUDENT, train)
    assert describe_difference(mine, dataclasses.replace(mine, name="other", train=dataclasses.replace(train, lr=1.0))) == ""
    fashion = dataclasses.replace(mine, dataset="fashion-mnist", train=dataclasses.replace(train, epochs=1, train_limit=None))
    assert describe_difference(fashion, mine, "study") == (
        "not like for like: on Fashion-MNIST, trained 1 epoch on all 50,000 images; this study: on MNIST, 3 epochs on 5,000 images"
    )


def test_references_saved_before_the_note_read_as_comparable():
    old = {"label": "teacher", "run_id": "r1", "val_acc": 0.98, "test_acc": 0.97}
    ref = Reference.from_dict(old)
    assert ref == Reference("teacher", "r1", 0.98, 0.97) and ref.comparable and ref.note == ""
    assert "not like for like" not in format_sweep_table([], [ref])


def test_cancel_stops_within_a_batch_and_keeps_the_partial_result(store, data, teacher):
    token = CancelToken()
    seen = []
    for event in run_sweep(sweep_config(teacher), store, token, data=data):
        seen.append(event)
        if isinstance(event, Progress) and event.step == 3:
            token.cancel()
    assert isinstance(seen[-1], SweepCancelled) and seen[-1].step == 3
    assert [type(e) for e in seen[-2:]] == [Progress, SweepCancelled]
    record = json.loads(open(seen[-1].path).read())
    assert record["status"] == "stopped" and record["steps"] == 3


def test_closing_the_generator_marks_the_sweep_stopped(store, data, teacher):
    events = run_sweep(sweep_config(teacher), store, data=data)
    started = next(events)
    next(events)
    events.close()
    (record,) = list_experiments(store, "sweep")
    assert record["id"] == started.sweep_id and record["status"] == "stopped"


# --- saved results -----------------------------------------------------------------------------------------


def test_the_table_is_saved_beside_the_runs_without_disturbing_them(store, data, teacher):
    events, _ = sweep(sweep_config(teacher), store, data)
    finished = events[-1]
    (record,) = list_experiments(store, "sweep")
    assert record["id"] == finished.sweep_id and record["status"] == "finished"
    assert record["teacher_run"] == teacher
    assert [row["temperature"] for row in record["table"]] == [2.0, 5.0]
    assert [row["test_mean"] for row in record["table"]] == [p.test_mean for p in finished.points]
    assert [s["test_acc"] for s in record["students"]] == list(finished.test_acc)
    assert len(record["history"]) == 2
    runs, problems = store.scan()
    assert problems == [] and [r.id for r in runs] == [teacher]


# --- configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, needle", [
    ({"temperatures": ()}, "at least one temperature"),
    ({"temperatures": (2.0, 2.0)}, "each temperature once"),
    ({"temperatures": (0.0,)}, "temperature"),
    ({"seeds": 0}, "number of seeds"),
    ({"alpha": 1.5}, "alpha"),
    ({"loss": "l2"}, "loss must be one of"),
    ({"epochs": 0}, "epochs"),
    ({"student": NetSpec(hidden=(50,), dropout=(0.2,))}, "without dropout"),
])
def test_bad_settings_are_one_line_config_errors(overrides, needle):
    with pytest.raises(ConfigError) as exc:
        sweep_config("some-teacher", **overrides)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_student_job_is_the_matching_solo_distillation():
    job = sweep_config("t1", loss="hinton", alpha=0.5).student_job(5.0, 1, standardize=True)
    assert job.kind == "distilled" and job.teacher_run == "t1" and job.standardize
    assert job.distill == DistillConfig(temperature=5.0, alpha=0.5, loss="hinton", transfer="train")
    assert job.train.keep_best
    assert (job.train.seed, job.train.epochs, job.train.lr, job.train.batch_size) == (1, 2, 1e-2, 40)
