"""The checks of notebook 03b's "Your turn": a Dataset and a batch loader, against PyTorch's."""

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import mnistlab
from mnistlab.exercises.datasets import check_batches, check_dataset


class DigitDataset(Dataset):
    """The worked answer of notebook 03b."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = (self.images[i].float() / 255 - mnistlab.MNIST_MEAN) / mnistlab.MNIST_STD
        return x.unsqueeze(0), int(self.labels[i])


def batches_of(dataset, batch_size, shuffle=False, generator=None):
    """The worked answer of notebook 03b."""
    n = len(dataset)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        items = [dataset[int(i)] for i in order[start:start + batch_size]]
        yield torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])


@pytest.fixture(scope="module")
def train_set(sample_sets):
    return sample_sets[0]


def verdict(check, answer, train_set, capsys):
    result = check(answer, train_set)
    line = capsys.readouterr().out
    assert line.count("\n") == 1, "a check prints one line"
    return result, line


def test_the_worked_dataset_is_right(train_set, capsys):
    result, line = verdict(check_dataset, DigitDataset, train_set, capsys)
    assert result is True
    assert line.startswith("Right: DigitDataset holds 4,000 digits; item 0 is a (1, 28, 28)")


def test_the_dataset_skeleton_is_not_yet(train_set, capsys):
    class Skeleton(DigitDataset):
        def __len__(self):
            ...

        def __getitem__(self, i):
            ...

    result, line = verdict(check_dataset, Skeleton, train_set, capsys)
    assert result is False and line.startswith("Not yet: __len__ returned None: fill in")

    class NoItems(DigitDataset):
        def __getitem__(self, i):
            ...

    assert "__getitem__ returned None" in verdict(check_dataset, NoItems, train_set, capsys)[1]


@pytest.mark.parametrize("mistake, message", [
    (lambda self, i: ((self.images[i].float() / 255).unsqueeze(0), int(self.labels[i])),
     "runs from 0.00 to 1.00: that is ToTensor()'s step; now normalise"),
    (lambda self, i: (self.images[i].float().unsqueeze(0), int(self.labels[i])),
     "the raw bytes"),
    (lambda self, i: (DigitDataset.__getitem__(self, i)[0][0], int(self.labels[i])),
     "has shape (28, 28); a network wants (1, 28, 28)"),
    (lambda self, i: (self.images[i].unsqueeze(0), int(self.labels[i])),
     "is torch.uint8"),
    (lambda self, i: (DigitDataset.__getitem__(self, i)[0], self.labels[i]),
     "the label of dataset[0] is of type Tensor; return a plain int"),
    (lambda self, i: (DigitDataset.__getitem__(self, 0)[0], int(self.labels[i])),
     "the image of dataset[2000] runs from"),
    (lambda self, i: 1 / 0, "raised ZeroDivisionError"),
])
def test_a_wrong_item_is_named(train_set, capsys, mistake, message):
    wrong = type("Wrong", (DigitDataset,), {"__getitem__": mistake})
    result, line = verdict(check_dataset, wrong, train_set, capsys)
    assert result is False and line.startswith("Not yet:") and message in line


def test_a_wrong_length_is_named(train_set, capsys):
    wrong = type("Short", (DigitDataset,), {"__len__": lambda self: len(self.labels) - 1})
    line = verdict(check_dataset, wrong, train_set, capsys)[1]
    assert "len() of your Short is 3,999; it holds 4,000 digits" in line


def test_the_worked_loader_is_right_and_dataloader_too(train_set, capsys):
    result, line = verdict(check_batches, batches_of, train_set, capsys)
    assert result is True
    assert line.startswith("Right: batches_of serves 300 digits in 5 batches")
    assert "a last one of 44" in line

    def pytorch(dataset, batch_size, shuffle=False, generator=None):
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)

    assert verdict(check_batches, pytorch, train_set, capsys)[0] is True


def test_the_loader_skeleton_is_not_yet(train_set, capsys):
    def batches_of(dataset, batch_size, shuffle=False, generator=None):
        ...

    result, line = verdict(check_batches, batches_of, train_set, capsys)
    assert result is False and line.startswith("Not yet: batches_of returned None: fill in")


def test_typical_loader_mistakes_are_named(train_set, capsys):
    def drop_last(dataset, batch_size, shuffle=False, generator=None):
        for images, labels in batches_of(dataset, batch_size, shuffle, generator):
            if len(labels) == batch_size:
                yield images, labels

    line = verdict(check_batches, drop_last, train_set, capsys)[1]
    assert "drop_last gave 4 batches for 300 digits" in line and "the 44 digits left over" in line

    def no_channel(dataset, batch_size, shuffle=False, generator=None):
        for images, labels in batches_of(dataset, batch_size, shuffle, generator):
            yield images[:, 0], labels

    line = verdict(check_batches, no_channel, train_set, capsys)[1]
    assert "images of batch 0 have shape (64, 28, 28); DataLoader's have (64, 1, 28, 28)" in line

    def never_shuffles(dataset, batch_size, shuffle=False, generator=None):
        return batches_of(dataset, batch_size)

    assert "still come in file order" in verdict(check_batches, never_shuffles, train_set,
                                                 capsys)[1]

    def ignores_generator(dataset, batch_size, shuffle=False, generator=None):
        return batches_of(dataset, batch_size, shuffle)

    assert "draw the order with the generator" in verdict(check_batches, ignores_generator,
                                                          train_set, capsys)[1]

    def with_replacement(dataset, batch_size, shuffle=False, generator=None):
        n = len(dataset)
        order = torch.randint(n, (n,), generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            items = [dataset[int(i)] for i in order[start:start + batch_size]]
            yield torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])

    assert "every digit exactly once" in verdict(check_batches, with_replacement, train_set,
                                                 capsys)[1]


def test_broken_loaders_never_raise_nor_hang(train_set, capsys):
    def forever(dataset, batch_size, shuffle=False, generator=None):
        while True:
            yield from batches_of(dataset, batch_size, shuffle, generator)

    assert "forever gave 6 batches" in verdict(check_batches, forever, train_set, capsys)[1]

    def raises(dataset, batch_size, shuffle=False, generator=None):
        yield dataset[len(dataset)]

    assert "raises raised IndexError" in verdict(check_batches, raises, train_set, capsys)[1]
    line = verdict(check_batches, lambda dataset, batch_size, **options: 3, train_set, capsys)[1]
    assert "returned int, not batches" in line


def test_the_loader_check_leaves_the_global_random_numbers_alone(train_set, capsys):
    def global_shuffle(dataset, batch_size, shuffle=False, generator=None):
        return batches_of(dataset, batch_size, shuffle)  # draws from the global generator

    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    verdict(check_batches, global_shuffle, train_set, capsys)
    assert torch.equal(torch.rand(2), expected)


def test_a_reference_without_data_is_a_clear_error():
    with pytest.raises(TypeError, match="reference must be a dataset from mnistlab.load_mnist"):
        check_dataset(DigitDataset, [1, 2, 3])
