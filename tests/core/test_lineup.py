"""The lineup: the default rule (studies and odd transfer sets never become defaults), choices, fallbacks, loading."""

import dataclasses
import json

import pytest
import torch

from kdgui.core import config as C
from kdgui.core.errors import KdguiError
from kdgui.core.lineup import (
    BUNDLED, LINEUP_FILE, current_lineup, load_models, read_choices, resolve_lineup, study_origin, why_not_default,
    write_choices,
)
from kdgui.core.models import build_model

NETWORKS = {"teacher": "784-1200-1200-10", "student": "784-50-10", "distilled": "784-50-10"}
SMALL = C.NetSpec(hidden=(8,))


def make_run(store, kind, *, status="finished", transfer="train", leave_out=(), name="", origin="", weights=True,
             dataset="mnist", standardize=False, train_limit=None):
    """A run folder as training would leave it, without training: job, status, accuracies, weights."""
    distill = C.DistillConfig(transfer=transfer, leave_out=leave_out) if kind == "distilled" else None
    train = C.TrainConfig(epochs=1, train_limit=train_limit)
    job = C.Job(kind, SMALL, train, distill, teacher_run="t" if distill else None, name=name, dataset=dataset,
                standardize=standardize)
    run = store.create(job, origin)
    if weights:
        run.save_weights(build_model(SMALL, seed=0).state_dict())
    if status != "running":
        run.set_status(status, val_acc=0.9, test_acc=0.9)
    return run


def test_the_default_is_the_newest_finished_run_of_each_role(store):
    make_run(store, "teacher")
    teacher = make_run(store, "teacher")
    make_run(store, "teacher", status="stopped")  # newer, but did not finish
    student = make_run(store, "student")
    distilled = make_run(store, "distilled")
    lineup = resolve_lineup(store.list(), {}, NETWORKS)
    assert lineup.sources() == {"teacher": teacher.id, "student": student.id, "distilled": distilled.id}
    assert all(m.how == "default" for m in lineup.members)


@pytest.mark.parametrize("kwargs, reason", [
    ({"origin": "study 20261130-120000-study-ab12"}, "made by a study"),
    ({"name": "study: no 3 in the transfer set"}, "made by a study"),  # runs studies made before origins existed
    ({"transfer": "leave_out", "leave_out": (3,)}, "without some digits"),
    ({"transfer": "noise"}, "random noise"),
    ({"status": "failed"}, "did not finish"),
    ({"weights": False}, "no saved weights"),
    ({"dataset": "kmnist"}, "kmnist"),
    ({"standardize": True}, "standardised"),
])
def test_studies_and_odd_transfer_sets_never_become_the_default(store, kwargs, reason):
    normal = make_run(store, "distilled")
    odd = make_run(store, "distilled", **kwargs)
    assert reason in why_not_default(odd, "distilled")
    assert resolve_lineup(store.list(), {}, NETWORKS)["distilled"].run_id == normal.id


def test_a_quick_run_on_fewer_images_and_a_jittered_distillation_are_still_defaults(store):
    make_run(store, "distilled")
    jitter = make_run(store, "distilled", transfer="jitter", train_limit=1000)
    assert resolve_lineup(store.list(), {}, NETWORKS)["distilled"].run_id == jitter.id


def test_empty_roles_are_filled_by_the_bundled_networks_and_say_so(store):
    make_run(store, "teacher")
    lineup = resolve_lineup(store.list(), {}, NETWORKS)
    assert lineup["student"].bundled and lineup["student"].how == "bundled"
    assert lineup["student"].label == "Student from labels 784-50-10 (bundled)"
    assert lineup.sources()["distilled"] == "bundled"


def test_a_chosen_run_is_shown_even_a_study_run_and_bundled_can_be_chosen(store):
    study = make_run(store, "distilled", origin="study x")
    make_run(store, "distilled")
    make_run(store, "teacher")
    lineup = resolve_lineup(store.list(), {"distilled": study.id, "teacher": BUNDLED}, NETWORKS)
    assert lineup["distilled"].run_id == study.id and lineup["distilled"].how == "chosen"
    assert lineup["teacher"].bundled and lineup["teacher"].how == "chosen"


def test_a_chosen_run_that_is_gone_or_of_another_kind_falls_back_with_a_note(store):
    default = make_run(store, "distilled")
    student = make_run(store, "student")
    gone = resolve_lineup(store.list(), {"distilled": "20260101-000000-distilled-dead"}, NETWORKS)["distilled"]
    assert gone.run_id == default.id and "no such run in the runs folder" in gone.note
    wrong = resolve_lineup(store.list(), {"distilled": student.id}, NETWORKS)["distilled"]
    assert wrong.run_id == default.id and "not a distilled student" in wrong.note


def test_choices_are_kept_in_the_runs_folder_and_a_bad_file_means_no_choices(store):
    run = make_run(store, "student")
    write_choices(store, {"student": run.id, "teacher": BUNDLED, "distilled": None})
    assert read_choices(store) == {"student": run.id, "teacher": BUNDLED}
    assert [r.id for r in store.list()] == [run.id]  # the lineup file is not taken for a run
    for text in ("{not json", json.dumps({"schema": "other"}), json.dumps({"schema": "kdgui.lineup/1", "roles": [1]}),
                 json.dumps({"schema": "kdgui.lineup/1", "roles": {"student": 5, "nobody": "x"}})):
        (store.root / LINEUP_FILE).write_text(text)
        assert read_choices(store) == {}
    (store.root / LINEUP_FILE).write_bytes(b"\xff\xfe")
    assert read_choices(store) == {}


def test_command_line_overrides_must_name_a_usable_run(store):
    student = make_run(store, "student")
    assert current_lineup(store, {"student": student.id})["student"].run_id == student.id
    with pytest.raises(KdguiError, match="no such run in the runs folder"):
        current_lineup(store, {"student": "nope"})
    with pytest.raises(KdguiError, match="not a teacher"):
        current_lineup(store, {"teacher": student.id})


def test_study_origin_is_recorded_by_the_engine(store, data):
    from kdgui.core.training import execute

    job = C.Job("student", SMALL, C.TrainConfig(epochs=1, eval_every=0, device="cpu"))
    events = list(execute(job, store, data=data, origin="study 123"))
    run = store.get(events[0].run_id)
    assert run.meta["origin"] == "study 123" and study_origin(run) == "study 123"


def test_load_models_gives_the_bundled_network_when_a_run_will_not_load(store):
    good = make_run(store, "student")
    broken = make_run(store, "distilled")
    broken.weights_path.write_bytes(b"not weights")
    lineup = resolve_lineup(store.list(), {"teacher": BUNDLED}, None)
    models, problems = load_models(lineup, store)
    by_role = {m.key: m for m in models}
    assert by_role["student"].source == good.id
    assert by_role["distilled"].source == "bundled" and by_role["distilled"].label.endswith("(bundled)")
    assert len(problems) == 1 and broken.id in problems[0]
    x = torch.rand(2, 784)
    assert by_role["teacher"].model(x).shape == (2, 10)


def test_members_are_frozen_and_lineups_compare_by_what_they_show(store):
    run = make_run(store, "teacher")
    first = resolve_lineup(store.list(), {}, NETWORKS)
    assert first == resolve_lineup(store.list(), {}, NETWORKS)
    assert first.key == resolve_lineup(store.list(), {"teacher": run.id}, NETWORKS).key  # same network, chosen now
    with pytest.raises(dataclasses.FrozenInstanceError):
        first["teacher"].run_id = "x"
