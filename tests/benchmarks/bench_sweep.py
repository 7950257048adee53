"""Benchmark: a 9-temperature x 14-epoch distillation sweep over 50,000 MNIST images, kdgui's batched sweep vs the plain way."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import OrderedDict

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from kdgui.core import training
from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC, Job, TrainConfig
from kdgui.core.data import load_splits, resolve_data_dir
from kdgui.core.losses import soft_mse
from kdgui.core.models import build_model
from kdgui.core.runs import RunStore
from kdgui.core.sweep import DEFAULT_TEMPERATURES, SweepConfig, SweepFinished, run_sweep
from kdgui.core.threads import requesting, step_work, threads_for, work_threads
from kdgui.core.training import evaluate

BATCH, LR, EPOCHS, TRAIN_SIZE = 100, 5e-3, 14, 50_000


def plain_epoch(student, teacher, loader, optimizer, temperature, val, test) -> float:
    """What a tutorial does per temperature: DataLoader batches, the teacher's forward on every batch, then evaluate."""
    teacher.eval()
    start = time.perf_counter()
    for x, _ in loader:
        x = x.flatten(1)
        with torch.no_grad():
            t = teacher(x)
        loss = soft_mse(student(x), t, temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    evaluate(student, *val)
    evaluate(student, *test)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("KDGUI_DATA_DIR"), help="folder with MNIST/raw (default $KDGUI_DATA_DIR)")
    parser.add_argument("--threads", type=int, help="torch CPU threads for both ways (default: kdgui.core.threads's rule)")
    parser.add_argument("--plain-epochs", type=int, default=1, help="epochs of the plain way to time, then scale (default 1)")
    args = parser.parse_args()
    with requesting(args.threads):  # --threads goes through the rule every engine follows, as kdgui-cli's does
        run(args)


def run(args: argparse.Namespace) -> None:
    root = str(resolve_data_dir(args.data_dir))
    temps = DEFAULT_TEMPERATURES
    # The plain way's step: the student trained and the teacher's forward pass, on every batch.
    plain_work = step_work(STUDENT_SPEC, BATCH) + step_work(TEACHER_SPEC, BATCH, training=False)
    sweep_work = step_work(STUDENT_SPEC, BATCH, copies=len(temps))
    print(f"torch {torch.__version__}, CPU threads: plain way {threads_for(plain_work)}, kdgui sweep {threads_for(sweep_work)}; "
          f"batch {BATCH}, {TRAIN_SIZE} images, {len(temps)} temperatures x {EPOCHS} epochs; other jobs on this machine "
          "make timings noisy")

    splits = load_splits("mnist", root)
    # Timing does not depend on the weights, so a freshly initialised teacher of the seed's size stands in.
    store = RunStore(tempfile.mkdtemp(prefix="kdgui-bench-"))
    run = store.create(Job("teacher", TEACHER_SPEC, TrainConfig(device="cpu")))
    teacher = build_model(TEACHER_SPEC, seed=0)
    run.save_weights(teacher.state_dict())
    run.set_status("finished", val_acc=0.0, test_acc=0.0)  # placeholders: the stand-in's accuracy is not measured

    # The plain way, timed on --plain-epochs epoch(s) of one temperature and scaled to the whole sweep.
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(Subset(dataset, range(TRAIN_SIZE)), batch_size=BATCH, shuffle=True)
    student = build_model(STUDENT_SPEC, seed=0)
    optimizer = torch.optim.Adam(student.parameters(), lr=LR)
    val, test = (splits.val_x, splits.val_y), (splits.test_x, splits.test_y)
    with work_threads(plain_work):
        measured = sum(plain_epoch(student, teacher, loader, optimizer, 4.0, val, test) for _ in range(args.plain_epochs))
    per_epoch = measured / args.plain_epochs
    plain_total = per_epoch * EPOCHS * len(temps)

    # kdgui: the whole sweep for real, teacher logits included (the cache is emptied first).
    training._LOGIT_CACHE = OrderedDict()
    config = SweepConfig(run.id, temperatures=temps, seeds=1, epochs=EPOCHS, lr=LR, batch_size=BATCH, device="cpu", student_run=None)
    start = time.perf_counter()
    finished = None
    for event in run_sweep(config, store, data=splits):
        if isinstance(event, SweepFinished):
            finished = event
    ours = time.perf_counter() - start
    assert finished is not None

    print("\nPlain way: per temperature, a DataLoader loop with the teacher's forward on every batch, evaluation each epoch")
    print(f"  measured: {args.plain_epochs} epoch(s) of one temperature: {measured:.1f} s ({per_epoch:.1f} s per epoch)")
    print(f"  scaled to {len(temps)} x {EPOCHS} epochs (not run in full): {plain_total:7.1f} s  ({plain_total / 60:.1f} min)")
    print(f"kdgui sweep: {len(temps)} students as one batched computation, teacher logits once, run in full")
    print(f"  total: {ours:7.1f} s  (teacher logits {finished.teacher_seconds:.1f} s, setup and evaluations included; target <= 60 s)")
    print(f"  ratio: {plain_total / ours:7.1f}x")


if __name__ == "__main__":
    main()
