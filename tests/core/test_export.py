"""Exporting a network: ONNX and TorchScript files give PyTorch's logits, are written atomically, bad paths are refused."""

import pytest
import torch

from kdgui.core.config import NetSpec
from kdgui.core.errors import KdguiError
from kdgui.core.export import digit_like_batch, export_model, format_for, max_abs_difference, run_exported
from kdgui.core.models import build_model

STUDENT = NetSpec(hidden=(50,))


@pytest.fixture(scope="module")
def model():
    return build_model(STUDENT, seed=3).eval()


def test_onnx_export_matches_pytorch(model, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    path = export_model(model, tmp_path / "student.onnx")
    assert path.is_file() and path.stat().st_size > 39_760 * 4  # the float32 weights are in the file
    assert max_abs_difference(model, path) < 1e-4
    x = digit_like_batch(5, seed=9)
    assert run_exported(path, x).shape == (5, 10)  # the batch dimension is dynamic


def test_torchscript_export_matches_pytorch(model, tmp_path):
    path = export_model(model, tmp_path / "student.pt")
    assert max_abs_difference(model, path) < 1e-6
    with torch.inference_mode():
        assert torch.equal(run_exported(path, digit_like_batch(3)), model(digit_like_batch(3)))


def test_an_exported_teacher_is_in_eval_mode(tmp_path):
    teacher = build_model(NetSpec(hidden=(32,), dropout=(0.5,)), seed=0).train()  # dropout on while training
    path = export_model(teacher, tmp_path / "teacher.pt")
    x = digit_like_batch(4)
    assert torch.equal(run_exported(path, x), run_exported(path, x))  # no dropout in the exported graph


def test_format_comes_from_the_name_or_is_given():
    assert format_for("a.onnx") == "onnx" and format_for("a.pt") == "torchscript"
    assert format_for("a.bin", "onnx") == "onnx"
    with pytest.raises(KdguiError, match="cannot tell the format"):
        format_for("model.txt")
    with pytest.raises(KdguiError, match="export format"):
        format_for("a.onnx", "tflite")


def test_bad_targets_are_refused_and_nothing_is_left_behind(model, tmp_path):
    with pytest.raises(KdguiError, match="does not exist"):
        export_model(model, tmp_path / "missing" / "a.pt")
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(KdguiError, match="is a folder"):
        export_model(model, tmp_path / "folder.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.pt"]


def test_a_failed_export_keeps_the_previous_file(model, tmp_path, monkeypatch):
    target = tmp_path / "student.pt"
    target.write_bytes(b"previous export")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.jit.ScriptModule, "save", broken, raising=False)
    monkeypatch.setattr(torch.jit, "trace", lambda m, x: type("T", (), {"save": broken})())
    with pytest.raises(KdguiError, match="No space left"):
        export_model(model, target)
    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.pt"]


def test_export_never_replaces_a_symlink_and_leaves_its_target_alone(model, tmp_path):
    """Exports go through the one atomic writer: only a regular file is ever replaced."""
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "student.pt"
    link.symlink_to(precious)
    with pytest.raises(KdguiError, match="symbolic link"):
        export_model(model, link)
    assert link.is_symlink() and precious.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt", "student.pt"]
