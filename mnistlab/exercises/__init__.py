"""The checks behind the notebooks' "Your turn" spots and open exercises.

A "Your turn" cell asks you to write a piece of the notebook's topic yourself: a Dataset,
softmax by hand, the training loop, a CNN class... The cell right after it calls a check
from this package, which runs your code on a small example, compares it with PyTorch's
own (or mnistlab's) version, and prints one line:

    Right: ...            your code does what the notebook needs
    Not yet: ...          what is still wrong (a shape, a count, a value), and a hint

A check never stops the notebook: an unfinished answer, or code that raises, is reported
as "Not yet", and the notebook goes on with mnistlab's version of the same thing.

One module per notebook, named after its topic (`autograd`, `datasets`, `mlp`, `cnn`, ...);
this file holds what they share: the two verdicts, `attempt` (run the student's code,
catching its errors), and `check_target` for the open exercises that ask for a network
reaching a stated validation accuracy within a stated time.
"""

import time
import traceback

import torch

from ..metrics import format_accuracy


def right(message):
    """Print a "Right: ..." verdict and return True."""
    print(f"Right: {message}")
    return True


def not_yet(message):
    """Print a "Not yet: ..." verdict and return False."""
    print(f"Not yet: {message}")
    return False


class Failed(Exception):
    """The student's code raised, or returned nothing; `str()` says what happened."""


def attempt(function, *args, **kwargs):
    """Call the student's `function(*args, **kwargs)` and return its result.

    Raises `Failed` with a one-line description (the error's type, message and the line of
    the student's code it came from) when the call raises, or when it returns None, which
    is what an unfinished skeleton (`...`) returns.
    """
    name = getattr(function, "__name__", type(function).__name__)
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # any error in the student's code becomes a "Not yet"
        where = traceback.extract_tb(error.__traceback__)[-1]
        raise Failed(f"{name} raised {type(error).__name__}: {error} "
                     f"(line {where.lineno}: {where.line})") from None
    if result is None:
        raise Failed(f"{name} returned None: fill in the part marked '...' and return the "
                     "result")
    return result


def check_target(build, train_loader, val_loader, target, seconds):
    """Check an open exercise: does `build` give a network that reaches `target` in time?

    `build(train_loader)` is the student's function: it makes a network, trains it on
    `train_loader` and returns it. The check times the call, scores the network on every
    validation digit and prints whether the validation accuracy reached `target` (a
    fraction, for example 0.97) within `seconds` of wall time. Returns True when both hold.
    """
    start = time.perf_counter()
    try:
        model = attempt(build, train_loader)
    except Failed as failed:
        return not_yet(str(failed))
    elapsed = time.perf_counter() - start
    if not isinstance(model, torch.nn.Module):
        return not_yet(f"{build.__name__} returned {type(model).__name__}; return the "
                       "trained network (an nn.Module)")
    correct, total = 0, 0
    model.eval()
    with torch.no_grad():
        for images, labels in val_loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    accuracy = correct / total
    measured = f"validation accuracy {format_accuracy(accuracy, total)} in {elapsed:.0f} s"
    if accuracy < target:
        return not_yet(f"{measured}; the target is {target:.0%}")
    if elapsed > seconds:
        return not_yet(f"{measured}: accurate enough, but the budget is {seconds} s")
    return right(f"target met: {measured} (target {target:.0%} within {seconds} s)")
