"""Soft-target analysis: choosing digits to inspect, entropy, ranked wrong classes, the class-similarity matrix."""

from __future__ import annotations

import numpy as np
import torch

from .config import NUM_CLASSES
from .losses import softmax_t

SELECTION_MODES = ("class", "index", "random", "interesting")


def softmax_np(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(z / T)`` in numpy, for the interface's slider path.

    A slider step recomputes soft targets for a few dozen digits; numpy does that in microseconds, while torch's
    thread pool can take milliseconds to wake on a busy machine (measured: 16 ms per tiny softmax under load).
    """
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy_bits(probabilities: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Shannon entropy in bits along the last axis (0 for one-hot, log2(10) = 3.32 for uniform); torch or numpy."""
    if isinstance(probabilities, np.ndarray):
        return -(probabilities * np.log2(np.maximum(probabilities, 1e-12))).sum(-1)
    p = probabilities.clamp_min(1e-12)
    return -(probabilities * p.log2()).sum(-1)


def ranked_wrong_classes(probabilities: torch.Tensor | np.ndarray, true_class: int) -> list[tuple[int, float]]:
    """The classes other than ``true_class``, most probable first, with their probabilities."""
    values = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-values, kind="stable").tolist()
    return [(c, float(values[c])) for c in order if c != true_class]


def select_digits(
    mode: str,
    labels: torch.Tensor,
    teacher_logits: torch.Tensor | None = None,
    *,
    count: int = 4,
    classes: list[int] | None = None,
    indices: list[int] | None = None,
    seed: int = 0,
) -> list[int]:
    """Indices into a test set: by class (the first ``count`` digits of each of ``classes``), by explicit index,
    at random (seeded), or "interesting": the teacher's misclassified digits first, then its least confident."""
    n = len(labels)
    if mode not in SELECTION_MODES:
        raise ValueError(f"selection mode must be one of {', '.join(SELECTION_MODES)}")
    if count < 1:
        raise ValueError("choose at least one digit")
    if mode == "index":
        if not indices:
            raise ValueError("give at least one test-set index")
        bad = [i for i in indices if not 0 <= i < n]
        if bad:
            raise ValueError(f"test-set indices run from 0 to {n - 1}; {bad[0]} is outside")
        return list(dict.fromkeys(indices))
    if mode == "class":
        if not classes or any(not 0 <= c < NUM_CLASSES for c in classes):
            raise ValueError(f"choose classes from 0 to {NUM_CLASSES - 1}")
        return [i for c in dict.fromkeys(classes) for i in torch.nonzero(labels == c).flatten()[:count].tolist()]
    if mode == "random":
        generator = torch.Generator().manual_seed(seed)
        return torch.randperm(n, generator=generator)[:count].tolist()
    if teacher_logits is None:
        raise ValueError("'interesting' digits need the teacher's logits")
    probabilities = softmax_t(teacher_logits, 1.0)
    confidence, predicted = probabilities.max(1)
    # Misclassified digits sort before every correct one; within each group, least confident first.
    key = confidence + (predicted == labels).float()
    return torch.argsort(key)[:count].tolist()


def class_similarity(logits: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, temperature: float) -> torch.Tensor:
    """[10, 10]: row c is the model's average soft target over the digits whose true class is c."""
    probabilities = softmax_np(np.asarray(logits), temperature)
    labels = np.asarray(labels)
    matrix = np.eye(NUM_CLASSES)[labels].T @ probabilities  # one-hot rows: sums per true class in one product
    counts = np.maximum(np.bincount(labels, minlength=NUM_CLASSES), 1)
    return torch.from_numpy(matrix / counts[:, None])


def most_similar_pairs(matrix: torch.Tensor, top: int = 5) -> list[tuple[int, int, float]]:
    """The off-diagonal class pairs with the largest symmetric average soft probability."""
    sym = (matrix + matrix.T) / 2
    pairs = [(i, j, float(sym[i, j])) for i in range(NUM_CLASSES) for j in range(i + 1, NUM_CLASSES)]
    return sorted(pairs, key=lambda p: -p[2])[:top]
