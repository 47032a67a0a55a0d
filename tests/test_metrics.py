"""The accuracy intervals against values computed independently."""

import math

import numpy as np
import pytest

from mnistlab.metrics import (
    accuracy_interval,
    accuracy_margin,
    differ,
    format_accuracy,
    paired_difference,
)


def test_wilson_interval_matches_reference_values():
    # Wilson 95% interval for 90/100, as published in Newcombe (1998), table I style checks:
    low, high = accuracy_interval(90, 100)
    assert low == pytest.approx(0.8256, abs=1e-4)
    assert high == pytest.approx(0.9448, abs=1e-4)


def test_margin_on_1000_and_10000_digits():
    # The numbers the notebooks quote: about 1.9 points at 1,000 digits near 90%, 0.2 at 99%
    # on 10,000.
    assert 100 * accuracy_margin(0.90, 1000) == pytest.approx(1.86, abs=0.05)
    assert 100 * accuracy_margin(0.95, 1000) == pytest.approx(1.35, abs=0.05)
    assert 100 * accuracy_margin(0.99, 10_000) == pytest.approx(0.195, abs=0.01)


def test_interval_stays_inside_0_1_and_is_not_empty_at_the_edges():
    low, high = accuracy_interval(1000, 1000)
    assert high == 1.0 and 0.99 < low < 1.0
    low, high = accuracy_interval(0, 50)
    assert low == 0.0 and 0 < high < 0.1


def test_wider_confidence_gives_wider_interval():
    low95, high95 = accuracy_interval(900, 1000)
    low99, high99 = accuracy_interval(900, 1000, confidence=0.99)
    assert low99 < low95 and high99 > high95


def test_format_accuracy():
    assert format_accuracy(0.961, 1000) == "96.10% ± 1.21 (1,000 digits)"


def test_a_consistent_small_gap_is_found_where_the_intervals_overlap():
    # 96.1% and 95.5% on the same 1,000 digits: their intervals overlap (±1.2 points each),
    # but here model a is right on every digit b gets right, and on 6 more.
    b = np.r_[np.ones(955), np.zeros(45)]
    a = b.copy()
    a[955:961] = 1
    low_a, _ = accuracy_interval(961, 1000)
    _, high_b = accuracy_interval(955, 1000)
    assert low_a < high_b  # the unpaired intervals overlap...
    gap, low, high = paired_difference(a, b)
    assert gap == pytest.approx(0.006) and 0 < low < gap < high  # ...the paired gap does not
    assert differ(a, b) and not differ(a, a)


def test_a_gap_made_of_disagreements_both_ways_is_noise():
    rng = np.random.default_rng(0)
    a = (rng.random(1000) < 0.9).astype(int)
    b = a.copy()
    flip = rng.choice(1000, 60, replace=False)  # 30 digits each way, plus 6 more for a
    b[flip[:30]] = 1 - b[flip[:30]]
    a[flip[30:60]] = 1 - a[flip[30:60]]
    gap, low, high = paired_difference(a, b)
    assert low < 0 < high and not differ(a, b)


def test_the_paired_interval_matches_the_normal_approximation():
    # For many examples the bootstrap interval is close to gap ± 1.96 * sd / sqrt(N).
    rng = np.random.default_rng(3)
    a = rng.random(5000) < 0.95
    b = rng.random(5000) < 0.93
    d = a.astype(float) - b
    gap, low, high = paired_difference(a, b, rounds=4000)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    assert gap == pytest.approx(d.mean())
    assert low == pytest.approx(gap - half, abs=0.002)
    assert high == pytest.approx(gap + half, abs=0.002)


def test_several_runs_are_paired_run_by_run_and_the_draws_repeat():
    rng = np.random.default_rng(1)
    a = (rng.random((3, 1000)) < 0.9).astype(float)
    b = a.copy()
    b[:, :20] = 0  # b is wrong on 20 digits that a gets right, in every run
    gap, low, high = paired_difference(a, b)
    assert gap == pytest.approx(a[:, :20].mean(axis=0).mean() * 20 / 1000)
    assert (gap, low, high) == paired_difference(a, b)  # seeded: the same interval again
    assert differ(a, b)


def test_unpaired_inputs_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="same examples"):
        paired_difference(np.ones(10), np.ones(9))
    with pytest.raises(ValueError, match="predicted == labels"):
        differ(np.ones((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="confidence"):
        paired_difference(np.ones(10), np.ones(10), confidence=95)


@pytest.mark.parametrize(
    "correct, total, word",
    [(5, 0, "total"), (5, 2.5, "total"), (11, 10, "correct"), (-1, 10, "correct")],
)
def test_bad_counts_name_the_argument(correct, total, word):
    with pytest.raises(ValueError, match=word):
        accuracy_interval(correct, total)


def test_bad_confidence_names_it():
    with pytest.raises(ValueError, match="confidence"):
        accuracy_interval(5, 10, confidence=95)
    assert math.isfinite(accuracy_interval(5, 10, confidence=0.9)[0])


def test_mean_interval_matches_a_t_table_computation():
    from mnistlab.metrics import mean_interval

    mean, margin = mean_interval([0.90, 0.92, 0.94, 0.91, 0.93])
    assert mean == pytest.approx(0.92)
    # sample std 0.015811; t(4 df) = 2.776; margin = 2.776 * 0.015811 / sqrt(5)
    assert margin == pytest.approx(2.776 * 0.0158114 / 5**0.5, rel=1e-4)
    assert mean_interval([1, 1, 1])[1] == 0
    with pytest.raises(ValueError, match="values"):
        mean_interval([0.9])


def test_nested_subsets_turn_into_tensors_the_fast_way_and_match_indexing():
    import torch
    from torch.utils.data import Subset

    from mnistlab import MNISTSample, dataset_to_tensors, take, train_val_split
    from mnistlab.data import MNIST_TRANSFORM

    base = MNISTSample(train=False, transform=MNIST_TRANSFORM)
    inner, _ = train_val_split(take(base, 300), val_fraction=0.2, seed=1)
    images, labels = dataset_to_tensors(Subset(inner, [5, 0, 7]))
    for row, i in enumerate([5, 0, 7]):
        image, label = inner[i]
        assert torch.allclose(images[row], image, atol=1e-6) and labels[row] == label
