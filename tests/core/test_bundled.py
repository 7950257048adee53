"""Bundled float16 models: the shipped files reach their stated accuracy, the writer re-measures, corruption is a RunError."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as safetensors_load

from kdgui.cli import main as cli_main
from kdgui.core.bundled import BUNDLE_JSON, WEIGHT_FILES, load_bundled, load_bundled_model, read_bundle_info, resource_folder, write_bundle
from kdgui.core.config import BEST_STUDENT_SPEC, BEST_TEACHER_SPEC, KINDS, DistillConfig, Job, NetSpec, TrainConfig, _build
from kdgui.core.data import load_splits
from kdgui.core.errors import KdguiError, RunError
from kdgui.core.runs import RunStore
from kdgui.core.training import evaluate, execute, run_to_end

SHIPPED = Path(str(resource_folder()))


def train_three(store: RunStore, data, *, teacher_for_distilled: str | None = None) -> dict[str, str]:
    """A tiny teacher, student and distilled student on ``data``: run ids by kind."""
    ids: dict[str, str] = {}
    for kind, hidden in (("teacher", (48,)), ("student", (12,)), ("distilled", (12,))):
        distilled = kind == "distilled"
        job = Job(
            kind, NetSpec(hidden=hidden), TrainConfig(epochs=2, eval_every=0, device="cpu", lr=5e-3),
            DistillConfig() if distilled else None, teacher_run=(teacher_for_distilled or ids["teacher"]) if distilled else None,
        )
        ids[kind] = run_to_end(execute(job, store, data=data)).run_id
    return ids


@pytest.fixture
def bundle(tmp_path, synthetic_splits):
    """A bundle written from three tiny runs on synthetic digits, with the store and data behind it."""
    store, data = RunStore(), synthetic_splits()
    ids = train_three(store, data)
    info = write_bundle(store, ids, tmp_path / "bundle", data=data, command="kdgui-cli bundle (test)")
    return tmp_path / "bundle", info, store, data, ids


# --- the bundle shipped in resources/ ---------------------------------------------------------------------


def test_the_shipped_bundle_is_small_float16_and_holds_the_best_recipe_networks():
    info = read_bundle_info()
    models = info["models"]
    assert info["dataset"] == "mnist"
    # The "best student" recipe's networks (issue 13): its CNN teacher and 784-50-10 students of seed 0.
    assert _build(NetSpec, models["teacher"]["net"]) == BEST_TEACHER_SPEC
    assert models["student"]["net"]["hidden"] == models["distilled"]["net"]["hidden"] == list(BEST_STUDENT_SPEC.hidden)
    assert models["student"]["job"]["train"]["seed"] == models["distilled"]["job"]["train"]["seed"] == 0
    assert models["distilled"]["job"]["teacher_run"] == models["teacher"]["run_id"]
    for kind in KINDS:
        path = SHIPPED / WEIGHT_FILES[kind]
        assert path.name == models[kind]["file"] == f"bundled_{kind}.safetensors"
        assert path.stat().st_size == models[kind]["bytes"] < 5_000_000
        assert hashlib.sha256(path.read_bytes()).hexdigest() == models[kind]["sha256"]
        state = safetensors_load(path.read_bytes())
        assert {v.dtype for v in state.values()} == {torch.float16}
    assert not list(SHIPPED.glob("*.pt")), "the pickled bundle files were replaced by safetensors"
    loaded = load_bundled()
    for kind, bundled in loaded.items():
        assert not bundled.model.training
        assert {p.dtype for p in bundled.model.parameters()} == {torch.float32}
        assert "(bundled)" in bundled.label


def test_the_shipped_bundle_reaches_its_stated_test_accuracy(mnist_dir):
    data = load_splits("mnist", mnist_dir)
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    for kind, bundled in load_bundled().items():
        _, acc = evaluate(bundled.model, data.test_x, data.test_y)
        print(f"bundled {kind}: test {acc:.4%} (stated {bundled.test_acc:.4%})")
        assert abs(acc - bundled.test_acc) <= 0.0005  # within 0.05 percentage points
        # float16 storage costs (almost) nothing against the float32 run it came from.
        assert abs(bundled.test_acc - bundled.info["test_acc"]) <= 0.001
        # resources/README.md states the same figure.
        assert f"{bundled.test_acc:.2%}" in readme


# --- writing a bundle -------------------------------------------------------------------------------------


def test_a_written_bundle_loads_as_the_float16_rounded_runs_with_re_measured_accuracies(bundle):
    folder, info, store, data, ids = bundle
    assert json.loads((folder / BUNDLE_JSON).read_text()) == info
    loaded = load_bundled(folder)
    for kind in KINDS:
        entry = info["models"][kind]
        assert entry["run_id"] == ids[kind] and entry["dtype"] == "float16" and entry["file"] == WEIGHT_FILES[kind]
        assert entry["sha256"] == hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()
        original = store.get(ids[kind]).load_model()
        for (name, p), (_, q) in zip(original.named_parameters(), loaded[kind].model.named_parameters()):
            assert torch.equal(p.half().float(), q), name
        assert entry["bundle_test_acc"] == evaluate(loaded[kind].model, data.test_x, data.test_y)[1]
        assert entry["test_acc"] == store.get(ids[kind]).summary["test_acc"]
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))


def test_the_writer_refuses_runs_that_do_not_make_a_bundle(bundle, tmp_path, synthetic_splits):
    _, _, store, data, ids = bundle
    out = tmp_path / "refused"
    with pytest.raises(KdguiError, match="is a student, not a teacher"):
        write_bundle(store, {**ids, "teacher": ids["student"]}, out, data=data)
    with pytest.raises(KdguiError, match="missing: distilled"):
        write_bundle(store, {"teacher": ids["teacher"], "student": ids["student"]}, out, data=data)
    other = train_three(store, data)  # a second teacher; its distilled student does not match the first
    with pytest.raises(KdguiError, match="learnt from teacher"):
        write_bundle(store, {**ids, "distilled": other["distilled"]}, out, data=data)
    store.get(ids["student"]).set_status("stopped")
    with pytest.raises(KdguiError, match="is stopped"):
        write_bundle(store, ids, out, data=data)
    assert not out.exists() or not any(out.iterdir())


# --- missing and corrupt files ----------------------------------------------------------------------------


def _reseal(folder: Path, kind: str) -> None:
    """Update bundled.json's checksum so the loader gets past it to the file's content."""
    info = json.loads((folder / BUNDLE_JSON).read_text())
    info["models"][kind]["sha256"] = hashlib.sha256((folder / WEIGHT_FILES[kind]).read_bytes()).hexdigest()
    (folder / BUNDLE_JSON).write_text(json.dumps(info))


def test_a_truncated_or_swapped_weights_file_fails_its_checksum(bundle):
    folder = bundle[0]
    path = folder / WEIGHT_FILES["teacher"]
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RunError, match=r"bundled_teacher\.safetensors does not match bundled\.json \(checksum differs\)"):
        load_bundled(folder)
    shutil.copy(folder / WEIGHT_FILES["student"], path)
    with pytest.raises(RunError, match="checksum differs"):
        load_bundled_model("teacher", folder)


def test_corrupt_content_behind_a_matching_checksum_is_a_clear_error(bundle):
    folder = bundle[0]
    path = folder / WEIGHT_FILES["student"]
    path.write_bytes(b"not a torch file at all")
    _reseal(folder, "student")
    with pytest.raises(RunError, match=r"bundled_student\.safetensors is not a readable weights file"):
        load_bundled(folder)
    # A pickle (torch.save) under the safetensors name is never unpickled: it is not a safetensors file.
    torch.save({"layers.0.weight": torch.zeros(2), "code": Path("x")}, path)
    _reseal(folder, "student")
    with pytest.raises(RunError, match=r"bundled_student\.safetensors is not a readable weights file"):
        load_bundled_model("student", folder)
    # Tensors of the wrong shapes for the network the JSON describes.
    shutil.copy(folder / WEIGHT_FILES["teacher"], path)
    _reseal(folder, "student")
    with pytest.raises(RunError, match="does not match the network 784-12-10"):
        load_bundled_model("student", folder)


def test_missing_files_and_a_broken_description_are_clear_errors(bundle):
    folder = bundle[0]
    (folder / WEIGHT_FILES["distilled"]).unlink()
    with pytest.raises(RunError, match=r"bundled_distilled\.safetensors is missing"):
        load_bundled(folder)
    info = json.loads((folder / BUNDLE_JSON).read_text())
    for broken, message in (
        ("{ not json", "is corrupt"),
        (json.dumps({**info, "schema": "other/1"}), "not a kdgui bundle description"),
        (json.dumps({**info, "models": {k: v for k, v in info["models"].items() if k != "student"}}), "no valid entry for the student"),
        (json.dumps({**info, "models": {**info["models"], "teacher": {**info["models"]["teacher"], "file": "../weights.pt"}}}), "is not a file name"),
        (json.dumps({**info, "models": {**info["models"], "teacher": {**info["models"]["teacher"], "net": {"hidden": [0]}}}}), "invalid network"),
    ):
        (folder / BUNDLE_JSON).write_text(broken)
        with pytest.raises(RunError, match=message):
            load_bundled_model("teacher", folder)
    (folder / BUNDLE_JSON).unlink()
    with pytest.raises(RunError, match=r"bundled\.json is missing"):
        load_bundled(folder)
    with pytest.raises(RunError, match="no bundled model of kind"):
        load_bundled_model("professor", folder)


def test_a_bundle_written_before_safetensors_still_loads(bundle):
    """bundled.json naming torch.save .pt files (read with weights_only=True after the checksum)."""
    folder, info, *_ = bundle
    for kind in KINDS:
        state = safetensors_load((folder / WEIGHT_FILES[kind]).read_bytes())
        legacy = folder / f"bundled_{kind}.pt"
        torch.save(state, legacy)
        info["models"][kind].update(file=legacy.name, sha256=hashlib.sha256(legacy.read_bytes()).hexdigest())
        (folder / WEIGHT_FILES[kind]).unlink()
    (folder / BUNDLE_JSON).write_text(json.dumps(info))
    for kind, bundled in load_bundled(folder).items():
        assert {p.dtype for p in bundled.model.parameters()} == {torch.float32}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_bad_run_leaves_the_old_bundle_intact(bundle, tmp_path):
    """The distilled run's weights are broken: nothing of the old bundle (teacher and student included) is replaced."""
    folder, info, store, data, ids = bundle
    (folder / "README.md").write_text("the folder holds other files too")
    before = _snapshot(folder)
    other = train_three(store, data)  # a second, different set of runs
    store.get(other["distilled"]).weights_path.write_bytes(b"garbage")
    with pytest.raises(RunError, match="not a readable weights file"):
        write_bundle(store, other, folder, data=data)
    assert _snapshot(folder) == before  # no temporary files left either
    load_bundled(folder)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_swap_puts_the_old_files_back(bundle, monkeypatch):
    """Disk trouble while the checked files are moved in: the files already moved are put back."""
    import os

    from kdgui.core import bundled as B

    folder, info, store, data, ids = bundle
    before = _snapshot(folder)
    other = train_three(store, data)
    real_replace, calls = os.replace, []

    def third_fails(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(B.os, "replace", third_fails)
    with pytest.raises(KdguiError, match="No space left on device"):
        write_bundle(store, other, folder, data=data)
    monkeypatch.undo()
    assert _snapshot(folder) == before
    assert {m["run_id"] for m in load_bundled(folder).values() for m in [m.info]} == set(ids.values())


def test_the_writer_never_replaces_a_link_and_writes_a_new_folder_whole(bundle, tmp_path):
    folder, info, store, data, ids = bundle
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(b"not yours")
    (folder / WEIGHT_FILES["student"]).unlink()
    (folder / WEIGHT_FILES["student"]).symlink_to(elsewhere)
    with pytest.raises(RunError, match="symbolic link"):
        write_bundle(store, ids, folder, data=data)
    assert elsewhere.read_bytes() == b"not yours" and (folder / WEIGHT_FILES["student"]).is_symlink()
    fresh = tmp_path / "new" / "bundle"
    write_bundle(store, ids, fresh, data=data)
    assert sorted(p.name for p in fresh.iterdir()) == sorted([*WEIGHT_FILES.values(), BUNDLE_JSON])
    assert [p.name for p in fresh.parent.iterdir()] == ["bundle"]


# --- kdgui-cli bundle -------------------------------------------------------------------------------------


def test_cli_bundle_from_reproduce_json(mnist_dir, tmp_path, capsys):
    data = load_splits("mnist", mnist_dir).limit_train(600)
    ids = train_three(RunStore(), data)
    seed_json = tmp_path / "seed.json"
    seed_json.write_text(json.dumps({k: {"run_id": v, "test_acc": 0.5} for k, v in ids.items()}))
    out = tmp_path / "res"
    assert cli_main(["bundle", "--from-json", str(seed_json), "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    info = read_bundle_info(out)
    assert info["command"].startswith("kdgui-cli bundle --from-json ")
    for kind in KINDS:
        assert ids[kind] in printed and f"{info['models'][kind]['bundle_test_acc']:.2%}" in printed
    # Explicit ids override the JSON; leaving one out is a one-line error with exit code 2.
    assert cli_main(["bundle", "--teacher", ids["teacher"], "--student", ids["student"], "--out", str(out)]) == 2
    assert "--distilled" in capsys.readouterr().err
