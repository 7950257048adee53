"""Export a trained network to ONNX or TorchScript, atomically, and check the file gives the same outputs."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from .config import EXPORT_SUFFIXES, IMAGE_PIXELS
from .errors import KdguiError
from .files import atomic_write_bytes, check_write_target

FORMATS = EXPORT_SUFFIXES
INPUT_NAME, OUTPUT_NAME = "pixels", "logits"


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format: given, or guessed from the file name (.onnx, else TorchScript for .pt/.ts/.torchscript)."""
    if fmt:
        if fmt not in FORMATS:
            raise KdguiError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".pt", ".ts", ".torchscript", ".pth"):
        return "torchscript"
    raise KdguiError(f"cannot tell the format from {Path(path).name!r}: name it .onnx or .pt, or choose the format")


def _example(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, IMAGE_PIXELS, generator=torch.Generator().manual_seed(0))


def _write_onnx(model: nn.Module, target: Path) -> None:
    try:
        import onnxscript  # noqa: F401 - torch's exporter needs it; say so plainly if it is missing
    except ImportError:
        raise KdguiError("ONNX export needs the onnx and onnxscript packages: pip install 'kdgui[export]'") from None
    batch = torch.export.Dim("batch", min=1, max=1_000_000)
    # The exporter reports its progress on stdout and warns about internals a user cannot act on.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, (_example(),), dynamo=True, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},), verbose=False,
        )
        program.save(str(target))


def _write_torchscript(model: nn.Module, target: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream but still widely loaded
        scripted = torch.jit.trace(model, _example())
        scripted.save(str(target))


def export_model(model: nn.Module, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write ``model`` (on the CPU, eval mode) to ``path``; the file appears whole or not at all.

    The exporters want a file name, so they write into a private scratch folder; the bytes then go through the one
    atomic writer (``kdgui.core.files.atomic_write_bytes``), which replaces only a regular file and says in one line
    why it cannot write.
    """
    fmt = format_for(path, fmt)
    target = Path(path).expanduser()
    if target.is_dir():
        raise KdguiError(f"{target} is a folder: give a file name ending in {FORMATS[fmt]}")
    if not target.parent.is_dir():
        raise KdguiError(f"the folder {target.parent} does not exist")
    check_write_target(target)  # before the export's seconds, not after them
    model = model.to("cpu").eval()
    try:
        with tempfile.TemporaryDirectory(prefix="kdgui-export-") as scratch:
            written = Path(scratch) / f"model{FORMATS[fmt]}"
            (_write_onnx if fmt == "onnx" else _write_torchscript)(model, written)
            data = written.read_bytes()
    except OSError as exc:  # the scratch folder full or unwritable: the target is untouched
        raise KdguiError(f"cannot write {target}: {exc.strerror or exc}") from None
    atomic_write_bytes(target, data)
    return target


def run_exported(path: str | os.PathLike[str], x: torch.Tensor, fmt: str | None = None) -> torch.Tensor:
    """Logits from an exported file: onnxruntime for ONNX, torch.jit for TorchScript."""
    fmt = format_for(path, fmt)
    if fmt == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise KdguiError("running an ONNX file needs onnxruntime: pip install onnxruntime") from None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return loaded(x)


def digit_like_batch(n: int, seed: int = 0) -> torch.Tensor:
    """Random images with MNIST's sparsity (about a fifth of the pixels inked), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, IMAGE_PIXELS, generator=g) * (torch.rand(n, IMAGE_PIXELS, generator=g) < 0.2)


def max_abs_difference(
    model: nn.Module, path: str | os.PathLike[str], fmt: str | None = None, batch: int = 64, images: torch.Tensor | None = None,
) -> float:
    """Largest |PyTorch - exported| logit over ``images`` (default: digit-like random images), at batch 1 and ``batch``."""
    model = model.to("cpu").eval()
    images = digit_like_batch(batch) if images is None else images[:batch].float().cpu()
    worst = 0.0
    for n in (1, len(images)):
        x = images[:n]
        with torch.inference_mode():
            expected = model(x)
        worst = max(worst, float((run_exported(path, x, fmt) - expected).abs().max()))
    return worst
