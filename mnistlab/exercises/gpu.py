"""The check behind notebook 06's "Your turn": an evaluation loop that runs on any device.

`check_evaluate_on(evaluate_on, model, loader)` runs your `evaluate_on(model, loader,
device)` on a copy of `model` (so the notebook's model stays where it is) and compares the
accuracy it returns with `mnistlab.evaluate`'s:

* on the CPU, with the device given as `torch.device("cpu")` and as the string `"cpu"`;
* on a GPU too when the machine has one, starting from a model on the CPU (your function
  must move it) and from a model already on the GPU asked to run on the CPU.

Every call goes through `attempt`, so unfinished or broken code gives "Not yet", never an
error.
"""

import copy

import torch

from ..training import evaluate
from . import Failed, attempt, not_yet, right

TOLERANCE = 1e-6  # a float32 division may round the last digits


def devices_to_try():
    """[(where the model starts, the device asked for)]: CPU always, a GPU when present."""
    cases = [("cpu", torch.device("cpu")), ("cpu", "cpu")]
    if torch.cuda.is_available():
        cases += [("cpu", torch.device("cuda")), ("cuda", "cpu")]
    if torch.backends.mps.is_available():
        cases += [("cpu", torch.device("mps")), ("mps", "cpu")]
    return cases


def as_number(result):
    """The student's result as a Python float, or None when it is not a single number."""
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        return result.item()
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    return None


def check_evaluate_on(evaluate_on, model, loader):
    """Check a student's `evaluate_on(model, loader, device)` against `mnistlab.evaluate`.

    Prints the verdict and returns True when every device tried gives mnistlab's accuracy
    (a fraction between 0 and 1).
    """
    expected = evaluate(copy.deepcopy(model), loader)["accuracy"]
    size = len(getattr(loader, "dataset", []))
    digits = f"all {size:,}" if size else "the loader's"
    for start, device in devices_to_try():
        given = copy.deepcopy(model).to(start)
        try:
            result = attempt(evaluate_on, given, loader, device)
        except Failed as failed:
            return not_yet(f"with the model on {start} and device={device!r}: {failed}")
        got = as_number(result)
        asked = f"with the model on {start} and device={device!r}"
        if got is None:
            return not_yet(f"{asked}, evaluate_on returned {type(result).__name__}; return "
                           "the accuracy, one number: correct / total")
        if abs(got - expected) <= TOLERANCE:
            continue
        if abs(got - 100 * expected) <= 100 * TOLERANCE:
            return not_yet(f"{asked}, evaluate_on returned {got:.2f}, a percentage; return "
                           f"the fraction {expected:.4f} (correct / total)")
        if got > 1:
            return not_yet(f"{asked}, evaluate_on returned {got:g}, more than 1: divide the "
                           "number of right predictions by the number of digits")
        return not_yet(f"{asked}, evaluate_on returned {got:.4f}; mnistlab.evaluate gives "
                       f"{expected:.4f}: count every digit of every batch, and a prediction "
                       "is the index of the highest score (argmax along dim 1)")
    return right(f"evaluate_on gives mnistlab.evaluate's accuracy on {digits} digits, on "
                 "every device this machine offers, with the device given as a torch.device "
                 "or as a string")
