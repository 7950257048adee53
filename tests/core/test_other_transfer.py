"""The "other" transfer set: another dataset's images, never an MNIST image and never a label; its study runs end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdgui.core import data as data_module
from kdgui.core import training
from kdgui.core.config import DistillConfig, Job, NetSpec, TrainConfig
from kdgui.core.data import LETTER_CHUNK, letter_images, load_splits, other_images
from kdgui.core.errors import ConfigError, DataError
from kdgui.core.lineup import why_not_default
from kdgui.core.studies import StudyConfig, StudyFinished, run_study
from kdgui.core.training import execute, run_to_end

TEACHER = NetSpec(hidden=(64,))
STUDENT = NetSpec(hidden=(16,))


@pytest.fixture
def teacher(store, data) -> str:
    job = Job("teacher", TEACHER, TrainConfig(epochs=3, lr=1e-2, batch_size=40, eval_every=0, device="cpu"))
    return run_to_end(execute(job, store, data=data)).run_id


_WEIGHTS = torch.randint(1, 2**62, (784 // 8,), generator=torch.Generator().manual_seed(0))


def hashes(images: torch.Tensor) -> set[int]:
    """A 64-bit hash of each flat image rounded to 8-bit levels: equal images, equal hashes (a random linear hash of
    the image's bytes read eight at a time)."""
    levels = (images.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
    return set((levels.view(torch.int64) * _WEIGHTS).sum(1).tolist())


def test_letters_are_the_same_on_every_call_and_a_smaller_set_starts_a_larger_one():
    few = letter_images(300)
    assert few.shape == (300, 784) and few.dtype == torch.float32
    assert float(few.min()) == 0.0 and float(few.max()) == 1.0
    assert torch.equal(few, letter_images(LETTER_CHUNK + 5)[:300])
    data_module._OTHER_CACHE.clear()  # drawn afresh: the very same pixels
    assert torch.equal(few, letter_images(300))
    assert len(hashes(few)) == 300  # no two alike
    ink = (few > 0.5).float().mean(1)
    assert float(ink.min()) > 0 and 0.08 < float(ink.mean()) < 0.25  # every image has a letter; about as much ink as a digit


def test_no_letter_is_an_mnist_image(mnist_dir):
    mnist = load_splits("mnist", mnist_dir)
    seen = hashes(torch.cat([mnist.train_x, mnist.val_x, mnist.test_x]))
    assert len(seen) > 69_000
    letters = hashes(letter_images(50_000))
    assert len(letters) == 50_000 and not (letters & seen)


def test_the_other_transfer_set_is_letters_only_and_carries_no_labels(store, data, teacher, monkeypatch):
    asked = []
    original = training.teacher_logits
    monkeypatch.setattr(training, "teacher_logits", lambda model, x: asked.append(x.clone()) or original(model, x))
    job = Job("distilled", STUDENT, TrainConfig(epochs=1, batch_size=40, device="cpu"),
              DistillConfig(transfer="other", other_dataset="letters"), teacher_run=teacher)
    model = store.get(teacher).load_model()
    n, batch = training._batch_source(job, data, model, torch.Generator().manual_seed(0))
    assert n == len(data.train_y) == 400
    (labelled,) = asked  # the teacher answers once, on the whole transfer set, which is the letters
    assert torch.equal(labelled, letter_images(400))
    assert not hashes(labelled) & hashes(torch.cat([data.train_x, data.val_x, data.test_x]))
    x, y, logits = batch(torch.tensor([5, 0, 399]))
    assert y is None and torch.equal(x, letter_images(400)[[5, 0, 399]])
    torch.testing.assert_close(logits, original(model, x))


def test_fashion_mnist_is_read_from_the_data_folder_without_its_labels(tmp_path, write_idx):
    with pytest.raises(DataError) as exc:
        other_images("fashion-mnist", 10, tmp_path)
    message = str(exc.value)
    assert "\n" not in message and "train-images-idx3-ubyte" in message and str(tmp_path / "FashionMNIST" / "raw") in message
    images = np.random.default_rng(0).integers(0, 256, (60_000, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte", images)  # and no label file at all
    got = other_images("fashion-mnist", 3, tmp_path)
    assert torch.equal(got, torch.from_numpy(images[:3]).reshape(3, 784).float() / 255)
    assert torch.equal(other_images("fashion-mnist", 3), got)  # the engine, given no folder, finds what a study loaded


def test_a_distillation_reads_the_other_dataset_from_its_own_data_folder(store, data, teacher, tmp_path, write_idx, monkeypatch):
    """`distill --data-dir D --transfer other --other-dataset fashion-mnist` reads D, not the default folder."""
    monkeypatch.setattr(data_module, "_OTHER_CACHE", {})
    monkeypatch.setenv("KDGUI_DATA_DIR", str(tmp_path / "elsewhere"))
    images = np.random.default_rng(1).integers(0, 256, (60_000, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte", images)
    job = Job("distilled", STUDENT, TrainConfig(epochs=1, batch_size=40, device="cpu"),
              DistillConfig(transfer="other", other_dataset="fashion-mnist"), teacher_run=teacher)
    model = store.get(teacher).load_model()
    n, batch = training._batch_source(job, data, model, torch.Generator().manual_seed(0), str(tmp_path))
    x, y, _ = batch(torch.tensor([0, 7]))
    assert n == 400 and y is None
    assert torch.equal(x, torch.from_numpy(images[[0, 7]]).reshape(2, 784).float() / 255)


@pytest.mark.parametrize("settings, needle", [
    ({"transfer": "other", "alpha": 0.5}, "alpha must be 1"),
    ({"transfer": "other", "other_dataset": "cifar"}, "other dataset must be one of letters, fashion-mnist, kmnist"),
])
def test_bad_other_settings_are_one_line_config_errors(settings, needle):
    with pytest.raises(ConfigError) as exc:
        DistillConfig(**settings)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_the_other_set_must_not_be_the_students_own_dataset():
    with pytest.raises(ConfigError, match="must not be fashion-mnist itself"):
        Job("distilled", STUDENT, TrainConfig(), DistillConfig(transfer="other", other_dataset="fashion-mnist"),
            dataset="fashion-mnist", teacher_run="t")


def test_the_study_distils_through_letters_and_is_never_the_default_distilled(store, data, teacher):
    config = StudyConfig("other-dataset", teacher, epochs=2, lr=1e-2, batch_size=40, eval_every=0, device="cpu",
                         student=STUDENT, train_limit=200)
    assert config.job().distill == DistillConfig(transfer="other", other_dataset="letters")
    events = list(run_study(config, store, data=data))
    finished = events[-1]
    assert isinstance(finished, StudyFinished)
    r = finished.result
    assert r["other_dataset"] == "letters" and r["transfer_size"] == 200 and r["iterations"] == 10
    assert 0 <= r["test_acc"] <= 1 and r["test_errors"] == round((1 - r["test_acc"]) * len(data.test_y))
    assert finished.summary.startswith("Never shown a digit, only the teacher's answers on drawn Latin letters")
    assert f"{r['test_acc']:.2%}" in finished.summary and "200 images of drawn Latin letters" in finished.summary
    run = store.get(finished.run_id)
    assert run.job.distill.transfer == "other" and run.job.train.train_limit == 200
    assert why_not_default(run, "distilled") == "it was made by a study"


def test_a_distillation_through_letters_is_never_the_default_distilled(store, data, teacher):
    job = Job("distilled", STUDENT, TrainConfig(epochs=1, batch_size=40, eval_every=0, device="cpu", train_limit=80),
              DistillConfig(transfer="other"), teacher_run=teacher)
    run = store.get(run_to_end(execute(job, store, data=data)).run_id)
    assert run.status == "finished" and why_not_default(run, "distilled") == (
        "it was distilled on another dataset's images as transfer set")


def test_the_study_says_which_file_is_missing_before_it_saves_anything(store, data, teacher, tmp_path):
    config = StudyConfig("other-dataset", teacher, other_dataset="kmnist", epochs=1, device="cpu", student=STUDENT)
    with pytest.raises(DataError, match=r"KMNIST's images are not here: put train-images-idx3-ubyte in .*KMNIST/raw"):
        list(run_study(config, store, data=data, data_dir=str(tmp_path)))
    assert [r.id for r in store.list()] == [teacher]
