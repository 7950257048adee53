"""Runs on disk: create/list/get/rename/delete, atomic writes, and RunErrors for corrupt or foreign files."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from kdgui.core import runs as R
from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.errors import ConfigError, RunError
from kdgui.core.models import build_model
from kdgui.core.runs import Run, RunStore
from kdgui.core.files import atomic_write_bytes, atomic_write_json
from kdgui.core.weights import load_state_dict

SPEC = NetSpec(hidden=(16,))


def _job(name: str = "", kind: str = "student") -> Job:
    return Job(kind, SPEC, TrainConfig(epochs=1), name=name)


def _finished_run(store: RunStore, name: str = "", kind: str = "student") -> Run:
    run = store.create(_job(name, kind))
    run.save_weights(build_model(SPEC, seed=0).state_dict())
    run.append_metrics([{"type": "loss", "step": 1, "loss": 2.3}])
    run.set_status("finished", test_acc=0.5)
    return run


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_store_defaults_to_kdgui_runs_dir(runs_dir, tmp_path):
    assert RunStore().root == runs_dir
    assert RunStore(tmp_path / "x").root == tmp_path / "x"


def test_create_list_get_rename_delete(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert store.list() == [] and store.scan() == ([], [])
    a = _finished_run(store, "first")
    b = store.create(_job(kind="teacher"))
    assert (a.path / "run.json").is_file() and a.path.parent == store.root
    assert [r.id for r in store.list()] == [a.id, b.id]

    got = store.get(a.id)
    assert got.status == "finished" and got.summary == {"test_acc": 0.5}
    assert got.job == _job("first") and got.name == "first"
    assert got.metrics() == [{"type": "loss", "step": 1, "loss": 2.3}]
    assert got.meta["schema"] == "kdgui.run/1" and "ended" in got.meta
    assert store.get(b.id).status == "running" and store.get(b.id).name == "teacher"

    store.rename(a.id, "  renamed  ")
    assert store.get(a.id).name == "renamed"
    with pytest.raises(ConfigError):
        store.rename(a.id, "x" * 201)
    assert store.get(a.id).name == "renamed"

    store.delete(a.id)
    assert not a.path.exists()
    assert [r.id for r in store.list()] == [b.id]
    with pytest.raises(RunError, match="no run"):
        store.get(a.id)
    assert _leftovers(store.root) == []


@pytest.mark.parametrize("bad", ["", "..", "../x", "a/b", "a\\b", ".hidden"])
def test_get_refuses_paths_that_are_not_run_ids(tmp_path, bad):
    with pytest.raises(RunError, match="not a run id"):
        RunStore(tmp_path).get(bad)


def test_list_orders_runs_by_creation_time(tmp_path):
    """Oldest first by creation time, not by id: the lineup's "newest suitable run" relies on it."""
    store = RunStore(tmp_path)
    new = _finished_run(store, kind="teacher")
    old = _finished_run(store, kind="teacher")
    new.meta["created"] = "9999-01-01T00:00:00"
    new._write_meta()
    assert [r.id for r in store.list()] == [old.id, new.id]


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "run.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_a_failed_atomic_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"old contents")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R.os, "replace", broken_replace)
    with pytest.raises(RunError, match="^cannot write .*weights.safetensors: No space left on device$") as info:
        atomic_write_bytes(path, b"new contents")
    assert isinstance(info.value, OSError) and info.value.errno == 28  # still an OSError for callers that catch those
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.safetensors"]


