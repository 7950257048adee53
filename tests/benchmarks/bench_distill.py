"""Benchmark: one epoch over 50,000 MNIST images, kdgui's tensor pipeline vs the plain DataLoader way, side by side."""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC
from kdgui.core.data import load_splits, resolve_data_dir
from kdgui.core.losses import soft_mse
from kdgui.core.models import build_model
from kdgui.core.training import make_adam, teacher_logits

BATCH, T, TRAIN_SIZE, DISTILL_EPOCHS = 100, 4.0, 50_000, 14


def plain_loader(root: str) -> DataLoader:
    """What a tutorial does: torchvision dataset, ToTensor per sample, shuffling DataLoader."""
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    return DataLoader(Subset(dataset, range(TRAIN_SIZE)), batch_size=BATCH, shuffle=True)


def plain_distill_epoch(student, teacher, loader) -> float:
    opt = torch.optim.Adam(student.parameters(), lr=5e-3)
    teacher.eval()
    start = time.perf_counter()
    for x, _ in loader:
        x = x.flatten(1)
        with torch.no_grad():
            t = teacher(x)  # the teacher runs on every batch of every epoch
        loss = soft_mse(student(x), t, T)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def kdgui_distill_epoch(student, x, logits, generator) -> float:
    opt = make_adam(student.parameters(), 5e-3, torch.device("cpu"))  # the engine's optimiser
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator)
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        loss = soft_mse(student(x[idx]), logits[idx], T)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def plain_supervised_epoch(model, loader) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        loss = F.cross_entropy(model(x.flatten(1)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def kdgui_supervised_epoch(model, x, y, generator) -> float:
    opt = make_adam(model.parameters(), 5e-4, torch.device("cpu"))
    model.train()
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator)
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("KDGUI_DATA_DIR"), help="folder with MNIST/raw (default $KDGUI_DATA_DIR)")
    parser.add_argument("--skip-teacher", action="store_true", help="only the distillation comparison")
    args = parser.parse_args()
    root = str(resolve_data_dir(args.data_dir))
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, batch {BATCH}, {TRAIN_SIZE} images")

    teacher = build_model(TEACHER_SPEC, seed=0)
    splits = load_splits("mnist", root)
    x, y = splits.train_x, splits.train_y
    loader = plain_loader(root)

    # Distillation: the plain way queries the teacher per batch; kdgui computes its logits once per
    # transfer set and reuses them every epoch, so their cost is shown once and amortised over the run.
    start = time.perf_counter()
    logits = teacher_logits(teacher, x)
    logit_seconds = time.perf_counter() - start
    plain = plain_distill_epoch(build_model(STUDENT_SPEC, seed=0), teacher, loader)
    ours = kdgui_distill_epoch(build_model(STUDENT_SPEC, seed=0), x, logits, generator)
    amortised = ours + logit_seconds / DISTILL_EPOCHS
    print("\nDistillation epoch, student 784-50-10, soft MSE T=4")
    print(f"  plain DataLoader + teacher forward per batch: {plain:7.2f} s")
    print(f"  kdgui tensors + cached teacher logits:        {ours:7.2f} s  (teacher logits once: {logit_seconds:.2f} s)")
    print(f"  ratio per epoch:                              {plain / ours:7.1f}x")
    print(f"  ratio with the logits amortised over {DISTILL_EPOCHS} epochs: {plain / amortised:5.1f}x  (target >= 10x)")
    print(f"  ratio with the logits charged to one epoch:   {plain / (ours + logit_seconds):7.1f}x")

    if not args.skip_teacher:
        plain = plain_supervised_epoch(build_model(TEACHER_SPEC, seed=0), loader)
        ours = kdgui_supervised_epoch(build_model(TEACHER_SPEC, seed=0), x, y, generator)
        print("\nTeacher epoch, 784-1200-1200-10 from labels")
        print(f"  plain DataLoader: {plain:7.2f} s")
        print(f"  kdgui tensors:    {ours:7.2f} s")
        print(f"  ratio:            {plain / ours:7.2f}x  (the teacher's matmuls dominate both)")


if __name__ == "__main__":
    main()
