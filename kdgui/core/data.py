"""Datasets as in-memory tensors: locating, checking and loading MNIST-style IDX files, the seed's split, transfer sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import torch

from .config import DATASETS, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES, OTHER_TRANSFER_SETS
from .errors import DataError

DATA_DIR_ENV = "KDGUI_DATA_DIR"
VALIDATION_SIZE = 10_000  # the seed: the last 10,000 official training images validate

# torchvision keeps each dataset under <root>/<ClassName>/raw/.
_TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
RAW_FILES = (
    ("train-images-idx3-ubyte", 0x0803, 60_000),
    ("train-labels-idx1-ubyte", 0x0801, 60_000),
    ("t10k-images-idx3-ubyte", 0x0803, 10_000),
    ("t10k-labels-idx1-ubyte", 0x0801, 10_000),
)
DISPLAY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}


def default_data_dir() -> Path:
    """Where datasets live when neither --data-dir nor KDGUI_DATA_DIR says otherwise."""
    return platformdirs.user_data_path("kdgui", appauthor=False) / "datasets"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir beats KDGUI_DATA_DIR beats the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return default_data_dir()


def raw_folder(data_dir: Path, dataset: str) -> Path:
    return Path(data_dir) / _TORCHVISION_CLASS[dataset] / "raw"


def missing_files_message(data_dir: Path, dataset: str, problem: str) -> str:
    names = ", ".join(name for name, _, _ in RAW_FILES)
    return (
        f"{problem}. Put the four {DISPLAY_NAMES[dataset]} files ({names}) in {raw_folder(data_dir, dataset)} "
        f"or allow a download"
    )


def check_idx_file(path: Path, magic: int, count: int) -> None:
    """Raise DataError unless ``path`` is a complete IDX file with this magic number and item count."""
    try:
        with open(path, "rb") as f:
            header = f.read(16 if magic == 0x0803 else 8)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not an IDX file") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    ndim = 3 if magic == 0x0803 else 1
    if len(header) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated ({size} bytes): not an IDX file")
    found_magic = int.from_bytes(header[:4], "big")
    if found_magic != magic:
        raise DataError(f"{path} has magic number {found_magic:#010x}, expected {magic:#010x}: wrong or corrupt file")
    dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if dims[0] != count or (ndim == 3 and dims[1:] != [28, 28]):
        shape = "x".join(map(str, dims))
        raise DataError(f"{path} holds {shape} items, expected {count}" + ("x28x28" if ndim == 3 else ""))
    expected = 4 + 4 * ndim + count * (784 if ndim == 3 else 1)
    if size != expected:
        raise DataError(f"{path} is truncated or padded: {size} bytes, expected {expected}")


def check_dataset_files(data_dir: Path, dataset: str) -> None:
    """Check the four raw files without loading them; the first problem becomes a one-line DataError."""
    folder = raw_folder(data_dir, dataset)
    if Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise DataError(f"data folder {data_dir} is a file, not a folder")
    for name, magic, count in RAW_FILES:
        path = folder / name
        if not path.exists():
            raise DataError(missing_files_message(data_dir, dataset, f"{path} is missing"))
        check_idx_file(path, magic, count)


def download_dataset(data_dir: Path, dataset: str) -> None:
    """Fetch the dataset with torchvision into ``data_dir``; a failure names the folder and the files."""
    from torchvision import datasets

    cls = getattr(datasets, _TORCHVISION_CLASS[dataset])
    try:
        for train in (True, False):
            cls(str(data_dir), train=train, download=True)
    except Exception as exc:  # noqa: BLE001 - network, disk and mirror failures all mean the same to a user
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(missing_files_message(data_dir, dataset, f"download failed ({reason})")) from None


@dataclass(frozen=True)
class Splits:
    """The seed's split as flat float tensors: pixels in [0,1] (or standardised), labels int64."""

    dataset: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: float = 0.0  # subtracted from pixels (0 unless standardised)
    std: float = 1.0

    def to(self, device: torch.device | str) -> Splits:
        moved = {k: getattr(self, k).to(device) for k in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
        return Splits(self.dataset, mean=self.mean, std=self.std, **moved)

    def limit_train(self, n: int | None) -> Splits:
        if n is None or n >= len(self.train_y):
            return self
        return Splits(
            self.dataset, self.train_x[:n], self.train_y[:n], self.val_x, self.val_y, self.test_x, self.test_y,
            self.mean, self.std,
        )


def _read_idx(path: Path) -> torch.Tensor:
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    return read_sn3_pascalvincent_tensor(str(path), strict=False)


def splits_from_arrays(
    dataset: str, train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
    test_labels: torch.Tensor, *, standardize: bool = False, val_size: int = VALIDATION_SIZE,
) -> Splits:
    """Split uint8 images [N,28,28] into train / last-``val_size`` validation / test, flattened to [N,784]."""
    if not 0 < val_size < len(train_labels):
        raise DataError(f"cannot hold out {val_size} validation images from {len(train_labels)} training images")

    def flat(images: torch.Tensor) -> torch.Tensor:
        return images.reshape(len(images), IMAGE_PIXELS).float().div_(255.0)

    x, test_x = flat(train_images), flat(test_images)
    y, test_y = train_labels.long(), test_labels.long()
    for labels in (y, test_y):
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DataError(f"labels must be 0 to {NUM_CLASSES - 1}: the label file is not a {dataset} label file")
    cut = len(y) - val_size
    mean, std = 0.0, 1.0
    if standardize:
        mean, std = float(x[:cut].mean()), float(x[:cut].std())
        x, test_x = (x - mean) / std, (test_x - mean) / std
    return Splits(dataset, x[:cut], y[:cut], x[cut:], y[cut:], test_x, test_y, mean, std)


_CACHE: dict[tuple[str, str, bool], Splits] = {}


def load_splits(
    dataset: str = "mnist", data_dir: str | os.PathLike[str] | None = None, *, download: bool = False,
    standardize: bool = False,
) -> Splits:
    """Load a dataset once into memory as the seed's 50k/10k/10k split (cached per folder)."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    root = resolve_data_dir(data_dir)
    key = (dataset, str(root.resolve()), standardize)
    if key in _CACHE:
        return _CACHE[key]
    try:
        check_dataset_files(root, dataset)
    except DataError:
        if not download:
            raise
        download_dataset(root, dataset)
        check_dataset_files(root, dataset)
    folder = raw_folder(root, dataset)
    tensors = [_read_idx(folder / name) for name, _, _ in RAW_FILES]
    splits = splits_from_arrays(dataset, *tensors, standardize=standardize)
    _CACHE[key] = splits
    return splits


def jitter(images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each flat 28x28 image by a random whole number of pixels in [-max_shift, max_shift], zero-filled."""
    if max_shift == 0:
        return images
    n, k = len(images), max_shift
    padded = torch.nn.functional.pad(images.view(n, 28, 28), (k, k, k, k))
    offsets = torch.randint(0, 2 * k + 1, (2, n), generator=generator, device="cpu").to(images.device)
    grid = torch.arange(28, device=images.device)
    rows = (grid[None, :] + offsets[0][:, None])[:, :, None]
    cols = (grid[None, :] + offsets[1][:, None])[:, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded[batch, rows, cols].reshape(n, IMAGE_PIXELS)


def keep_classes(x: torch.Tensor, y: torch.Tensor, leave_out: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The transfer set without the left-out classes."""
    keep = ~torch.isin(y, torch.tensor(leave_out, dtype=y.dtype, device=y.device))
    return x[keep], y[keep]


# --- the "other" transfer set: another dataset's images, never MNIST's, never labelled ---------------------------

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LETTER_SIZES = (13, 17, 21)  # font sizes in pixels the glyphs are drawn at; the random scale fills in between
LETTER_STROKES = (0, 1, 2)  # extra stroke widths in pixels: thin to bold, as handwriting varies
LETTER_CHUNK = 10_000  # letters are drawn in chunks with a seed each, so a smaller set is the start of a larger one
LETTERS_SEED = 20_150_309  # the distillation paper's arXiv date: a fixed seed, the same letters on every machine
_OTHER_CACHE: dict[tuple[str, str], torch.Tensor] = {}  # uint8 [N, 784]: a quarter of the memory of floats


def _glyph_atlas() -> torch.Tensor:
    """Every letter at every size and stroke width, centred on a 28x28 canvas: [G, 28, 28] floats in [0, 1].

    Drawn with the font Pillow bundles (``ImageFont.load_default``), so no system font is needed.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    glyphs = []
    for size in LETTER_SIZES:
        font = ImageFont.load_default(size=size)
        for stroke in LETTER_STROKES:
            for letter in LETTERS:
                image = Image.new("L", (IMAGE_SIDE, IMAGE_SIDE))
                ImageDraw.Draw(image).text((IMAGE_SIDE / 2, IMAGE_SIDE / 2), letter, font=font, fill=255, anchor="mm",
                                           stroke_width=stroke, stroke_fill=255)
                glyphs.append(np.asarray(image))
    return torch.from_numpy(np.stack(glyphs)).float().div_(255.0)


def _letters_chunk(atlas: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` letters: random glyphs, each scaled, rotated, slanted and moved at random, as one batched resampling."""
    g = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=g)

    glyph = torch.randint(0, len(atlas), (n,), generator=g)
    # Wide ranges: the more varied the letters, the more of the teacher's function they show the student. Measured on
    # MNIST (CNN teacher, 784-50-10 student, Hinton's loss at T=4, 20 epochs): letters placed like digits 65% test
    # accuracy; scale 0.8-1.25, 14 degrees, 4 px: 72%; these ranges: 85%; wider still (x2, 57 degrees, 10 px): 85%.
    scale, angle, slant = uniform(0.6, 1.6), uniform(-0.6, 0.6), uniform(-0.6, 0.6)
    shift = (torch.rand(n, 2, generator=g) - 0.5) * (16 / IMAGE_SIDE)  # up to 8 pixels each way, in [-1, 1] units
    cos, sin = torch.cos(angle), torch.sin(angle)
    # The grid maps output to input coordinates: the inverse of scaling, then rotating and slanting the glyph.
    theta = torch.stack([
        torch.stack([cos / scale, (sin + slant * cos) / scale, shift[:, 0]], 1),
        torch.stack([-sin / scale, cos / scale, shift[:, 1]], 1),
    ], 1)
    grid = torch.nn.functional.affine_grid(theta, [n, 1, IMAGE_SIDE, IMAGE_SIDE], align_corners=False)
    images = torch.nn.functional.grid_sample(atlas[glyph].unsqueeze(1), grid, align_corners=False)
    return images.view(n, IMAGE_PIXELS).clamp_(0, 1).mul_(255).round_().to(torch.uint8)  # 8-bit levels, like an IDX file


def letter_images(n: int) -> torch.Tensor:
    """``n`` procedurally drawn 28x28 Latin letters, white on black, flat [n, 784] in [0, 1]; the same on every call.

    The first ``n`` of any larger set: drawn in chunks of ``LETTER_CHUNK`` with a fixed seed each, cached in memory.
    """
    keys = [("letters", str(k)) for k in range(-(-n // LETTER_CHUNK))]
    missing = [k for k, key in enumerate(keys) if key not in _OTHER_CACHE]
    if missing:
        atlas = _glyph_atlas()
        for k in missing:
            _OTHER_CACHE[keys[k]] = _letters_chunk(atlas, LETTER_CHUNK, LETTERS_SEED + k)
    return torch.cat([_OTHER_CACHE[key] for key in keys])[:n].float().div_(255.0)


def other_images(name: str, n: int, data_dir: str | os.PathLike[str] | None = None) -> torch.Tensor:
    """The first ``n`` images of another dataset as flat [n, 784] floats in [0, 1], labels never read.

    "letters" is drawn (always there); "fashion-mnist" and "kmnist" are the training images of that dataset in the
    data folder (at most 60,000). A missing file is a one-line DataError saying which file to put where.
    """
    if name not in OTHER_TRANSFER_SETS:
        raise DataError(f"unknown other dataset {name!r}: choose one of {', '.join(OTHER_TRANSFER_SETS)}")
    if name == "letters":
        return letter_images(n)
    root = resolve_data_dir(data_dir)
    key = (name, str(root.resolve()))
    if data_dir is None and key not in _OTHER_CACHE:
        # A study loads them from its --data-dir first; the engine, which is given no folder, then finds them here.
        key = next((k for k in reversed(_OTHER_CACHE) if k[0] == name), key)
    if key not in _OTHER_CACHE:
        images, magic, count = RAW_FILES[0]
        path = raw_folder(root, name) / images
        if not path.exists():
            raise DataError(f"{DISPLAY_NAMES[name]}'s images are not here: put {images} in {path.parent} "
                            f"(or choose letters, which need no files)")
        check_idx_file(path, magic, count)
        _OTHER_CACHE[key] = _read_idx(path).reshape(count, IMAGE_PIXELS)
    return _OTHER_CACHE[key][:n].float().div_(255.0)
