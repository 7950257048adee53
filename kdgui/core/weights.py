"""Network weights as safetensors (tensors only, so loading runs no code); old torch.save files read safely."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Mapping

import torch

from .errors import RunError
from .files import atomic_write_bytes, read_file_bytes, shown
from .models import MLP

MAX_WEIGHTS_BYTES = 4 << 30  # 8 hidden layers of 8192 in float32 are about 2 GB
SAFE_TORCH_LOAD = (2, 6)  # torch.load(weights_only=True) had a known bypass up to 2.5.1 (CVE-2025-32434)


def state_to_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """A state_dict as safetensors bytes (tensors moved to the CPU so any machine can load them)."""
    from safetensors.torch import save

    return save({k: v.detach().cpu().contiguous() for k, v in state.items()})


def save_state_dict(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Atomically save a state_dict as a safetensors file (no pickle)."""
    atomic_write_bytes(path, state_to_bytes(state))


def _torch_version() -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", torch.__version__)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def state_from_bytes(data: bytes, source: Path | str, *, legacy: bool = False) -> dict[str, torch.Tensor]:
    """Tensors from safetensors bytes (or, with ``legacy``, a torch.save file read with weights_only=True).

    Anything else (a pickle holding code, a zip that is not torch's, garbage, something that is not a
    state_dict of tensors) is a RunError naming ``source``; nothing in the file is ever executed.
    """
    if legacy:
        if _torch_version() < SAFE_TORCH_LOAD:
            raise RunError(
                f"{shown(source)} is an old-format weights file (pickle); reading it safely needs torch "
                f"{'.'.join(map(str, SAFE_TORCH_LOAD))} or newer, this is torch {torch.__version__}"
            )
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - unpickling and zip errors have many types
            raise RunError(f"{shown(source)} is not a readable weights file ({type(exc).__name__})") from None
    else:
        from safetensors.torch import load

        try:
            state = load(data)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - SafetensorError, and a Rust panic is a BaseException
            raise RunError(f"{shown(source)} is not a readable weights file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise RunError(f"{shown(source)} does not hold a state_dict of tensors")
    return state


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load weights: a ``.safetensors`` file, or a legacy ``.pt`` read with ``weights_only=True``; problems are RunErrors."""
    path = Path(path)
    try:
        data = read_file_bytes(path, MAX_WEIGHTS_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        raise RunError(f"{shown(path)} is missing: the run has no saved weights") from None
    return state_from_bytes(data, path, legacy=path.suffix != ".safetensors")


def load_weights_into(model: MLP, state: dict[str, torch.Tensor], source: Path | str) -> MLP:
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, TypeError, ValueError):
        raise RunError(f"{shown(source)} does not match the network {model.spec.describe()}") from None
    return model
