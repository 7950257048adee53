"""Shared fixtures: app state redirected to tmp folders, real MNIST when available, synthetic data helpers."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def runs_dir(tmp_path_factory, monkeypatch):
    """Every test saves runs under its own temporary folder, never in the user's data folder."""
    path = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("KDGUI_RUNS_DIR", str(path))
    return path


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny test networks run fastest on one CPU thread, and suffer least from other jobs on the machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def mnist_dir() -> Path:
    """The folder holding MNIST/raw/*-ubyte, from KDGUI_DATA_DIR; the test is skipped without it."""
    value = os.environ.get("KDGUI_DATA_DIR")
    if not value:
        pytest.skip("real MNIST not available: set KDGUI_DATA_DIR (e.g. ../shared/datasets)")
    path = Path(value).expanduser()
    if not (path / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"real MNIST not available: KDGUI_DATA_DIR={value} has no MNIST/raw files")
    return path


def write_idx(path: Path, array, magic: int | None = None) -> Path:
    """Write a uint8 array as an IDX file: big-endian magic (0x0803 images [N,28,28], 0x0801 labels [N])."""
    import numpy as np

    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0803 if array.ndim == 3 else 0x0801
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.tobytes())
    return path


@pytest.fixture(name="write_idx")
def write_idx_fixture():
    """The IDX writer, as a fixture for test modules that cannot import conftest."""
    return write_idx


def blob_images(labels, *, seed: int = 0, noise: int = 40):
    """Learnable synthetic digits: a bright 6x6 blob whose place depends on the class, plus pixel noise (uint8)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    n = len(labels)
    images = torch.randint(0, noise + 1, (n, 28, 28), generator=g, dtype=torch.int64)
    for i, c in enumerate(labels.tolist()):
        r, col = 5 + 4 * (c // 5) * 2, 4 + 4 * (c % 5)  # two rows of five places, all >= 4 pixels from the border
        images[i, r : r + 6, col : col + 6] += 200
    return images.clamp_(0, 255).to(torch.uint8)


def make_splits(n_train: int = 400, n_val: int = 100, n_test: int = 200, seed: int = 0):
    """A small learnable Splits (train / last-n_val validation / test) built with splits_from_arrays."""
    import torch

    from kdgui.core.data import splits_from_arrays

    g = torch.Generator().manual_seed(seed)
    train_y = torch.randint(0, 10, (n_train + n_val,), generator=g)
    test_y = torch.randint(0, 10, (n_test,), generator=g)
    return splits_from_arrays(
        "mnist", blob_images(train_y, seed=seed + 1), train_y, blob_images(test_y, seed=seed + 2), test_y,
        val_size=n_val,
    )


@pytest.fixture
def synthetic_splits():
    """Factory for small learnable Splits: ``synthetic_splits(n_train=400, n_val=100, n_test=200, seed=0)``."""
    return make_splits
