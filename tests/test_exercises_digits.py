"""The check of notebook 08a's "Your turn": step 5, centring a digit by its centre of mass."""

import numpy as np
import torch

from mnistlab import digits
from mnistlab.exercises.digits import check_centre_by_mass, corner_heavy, examples


def centre_by_mass(digit):
    """The worked answer of notebook 08a."""
    weights = digit / digit.sum()
    r, c = np.indices(digit.shape)
    centre = ((r * weights).sum(), (c * weights).sum())
    top, left = (int(np.clip(round(14 - m), 0, 28 - s)) for m, s in zip(centre, digit.shape))
    field = np.zeros((28, 28), dtype=np.float32)
    field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return field


def verdict(answer, capsys):
    result = check_centre_by_mass(answer)
    line = capsys.readouterr().out
    assert line.count("\n") == 1, "a check prints one line"
    return result, line


def test_the_worked_answer_and_the_package_are_right(capsys):
    for answer in (centre_by_mass, digits.centre_by_mass):
        result, line = verdict(answer, capsys)
        assert result is True
        assert line.startswith("Right: centre_by_mass places all 5 digits where "
                               "digits.centre_by_mass does, from the drawn 3 (centre of mass "
                               "now at (13.66, 14.24))")


def test_a_tensor_result_is_accepted(capsys):
    result, _ = verdict(lambda digit: torch.from_numpy(centre_by_mass(digit)), capsys)
    assert result is True


def test_the_corner_digits_cannot_be_centred_without_the_edge():
    for corner in ("top-left", "bottom-right"):
        digit = corner_heavy(corner)
        assert digit.shape == (20, 20) and digits.crop_to_ink(digit).shape == (20, 20)
        row, col = digits.centre_of_mass(digits.centre_by_mass(digit))
        assert abs(row - 14) > 1 and abs(col - 14) > 1  # kept whole, so not at (14, 14)
    names = [name for name, _ in examples()]
    assert names[0] == "the drawn 3" and len(names) == 5


def test_the_skeleton_is_not_yet(capsys):
    def centre_by_mass(digit):
        ...

    result, line = verdict(centre_by_mass, capsys)
    assert result is False
    assert line.startswith("Not yet: on the drawn 3, 20 x 13 pixels: centre_by_mass returned "
                           "None: fill in")


def test_a_digit_pushed_past_the_edge_is_named(capsys):
    def unclipped(digit):
        weights = digit / digit.sum()
        r, c = np.indices(digit.shape)
        top, left = (round(14 - (r * weights).sum()), round(14 - (c * weights).sum()))
        field = np.zeros((28, 28), dtype=np.float32)
        field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
        return field

    result, line = verdict(unclipped, capsys)
    assert result is False
    assert line.startswith("Not yet: on a digit heavy in its top-left corner, 20 x 20 pixels: "
                           "unclipped raised ValueError")


def test_centring_the_box_is_named_with_both_centres(capsys):
    def by_box(digit):
        height, width = digit.shape
        field = np.zeros((28, 28), dtype=np.float32)
        top, left = (28 - height) // 2, (28 - width) // 2
        field[top:top + height, left:left + width] = digit
        return field

    result, line = verdict(by_box, capsys)
    assert result is False
    assert ("centre of mass at (12.28, 14.79), expected (14.28, 13.79)" in line
            and "centring the digit's box" in line)


def test_swapped_axes_and_cut_moves_are_named(capsys):
    def swapped(digit):
        weights = digit / digit.sum()
        r, c = np.indices(digit.shape)
        centre = ((c * weights).sum(), (r * weights).sum())  # column first: wrong
        top, left = (int(np.clip(round(14 - m), 0, 28 - s)) for m, s in zip(centre, digit.shape))
        field = np.zeros((28, 28), dtype=np.float32)
        field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
        return field

    def cut(digit):
        weights = digit / digit.sum()
        r, c = np.indices(digit.shape)
        centre = ((r * weights).sum(), (c * weights).sum())
        top, left = (int(np.clip(int(14 - m), 0, 28 - s)) for m, s in zip(centre, digit.shape))
        field = np.zeros((28, 28), dtype=np.float32)
        field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
        return field

    result, line = verdict(swapped, capsys)
    assert result is False and "rows and columns are swapped" in line
    result, line = verdict(cut, capsys)
    assert result is False and "use round()" in line


def test_wrong_shape_lost_ink_and_changed_input_are_named(capsys):
    def unplaced(digit):
        return digit

    def scaled(digit):
        return centre_by_mass(digit) / 2

    def in_place(digit):
        field = centre_by_mass(digit.copy())
        digit /= digit.sum()
        return field

    for answer, words in [(unplaced, "returned shape (20, 13), expected (28, 28)"),
                          (scaled, "the field holds"),
                          (in_place, "changed the digit it was given"),
                          (lambda digit: "a field", "returned str")]:
        result, line = verdict(answer, capsys)
        assert result is False and words in line, line


def test_a_digit_kept_inside_on_one_side_only_is_named(capsys):
    def upper_bound_only(digit):
        weights = digit / digit.sum()
        r, c = np.indices(digit.shape)
        centre = ((r * weights).sum(), (c * weights).sum())
        top, left = (min(round(14 - m), 28 - s) for m, s in zip(centre, digit.shape))
        field = np.zeros((28, 28), dtype=np.float32)
        field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
        return field

    result, line = verdict(upper_bound_only, capsys)
    assert result is False
    assert line.startswith("Not yet: on a digit heavy in its bottom-right corner, 20 x 20 "
                           "pixels: upper_bound_only raised ValueError")
