"""Fidelity during a distillation: each Evaluation's agreement and KL with the teacher, and live first-layer weights."""

from __future__ import annotations

import pytest
import torch

from kdgui.core import insight
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.events import Evaluation, Finished
from kdgui.core.history import RunHistory
from kdgui.core.training import execute, run_to_end

FAST = TrainConfig(epochs=2, lr=1e-2, batch_size=40, seed=0, eval_every=4, device="cpu")


@pytest.fixture
def teacher_id(store, data):
    last = run_to_end(execute(Job("teacher", NetSpec(hidden=(64,), dropout=(0.5,)), FAST), store, data=data))
    assert isinstance(last, Finished)
    return last.run_id


def test_a_distillation_reports_fidelity_equal_to_a_direct_computation(store, data, teacher_id):
    job = Job("distilled", NetSpec(hidden=(24,)), FAST, DistillConfig(temperature=4.0, loss="hinton"), teacher_run=teacher_id)
    events = list(execute(job, store, data=data))
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    assert len(evaluations) == 6  # batches 4 and 8 and the epoch end, twice
    assert all(0.0 <= e.agreement <= 1.0 and e.teacher_kl >= 0.0 for e in evaluations)
    assert evaluations[-1].agreement > evaluations[0].agreement or evaluations[0].agreement > 0.9

    student = store.get(events[-1].run_id).load_model()  # the final weights: those of the last evaluation
    teacher = store.get(teacher_id).load_model()
    t, s = insight.test_logits(teacher, data.test_x), insight.test_logits(student, data.test_x)
    last = evaluations[-1]
    assert last.agreement == pytest.approx(insight.agreement(t, s))
    assert last.teacher_kl == pytest.approx(insight.mean_kl(t, s), rel=1e-5)
    assert torch.equal(last.first_layer, student.layers[0].weight.detach())
    assert last.first_layer.shape == (24, 784) and last.first_layer.device.type == "cpu"
    assert not torch.equal(evaluations[0].first_layer, last.first_layer)  # a copy per evaluation, not a live view

    # The curves redraw from disk: the metrics keep the fidelity numbers, never the weights.
    history = RunHistory.from_records(store.get(events[-1].run_id).metrics())
    assert history.eval_column("agreement") == pytest.approx([e.agreement for e in evaluations])
    assert history.eval_column("teacher_kl") == pytest.approx([e.teacher_kl for e in evaluations])
    assert all("first_layer" not in e for e in history.evaluations)


def test_label_training_has_no_fidelity_and_a_cnn_no_first_layer(store, data):
    mlp = [e for e in execute(Job("student", NetSpec(hidden=(8,)), FAST), store, data=data) if isinstance(e, Evaluation)]
    assert all(e.agreement is None and e.teacher_kl is None for e in mlp)
    assert mlp[-1].first_layer.shape == (8, 784)
    cnn_job = Job("student", NetSpec(hidden=(8,), arch="cnn", conv=(2,)), TrainConfig(**{**FAST.__dict__, "epochs": 1}))
    cnn = [e for e in execute(cnn_job, store, data=data) if isinstance(e, Evaluation)]
    assert cnn and all(e.first_layer is None for e in cnn)
