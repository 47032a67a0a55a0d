"""The check behind notebook 06a's "Your turn": an evaluation loop that runs on any device.

`check_evaluate_on(evaluate_on, model, loader)` runs your `evaluate_on(model, loader,
device)` on a copy of `model` (so the notebook's model stays where it is) and compares the
accuracy it returns with `mnistlab.evaluate`'s:

* on the CPU, with the device given as `torch.device("cpu")` and as the string `"cpu"`;
* on a GPU too when the machine has one, starting from a model on the CPU (your function
  must move it) and from a model already on the GPU asked to run on the CPU;
* with the model watched (`Watched`), on every machine: was it moved with `.to(device)`,
  switched to evaluation mode, and run without tracking gradients? On a CPU-only machine the
  accuracy alone cannot tell whether the model was moved.

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


class Watched(torch.nn.Module):
    """A network that notes what the code evaluating it did: `.to()` calls, and at each
    forward pass its mode and whether gradients were tracked."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.moved_to, self.in_training, self.with_gradients = [], [], []

    def to(self, *args, **kwargs):
        self.moved_to.append(args[0] if args else kwargs.get("device"))
        return super().to(*args, **kwargs)

    def forward(self, images):
        self.in_training.append(self.training)
        self.with_gradients.append(torch.is_grad_enabled())
        return self.model(images)


def watched_problem(evaluate_on, model, loader):
    """What a watched run of `evaluate_on` on the CPU shows is missing, or None."""
    watched = Watched(copy.deepcopy(model)).train()  # as a model comes out of training
    attempt(evaluate_on, watched, loader, "cpu")
    if not watched.moved_to:
        return "the model was never moved: call model.to(device) before the loop"
    if not watched.in_training:
        return "the model never ran: call model(images) for each batch"
    if any(watched.in_training):
        return ("the model ran in training mode: call model.eval() first (dropout and batch "
                "norm behave differently while training)")
    if any(watched.with_gradients):
        return ("the model ran while tracking gradients: put the loop in "
                "`with torch.no_grad():`, which evaluation does not need")
    return None


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
    try:
        watched = watched_problem(evaluate_on, model, loader)
    except Failed as failed:
        return not_yet(f"with the model watched: {failed}")
    if watched:
        return not_yet(f"the accuracy is right, but {watched}")
    return right(f"evaluate_on gives mnistlab.evaluate's accuracy on {digits} digits, on "
                 "every device this machine offers, with the device given as a torch.device "
                 "or as a string; it moves the model, and runs it in evaluation mode without "
                 "tracking gradients")
