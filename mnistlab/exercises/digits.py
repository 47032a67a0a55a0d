"""The check behind notebook 08a's "Your turn": step 5 of MNIST's recipe, centring by mass.

The student writes `centre_by_mass(digit)`: it takes a digit already cropped and scaled to
fit a 20 x 20 box, an array (h, w), and places it in a 28 x 28 field of zeros so that its
centre of mass lands as near (14, 14) as whole-pixel moves allow, without cutting the
digit. `check_centre_by_mass` runs it on five digits and compares each field with the one
`mnistlab.digits.centre_by_mass` makes: three stored drawings (a 3, a thin 1, a lopsided
7) and two made-up digits whose ink is heavy in one corner, which cannot be centred
without moving them past the edge, so they stop at the edge.
"""

import numpy as np
import torch

from .. import digits
from ..drawing import STROKE_DIGITS, draw_strokes
from . import Failed, attempt, not_yet, right

SIZE = digits.SIZE  # the field is 28 x 28


def boxed(label):
    """Stored drawing `label`, taken through steps 1 to 4 by the package: an array (h, w)."""
    ink = digits.ink_on_black(digits.to_grey(draw_strokes(STROKE_DIGITS[label])))
    return digits.fit_in_box(digits.crop_to_ink(ink))


def corner_heavy(corner):
    """A made-up 20 x 20 digit: a bright 5 x 5 block in one corner, faint lines at the others.

    `corner` is "top-left" or "bottom-right". Its centre of mass is so far from its middle
    that centring it would push it out of the field: it must stop at the edge.
    """
    digit = np.zeros((digits.BOX, digits.BOX), dtype=np.float32)
    digit[-1, :] = digit[:, -1] = 0.1  # the faint lines make the crop 20 x 20
    digit[:5, :5] = 1.0  # the bright block
    return digit if corner == "top-left" else digit[::-1, ::-1].copy()


def examples():
    """(name, digit) pairs the check tries, from the plainest to the hardest."""
    return [("the drawn 3", boxed(3)), ("the drawn 1 (tall and thin)", boxed(1)),
            ("the drawn 7 (lopsided)", boxed(7)),
            ("a digit heavy in its top-left corner", corner_heavy("top-left")),
            ("a digit heavy in its bottom-right corner", corner_heavy("bottom-right"))]


def place(digit, top, left):
    """`digit` copied into a field of zeros with its top-left pixel at (top, left)."""
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return field


def at(point):
    """A (row, column) position as text: (13.66, 14.24)."""
    return f"({point[0]:.2f}, {point[1]:.2f})"


def as_array(result):
    """The student's result as a float64 NumPy array, or raise `Failed`."""
    if isinstance(result, torch.Tensor):
        result = result.detach().cpu().numpy()
    try:
        return np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failed(f"centre_by_mass returned {type(result).__name__}; return the field, "
                     "a (28, 28) array") from None


def hint(yours, digit):
    """Why a field with the centre of mass `yours` may be wrong: a known mistake, or ''."""
    height, width = digit.shape
    mistakes = [
        (place(digit, (SIZE - height) // 2, (SIZE - width) // 2),
         "that is where centring the digit's box puts it; use its centre of mass"),
    ]
    row, col = digits.centre_of_mass(digit)
    swapped = [int(np.clip(round(SIZE / 2 - m), 0, SIZE - s))
               for m, s in zip((col, row), (height, width))]
    mistakes.append((place(digit, *swapped), "rows and columns are swapped somewhere"))
    floored = [int(np.clip(int(SIZE / 2 - m), 0, SIZE - s))
               for m, s in zip((row, col), (height, width))]
    mistakes.append((place(digit, *floored),
                     "the move is cut to whole pixels, not rounded: use round()"))
    return next((f": {why}" for field, why in mistakes if np.allclose(yours, field)), "")


def problem(centre_by_mass, name, digit):
    """What is wrong with the student's field for `digit` (a sentence), or None if right."""
    height, width = digit.shape
    where = f"on {name}, {height} x {width} pixels"
    given = digit.copy()
    try:
        yours = as_array(attempt(centre_by_mass, given))
    except Failed as failed:
        return f"{where}: {failed}"
    if not np.array_equal(given, digit):
        return f"{where}: centre_by_mass changed the digit it was given; copy it instead"
    if yours.shape != (SIZE, SIZE):
        return (f"{where}: centre_by_mass returned shape {yours.shape}, expected (28, 28): "
                "place the digit in a 28 x 28 field of zeros")
    expected = digits.centre_by_mass(digit)
    if np.allclose(yours, expected, atol=1e-6):
        return None
    if not np.isclose(yours.sum(), digit.sum(), rtol=1e-4):
        return (f"{where}: the field holds {yours.sum():.1f} of ink, the digit "
                f"{digit.sum():.1f}; copy the whole digit into the field, unchanged")
    centre, target = digits.centre_of_mass(yours), digits.centre_of_mass(expected)
    if max(abs(a - b) for a, b in zip(centre, target)) > 1e-3:
        return (f"{where}: centre of mass at {at(centre)}, expected {at(target)} (the "
                f"nearest to (14, 14) that whole-pixel moves reach without cutting the "
                f"digit){hint(yours, digit)}")
    row, col = np.unravel_index(np.abs(yours - expected).argmax(), yours.shape)
    return (f"{where}: the centre of mass is right, but pixel ({row}, {col}) is "
            f"{yours[row, col]:.3f}, expected {expected[row, col]:.3f}; copy the digit "
            "unchanged")


def check_centre_by_mass(centre_by_mass):
    """Check the student's `centre_by_mass(digit)` against the package's; print one verdict.

    `digit` is a cropped digit that fits a 20 x 20 box, an array (h, w) with paper 0; the
    result must be the (28, 28) field that `mnistlab.digits.centre_by_mass` returns. The
    check tries five digits, from the drawn 3 of notebook 08a to two whose ink is heavy in
    a corner (kept whole at the edge), and names the first that differs and how: its
    shape, its ink, or where its centre of mass lies. Returns True when all five match.

    Introduced in notebook 08a.
    """
    tried = examples()
    for name, digit in tried:
        wrong = problem(centre_by_mass, name, digit)
        if wrong is not None:
            return not_yet(wrong)
    three = digits.centre_of_mass(digits.centre_by_mass(tried[0][1]))
    return right(f"centre_by_mass places all {len(tried)} digits where "
                 f"digits.centre_by_mass does, from the drawn 3 (centre of mass now at "
                 f"{at(three)}) to the two made-up digits each heavy in one corner, kept "
                 "whole at the edge")
