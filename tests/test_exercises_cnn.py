"""mnistlab.exercises.cnn: notebook 05a's check of a hand-written CNN class."""

import torch
from torch import nn

from mnistlab.exercises.cnn import check_cnn


class Worked(nn.Module):
    """The worked answer of notebook 05a's "Your turn"."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
        nn.init.xavier_uniform_(self.classifier[1].weight)

    def forward(self, x):
        return self.classifier(self.features(x))


class Skeleton(nn.Module):
    """What the student edition starts from: both regions replaced by `...`."""

    def __init__(self):
        super().__init__()
        ...

    def forward(self, x):
        ...


def verdict(capsys, cnn_class):
    ok = check_cnn(cnn_class)
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    assert line.startswith("Right: " if ok else "Not yet: ")
    return ok, line


def test_the_worked_answer_is_right_and_leaves_the_random_state_alone(capsys):
    state = torch.get_rng_state()
    ok, line = verdict(capsys, Worked)
    assert ok and "28,938 parameters" in line
    assert torch.equal(torch.get_rng_state(), state)


def test_the_skeleton_is_not_yet_with_the_expected_count(capsys):
    ok, line = verdict(capsys, Skeleton)
    assert not ok
    assert "has 0 parameters" in line and "28,938" in line and "(16, 1, 5, 5)" in line


def test_a_missing_relu_is_caught_by_the_copied_weights(capsys):
    class NoReLU(Worked):
        def __init__(self):
            super().__init__()
            self.features[1] = nn.Identity()

    ok, line = verdict(capsys, NoReLU)
    assert not ok and "scores differ" in line


def test_average_pooling_instead_of_max_pooling_is_caught(capsys):
    class AvgPool(Worked):
        def __init__(self):
            super().__init__()
            self.features[5] = nn.AvgPool2d(2)

    ok, line = verdict(capsys, AvgPool)
    assert not ok and "scores differ" in line


def test_a_missing_padding_changes_the_count(capsys):
    class NoPadding(Worked):
        def __init__(self):
            super().__init__()
            self.features[0] = nn.Conv2d(1, 16, 5)
            self.features[3] = nn.Conv2d(16, 32, 5)
            self.classifier[1] = nn.Linear(32 * 4 * 4, 10)

    ok, line = verdict(capsys, NoPadding)
    assert not ok and "has 18,378 parameters" in line and "(10, 512)" in line


def test_a_forward_that_returns_the_feature_maps_is_not_yet(capsys):
    class NoClassifier(Worked):
        def forward(self, x):
            return self.features(x)

    ok, line = verdict(capsys, NoClassifier)
    assert not ok and "(4, 32, 7, 7)" in line and "(4, 10)" in line


def test_other_attribute_names_are_not_yet(capsys):
    class OwnNames(nn.Module):
        def __init__(self):
            super().__init__()
            worked = Worked()
            self.convs, self.head = worked.features, worked.classifier

        def forward(self, x):
            return self.head(self.convs(x))

    ok, line = verdict(capsys, OwnNames)
    assert not ok and "self.features" in line and "convs.0.weight" in line


def test_the_default_initialisation_is_not_yet(capsys):
    class DefaultInit(Worked):
        def __init__(self):
            super().__init__()
            self.classifier[1].reset_parameters()  # undo the Xavier draw

    ok, line = verdict(capsys, DefaultInit)
    assert not ok and "xavier_uniform_" in line


def test_code_that_raises_is_not_yet_and_never_raises(capsys):
    class Typo(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Conv2d(1, 16, 5, padding=2)
            self.classifier = nn.Linaer(10, 10)  # the typo is the point

    ok, line = verdict(capsys, Typo)
    assert not ok and "AttributeError" in line and "Linaer" in line

    class BadForward(Worked):
        def forward(self, x):
            return self.classifier(x)  # skips the convolutions: a shape error

    ok, line = verdict(capsys, BadForward)
    assert not ok and "forward pass fails" in line and "RuntimeError" in line

    ok, line = verdict(capsys, lambda: "not a network")
    assert not ok and "nn.Module" in line
