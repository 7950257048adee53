"""Models: the seed's parameter counts, the teacher's dropout placement, seeded initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC, NetSpec
from kdgui.core.models import MLP, build_model, human_bytes, parameter_count, size_bytes


@pytest.mark.parametrize(("spec", "count"), [(TEACHER_SPEC, 2_395_210), (STUDENT_SPEC, 39_760)], ids=["teacher", "student"])
def test_parameter_counts_from_spec_and_model_agree(spec, count):
    assert parameter_count(spec) == count
    assert parameter_count(build_model(spec, seed=0)) == count
    assert size_bytes(spec) == 4 * count


def test_teacher_has_dropout_0_4_before_its_last_linear():
    layers = list(build_model(TEACHER_SPEC, seed=0).layers)
    kinds = [type(m) for m in layers]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert layers[-2].p == pytest.approx(0.4)
    assert (layers[-1].in_features, layers[-1].out_features) == (1200, 10)


def test_student_has_no_dropout_and_outputs_ten_logits():
    model = build_model(STUDENT_SPEC, seed=0)
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    out = model(torch.zeros(3, 1, 28, 28))  # images are flattened
    assert out.shape == (3, 10)
    assert model.output_layer is model.layers[-1]


def test_activation_and_input_dropout_are_built():
    model = MLP(NetSpec(hidden=(16, 8), dropout=(0.0, 0.3), activation="tanh", input_dropout=0.2))
    kinds = [type(m) for m in model.layers]
    assert kinds == [nn.Dropout, nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]
    assert model.layers[0].p == pytest.approx(0.2)


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = (build_model(STUDENT_SPEC, seed=s).state_dict() for s in (5, 5, 6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["layers.0.weight"], c["layers.0.weight"])


def test_seeded_build_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model(STUDENT_SPEC, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(size_bytes(STUDENT_SPEC)) == "159.0 KB"
    assert human_bytes(size_bytes(TEACHER_SPEC)) == "9.6 MB"