def test_a_failed_status_write_keeps_the_previous_run_json(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    run = store.create(_job())
    monkeypatch.setattr(R.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    with pytest.raises(RunError, match="cannot write .*run.json: Input/output error"):
        run.set_status("finished", test_acc=0.9)
    monkeypatch.undo()
    assert run.stored_status == "running" and run.summary == {}  # memory follows the disk, never runs ahead of it
    assert store.get(run.id).status == "running"
    assert _leftovers(tmp_path) == []


# --- corrupt and foreign files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contents", "needle"),
    [
        ("{not json", "is corrupt"),
        ("", "is corrupt"),
        ('{"schema": "someone-else/2", "id": "x", "status": "finished"}', "not a kdgui run file"),
        ('["kdgui.run/1"]', "not a kdgui run file"),
        ('{"schema": "kdgui.run/1", "id": "x", "status": "exploded", "job": {}}', "missing its id or status"),
        ('{"schema": "kdgui.run/1", "status": "finished", "job": {}}', "missing its id or status"),
        ('{"schema": "kdgui.run/1", "id": "x", "status": "finished", "job": {"kind": "student"}}', "invalid job"),
        ('{"schema": "kdgui.run/1", "id": "x", "status": "finished"}', "invalid job"),
        ('{"schema": "kdgui.run/1", "id": "x", "status": "finished", "summary": null}', "summary that is not a JSON object"),
    ],
    ids=["garbage", "empty", "foreign", "list", "bad-status", "no-id", "bad-job", "no-job", "null-summary"],
)
def test_bad_run_json_is_a_run_error_naming_the_file(tmp_path, contents, needle):
    folder = tmp_path / "20240101-000000-student-0000"
    folder.mkdir()
    (folder / "run.json").write_text(contents)
    with pytest.raises(RunError) as info:
        RunStore(tmp_path).get(folder.name)
    assert needle in str(info.value)
    assert str(folder / "run.json") in str(info.value)


def test_binary_run_json_is_corrupt(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RunError, match="corrupt"):
        Run.open(tmp_path / "r")


def test_scan_reports_problems_without_failing(tmp_path):
    store = RunStore(tmp_path)
    good = _finished_run(store)
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "run.json").write_text("{")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "run.json").write_text('{"hello": "world"}')
    (tmp_path / "no-job").mkdir()
    (tmp_path / "no-job" / "run.json").write_text('{"schema": "kdgui.run/1", "id": "no-job", "status": "finished"}')
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a run")
    (tmp_path / ".trash").mkdir()
    runs, problems = store.scan()
    assert [r.id for r in runs] == [good.id]
    assert sorted(p.name for p in problems) == ["corrupt", "empty-folder", "foreign", "no-job"]
    reasons = {p.name: p.reason for p in problems}
    assert "invalid job" in reasons["no-job"] and "corrupt" in reasons["corrupt"]
    assert "not a kdgui run file" in reasons["foreign"] and "has no run.json" in reasons["empty-folder"]
    assert all(str(p) == p.reason and p.path == tmp_path / p.name for p in problems)
    assert [r.id for r in store.list()] == [good.id]


def test_torn_last_metrics_line_is_skipped(tmp_path):
    run = RunStore(tmp_path).create(_job())
    run.append_metrics([{"type": "loss", "step": 1, "loss": 1.0}, {"type": "loss", "step": 2, "loss": 0.5}])
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"type": "loss", "step": 3, "lo')
    assert [r["step"] for r in run.metrics()] == [1, 2]
    run.append_metrics([])  # appending nothing writes nothing
    assert len(run.metrics()) == 2


def test_metrics_of_a_run_without_metrics_is_empty(tmp_path):
    assert RunStore(tmp_path).create(_job()).metrics() == []


# --- weights -------------------------------------------------------------------------------------------------


def test_weights_round_trip(tmp_path):
    run = _finished_run(RunStore(tmp_path))
    model = run.load_model()
    assert not model.training
    expected = build_model(SPEC, seed=0).state_dict()
    assert all(torch.equal(model.state_dict()[k], expected[k]) for k in expected)


def test_missing_weights(tmp_path):
    run = RunStore(tmp_path).create(_job())
    assert not run.has_weights
    with pytest.raises(RunError, match="no saved weights"):
        run.load_model()


def _safetensors_with_header(header: dict) -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + b"\x00" * 8


GARBAGE = [
    b"PK\x03\x04 this is no zip" * 10, b"", b"\xff" * 8 + b"{}", b"\x10" + b"\x00" * 7 + b'{"a": 1}       ',
    _safetensors_with_header({"layers.0.weight": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4 * 10**12]}}),
    _safetensors_with_header({"layers.0.weight": {"dtype": "F32", "shape": [2**62, 4], "data_offsets": [0, 8]}}),
    _safetensors_with_header({"layers.0.weight": {"dtype": "??", "shape": [2], "data_offsets": [0, 8]}}),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_weights(tmp_path, garbage):
    run = _finished_run(RunStore(tmp_path))
    assert run.weights_path == run.path / "weights.safetensors"
    run.weights_path.write_bytes(garbage)
    with pytest.raises(RunError) as info:
        run.load_model()
    assert "not a readable weights file" in str(info.value) or "state_dict of tensors" in str(info.value)
    assert str(run.path / "weights.safetensors") in str(info.value)


def test_weights_are_safetensors_without_pickle(tmp_path):
    run = _finished_run(RunStore(tmp_path))
    assert sorted(p.name for p in run.path.iterdir()) == [".lock", "metrics.jsonl", "run.json", "weights.safetensors"]
    data = run.weights_path.read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_size])
    assert set(header) - {"__metadata__"} == set(build_model(SPEC).state_dict())
    assert b"\x80\x02" not in data[:2] and not data.startswith(b"PK")  # neither a pickle nor torch's zip


