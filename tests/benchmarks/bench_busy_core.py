"""Benchmark: a distillation epoch alone and with one busy core beside it, with the threads kdgui chooses
(kdgui.core.threads) against torch's default; and a few teacher steps the same way.

The epoch is the engine's inner loop: 784-50-10 on 50,000 MNIST images from the teacher's logits computed once
(as bench_distill.py), batch 100, soft MSE at T=4, fused Adam. "Busy core": a subprocess spinning in Python,
started before and ended after each timed run. Target: the busy/alone slowdown of the chosen threads <= 2x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from kdgui.core.bundled import load_bundled_model
from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC
from kdgui.core.data import load_splits, resolve_data_dir
from kdgui.core.losses import soft_mse
from kdgui.core.models import build_model
from kdgui.core.threads import step_work, threads_for, torch_threads
from kdgui.core.training import make_adam, teacher_logits

BATCH, T, TRAIN_SIZE = 100, 4.0, 50_000


@contextmanager
def busy_core(on: bool) -> Iterator[None]:
    """One core kept busy by another process for the length of the block (a Python loop spinning)."""
    if not on:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)  # let it get going (and the scheduler notice it)
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def distill_epoch(x: torch.Tensor, logits: torch.Tensor) -> float:
    student = build_model(STUDENT_SPEC, seed=0)
    opt = make_adam(student.parameters(), 5e-3, torch.device("cpu"))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        loss = soft_mse(student(x[idx]), logits[idx], T)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def teacher_steps(x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    teacher = build_model(TEACHER_SPEC, seed=0)
    opt = make_adam(teacher.parameters(), 5e-4, torch.device("cpu"))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for i in range(steps):
        idx = order[i * BATCH : (i + 1) * BATCH]
        loss = F.cross_entropy(teacher(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def timed(run: Callable[[], float], threads: int | Callable[[], int], busy: bool, repeats: int) -> tuple[float, int]:
    """The fastest of ``repeats`` runs with ``threads`` (a count, or the rule asked inside the busy block)."""
    with busy_core(busy):
        n = threads() if callable(threads) else threads
        with torch_threads(n):
            return min(run() for _ in range(repeats)), n


def load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("KDGUI_DATA_DIR"), help="folder with MNIST/raw (default $KDGUI_DATA_DIR)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per figure, the fastest kept (default 2)")
    parser.add_argument("--teacher-steps", type=int, default=50, help="teacher training steps timed per figure (0: none)")
    args = parser.parse_args()
    default = torch.get_num_threads()
    print(f"torch {torch.__version__}, default {default} threads, {load()}")

    splits = load_splits("mnist", str(resolve_data_dir(args.data_dir)))
    x, y = splits.train_x[:TRAIN_SIZE], splits.train_y[:TRAIN_SIZE]
    logits = teacher_logits(load_bundled_model("teacher").model.float(), x)  # once, as the engine caches them

    student_rule = lambda: threads_for(step_work(STUDENT_SPEC, BATCH), "cpu")  # noqa: E731
    teacher_rule = lambda: threads_for(step_work(TEACHER_SPEC, BATCH), "cpu")  # noqa: E731
    cases = [("distillation epoch, 784-50-10, 50,000 images", lambda: distill_epoch(x, logits), student_rule, args.repeats)]
    if args.teacher_steps:
        cases.append((f"teacher 784-1200-1200-10, {args.teacher_steps} steps", lambda: teacher_steps(x, y, args.teacher_steps),
                      teacher_rule, 1))
    for title, run, rule, repeats in cases:
        print(f"\n{title}")
        figures = {}
        for label, threads in (("chosen", rule), ("torch default", default)):
            for busy in (False, True):
                seconds, n = timed(run, threads, busy, repeats)
                figures[label, busy] = seconds
                print(f"  {label:<13} ({n} thread{'s' if n > 1 else ''}), {'one busy core beside it' if busy else 'alone':<23} "
                      f"{seconds:7.2f} s", flush=True)
        for label in ("chosen", "torch default"):
            ratio = figures[label, True] / figures[label, False]
            target = "  (target <= 2x)" if label == "chosen" and title.startswith("distillation") else ""
            print(f"  slowdown with a busy core, {label + ':':<15} {ratio:5.2f}x{target}")
        print(f"  chosen vs torch default with a busy core:   {figures['torch default', True] / figures['chosen', True]:5.1f}x faster")
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
