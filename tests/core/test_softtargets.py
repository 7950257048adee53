"""Soft-target analysis: digit selection, entropy, ranked wrong classes and the class-similarity matrix."""

import math

import pytest
import torch

from kdgui.core.losses import softmax_t
from kdgui.core.softtargets import class_similarity, entropy_bits, most_similar_pairs, ranked_wrong_classes, select_digits


def test_entropy_is_zero_for_one_hot_and_log2_10_for_uniform():
    one_hot = torch.zeros(10)
    one_hot[3] = 1
    assert float(entropy_bits(one_hot)) == pytest.approx(0.0, abs=1e-6)
    assert float(entropy_bits(torch.full((10,), 0.1))) == pytest.approx(math.log2(10))


def test_entropy_rises_with_temperature():
    logits = torch.tensor([8.0, 1.0, 3.0, 0.0, -2.0, 0.5, 0.0, 4.0, 1.0, 2.0])
    entropies = [float(entropy_bits(softmax_t(logits, t))) for t in (0.5, 1, 2, 4, 10, 20)]
    assert entropies == sorted(entropies) and entropies[-1] > entropies[0] + 2


def test_ranked_wrong_classes_skip_the_true_class_and_sort_descending():
    p = torch.tensor([0.05, 0.6, 0.0, 0.1, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0])
    ranked = ranked_wrong_classes(p, true_class=1)
    assert [c for c, _ in ranked[:3]] == [7, 3, 0]
    assert 1 not in [c for c, _ in ranked] and len(ranked) == 9


def test_select_by_class_index_random():
    labels = torch.tensor([3, 1, 3, 9, 4, 9, 3, 0])
    assert select_digits("class", labels, classes=[3], count=2) == [0, 2]
    assert select_digits("class", labels, classes=[9, 4], count=1) == [3, 4]
    assert select_digits("index", labels, indices=[5, 1, 5]) == [5, 1]
    assert select_digits("random", labels, count=3, seed=1) == select_digits("random", labels, count=3, seed=1)
    assert select_digits("random", labels, count=8, seed=1) != select_digits("random", labels, count=8, seed=2)
    with pytest.raises(ValueError, match="outside"):
        select_digits("index", labels, indices=[8])
    with pytest.raises(ValueError, match="classes"):
        select_digits("class", labels, classes=[10])


def test_interesting_digits_are_misclassified_first_then_least_confident():
    labels = torch.tensor([0, 1, 2, 3])
    logits = torch.tensor([
        [9.0, 0, 0, 0],  # right, very confident
        [0.0, 1, 0, 0],  # right, unsure
        [5.0, 0, 0, 0],  # wrong (says 0)
        [0.0, 0, 0, 3],  # right, fairly confident
    ])
    assert select_digits("interesting", labels, logits, count=3) == [2, 1, 3]


def test_class_similarity_rows_are_average_soft_targets():
    labels = torch.tensor([4, 4, 9])
    logits = torch.randn(3, 10, generator=torch.Generator().manual_seed(0))
    matrix = class_similarity(logits, labels, 2.0)
    p = softmax_t(logits, 2.0)
    assert torch.allclose(matrix[4].float(), (p[0] + p[1]) / 2, atol=1e-6)
    assert torch.allclose(matrix[9].float(), p[2], atol=1e-6)
    assert torch.all(matrix[0] == 0)  # a class with no digits stays empty rather than dividing by zero
    pairs = most_similar_pairs(matrix, top=1)
    assert len(pairs) == 1 and pairs[0][0] < pairs[0][1]