class Exploit:
    """Unpickling this would create a folder: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


@pytest.mark.parametrize("file", ["weights.pt", "weights.safetensors"])
@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_weights_that_would_run_code_are_refused(tmp_path, writer, file):
    """A pickle with code in it, as a legacy weights.pt (read with weights_only=True) or renamed to .safetensors."""
    store = RunStore(tmp_path)
    run = store.create(_job())
    run.set_status("finished", test_acc=0.5)
    marker = tmp_path / "code-ran"
    payload = {"layers.0.weight": Exploit(marker)}
    with open(run.path / file, "wb") as f:
        torch.save(payload, f) if writer == "torch.save" else pickle.dump(payload, f, protocol=2)
    run = store.get(run.id)
    assert run.has_weights and run.weights_path == run.path / file
    with pytest.raises(RunError, match="not a readable weights file"):
        run.load_model()
    assert not marker.exists()
    if writer == "torch.save":
        # The file really is dangerous: an unsafe load would have run the code.
        (tmp_path / "copy.pt").write_bytes((run.path / file).read_bytes())
        torch.load(tmp_path / "copy.pt", weights_only=False)
        assert marker.is_dir()


@pytest.mark.parametrize(
    ("obj", "needle"),
    [([1, 2, 3], "state_dict of tensors"), ({"w": 1.0}, "state_dict of tensors"), (torch.zeros(3), "state_dict of tensors")],
)
def test_weights_that_are_not_a_state_dict(tmp_path, obj, needle):
    path = tmp_path / "weights.pt"
    torch.save(obj, path)
    with pytest.raises(RunError, match=needle):
        load_state_dict(path)


def test_weights_for_a_different_network(tmp_path):
    run = _finished_run(RunStore(tmp_path))
    run.save_weights(build_model(NetSpec(hidden=(32,)), seed=0).state_dict())
    with pytest.raises(RunError) as info:
        run.load_model()
    assert "does not match the network 784-16-10" in str(info.value)
    run.save_weights(build_model(NetSpec(hidden=(16, 16)), seed=0).state_dict())
    with pytest.raises(RunError, match="does not match"):
        run.load_model()


def test_saved_weights_are_plain_cpu_tensors(tmp_path):
    from safetensors.torch import load_file

    run = _finished_run(RunStore(tmp_path))
    state = load_file(run.path / "weights.safetensors")
    assert set(state) == set(build_model(SPEC).state_dict())
    assert all(v.device.type == "cpu" for v in state.values())


def test_a_legacy_weights_pt_run_still_opens_and_migrates_only_when_asked(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(_job())
    run.set_status("finished", test_acc=0.5)
    expected = build_model(SPEC, seed=0).state_dict()
    torch.save(expected, run.path / "weights.pt")  # as kdgui wrote weights before safetensors
    before = {p.name: p.read_bytes() for p in run.path.iterdir()}
    got = store.get(run.id)
    assert got.has_weights and got.weights_path.name == "weights.pt"
    assert all(torch.equal(got.load_model().state_dict()[k], expected[k]) for k in expected)
    store.list()
    assert {p.name: p.read_bytes() for p in run.path.iterdir()} == before  # reading migrated nothing
    assert got.migrate_weights() is True
    assert sorted(p.name for p in run.path.iterdir()) == [".lock", "run.json", "weights.safetensors"]
    assert all(torch.equal(store.get(run.id).load_model().state_dict()[k], expected[k]) for k in expected)
    assert got.migrate_weights() is False
    assert store.migrate_weights() == ([], [])


def test_a_run_json_with_an_odd_creation_time_is_reported_not_fatal(tmp_path):
    store = RunStore(tmp_path)
    good = _finished_run(store)
    odd = _finished_run(store)
    odd.meta["created"] = 5  # hand-edited: not a timestamp
    odd._write_meta()
    runs, unreadable = store.scan()
    assert [r.id for r in runs] == [good.id]
    assert [u.name for u in unreadable] == [odd.id] and "created time that is not a timestamp" in unreadable[0].reason


def test_atomic_writes_get_normal_file_permissions(tmp_path):
    """mkstemp's temporary file is owner-only; the renamed file must be readable like any new file."""
    umask = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "result.json", {"ok": True})
    finally:
        os.umask(umask)
    assert (tmp_path / "result.json").stat().st_mode & 0o777 == 0o644
