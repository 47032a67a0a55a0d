"""The check of notebook 07a's "Your turn": dropout by hand, against what nn.Dropout does."""

import torch
from torch import nn

from mnistlab.exercises.generalisation import check_dropout


class MyDropout(nn.Module):
    """The worked answer of notebook 07a."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1 - self.p)


def verdict(answer, capsys):
    result = check_dropout(answer)
    line = capsys.readouterr().out
    assert line.count("\n") == 1, "a check prints one line"
    return result, line


def test_the_worked_answer_and_nn_dropout_are_right(capsys):
    for answer in (MyDropout, nn.Dropout):
        result, line = verdict(answer, capsys)
        assert result is True and line.startswith("Right: MyDropout(0.2) zeroed 2")


def test_the_check_leaves_the_notebooks_random_numbers_alone(capsys):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    verdict(MyDropout, capsys)
    assert torch.equal(torch.rand(3), expected)


def test_the_skeletons_are_not_yet(capsys):
    class Unfinished(nn.Module):  # the your-turn cell with forward's body replaced by ...
        def __init__(self, p=0.5):
            super().__init__()
            self.p = p

        def forward(self, x):
            ...

    class Empty(nn.Module):  # an __init__ replaced by ... as well
        def __init__(self, p=0.5):
            ...

    result, line = verdict(Unfinished, capsys)
    assert result is False and "Unfinished returned None: fill in" in line
    result, line = verdict(Empty, capsys)
    assert result is False and "start __init__ with super().__init__()" in line


def test_unscaled_kept_values_are_named(capsys):
    class NoScale(MyDropout):
        def forward(self, x):
            return x * (torch.rand_like(x) >= self.p) if self.training else x

    result, line = verdict(NoScale, capsys)
    assert result is False
    assert "kept values are not scaled by 1/(1-p): they equal the input" in line


def test_multiplying_by_1_minus_p_is_named(capsys):
    class Times(MyDropout):
        def forward(self, x):
            return x * (torch.rand_like(x) >= self.p) * (1 - self.p) if self.training else x

    result, line = verdict(Times, capsys)
    assert result is False and "multiplied by 1 - p; divide by it instead" in line


def test_dropping_in_eval_mode_is_named(capsys):
    class Always(MyDropout):
        def forward(self, x):
            return x * (torch.rand_like(x) >= self.p) / (1 - self.p)

    result, line = verdict(Always, capsys)
    assert result is False and line == ("Not yet: still drops in eval mode: when self.training "
                                        "is False, return the input unchanged\n")


def test_keeping_with_probability_p_is_named(capsys):
    class Swapped(MyDropout):
        def forward(self, x):
            return x * (torch.rand_like(x) < self.p) / (1 - self.p) if self.training else x

    result, line = verdict(Swapped, capsys)
    assert result is False and "about 1 - p" in line and "80.0% of the values" in line


def test_one_mask_for_every_row_or_every_call_is_named(capsys):
    class PerColumn(MyDropout):
        def forward(self, x):
            keep = torch.rand(x.shape[-1]) >= self.p  # one number per column
            return x * keep / (1 - self.p) if self.training else x

    class Frozen(MyDropout):
        def forward(self, x):
            if not hasattr(self, "keep"):
                self.keep = torch.rand_like(x) >= self.p
            return x * self.keep / (1 - self.p) if self.training else x

    result, line = verdict(PerColumn, capsys)
    assert result is False and "every row has the same values zeroed" in line
    result, line = verdict(Frozen, capsys)
    assert result is False and "two calls zeroed the same values" in line


def test_p_zero_must_change_nothing(capsys):
    class AtLeastSome(MyDropout):
        def forward(self, x):
            keep = torch.rand_like(x) >= max(self.p, 0.1)
            return x * keep / (1 - self.p) if self.training else x

    result, line = verdict(AtLeastSome, capsys)
    assert result is False and line.startswith("Not yet: with p = 0, in training mode:")


def test_wrong_shapes_in_place_changes_and_errors_never_raise(capsys):
    class Flat(MyDropout):
        def forward(self, x):
            return x.flatten() if self.training else x

    class InPlace(MyDropout):
        def forward(self, x):
            if self.training:
                x[torch.rand_like(x) < self.p] = 0
                x /= 1 - self.p
            return x

    class Broken(MyDropout):
        def forward(self, x):
            return x * undefined_mask  # noqa: F821

    class NotAModule:
        def __init__(self, p):
            self.p = p

    for answer, words in [(Flat, "forward returned shape (100000,)"),
                          (InPlace, "changed its input in place"),
                          (Broken, "raised NameError"),
                          (NotAModule, "subclass of nn.Module")]:
        result, line = verdict(answer, capsys)
        assert result is False and words in line, line
