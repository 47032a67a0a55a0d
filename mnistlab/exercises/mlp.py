"""The checks behind the "Your turn" spots of notebooks 04a and 04b: softmax and
cross-entropy by hand (04a), and the five lines of a training step (04b).

* `check_softmax_and_cross_entropy` compares your `softmax(scores)` and
  `cross_entropy(scores, labels)` with `torch.softmax` and `F.cross_entropy`, on small scores
  and on large ones (where a plain `torch.exp` overflows).
* `check_train_step` runs your `train_step` on a copy of a tiny network for two batches and
  compares the weights and the loss with `train_step` below, mnistlab's version, which the
  notebook uses until yours is right.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from . import Failed, attempt, not_yet, right

LARGE = 1000.0  # added to every score: exp(1000) overflows float32 to inf
TOLERANCE = 1e-5


def train_step(model, images, labels, optimizer):
    """Train `model` on one batch; return its `(B, 10)` scores and the batch's mean loss.

    The five lines of notebook 04b's training loop: forward, loss, zero the gradients,
    backward, step.
    """
    logits = model(images)                  # 1. forward: (B, 10) scores
    loss = F.cross_entropy(logits, labels)  # 2. loss: mean over the batch
    optimizer.zero_grad()                   # 3. clear the old gradients
    loss.backward()                         # 4. backward: a gradient for every weight
    optimizer.step()                        # 5. step: w <- w - lr * gradient
    return logits, loss


def example_scores(generator):
    """Scores (4, 10) and labels (4,) for the checks, from a generator of their own."""
    scores = torch.randn(4, 10, generator=generator) * 3
    labels = torch.tensor([3, 0, 9, 3])
    return scores, labels


def as_tensor(result, name, shape):
    """`result` if it is a tensor of `shape`; otherwise raise `Failed` saying what it is."""
    if not isinstance(result, torch.Tensor):
        raise Failed(f"{name} is a {type(result).__name__}; expected a tensor of shape "
                     f"{tuple(shape)}")
    if result.shape != shape:
        raise Failed(f"{name} has shape {tuple(result.shape)}; expected {tuple(shape)}")
    return result.detach()


def softmax_problem(softmax, scores):
    """None when `softmax(scores)` matches `torch.softmax(scores, dim=1)`, else what is wrong."""
    got = as_tensor(attempt(softmax, scores.clone()), "softmax(scores)", scores.shape)
    expected = torch.softmax(scores, dim=1)
    if torch.allclose(got, expected, atol=TOLERANCE):
        return None
    if not got.isfinite().all():
        return "softmax(scores) gives inf or nan"
    if torch.allclose(got, torch.softmax(scores, dim=0), atol=TOLERANCE):
        return ("softmax(scores) makes each column sum to 1; each row (one image) should: "
                "sum along dim=1")
    return (f"softmax(scores) differs from torch.softmax(scores, dim=1) by up to "
            f"{(got - expected).abs().max().item():.3g}; exponentiate, then divide each row "
            "by its own sum (keepdim=True)")


def cross_entropy_problem(cross_entropy, scores, labels):
    """None when `cross_entropy` matches `F.cross_entropy`, else what is wrong."""
    got = as_tensor(attempt(cross_entropy, scores.clone(), labels.clone()),
                    "cross_entropy(scores, labels)", torch.Size([]))
    expected = F.cross_entropy(scores, labels)
    if torch.allclose(got, expected, atol=TOLERANCE):
        return None
    if not got.isfinite().all():
        return "cross_entropy(scores, labels) gives inf or nan"
    if torch.allclose(got, -expected, atol=TOLERANCE):
        return ("cross_entropy(scores, labels) has the wrong sign: the loss is MINUS the log of "
                "the right digit's probability")
    if torch.allclose(got, expected * len(labels), atol=TOLERANCE):
        return ("cross_entropy(scores, labels) is the sum over the batch; F.cross_entropy "
                "averages: take .mean()")
    return (f"cross_entropy(scores, labels) is {got.item():.4f}, F.cross_entropy gives "
            f"{expected.item():.4f}; take -log of the probability in column labels[i] of row "
            "i, then the mean")


def check_softmax_and_cross_entropy(softmax, cross_entropy):
    """Check notebook 04a's softmax and cross-entropy by hand against PyTorch's.

    Both run on four rows of ten random scores, then on the same scores plus 1000, where
    the probabilities are the same but `torch.exp(scores)` overflows. Prints one line that
    names the first function still wrong and how; returns True when both are right.
    """
    scores, labels = example_scores(torch.Generator().manual_seed(0))
    problems = {
        "softmax": lambda s: softmax_problem(softmax, s),
        "cross_entropy": lambda s: cross_entropy_problem(cross_entropy, s, labels),
    }
    try:
        for name, problem in problems.items():
            small = problem(scores)
            if small is not None:
                return not_yet(small)
            large = problem(scores + LARGE)
            if large is not None:
                return not_yet(
                    f"{name} is right on small scores, but on the same scores plus 1000 "
                    f"{large.split(' ', 1)[1]}: torch.exp(1000.) overflows to inf. Subtract "
                    "each row's largest score before exponentiating; the probabilities do not "
                    "change")
    except Failed as failed:
        return not_yet(str(failed))
    return right("softmax matches torch.softmax and cross_entropy matches F.cross_entropy, "
                 "also on scores near 1000")


def tiny_problem():
    """A tiny network, an SGD optimizer and two batches, made without touching the global
    random state (so the notebook's later cells see the same random numbers)."""
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 1, 28, 28, generator=generator),
                torch.randint(0, 10, (8,), generator=generator)) for _ in range(2)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
    return model, batches


