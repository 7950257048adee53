"""Augmentation: batched tensor ops, reproducible from a seed, the identity at zero strength, and a teacher that
answers on exactly the images its student sees."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kdgui.core import augment as A
from kdgui.core import together, training
from kdgui.core.config import AugmentConfig, DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError
from kdgui.core.runs import Run
from kdgui.core.stacked import StackedStudents
from kdgui.core.training import execute, run_to_end

STRONG = AugmentConfig("affine+elastic", shift=3.0, rotate=20.0, scale=0.2, shear=15.0, elastic_alpha=34.0, elastic_sigma=4.0)
ZERO = dict(shift=0.0, rotate=0.0, scale=0.0, shear=0.0)


def digits(n: int = 6, seed: int = 0) -> torch.Tensor:
    """Flat images with a bright bar somewhere in the middle (ink away from the border)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28)
    for i in range(n):
        r, c = (int(v) for v in torch.randint(8, 16, (2,), generator=g))
        x[i, r : r + 6, c : c + 3] = 1.0
    return x.view(n, 784)


def test_a_batch_is_distorted_in_one_grid_sample_with_no_loop_over_images(monkeypatch):
    calls = []
    original = F.grid_sample

    def counting(images, grid, **kwargs):
        calls.append((tuple(images.shape), tuple(grid.shape)))
        return original(images, grid, **kwargs)

    monkeypatch.setattr(A.F, "grid_sample", counting)
    x = digits(64)
    out = A.augment(x, STRONG, torch.Generator().manual_seed(0))
    assert calls == [((64, 1, 28, 28), (64, 28, 28, 2))]
    assert out.shape == (64, 784) and out.dtype == x.dtype
    assert not torch.equal(out[0], x[0]) and not torch.equal(out[0] - x[0], out[1] - x[1])  # each image its own draw
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0 + 1e-6


