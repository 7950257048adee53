"""Nothing a user has on disk can break or take over kdgui: hostile run folders, metrics, experiment files, write
targets, run-id collisions and deleting a run that another process trains."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from kdgui.core import files as F
from kdgui.core import runs as R
from kdgui.core import weights as W
from kdgui.core.config import Job, NetSpec, TrainConfig
from kdgui.core.errors import KdguiError, RunError, WriteError
from kdgui.core.experiments import list_experiments, scan_experiments
from kdgui.core.history import RunHistory, final_accuracies
from kdgui.core.models import build_model
from kdgui.core.runs import Run, RunStore, Unreadable
from kdgui.core.files import atomic_write_bytes, atomic_write_json

SPEC = NetSpec(hidden=(8,))
JOB = Job("student", SPEC, TrainConfig(epochs=1))


def finished_run(store: RunStore, **summary) -> Run:
    run = store.create(JOB)
    run.save_weights(build_model(SPEC, seed=0).state_dict())
    run.append_metrics([{"type": "loss", "step": 1, "loss": 2.0}, {"type": "eval", "step": 1, "epoch": 1.0, "val_loss": 1.0,
                                                                     "val_acc": 0.5, "test_loss": 1.0, "test_acc": 0.4}])
    run.set_status("finished", **({"test_acc": 0.5} | summary))
    return run


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` with its type, bytes and modification time: reading must change none of it."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            found[str(path)] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns, content)
    return found


def read_everything(store: RunStore) -> tuple[list[Run], list[Unreadable]]:
    """What the app and kdgui-cli do with a runs folder: list it, show every property, read curves and accuracies."""
    runs, unreadable = store.scan()
    for run in runs:
        shown = (run.id, run.name, run.status, run.created, run.summary, run.job.label(), run.has_weights, run.origin)
        print("  ".join(map(str, shown)))  # a print that crashed on a lone surrogate is one of the bugs
        history = RunHistory.from_records(run.metrics(), run.job)
        history.eval_column("val_acc")
        final_accuracies(run.summary, run.metrics())
        store.get(run.id)
    for problem in unreadable:
        assert problem.name.isprintable() and str(problem).isprintable() and "\n" not in str(problem)
        str(problem).encode("utf-8")
    list_experiments(store)
    return runs, unreadable


def write_meta(store: RunStore, folder: str, meta: dict | str | bytes) -> Path:
    path = store.root / folder
    path.mkdir(parents=True)
    data = meta if isinstance(meta, bytes) else (meta if isinstance(meta, str) else json.dumps(meta)).encode()
    (path / "run.json").write_bytes(data)
    return path


def valid_meta(run_id: str = "20240101-000000-student-0000", **changes) -> dict:
    meta = {"schema": "kdgui.run/1", "id": run_id, "name": "", "created": "2024-01-01T00:00:00", "status": "finished",
            "job": JOB.to_dict(), "summary": {"test_acc": 0.5}}
    meta.update(changes)
    return meta


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (valid_meta(summary={"test_acc": "abc"}), "summary test_acc that is not a number"),
        (valid_meta(summary={"val_acc": 10**400}), "summary val_acc that is not a number"),
        (valid_meta(summary={"error": ["x"]}), "summary error that is not text"),
        (valid_meta(summary=[1]), "summary that is not a JSON object"),
        (valid_meta(name=[1, 2]), "name that is not text"),
        (valid_meta(name="x" * 201), "name that is longer than 200"),
        (valid_meta(name="\x1b[2J\x1b[H pwned"), "name that holds control characters"),
        (valid_meta(created=5), "created time that is not a timestamp"),
        (valid_meta(created="yesterday"), "created time that is not a timestamp"),
        (valid_meta(status="exploded"), "missing its id or status"),
        (valid_meta(id=7), "missing its id or status"),
        (valid_meta(id="../../etc"), "id that is not a run id"),
        (valid_meta(origin={"study": 1}), "origin that is not text"),
        (valid_meta(job={**JOB.to_dict(), "train": {**JOB.to_dict()["train"], "lr": 10**400}}), "invalid job"),
        (valid_meta(job={**JOB.to_dict(), "name": "\x07bell"}), "invalid job"),
        (valid_meta(job={**JOB.to_dict(), "kind": "distilled", "distill": {}, "teacher_run": "../../x"}), "invalid job"),
        (valid_meta(job={**JOB.to_dict(), "net": {"hidden": "abc"}}), "invalid job"),
        (valid_meta(job={**JOB.to_dict(), "train": {**JOB.to_dict()["train"], "device": "cpu\udc80"}}), "not valid Unicode"),
        ('{"schema": "kdgui.run/1", "id": "\\udc80", "status": "finished"}', "not valid Unicode"),
        ('{"schema": "kdgui.run/1", "name": "\\ud800", "id": "x", "status": "finished"}', "not valid Unicode"),
        ('{"a": ' + DEEP + "}", "nested deeper than"),
        ('{"schema": "kdgui.run/1", "summary": {"x": ' + "[" * 100 + "]" * 100 + "}}", "nested deeper than 32"),
        (b'{"schema": "kdgui.run/1"}\xff\xfe', "not UTF-8"),
        ('{"schema": "kdgui.run/1", "pad": "' + "x" * (1 << 20) + '"}', "too large"),
        ('{"schema": "kdgui.run/1", "n": ' + "9" * 5000 + "}", "is corrupt"),
        ("NaN", "not a kdgui run file"),
    ],
    ids=["acc-text", "acc-huge-int", "error-list", "summary-list", "name-list", "name-long", "name-escape", "created-int",
         "created-text", "bad-status", "id-int", "id-path", "origin-dict", "job-huge-lr", "job-name-control",
         "job-teacher-path", "job-hidden-text", "device-surrogate", "id-surrogate", "name-surrogate", "deep-5000",
         "deep-100", "not-utf8", "too-large", "long-int", "nan"],
)
def test_a_hostile_run_json_is_reported_and_never_blocks_the_others(runs_dir, content, needle):
    store = RunStore(runs_dir)
    good = finished_run(store)
    bad = write_meta(store, "20240101-000000-student-0000", content if isinstance(content, (str, bytes)) else json.dumps(content))
    before = tree(runs_dir)
    runs, unreadable = read_everything(store)
    assert [r.id for r in runs] == [good.id]
    assert [u.name for u in unreadable] == [bad.name]
    assert needle in unreadable[0].reason and str(bad / "run.json") in unreadable[0].reason
    with pytest.raises(RunError, match="run.json"):
        store.get(bad.name)
    assert tree(runs_dir) == before  # reading modified nothing


def test_nan_accuracies_and_unknown_fields_still_open(runs_dir):
    store = RunStore(runs_dir)
    write_meta(store, "r1", valid_meta("r1", summary={"val_acc": float("nan"), "extra": {"a": [1]}}, future_field=[1]))
    (run,) = read_everything(store)[0]
    assert run.summary["extra"] == {"a": [1]}


def test_odd_entries_in_the_runs_folder(runs_dir, tmp_path):
    store = RunStore(runs_dir)
    good = finished_run(store)
    elsewhere = tmp_path / "elsewhere"
    real = write_meta(RunStore(elsewhere), "20240101-000000-student-aaaa", valid_meta("20240101-000000-student-aaaa"))
    (runs_dir / "20240101-000000-student-aaaa").symlink_to(real)  # a run folder that is a link out of the folder
    linked = write_meta(store, "20240101-000000-student-bbbb", "{}")
    (linked / "run.json").unlink()
    (linked / "run.json").symlink_to(real / "run.json")  # run.json that is a link
    write_meta(store, "20240101-000000-student-cccc", "{}")
    (runs_dir / "20240101-000000-student-cccc" / "run.json").unlink()
    (runs_dir / "20240101-000000-student-cccc" / "run.json").mkdir()  # a folder where run.json should be
    fifo = runs_dir / "20240101-000000-student-dddd"
    fifo.mkdir()
    os.mkfifo(fifo / "run.json")  # must not hang the app
    (runs_dir / "20240101-000000-student-eeee").write_text("a file where a run folder should be")
    os.mkdir(os.fsencode(runs_dir) + b"/run-\xff\xfe")  # not UTF-8: no valid run id
    (runs_dir / "my notes").mkdir()
    (runs_dir / "lineup.json").write_text("{}")  # files that are not runs are not reported
    (runs_dir / "20261130-120000-sweep-ab12.json").write_text("{}")
    before = tree(runs_dir)
    runs, unreadable = read_everything(store)
    assert [r.id for r in runs] == [good.id]
    reasons = {u.name: u.reason for u in unreadable}
    assert "symbolic link" in reasons["20240101-000000-student-aaaa"]
    assert "symbolic link" in reasons["20240101-000000-student-bbbb"]
    assert "is a folder, not a file" in reasons["20240101-000000-student-cccc"]
    assert "is a FIFO, not a file" in reasons["20240101-000000-student-dddd"]
    assert "is a file, not a run folder" in reasons["20240101-000000-student-eeee"]
    assert "not a run id" in reasons["run-\\udcff\\udcfe"]
    assert "not a run id" in reasons["my notes"]
    assert len(unreadable) == 7
    assert tree(runs_dir) == before
    for name in ("20240101-000000-student-aaaa", "20240101-000000-student-bbbb", "20240101-000000-student-eeee"):
        with pytest.raises(RunError):
            store.get(name)


@pytest.mark.parametrize("bad", ["\udc80", "a/b", "..", "x\x00y", "é", " x", "x" * 129])
def test_ids_that_are_not_ascii_run_ids_are_refused_with_a_reason(runs_dir, bad):
    store = RunStore(runs_dir)
    with pytest.raises(RunError, match="is not a run id") as info:
        store.get(bad)
    assert str(info.value).isprintable()
    with pytest.raises(RunError, match="is not a run id"):
        store.delete(bad)


def test_a_hostile_metrics_file_never_raises_and_keeps_the_good_lines(runs_dir):
    store = RunStore(runs_dir)
    run = finished_run(store)
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b"\xff\xfe\n")
        f.write(b"[1, 2]\n")
        f.write(b'"text"\n')
        f.write(b'{"type": "loss", "step": 2, "loss": "abc"}\n')
        f.write(b'{"type": "loss", "step": "2", "loss": 1.0}\n')
        f.write(b'{"type": "loss", "step": true, "loss": 1.0}\n')
        f.write(b'{"type": "eval", "step": 2, "epoch": "x", "val_acc": 0.5}\n')
        f.write(b'{"type": "eval", "step": 2, "epoch": 2.0, "val_loss": 1, "val_acc": "high", "test_loss": 1, "test_acc": 0.5}\n')
        f.write(b'{"type": "loss", "step": 3, "loss": ' + b"9" * 400 + b"}\n")
        f.write(b'{"type": "x", "v": ' + DEEP.encode() + b"}\n")
        f.write(b'{"type": "loss", "step": 3, "loss": 1.5}' + b" " * (1 << 17) + b"\n")  # over the line limit
        f.write(b'{"type": "loss", "step": 4, "loss": 0.5}\n')
        f.write(b'{"type": "loss", "step": 5, "lo')  # torn
    before = tree(runs_dir)
    records = store.get(run.id).metrics()
    assert [(r["type"], r["step"]) for r in records] == [("loss", 1), ("eval", 1), ("loss", 4)]
    history = RunHistory.from_records(records, run.job)
    assert history.loss_steps == [1, 4] and history.eval_column("val_acc") == [0.5]
    assert tree(runs_dir) == before
    # The next append ends the torn line first, so the new record is whole.
    run.append_metrics([{"type": "loss", "step": 6, "loss": 0.25}])
    assert [r["step"] for r in store.get(run.id).metrics()][-1] == 6


@pytest.mark.parametrize("kind", ["folder", "link", "fifo"])
def test_metrics_that_are_not_a_file_read_as_none(runs_dir, tmp_path, kind):
    run = finished_run(RunStore(runs_dir))
    path = run.path / "metrics.jsonl"
    path.unlink()
    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"type": "loss", "step": 1, "loss": 1.0}\n')
    {"folder": path.mkdir, "link": lambda: path.symlink_to(outside), "fifo": lambda: os.mkfifo(path)}[kind]()
    assert run.metrics() == []
    with pytest.raises(RunError, match="cannot write"):
        run.append_metrics([{"type": "loss", "step": 2, "loss": 1.0}])
    assert outside.read_text().count("\n") == 1  # a link is never written through


@pytest.mark.parametrize("values", [
    {"test_acc": "abc"}, {"val_acc": [1]}, {"test_acc": None, "val_acc": True}, {"test_acc": 10**400},
])
def test_history_survives_any_record_values(values):
    records = [{"type": "loss", "step": 1, "loss": "abc"}, {"type": "loss", "step": None, "loss": 1},
               {"type": "eval", "step": 1, "epoch": 0, **values}, {"type": "eval", "step": 10**400, "epoch": 1e-300},
               "not a dict", None, {"type": "eval", "step": 2, "epoch": 1.0, "val_acc": 0.75}]
    history = RunHistory.from_records(records)
    assert history.losses == [] and history.eval_column("val_acc")[-1] == 0.75
    assert final_accuracies(values, records) == {"val_acc": 0.75}
    assert final_accuracies("not a dict", None) == {}


def test_weights_that_are_links_folders_or_huge_are_not_loaded(runs_dir, tmp_path, monkeypatch):
    run = finished_run(RunStore(runs_dir))
    good = run.weights_path.read_bytes()
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(good)
    run.weights_path.unlink()
    run.weights_path.symlink_to(outside)
    assert not run.has_weights
    with pytest.raises(RunError, match="symbolic link"):
        run.load_model()
    run.weights_path.unlink()
    run.weights_path.mkdir()
    assert not run.has_weights
    with pytest.raises(RunError, match="is a folder, not a file"):
        run.load_model()
    run.weights_path.rmdir()
    run.weights_path.write_bytes(good)
    monkeypatch.setattr(W, "MAX_WEIGHTS_BYTES", 100)
    with pytest.raises(RunError, match="too large"):
        run.load_model()


# --- experiment files ----------------------------------------------------------------------------------------


def test_hostile_experiment_files_are_reported_and_never_raise(runs_dir):
    store = RunStore(runs_dir)
    ok = {"schema": "kdgui.experiment/1", "id": "20240101-000000-sweep-0001", "kind": "sweep", "status": "finished",
          "name": "", "created": "2024-01-01T00:00:00", "config": {"temperatures": [1.0, 2.0], "student": {"hidden": [8]}},
          "table": [{"temperature": 1.0, "val_mean": 0.5, "test_mean": 0.5}]}
    (runs_dir / f"{ok['id']}.json").write_text(json.dumps(ok))
    bad = {
        "20240101-000000-sweep-0002": {**ok, "table": [{"temperature": "hot"}]},
        "20240101-000000-sweep-0003": {**ok, "config": {"temperatures": ["a", 1]}},
        "20240101-000000-study-0004": {**ok, "kind": "study", "result": {"test_acc": "abc"}},
        "20240101-000000-study-0005": {**ok, "created": 5},
        "20240101-000000-study-0006": {**ok, "name": "\x1b[31m"},
    }
    for name, record in bad.items():
        (runs_dir / f"{name}.json").write_text(json.dumps({**record, "id": name}))
    (runs_dir / "20240101-000000-sweep-0007.json").write_bytes(b"\xff\xfe")
    (runs_dir / "20240101-000000-sweep-0008.json").write_text(DEEP)
    (runs_dir / "20240101-000000-sweep-0009.json").symlink_to(runs_dir / f"{ok['id']}.json")
    (runs_dir / "lineup.json").write_text('{"schema": "kdgui.lineup/1"}')
    before = tree(runs_dir)
    records, unreadable = scan_experiments(store)
    assert [r["id"] for r in records] == [ok["id"]]
    assert sorted(u.name for u in unreadable) == sorted([f"20240101-000000-{k}.json" for k in (
        "sweep-0002", "sweep-0003", "study-0004", "study-0005", "study-0006", "sweep-0007", "sweep-0008", "sweep-0009")])
    assert all(str(u).isprintable() for u in unreadable)
    assert [r["id"] for r in list_experiments(store, "sweep")] == [ok["id"]]
    assert store.scan() == ([], [])  # experiment files are no business of the run listing
    assert tree(runs_dir) == before


# --- the atomic writer refuses what is not a regular file ------------------------------------------------------


def test_the_writer_refuses_a_link_a_folder_a_fifo_and_system_folders(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(WriteError, match=r"cannot write .*link\.json: it is a symbolic link, and kdgui replaces only regular files"):
        atomic_write_json(link, {"a": 1})
    assert link.is_symlink() and target.read_text() == "keep me"
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(WriteError, match="it is a folder"):
        atomic_write_json(folder, {})
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="it is a FIFO"):
        atomic_write_json(fifo, {})
    for path, root in ((Path("/dev/null"), "/dev"), (Path("/proc/self/kdgui.json"), "/proc"), (Path("/sys/kdgui.json"), "/sys")):
        with pytest.raises(WriteError, match=f"does not write files under {root}"):
            atomic_write_bytes(path, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json", "folder.json", "link.json", "precious.txt"]


def test_the_writer_refuses_a_link_swapped_in_while_it_writes(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text("old")
    victim = tmp_path / "victim"
    victim.write_text("victim")
    real_write = F.write_all

    def swap_then_write(fd, data):
        target.unlink()
        target.symlink_to(victim)
        real_write(fd, data)

    monkeypatch.setattr(F, "write_all", swap_then_write)
    with pytest.raises(WriteError, match="symbolic link"):
        atomic_write_bytes(target, b"new")
    assert victim.read_text() == "victim" and target.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(("where", "code", "text"), [
    ("write", errno.ENOSPC, "No space left on device"),
    ("mkstemp", errno.EROFS, "Read-only file system"),
    ("mkstemp", errno.EACCES, "Permission denied"),
    ("fsync", errno.EIO, "Input/output error"),
])
def test_write_failures_are_one_line_errors_and_leave_the_old_file(tmp_path, monkeypatch, where, code, text):
    path = tmp_path / "run.json"
    path.write_text("old")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr({"write": F.os, "fsync": F.os, "mkstemp": F.tempfile}[where], where, fail)
    with pytest.raises(RunError) as info:
        atomic_write_json(path, {"new": True})
    monkeypatch.undo()
    assert str(info.value) == f"cannot write {path}: {text}"
    assert isinstance(info.value, OSError) and info.value.errno == code
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_long_names_write_and_too_long_names_are_one_line_errors(tmp_path):
    longest = tmp_path / ("n" * 250 + ".json")  # the temporary name must not be longer than the file's
    atomic_write_json(longest, {"ok": True})
    assert json.loads(longest.read_text()) == {"ok": True}
    with pytest.raises(RunError, match=r"^cannot write .*: File name too long$"):
        atomic_write_json(tmp_path / ("n" * 300 + ".json"), {})
    with pytest.raises(RunError, match=r"^cannot write .*: No such file or directory$"):
        atomic_write_json(tmp_path / "missing-folder" / "x.json", {})


def test_a_read_only_runs_folder_is_a_one_line_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(RunError, match="Permission denied"):
            RunStore(tmp_path).create(JOB)
    finally:
        tmp_path.chmod(0o755)


# --- ids never collide; a running run cannot be deleted ----------------------------------------------------------


def _create_many(root: str, n: int, queue) -> None:
    store = RunStore(root)
    ids, errors = [], []
    for _ in range(n):
        try:
            ids.append(store.create(JOB).id)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            errors.append(repr(exc))
    queue.put((ids, errors))


def test_eight_processes_creating_runs_at_once_never_collide(tmp_path, monkeypatch):
    # Few short suffixes, so collisions really happen and the retry (with longer suffixes) is what prevents them.
    real = R.secrets.token_hex
    monkeypatch.setattr(R.secrets, "token_hex", lambda n: f"{os.getpid() % 3:04x}" if n == 2 else real(n))
    monkeypatch.setattr(R.os, "fsync", lambda fd: None)  # speed: durability is not what this test is about
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    procs = [context.Process(target=_create_many, args=(str(tmp_path), 100, queue)) for _ in range(8)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    ids = [i for got, _ in results for i in got]
    assert [e for _, errors in results for e in errors] == []
    assert len(ids) == len(set(ids)) == 800
    runs, unreadable = RunStore(tmp_path).scan()
    assert unreadable == [] and {r.id for r in runs} == set(ids)
    assert all(r.meta["id"] == r.id for r in runs)
    # Their processes are gone without ending the runs: each reads as interrupted, not running.
    assert {r.status for r in runs} == {"interrupted"}


def _hold_a_run(root: str, conn) -> None:
    run = RunStore(root).create(JOB)
    conn.send(run.id)
    conn.recv()  # until the parent says so (or dies)


def test_a_run_another_process_trains_cannot_be_deleted(runs_dir):
    store = RunStore(runs_dir)
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    proc = context.Process(target=_hold_a_run, args=(str(runs_dir), child))
    proc.start()
    try:
        run_id = parent.recv()
        run = store.get(run_id)
        assert run.status == "running" and run.lock_held()
        with pytest.raises(RunError, match=rf"run {run_id} is training now \(process {proc.pid} on .*\): stop it"):
            store.delete(run_id)
        assert store.get(run_id).status == "running"
    finally:
        proc.kill()
        proc.join()
    # Killed: the kernel dropped its lock. The run reads interrupted and can be deleted.
    assert store.get(run_id).status == "interrupted"
    store.delete(run_id)
    assert store.scan() == ([], []) and sorted(p.name for p in runs_dir.iterdir()) == []


def test_this_process_cannot_delete_the_run_it_trains(runs_dir):
    store = RunStore(runs_dir)
    run = store.create(JOB)
    with pytest.raises(RunError, match="is training now"):
        store.delete(run.id)
    run.save_weights(build_model(SPEC, seed=0).state_dict())
    run.set_status("stopped")  # a final status lets go of the lock
    assert not run.lock_held()
    store.delete(run.id)
    assert not run.path.exists()


def test_delete_takes_unreadable_runs_and_links_but_leaves_foreign_folders(runs_dir, tmp_path):
    store = RunStore(runs_dir)
    write_meta(store, "20240101-000000-student-0000", b"\xff")
    store.delete("20240101-000000-student-0000")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (runs_dir / "linked").symlink_to(outside)
    store.delete("linked")  # the link goes, what it points at stays
    assert (outside / "keep.txt").read_text() == "keep"
    (runs_dir / "photos").mkdir()
    (runs_dir / "photos" / "cat.jpg").write_bytes(b"cat")
    with pytest.raises(RunError, match="not a kdgui run folder"):
        store.delete("photos")
    assert sorted(p.name for p in runs_dir.iterdir()) == ["photos"]


def test_run_properties_never_raise_on_an_opened_run(runs_dir):
    store = RunStore(runs_dir)
    write_meta(store, "minimal", {"schema": "kdgui.run/1", "id": "minimal", "status": "running", "job": JOB.to_dict()})
    (run,) = store.list()
    assert (run.id, run.name, run.created, run.summary, run.origin, run.has_weights) == ("minimal", "student", "", {}, "", False)
    assert run.status == "interrupted"  # running, but no process holds it (no lock file at all)
    with pytest.raises(KdguiError, match="no saved weights"):
        run.load_model()


def test_what_kdgui_writes_it_can_read_back(runs_dir):
    """A name that run.json may not hold is refused before any folder exists; an error text of any kind is escaped."""
    store = RunStore(runs_dir)
    with pytest.raises(KdguiError, match="control characters"):
        store.create(Job("student", SPEC, TrainConfig(epochs=1), name="\x1b[2Jgone"))
    assert list(runs_dir.iterdir()) == []
    run = store.create(JOB)
    run.set_status("failed", error="RuntimeError: \x1b[31mred\r\n" + "x" * 50_000, steps=1)
    (got,) = store.list()
    assert got.status == "failed" and got.summary["error"].startswith("RuntimeError: \\x1b[31mred\\r\n")
    assert len(got.summary["error"]) == 20_000
    with pytest.raises(RunError, match="would not be valid"):
        got.set_status("finished", test_acc="high")
    assert store.get(run.id).status == "failed"
