"""Benchmark: a stroke's end to three answers - preprocess a 280x280 canvas, then teacher, student and distilled forwards."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from kdgui.core.config import STUDENT_SPEC, TEACHER_SPEC
from kdgui.core.errors import KdguiError
from kdgui.core.models import build_model
from kdgui.core.predict import NamedModel, Predictor, bundled_models
from kdgui.core.preprocess import preprocess

BUDGET_MS = 30.0  # the bound for stroke end to predictions


def drawn_digit(size: int = 280, pen: float = 11.0) -> np.ndarray:
    """A "2" drawn with a round pen, as the canvas would hand it over (uint8, ink 255 on 0)."""
    stroke = [(60, 90), (40, 140), (60, 190), (110, 180), (200, 90), (220, 90), (220, 200)]
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    dist = np.full((size, size), np.inf)
    for (y0, x0), (y1, x1) in zip(stroke[:-1], stroke[1:]):
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((rows - y0) * dy + (cols - x0) * dx) / (dy * dy + dx * dx), 0, 1)
        dist = np.minimum(dist, np.hypot(rows - (y0 + t * dy), cols - (x0 + t * dx)))
    return np.where(dist <= pen, 255, 0).astype(np.uint8)


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]


def timed(fn, repeats: int) -> list[float]:
    for _ in range(10):  # warm-up: first calls allocate and pick kernels
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1000, help="timed repetitions of each path (default 1000)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        models = bundled_models()
        source = "bundled float16 weights"
    except KdguiError as exc:  # the timing does not depend on the weights' values
        models = [NamedModel("teacher", "teacher", build_model(TEACHER_SPEC, seed=0).eval()),
                  NamedModel("student", "student", build_model(STUDENT_SPEC, seed=1).eval()),
                  NamedModel("distilled", "distilled", build_model(STUDENT_SPEC, seed=2).eval())]
        source = f"untrained seed networks ({exc})"
    predictor = Predictor(models)
    canvas = drawn_digit()
    pixels = preprocess(canvas)
    assert pixels is not None
    prediction = predictor.predict_image(canvas)
    print(f"canvas-predict: models {', '.join(m.label for m in models)} ({source})")
    print(f"canvas-predict: torch {torch.__version__}, {torch.get_num_threads()} threads, {args.repeats} repeats, canvas 280x280 uint8")
    print(f"canvas-predict: answers {prediction.classes} for a drawn 2")
    rows = [
        ("preprocess 280x280", lambda: preprocess(canvas)),
        ("3 forwards", lambda: predictor.predict(pixels)),
        ("preprocess + 3 forwards", lambda: predictor.predict_image(canvas)),
        ("softmax_t for 3 models (slider)", lambda: prediction.probabilities(4.0)),
    ]
    results = {}
    for name, fn in rows:
        results[name] = p50, p99 = percentiles(timed(fn, args.repeats))
        print(f"canvas-predict {name:<32} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
    p50, p99 = results["preprocess + 3 forwards"]
    verdict = "within" if p99 < BUDGET_MS else "OVER"
    print(f"canvas-predict stroke-end-to-predictions (core): p50 {p50:.3f} ms, p99 {p99:.3f} ms, {verdict} the {BUDGET_MS:.0f} ms budget")

if __name__ == "__main__":
    main()