def test_the_same_seed_gives_the_same_images_and_another_seed_others():
    x = digits(16)
    a = A.augment(x, STRONG, torch.Generator().manual_seed(7))
    b = A.augment(x, STRONG, torch.Generator().manual_seed(7))
    c = A.augment(x, STRONG, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("config", [
    AugmentConfig(), AugmentConfig("affine", **ZERO), AugmentConfig("affine+elastic", **ZERO, elastic_alpha=0.0),
], ids=["none", "affine at 0", "elastic at 0"])
def test_zero_strength_is_the_identity_and_draws_nothing(config):
    x = digits(5)
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    assert not config.active
    assert A.augment(x, config, g) is x
    assert torch.equal(g.get_state(), state)


def test_the_grid_at_zero_strength_samples_every_pixel_where_it_is():
    grid = A.sampling_grid(4, AugmentConfig("affine+elastic", **ZERO, elastic_alpha=0.0), torch.Generator().manual_seed(0))
    x = digits(4).view(4, 1, 28, 28)
    assert torch.allclose(F.grid_sample(x, grid, align_corners=False), x, atol=1e-5)
    identity = F.affine_grid(torch.eye(2, 3).expand(4, 2, 3), [4, 1, 28, 28], align_corners=False)
    assert torch.allclose(grid, identity, atol=1e-6)


def test_the_matrices_stay_within_the_configured_strengths():
    config = AugmentConfig("affine", shift=2.0, rotate=30.0, scale=0.2, shear=0.0)
    theta = A.affine_matrices(2000, config, torch.Generator().manual_seed(0)).double()
    linear, translation = theta[:, :, :2], theta[:, :, 2]
    zoom = 1 / linear.det().sqrt()  # no shear: the inverse map's determinant is 1 / zoom^2
    assert float(zoom.min()) >= 0.8 - 1e-6 and float(zoom.max()) <= 1.2 + 1e-6
    angle = torch.atan2(-linear[:, 1, 0], linear[:, 1, 1]).abs()  # rotation is the only source of the off-diagonal
    assert float(angle.max()) <= math.radians(30) + 1e-6 and float(angle.max()) > math.radians(25)
    shift = torch.linalg.solve(linear, -translation.unsqueeze(2)).squeeze(2) / (2 / 28)  # back to pixels
    assert float(shift.abs().max()) <= 2.0 + 1e-6 and float(shift.abs().max()) > 1.8


def test_a_shift_moves_the_ink_and_keeps_it():
    x = digits(200)
    out = A.augment(x, AugmentConfig("affine", shift=3.0, rotate=0.0, scale=0.0, shear=0.0), torch.Generator().manual_seed(1))
    assert torch.allclose(out.sum(1), x.sum(1), rtol=0.02)  # bilinear shifts keep the ink inside the frame
    cols = torch.arange(28.0).repeat(28)
    moved = (out * cols).sum(1) / out.sum(1) - (x * cols).sum(1) / x.sum(1)
    assert float(moved.abs().max()) <= 3.0 + 1e-4 and float(moved.std()) > 1.0


def test_the_elastic_field_is_smooth_and_scales_with_alpha():
    g = A.gaussian_matrix(4.0)
    assert torch.allclose(g[14].sum(), torch.tensor(1.0), atol=1e-5)  # a full Gaussian inside the frame
    a = A.elastic_field(8, 10.0, 4.0, torch.Generator().manual_seed(0))
    b = A.elastic_field(8, 20.0, 4.0, torch.Generator().manual_seed(0))
    assert a.shape == (8, 28, 28, 2) and torch.allclose(b, 2 * a)
    step = (a[:, 1:] - a[:, :-1]).abs().mean()  # neighbours move together
    assert float(step) < 0.2 * float(a.abs().mean())


def test_standardised_images_get_background_where_the_frame_is_uncovered():
    mean, std = 0.13, 0.31
    x = (digits(8) - mean) / std
    out = A.augment(x, AugmentConfig("affine", shift=6.0, rotate=0.0, scale=0.0, shear=0.0), torch.Generator().manual_seed(2),
                    mean=mean, std=std)
    background = -mean / std
    assert float(out.min()) >= background - 1e-4
    assert int((out - background).abs().lt(1e-4).sum()) > 0.7 * out.numel()


@pytest.mark.parametrize(("build", "needle"), [
    (lambda: AugmentConfig("mixup"), "augmentation must be one of"),
    (lambda: AugmentConfig("affine", shift=9.0), "augmentation shift"),
    (lambda: AugmentConfig("affine", rotate=-1.0), "augmentation rotation"),
    (lambda: AugmentConfig("affine", scale=0.6), "augmentation scale"),
    (lambda: AugmentConfig("affine", shear=float("nan")), "augmentation shear"),
    (lambda: AugmentConfig("affine+elastic", elastic_sigma=0.0), "elastic sigma"),
    (lambda: TrainConfig(augment="affine"), "augment must be"),
    (lambda: Job("distilled", NetSpec(hidden=(8,)), TrainConfig(augment=AugmentConfig("affine")),
                 DistillConfig(transfer="noise"), teacher_run="t"), "random noise"),
    (lambda: Job("distilled", NetSpec(hidden=(8,)), TrainConfig(augment=AugmentConfig("affine")),
                 DistillConfig(transfer="jitter"), teacher_run="t"), "jitter"),
])
def test_bad_augmentation_settings_are_config_errors(build, needle):
    with pytest.raises(ConfigError, match=needle):
        build()


# --- the teacher answers on the student's images ---------------------------------------------------------------


class Spy(torch.nn.Module):
    """Wraps a model and records every batch it is given while gradients are on (training, not evaluation)."""

    def __init__(self, model: torch.nn.Module, seen: list[torch.Tensor], always: bool = False) -> None:
        super().__init__()
        self.model, self.seen, self.always = model, seen, always
        self.spec = getattr(model, "spec", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.always or torch.is_grad_enabled():
            self.seen.append(x.detach().clone())
        return self.model(x)


@pytest.fixture
def teacher(store, data) -> str:
    job = Job("teacher", NetSpec(hidden=(32,)), TrainConfig(epochs=1, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
    return run_to_end(execute(job, store, data=data)).run_id


@pytest.fixture
def spied_teacher(monkeypatch):
    """Every batch the teacher labels: Run.load_model of a teacher returns a recording wrapper."""
    seen: list[torch.Tensor] = []
    original = Run.load_model

    def load(run, device="cpu"):
        model = original(run, device)
        return Spy(model, seen, always=True).eval() if run.job.kind == "teacher" else model

    monkeypatch.setattr(Run, "load_model", load)
    return seen


def test_execute_the_teacher_sees_each_augmented_batch_the_student_sees(store, data, teacher, spied_teacher, monkeypatch):
    student_seen: list[torch.Tensor] = []
    original = training.build_model
    monkeypatch.setattr(training, "build_model", lambda spec, seed=None: Spy(original(spec, seed), student_seen))
    train = TrainConfig(epochs=2, lr=1e-2, batch_size=40, eval_every=0, device="cpu", augment=STRONG)
    job = Job("distilled", NetSpec(hidden=(8,)), train, DistillConfig(), teacher_run=teacher)
    run_to_end(execute(job, store, data=data))
    # One pass over the test set first (the teacher's answers that fidelity is measured against), then one call per
    # training batch: 400 images in batches of 40, two epochs.
    test_pass, batches = spied_teacher[0], spied_teacher[1:]
    assert torch.equal(test_pass, data.test_x)
    assert len(student_seen) == len(batches) == 2 * 10
    assert all(torch.equal(s, t) for s, t in zip(student_seen, batches))
    assert not any(torch.equal(s, data.train_x[: len(s)]) for s in student_seen)  # distorted, not the originals
    assert not training._LOGIT_CACHE  # no cached logits for an augmented transfer set


def test_together_the_teacher_answers_once_per_batch_on_the_students_images(store, data, teacher, spied_teacher, monkeypatch):
    student_seen: list[torch.Tensor] = []

    class Recording(StackedStudents):
        def __call__(self, x):
            if torch.is_grad_enabled():
                student_seen.append(x.detach().clone())
            return super().__call__(x)

    monkeypatch.setattr(together, "StackedStudents", Recording)
    train = TrainConfig(epochs=1, lr=1e-2, batch_size=40, eval_every=0, device="cpu", augment=STRONG)
    jobs = [Job("distilled", NetSpec(hidden=(8,)), TrainConfig(**{**train.__dict__, "seed": s}), DistillConfig(),
                teacher_run=teacher) for s in (0, 1, 2)] + [Job("student", NetSpec(hidden=(8,)), train)]
    list(together.train_together(jobs, store, data=data))
    assert len(student_seen) == len(spied_teacher) == 10  # one teacher pass per batch for all four students
    assert all(torch.equal(s, t) for s, t in zip(student_seen, spied_teacher))
