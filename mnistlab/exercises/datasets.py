"""The checks behind notebook 03b's "Your turn": a Dataset and a batch loader, by hand.

The student writes a `Dataset` class, `DigitDataset(images, labels)`, whose items are
normalised `(1, 28, 28)` images with `int` labels, and a generator function
`batches_of(dataset, batch_size, shuffle=False, generator=None)` that yields
`(images, labels)` batches. `check_dataset` compares the Dataset with the items of
torchvision's MNIST (or the offline sample); `check_batches` compares the batches with
those of PyTorch's `DataLoader` on the same digits.
"""

import itertools
import numbers

import torch
from torch.utils.data import DataLoader, Subset

from ..data import MNIST_MEAN, MNIST_STD
from . import Failed, attempt, not_yet, right

CHECK_DIGITS = 300  # check_batches reads the first 300 digits: enough for 5 batches of 64
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def shape(tensor):
    """A tensor's shape as the notebooks write it: (1, 28, 28)."""
    return str(tuple(tensor.shape))


def check_item(dataset, reference, i):
    """What is wrong with `dataset[i]` compared with `reference[i]` (a sentence), or None."""
    try:
        item = attempt(dataset.__getitem__, i)
    except Failed as failed:
        return str(failed)
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        return (f"dataset[{i}] is of type {type(item).__name__}; return the pair (image, label), "
                "like train_set[i]")
    image, label = item
    expected, expected_label = reference[i]
    if not isinstance(image, torch.Tensor):
        return (f"the image of dataset[{i}] is of type {type(image).__name__}; return a tensor "
                f"shaped {shape(expected)}")
    if image.shape != expected.shape:
        hint = ("; add the channel axis in front" if image.shape == expected.shape[1:] else "")
        return (f"the image of dataset[{i}] has shape {shape(image)}; a network wants "
                f"{shape(expected)}, (channel, height, width){hint}")
    if image.dtype != expected.dtype:
        return (f"the image of dataset[{i}] is {image.dtype}; train_set's images are "
                f"{expected.dtype}: turn the bytes into floats first")
    raw = reference.data[i].float()  # (28, 28), 0 to 255
    seen = f"the image of dataset[{i}] runs from {image.min():.2f} to {image.max():.2f}"
    if not torch.allclose(image.detach(), expected, **TOLERANCE):
        if torch.allclose(image[0].detach(), raw, **TOLERANCE):
            return f"{seen}, the raw bytes: bring them to 0..1 first, as ToTensor() does"
        if torch.allclose(image[0].detach(), raw / 255, **TOLERANCE):
            return (f"{seen}: that is ToTensor()'s step; now normalise with "
                    "mnistlab.MNIST_MEAN and mnistlab.MNIST_STD, as Normalize does")
        return (f"{seen}, train_set[{i}]'s from {expected.min():.2f} to {expected.max():.2f}: "
                f"scale the bytes to 0..1, then normalise with MNIST_MEAN = {MNIST_MEAN} and "
                f"MNIST_STD = {MNIST_STD}")
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        return (f"the label of dataset[{i}] is of type {type(label).__name__}; return a plain int, "
                "like train_set[i]")
    if label != expected_label:
        return f"the label of dataset[{i}] is {label}; train_set[{i}] says {expected_label}"
    return None


