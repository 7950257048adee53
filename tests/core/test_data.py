"""Data: IDX file checks give one-line DataErrors naming the file, the data folder is read-only, the split, transfer sets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from kdgui.core import data
from kdgui.core.data import (
    DATA_DIR_ENV,
    check_dataset_files,
    check_idx_file,
    default_data_dir,
    jitter,
    keep_classes,
    load_splits,
    resolve_data_dir,
    splits_from_arrays,
)
from kdgui.core.errors import DataError

IMAGES, LABELS = 0x0803, 0x0801


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and modification time (ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.stat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_size, st.st_mtime_ns)
    return out


def _assert_one_line_naming(exc: pytest.ExceptionInfo, path: Path) -> str:
    message = str(exc.value)
    assert str(path) in message
    assert "\n" not in message
    return message


# --- check_idx_file on tiny files --------------------------------------------------------------------------


def test_valid_tiny_idx_files_pass(tmp_path, write_idx):
    images = write_idx(tmp_path / "img", np.zeros((5, 28, 28)))
    labels = write_idx(tmp_path / "lab", np.arange(5))
    check_idx_file(images, IMAGES, 5)
    check_idx_file(labels, LABELS, 5)


def test_missing_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    with pytest.raises(DataError) as exc:
        check_idx_file(path, IMAGES, 5)
    assert "missing" in _assert_one_line_naming(exc, path)


def test_truncated_body(tmp_path, write_idx):
    path = write_idx(tmp_path / "img", np.zeros((5, 28, 28)))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError) as exc:
        check_idx_file(path, IMAGES, 5)
    assert "truncated" in _assert_one_line_naming(exc, path)


def test_padded_body(tmp_path, write_idx):
    path = write_idx(tmp_path / "lab", np.arange(5))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(DataError) as exc:
        check_idx_file(path, LABELS, 5)
    _assert_one_line_naming(exc, path)


@pytest.mark.parametrize("size", [0, 3, 15])
def test_truncated_header(tmp_path, write_idx, size):
    path = write_idx(tmp_path / "img", np.zeros((5, 28, 28)))
    path.write_bytes(path.read_bytes()[:size])
    with pytest.raises(DataError) as exc:
        check_idx_file(path, IMAGES, 5)
    assert "truncated" in _assert_one_line_naming(exc, path)


def test_wrong_magic(tmp_path, write_idx):
    # A label file where an image file belongs, and a file of text.
    path = write_idx(tmp_path / "img", np.zeros((5, 28, 28)), magic=0x0801)
    with pytest.raises(DataError) as exc:
        check_idx_file(path, IMAGES, 5)
    assert "magic" in _assert_one_line_naming(exc, path)
    text = tmp_path / "readme"
    text.write_bytes(b"this is not an idx file at all, no")
    with pytest.raises(DataError) as exc:
        check_idx_file(text, LABELS, 5)
    assert "magic" in _assert_one_line_naming(exc, text)


def test_wrong_item_count_and_wrong_image_size(tmp_path, write_idx):
    path = write_idx(tmp_path / "img", np.zeros((4, 28, 28)))
    with pytest.raises(DataError) as exc:
        check_idx_file(path, IMAGES, 60_000)
    assert "expected 60000" in _assert_one_line_naming(exc, path)
    small = write_idx(tmp_path / "small", np.zeros((5, 14, 14)))
    with pytest.raises(DataError) as exc:
        check_idx_file(small, IMAGES, 5)
    assert "5x14x14" in _assert_one_line_naming(exc, small)
    labels = write_idx(tmp_path / "lab", np.arange(7))
    with pytest.raises(DataError) as exc:
        check_idx_file(labels, LABELS, 10_000)
    _assert_one_line_naming(exc, labels)


def test_folder_where_a_file_belongs(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.mkdir()
    with pytest.raises(DataError) as exc:
        check_idx_file(path, LABELS, 5)
    assert "folder" in _assert_one_line_naming(exc, path)


# --- whole data folders ------------------------------------------------------------------------------------


def test_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "datasets"
    path.write_text("oops")
    with pytest.raises(DataError) as exc:
        check_dataset_files(path, "mnist")
    assert "is a file" in _assert_one_line_naming(exc, path)
    with pytest.raises(DataError):
        load_splits("mnist", path)


def test_missing_data_dir_names_the_file_and_the_folder(tmp_path):
    root = tmp_path / "nowhere"
    with pytest.raises(DataError) as exc:
        load_splits("mnist", root)
    message = _assert_one_line_naming(exc, root / "MNIST" / "raw" / "train-images-idx3-ubyte")
    assert "t10k-labels-idx1-ubyte" in message  # says which four files it wants
    assert not root.exists()  # nothing was created


def test_bad_files_in_a_data_dir_are_found_before_loading(tmp_path, write_idx):
    raw = tmp_path / "MNIST" / "raw"
    # The first file is fine only in its header: a real train set would be 47 MB, here it is 3 images.
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((3, 28, 28)))
    before = _listing(tmp_path)
    with pytest.raises(DataError) as exc:
        load_splits("mnist", tmp_path)
    _assert_one_line_naming(exc, raw / "train-images-idx3-ubyte")
    assert _listing(tmp_path) == before


def test_fashion_and_kmnist_use_torchvision_folders(tmp_path):
    with pytest.raises(DataError) as exc:
        check_dataset_files(tmp_path, "fashion-mnist")
    assert str(tmp_path / "FashionMNIST" / "raw") in str(exc.value)
    assert "Fashion-MNIST" in str(exc.value)
    with pytest.raises(DataError, match="KMNIST"):
        check_dataset_files(tmp_path, "kmnist")
    with pytest.raises(DataError, match="unknown dataset"):
        load_splits("cifar10", tmp_path)


def test_resolve_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_dir() == default_data_dir()
    assert default_data_dir().name == "datasets"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"
    monkeypatch.setenv(DATA_DIR_ENV, "")
    assert resolve_data_dir() == default_data_dir()


# --- the split ---------------------------------------------------------------------------------------------


def test_split_from_arrays_holds_out_the_last_images_for_validation():
    n, val = 120, 20
    labels = torch.arange(n) % 10
    images = torch.arange(n, dtype=torch.uint8)[:, None, None].expand(n, 28, 28).contiguous()  # image i is all i
    test_images = torch.full((30, 28, 28), 255, dtype=torch.uint8)
    s = splits_from_arrays("mnist", images, labels, test_images, torch.zeros(30, dtype=torch.long), val_size=val)
    assert (s.train_x.shape, s.val_x.shape, s.test_x.shape) == ((100, 784), (20, 784), (30, 784))
    assert s.train_x.dtype == torch.float32 and s.train_y.dtype == torch.int64
    assert torch.equal(s.val_x[:, 0] * 255, torch.arange(100, 120, dtype=torch.float32))  # the LAST 20
    assert torch.equal(s.val_y, labels[100:])
    assert torch.equal(s.train_y, labels[:100])
    assert float(s.train_x.min()) == 0.0 and float(s.test_x.max()) == 1.0
    assert (s.mean, s.std) == (0.0, 1.0)


def test_split_standardises_with_training_statistics():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (500,), generator=g)
    x = torch.randint(0, 256, (500, 28, 28), generator=g, dtype=torch.uint8)
    s = splits_from_arrays("mnist", x, y, x[:50], y[:50], standardize=True, val_size=100)
    assert abs(float(s.train_x.mean())) < 1e-4
    assert float(s.train_x.std()) == pytest.approx(1.0, abs=1e-4)
    raw = x[:400].float().div(255)  # statistics of the training part only
    assert s.mean == pytest.approx(float(raw.mean()), rel=1e-5)
    assert s.std == pytest.approx(float(raw.std()), rel=1e-5)
    assert torch.allclose(s.test_x, (x[:50].reshape(50, 784).float() / 255 - s.mean) / s.std, atol=1e-5)


def test_split_rejects_bad_sizes_and_labels():
    x, y = torch.zeros(10, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.long)
    with pytest.raises(DataError, match="cannot hold out 10"):
        splits_from_arrays("mnist", x, y, x, y, val_size=10)
    with pytest.raises(DataError, match="labels must be 0 to 9"):
        splits_from_arrays("mnist", x, y + 10, x, y, val_size=2)


def test_limit_train_keeps_validation_and_test(synthetic_splits):
    s = synthetic_splits()
    small = s.limit_train(50)
    assert len(small.train_y) == 50 and torch.equal(small.train_x, s.train_x[:50])
    assert small.val_x is s.val_x and small.test_x is s.test_x
    assert s.limit_train(None) is s and s.limit_train(10_000) is s


def test_load_splits_on_full_size_synthetic_files(tmp_path, write_idx, monkeypatch):
    """Without real MNIST: four correctly sized IDX files load into the 50k/10k/10k split, read-only."""
    monkeypatch.setattr(data, "_CACHE", {})
    raw = tmp_path / "MNIST" / "raw"
    train_labels = np.arange(60_000) % 10
    train_images = np.zeros((60_000, 28, 28), np.uint8)
    train_images[:, 0, 0] = np.arange(60_000) % 251  # a fingerprint to find each image again
    train_images[:, 27, 27] = 255
    write_idx(raw / "train-images-idx3-ubyte", train_images)
    write_idx(raw / "train-labels-idx1-ubyte", train_labels)
    write_idx(raw / "t10k-images-idx3-ubyte", train_images[:10_000])
    write_idx(raw / "t10k-labels-idx1-ubyte", train_labels[:10_000])
    for path in raw.iterdir():
        path.chmod(0o444)
    raw.chmod(0o555)
    before = _listing(tmp_path)
    try:
        s = load_splits("mnist", tmp_path)
        assert load_splits("mnist", tmp_path) is s  # cached
    finally:
        raw.chmod(0o755)
    assert _listing(tmp_path) == before
    assert (len(s.train_y), len(s.val_y), len(s.test_y)) == (50_000, 10_000, 10_000)
    assert torch.equal(s.val_y, torch.from_numpy(train_labels[50_000:]).long())
    expected_val = torch.from_numpy((np.arange(50_000, 60_000) % 251).astype(np.float32)) / 255
    assert torch.allclose(s.val_x[:, 0], expected_val)
    assert float(s.train_x.min()) == 0.0 and float(s.train_x.max()) == 1.0


def test_real_mnist_split(mnist_dir):
    before = _listing(mnist_dir)
    s = load_splits("mnist", mnist_dir)
    assert (tuple(s.train_x.shape), tuple(s.val_x.shape), tuple(s.test_x.shape)) == ((50_000, 784), (10_000, 784), (10_000, 784))
    assert float(s.train_x.min()) == 0.0 and float(s.train_x.max()) == 1.0
    assert float(s.test_x.min()) >= 0.0 and float(s.test_x.max()) <= 1.0
    # Validation is the last 10,000 official training images: compare with the raw file.
    with open(mnist_dir / "MNIST" / "raw" / "train-images-idx3-ubyte", "rb") as f:
        f.seek(16 + 50_000 * 784)
        first_val = torch.frombuffer(bytearray(f.read(784)), dtype=torch.uint8).float() / 255
    with open(mnist_dir / "MNIST" / "raw" / "train-labels-idx1-ubyte", "rb") as f:
        f.seek(8 + 50_000)
        val_labels = torch.frombuffer(bytearray(f.read(10_000)), dtype=torch.uint8).long()
    assert torch.equal(s.val_x[0], first_val)
    assert torch.equal(s.val_y, val_labels)
    assert set(s.train_y.unique().tolist()) == set(range(10))
    assert _listing(mnist_dir) == before


# --- transfer sets -----------------------------------------------------------------------------------------


def _centred_ink(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 28, 28)
    images[:, 8:20, 8:20] = torch.rand(n, 12, 12, generator=g)  # ink >= 8 pixels from every border
    return images.reshape(n, 784)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_jitter_shifts_by_at_most_k_pixels_and_keeps_the_ink(k):
    x = _centred_ink(200)
    out = jitter(x, k, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    assert torch.allclose(out.sum(1), x.sum(1))
    shifts = set()
    for before, after in zip(x.view(-1, 28, 28), out.view(-1, 28, 28)):
        found = [(dr, dc) for dr in range(-k, k + 1) for dc in range(-k, k + 1)
                 if torch.equal(torch.roll(before, (dr, dc), (0, 1)), after)]
        assert len(found) == 1, "each image is the original shifted by at most k pixels"
        shifts.add(found[0])
    assert len(shifts) == (2 * k + 1) ** 2  # every allowed shift occurs in 200 images
    assert (0, 0) in shifts


def test_jitter_zero_fills_and_is_reproducible():
    x = torch.ones(50, 784)
    a = jitter(x, 2, torch.Generator().manual_seed(3))
    b = jitter(x, 2, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert float(a.min()) == 0.0  # pixels shifted in from outside are black
    assert bool((a.view(-1, 28, 28)[:, 2:26, 2:26] == 1).all())
    assert jitter(x, 0) is x


def test_keep_classes_drops_the_left_out_classes():
    y = torch.arange(100) % 10
    x = y[:, None].float().expand(100, 784)
    kx, ky = keep_classes(x, y, (3, 7))
    assert len(ky) == 80
    assert not bool(torch.isin(ky, torch.tensor([3, 7])).any())
    assert set(ky.tolist()) == set(range(10)) - {3, 7}
    assert torch.equal(kx[:, 0].long(), ky)  # images stay with their labels
