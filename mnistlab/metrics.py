"""How sure is an accuracy? Intervals for accuracies measured on a finite test set.

An accuracy measured on 1,000 test digits is itself a measurement with noise: another
1,000 digits from the same source would give a slightly different number. With 95%
confidence the true accuracy lies within about +-1.9 points of a measured 90% on 1,000
digits (+-0.9 points of a measured 98%), and within about +-0.6 points of 90% on 10,000.

Two models scored on the same digits are compared digit by digit (`paired_difference`,
`differ`): most digits both get right, and only the digits where they disagree say which
is better. That is far more sensitive than asking whether their two intervals overlap.

Introduced in notebooks 04b (`format_accuracy`) and 04c (`paired_difference`); used wherever
the series compares accuracies.
"""

import math

import numpy as np

Z_95 = 1.959964  # the 97.5% quantile of the standard normal distribution: a 95% interval


def _z_for(confidence):
    """The normal quantile for a two-sided interval (0.95 -> 1.96), from the standard library."""
    if not 0 < confidence < 1:
        raise ValueError(
            f"confidence must be between 0 and 1 (for example 0.95), got {confidence!r}"
        )
    if confidence == 0.95:
        return Z_95
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _check_counts(correct, total):
    if isinstance(total, bool) or not float(total).is_integer() or total <= 0:
        raise ValueError(
            f"total must be the number of test examples, a whole number above 0, got {total!r}"
        )
    if not 0 <= correct <= total:
        raise ValueError(
            f"correct must be between 0 and total={total}, got {correct!r}; to pass an "
            f"accuracy instead of a count, use correct=round(accuracy * total)"
        )


def accuracy_interval(correct, total, confidence=0.95):
    """Return `(low, high)`, the Wilson interval for an accuracy of `correct / total`.

    The Wilson score interval behaves well even at 100% or 0% accuracy, where the
    textbook "p +- 1.96 * sqrt(p (1 - p) / n)" would claim no uncertainty at all.

    Args:
        correct: how many test examples were classified correctly (a count, not a share).
        total: how many test examples there were.
        confidence: the interval's confidence level (default 0.95).

    Returns two floats between 0 and 1. Introduced in notebook 04b, through `format_accuracy`.
    """
    _check_counts(correct, total)
    z = _z_for(confidence)
    p = correct / total
    denominator = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_margin(accuracy, total, confidence=0.95):
    """Return the half-width of the interval around `accuracy`, for "96.1% +- 1.2".

    Args:
        accuracy: the measured accuracy, between 0 and 1.
        total: how many test examples it was measured on.
        confidence: the interval's confidence level (default 0.95).
    """
    low, high = accuracy_interval(round(accuracy * total), total, confidence)
    return (high - low) / 2


def format_accuracy(accuracy, total, confidence=0.95):
    """Write an accuracy with its uncertainty, e.g. "96.10% ± 1.21 (1,000 digits)".

    Args:
        accuracy: the measured accuracy, between 0 and 1.
        total: how many test examples it was measured on.
        confidence: the interval's confidence level (default 0.95).
    """
    margin = accuracy_margin(accuracy, total, confidence)
    return f"{accuracy:.2%} ± {100 * margin:.2f} ({total:,} digits)"


# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (any statistics table).
T_95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_interval(values):
    """Return `(mean, margin)` of a few repeated measurements, e.g. accuracies over seeds.

    The margin is the half-width of a 95% interval for the mean (Student's t), so
    "mean ± margin" is how sure we are of the average. With 3 to 5 runs it is wide:
    that is the honest size of what a handful of runs can show.

    Args:
        values: two or more numbers (a list, a NumPy array or a tensor).

    Introduced in notebook 04c.
    """
    values = [float(v) for v in values]
    n = len(values)
    if n < 2:
        raise ValueError(
            f"values must hold at least two measurements to say how much they vary, got {n}: "
            f"repeat the run with other seeds"
        )
    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))  # sample std
    df = n - 1
    t = T_95[df - 1] if df <= len(T_95) else Z_95 + (Z_95**3 + Z_95) / (4 * df)
    return mean, t * spread / math.sqrt(n)


def paired_difference(a, b, confidence=0.95, rounds=2000, seed=0):
    """How much higher is `a` than `b`, measured on the same examples? Return (gap, low, high).

    A paired bootstrap: draw as many examples as there are, with replacement, the same
    draw for both models; compute the gap of the means; repeat `rounds` times. The middle
    `confidence` share of those gaps is the interval. Because both models meet the same
    digits, the digits they both get right (or both wrong) cancel, and only their
    disagreements count.

    Args:
        a, b: one number per example for each model, in the same order: 1 for right and
            0 for wrong (the gap is then in accuracy), or each example's loss. Shaped (N,),
            or (runs, N) for several runs (seeds) paired run by run; the gap is then the
            mean over runs, and the examples are what is drawn.
        confidence: the interval's confidence level (default 0.95).
        rounds: bootstrap draws (default 2000).
        seed: the draws are repeatable: the same inputs give the same interval.

    Introduced in notebook 04c.
    """
    a, b = _paired_values(a, b)
    per_example = (a - b).mean(axis=0)  # (N,): the gap on each example, averaged over runs
    rng = np.random.default_rng(seed)
    n = len(per_example)
    gaps = np.concatenate([  # 250 draws at a time: bounded memory for 10,000 examples
        per_example[rng.integers(0, n, size=(min(250, rounds - done), n))].mean(axis=1)
        for done in range(0, rounds, 250)
    ])
    _z_for(confidence)  # the same check of `confidence` as the intervals
    tail = (1 - confidence) / 2
    low, high = np.quantile(gaps, [tail, 1 - tail])
    return float(per_example.mean()), float(low), float(high)


def _paired_values(a, b):
    """`a` and `b` as float arrays (runs, N) of the same shape, or a clear error."""
    arrays = []
    for name, values in (("a", a), ("b", b)):
        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        values = np.asarray(values, dtype=np.float64)
        if values.ndim not in (1, 2) or values.shape[-1] == 0:
            raise ValueError(
                f"{name}: received values shaped {values.shape}; expected one number per "
                f"example, shaped (N,) or (runs, N). Fix: pass (predicted == labels) for each "
                f"model, on the same examples in the same order"
            )
        arrays.append(values.reshape(-1, values.shape[-1]))
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(
            f"a and b: received shapes {arrays[0].shape} and {arrays[1].shape}; expected the "
            f"same shape, one value per example of the same examples. Fix: score both models "
            f"on the same loader"
        )
    return arrays


def differ(correct_a, correct_b, confidence=0.95):
    """Return True when two models, scored on the same examples, differ by more than the noise.

    `correct_a` and `correct_b` hold 1 (right) or 0 (wrong) per example, for example
    `predicted == labels`. The models differ when the `paired_difference` interval of
    their accuracy gap does not include 0.
    """
    _, low, high = paired_difference(correct_a, correct_b, confidence)
    return low > 0 or high < 0
