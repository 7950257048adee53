"""Insight on synthetic logits and small networks: confusion, what changed, agreement, KL, first-layer tiles."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdgui.core import insight
from kdgui.core.config import NetSpec
from kdgui.core.models import build_model


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return {role: torch.randn(300, 10, generator=g) * 3 for role in ("teacher", "student", "distilled")}


@pytest.fixture
def labels():
    return torch.randint(0, 10, (300,), generator=torch.Generator().manual_seed(1))


def test_confusion_sums_to_n_and_counts_each_pair(logits, labels):
    predicted = insight.predictions(logits["student"])
    matrix = insight.confusion_matrix(predicted, labels)
    assert matrix.shape == (10, 10) and matrix.dtype == torch.long and int(matrix.sum()) == 300
    for t in range(10):
        for p in range(10):
            assert int(matrix[t, p]) == int(((labels == t) & (predicted == p)).sum())
    assert int(matrix.diagonal().sum()) == int((predicted == labels).sum())
    assert torch.equal(matrix.sum(1), torch.bincount(labels, minlength=10))  # rows are the true classes


def test_what_changed_is_the_two_set_differences(logits, labels):
    s, d = insight.predictions(logits["student"]), insight.predictions(logits["distilled"])
    changed = insight.what_changed(labels, s, d)
    student_right = {i for i in range(300) if s[i] == labels[i]}
    distilled_right = {i for i in range(300) if d[i] == labels[i]}
    assert set(changed.fixed) == distilled_right - student_right and changed.fixed == tuple(sorted(changed.fixed))
    assert set(changed.broke) == student_right - distilled_right
    assert changed.net == len(distilled_right) - len(student_right)
    assert insight.what_changed(labels, s, s) == insight.WhatChanged((), ())


def test_agreement_and_kl_equal_direct_computations(logits):
    t, s = logits["teacher"], logits["student"]
    assert insight.agreement(t, s) == pytest.approx(float((t.argmax(1) == s.argmax(1)).float().mean()))
    assert insight.agreement(t, t) == 1.0
    for temperature in (1.0, 4.0):
        direct = F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="sum") / len(t)
        assert insight.mean_kl(t, s, temperature) == pytest.approx(float(direct), rel=1e-5)
    assert insight.mean_kl(t, t) == pytest.approx(0.0, abs=1e-6)


def test_tiles_are_the_first_layer_weights_and_none_for_a_cnn():
    mlp = build_model(NetSpec(hidden=(12, 8), input_dropout=0.2), seed=0)
    tiles = insight.hidden_unit_tiles(mlp)
    first = mlp.layers[1]  # after the input dropout
    assert tiles.shape == (12, 28, 28) and torch.equal(tiles.reshape(12, 784), first.weight.detach())
    tiles.zero_()  # a copy: drawing it can never touch the network
    assert first.weight.abs().sum() > 0
    assert insight.hidden_unit_tiles(build_model(NetSpec(hidden=(16,), arch="cnn", conv=(4,)), seed=0)) is None
    assert insight.hidden_unit_tiles(torch.nn.Sequential(torch.nn.Linear(100, 10))) is None


def test_lineup_insight_holds_each_role_and_the_students_fidelity(labels):
    x = torch.rand(300, 784, generator=torch.Generator().manual_seed(2))
    models = {role: build_model(NetSpec(hidden=(16,)), seed=i) for i, role in enumerate(("teacher", "student", "distilled"))}
    got = insight.lineup_insight(models, x, labels)
    assert got.roles == ("teacher", "student", "distilled")
    with torch.no_grad():
        direct = {role: m.eval()(x) for role, m in models.items()}
    for role in got.roles:
        assert torch.allclose(got.logits[role], direct[role], atol=1e-6)
        assert int(got.confusion[role].sum()) == 300
        assert got.accuracy(role) == pytest.approx(float((direct[role].argmax(1) == labels).float().mean()))
    assert set(got.fidelity) == {"student", "distilled"}
    assert got.fidelity["student"].agreement == pytest.approx(insight.agreement(direct["teacher"], direct["student"]))
    assert got.what_changed == insight.what_changed(labels, direct["student"].argmax(1), direct["distilled"].argmax(1))

    no_distilled = insight.lineup_insight({"teacher": models["teacher"], "student": models["student"]}, x, labels)
    assert no_distilled.what_changed is None and set(no_distilled.fidelity) == {"student"}
    no_teacher = insight.lineup_insight({"student": models["student"], "distilled": models["distilled"]}, x, labels)
    assert no_teacher.fidelity == {} and no_teacher.what_changed is not None