class RecordingSGD(torch.optim.SGD):
    """Plain SGD that also notes, in `calls`, each zero_grad() and step() the student makes,
    and whether step() found any gradient to follow."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.calls = []

    def zero_grad(self, set_to_none=True):
        self.calls.append("zero_grad")
        super().zero_grad(set_to_none)

    def step(self, closure=None):
        found = any(p.grad is not None and p.grad.any()
                    for group in self.param_groups for p in group["params"])
        self.calls.append("step" if found else "step without gradients")
        return super().step(closure)


def run_steps(step, model, batches):
    """Run `step` on a copy of `model` over `batches` with SGD (lr 0.1).

    Returns the copy, the loss `step` returned for the last batch and the optimizer calls
    it made for that batch.
    """
    model = copy.deepcopy(model)
    optimizer = RecordingSGD(model.parameters(), lr=0.1)
    for images, labels in batches:
        optimizer.calls = []
        result = attempt(step, model, images, labels, optimizer)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise Failed(f"{step.__name__} returned a {type(result).__name__}; return the pair "
                         "(logits, loss)")
        logits, loss = result
        as_tensor(logits, f"the logits {step.__name__} returned", torch.Size([len(labels), 10]))
        loss = as_tensor(loss, f"the loss {step.__name__} returned", torch.Size([]))
    return model, loss, optimizer.calls


def same_weights(a, b):
    """True when two networks of the same layers hold the same weights."""
    return all(torch.allclose(p, q, atol=TOLERANCE) for p, q in zip(a.parameters(),
                                                                      b.parameters()))


def step_problem(calls, count, accumulated):
    """Why the weights after `count` batches are wrong, from the optimizer `calls` the
    student's step made on the last batch; `accumulated`: they match a step that never
    clears the gradients."""
    if "step" not in calls and "step without gradients" not in calls:
        return "the weights did not change: call optimizer.step() after loss.backward()"
    if "step" not in calls:
        return ("optimizer.step() found no gradients: call loss.backward() before it, and "
                "optimizer.zero_grad() before loss.backward(), not between")
    if accumulated:
        return ("the first step is right, but the second followed the sum of both batches' "
                "gradients: call optimizer.zero_grad() before loss.backward()")
    return (f"after batch {count} the weights differ from one SGD step on the loss's "
            "gradient: forward, loss, zero_grad, backward, step, once each")


def accumulates(model, batches):
    """`model` after SGD steps on `batches` with a typical mistake: no zero_grad."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for images, labels in batches:
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model


def check_train_step(step):
    """Check notebook 04b's `train_step(model, images, labels, optimizer)` against mnistlab's.

    Runs it on a copy of a tiny network for one batch, then for two, with SGD (lr 0.1) and
    compares the returned loss and the weights with `train_step` above. Prints one line
    saying what differs (no step taken, gradients accumulated, another loss, ...); returns
    True when everything matches.
    """
    model, batches = tiny_problem()
    try:
        for count in (1, 2):
            mine, my_loss, calls = run_steps(step, model, batches[:count])
            expected, loss, _ = run_steps(train_step, model, batches[:count])
            if not torch.allclose(my_loss, loss, atol=TOLERANCE):
                return not_yet(f"on batch {count} the loss {step.__name__} returned is "
                               f"{my_loss.item():.4f}; F.cross_entropy(model(images), labels) "
                               f"gives {loss.item():.4f}")
            if not same_weights(mine, expected):
                accumulated = count == 2 and same_weights(mine, accumulates(model, batches))
                return not_yet(step_problem(calls, count, accumulated))
    except Failed as failed:
        return not_yet(str(failed))
    return right(f"{step.__name__} takes the same two SGD steps as mnistlab's train_step and "
                 "returns the same loss")