def check_dataset(dataset_class, reference):
    """Check the student's Dataset class against `reference`; print one verdict line.

    Builds `dataset_class(reference.data, reference.targets)` (the raw uint8 images
    (N, 28, 28) and the labels (N,)) and checks its length and its first, middle and last
    items: each must equal `reference[i]`, a normalised float32 image (1, 28, 28) and an
    int label. `reference` is a dataset from `mnistlab.load_mnist()`. Returns True when
    everything matches.

    Introduced in notebook 03b.
    """
    if not all(hasattr(reference, name) for name in ("data", "targets")):
        raise TypeError(f"reference must be a dataset from mnistlab.load_mnist() (with .data "
                        f"and .targets), got {type(reference).__name__}: pass train_set")
    name = getattr(dataset_class, "__name__", type(dataset_class).__name__)
    try:
        dataset = attempt(dataset_class, reference.data.clone(), reference.targets.clone())
        length = attempt(dataset.__len__)
    except Failed as failed:
        return not_yet(str(failed))
    if isinstance(length, bool) or not isinstance(length, numbers.Integral):
        return not_yet(f"__len__ returned {type(length).__name__}; return the number of "
                       "digits, a whole number")
    n = len(reference)
    if length != n:
        return not_yet(f"len() of your {name} is {length:,}; it holds {n:,} digits, one per "
                       "label")
    indices = [0, n // 2, n - 1]
    for i in indices:
        problem = check_item(dataset, reference, i)
        if problem:
            return not_yet(problem)
    image, label = dataset[0]
    return right(f"{name} holds {n:,} digits; item 0 is a {shape(image)} {image.dtype} image "
                 f"from {image.min():.2f} to {image.max():.2f} with the label {label} (an int), "
                 f"and items 0, {indices[1]:,} and {indices[2]:,} equal train_set's")


def one_pass(batches_of, dataset, batch_size, limit, **options):
    """The batches of one call `batches_of(dataset, batch_size, **options)`, at most `limit`.

    Raises `Failed` when the call or the pass raises, returns None or something that is
    not a sequence of batches.
    """
    name = getattr(batches_of, "__name__", type(batches_of).__name__)
    produced = attempt(batches_of, dataset, batch_size, **options)
    try:
        iterator = iter(produced)
    except TypeError:
        raise Failed(f"{name} returned {type(produced).__name__}, not batches; yield one "
                     "(images, labels) batch at a time") from None

    def take():  # named after the student's function, for attempt's message
        return list(itertools.islice(iterator, limit))

    take.__name__ = name
    return attempt(take)


def batch_form(j, batch, expected):
    """What is wrong with the form of batch `j`, a pair of tensors shaped like DataLoader's
    batch `expected`, as a sentence; None when its form is right."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        return f"batch {j} is of type {type(batch).__name__}; yield the pair (images, labels)"
    for part, yours, theirs in zip(["images", "labels"], batch, expected):
        if not isinstance(yours, torch.Tensor):
            return (f"the {part} of batch {j} are of type {type(yours).__name__}; make them one "
                    f"tensor {shape(theirs)}")
        if yours.shape != theirs.shape:
            stacked = "" if part == "labels" else ", the (1, 28, 28) images stacked"
            return (f"the {part} of batch {j} have shape {shape(yours)}; DataLoader's have "
                    f"{shape(theirs)}{stacked}")
    return None


def check_batches(batches_of, dataset, batch_size=64):
    """Check the student's batch loader against PyTorch's DataLoader; print one verdict line.

    `batches_of(dataset, batch_size, shuffle=False, generator=None)` must yield
    `(images, labels)` batches, `(B, 1, 28, 28)` and `(B,)`, with `B = batch_size` except
    in the last batch, which holds what is left. The check reads the first 300 digits of
    `dataset`: unshuffled, the count of batches, their shapes and their contents must be
    DataLoader's; shuffled, a pass must hold every digit once in a new order, the same
    order for the same `generator` seed. Returns True when everything matches.

    Introduced in notebook 03b.
    """
    digits = Subset(dataset, range(min(CHECK_DIGITS, len(dataset))))
    n = len(digits)
    name = getattr(batches_of, "__name__", type(batches_of).__name__)
    try:
        # Forked: a DataLoader pass, or a student's shuffle, draws from PyTorch's global random
        # numbers; the notebook's later cells see them as if the check had not run.
        with torch.random.fork_rng(devices=[]):
            expected = list(DataLoader(digits, batch_size=batch_size))
            count = len(expected)
            batches = one_pass(batches_of, digits, batch_size, count + 1)
            shuffled = [one_pass(batches_of, digits, batch_size, count + 1, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    except Failed as failed:
        return not_yet(str(failed))
    last = n - (count - 1) * batch_size
    if len(batches) != count:
        return not_yet(f"{name} gave {len(batches)} batches for {n} digits in batches of "
                       f"{batch_size}; DataLoader gives {count}: {count - 1} full ones and a "
                       f"last one with the {last} digits left over")
    for j, (batch, theirs) in enumerate(zip(batches, expected)):
        problem = batch_form(j, batch, theirs)
        if problem:
            return not_yet(problem)
        images, labels = batch
        images = images.detach().float()
        same_images = torch.equal(images, theirs[0]) or torch.allclose(images, theirs[0],
                                                                        **TOLERANCE)
        if not (same_images and torch.equal(labels.long(), theirs[1])):
            return not_yet(f"batch {j} holds other digits than DataLoader's batch {j}: "
                           "without shuffling, both take the digits in order, 0, 1, 2, ...")
    for each in shuffled:
        if len(each) != count:
            return not_yet(f"with shuffle=True, {name} gave {len(each)} batches; DataLoader "
                           f"gives {count}, as without shuffling")
        for j, (batch, theirs) in enumerate(zip(each, expected)):
            problem = batch_form(j, batch, theirs)
            if problem:
                return not_yet(f"with shuffle=True, {problem}")
    (images, labels), (_, labels_again) = (
        [torch.cat([batch[part] for batch in each]) for part in (0, 1)] for each in shuffled)
    if torch.equal(labels.long(), torch.cat([theirs for _, theirs in expected])):
        return not_yet("with shuffle=True the digits still come in file order: draw a random "
                       "order of the indices when shuffle is True")
    # Every digit once: the sorted pixel sums of a shuffled pass are those of the digits.
    sums = torch.cat([theirs.sum(dim=(1, 2, 3)) for theirs, _ in expected]).sort().values
    if not torch.allclose(images.detach().float().sum(dim=(1, 2, 3)).sort().values, sums,
                          **TOLERANCE):
        return not_yet("with shuffle=True a pass does not hold every digit exactly once: "
                       "shuffle the indices 0 to N-1, each one once")
    if not torch.equal(labels, labels_again):
        return not_yet("with shuffle=True and the same generator seed, two passes came in "
                       "different orders: draw the order with the generator you are given")
    return right(f"{name} serves {n} digits in {count} batches, {count - 1} of "
                 f"{shape(expected[0][0])} images and ({batch_size},) labels and a last one of "
                 f"{last}, the same as PyTorch's DataLoader; shuffled, a pass holds every digit "
                 "once, in an order set by the generator")
