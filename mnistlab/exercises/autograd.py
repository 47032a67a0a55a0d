"""The check behind notebook 02b's "Your turn": one linear layer's gradients, by hand.

The student writes `linear_grads(x, W, b)`, which returns `(dL/dW, dL/db)` for the layer
`y = x @ W + b` and the loss `L = (y ** 2).sum()`, without calling `backward()`.
`check_linear_grads` runs it on two small layers and compares both gradients with the
`.grad` that autograd computes for the same layer.
"""

import torch

from . import Failed, attempt, not_yet, right

# (batch, inputs, outputs) of the two layers the check tries: the notebook's (4, 3) @ (3, 2),
# then other sizes, so that an answer that only works for the first shapes is caught.
LAYERS = [(4, 3, 2), (5, 4, 3)]
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}  # float32 sums in a different order differ a little


def shape(tensor):
    """A tensor's shape as the notebooks write it: (4, 3), or (2,) for a vector."""
    return str(tuple(tensor.shape))


def values(tensor):
    """A small tensor's values, rounded to two decimals, as a nested list."""
    return str(tensor.detach().double().round(decimals=2).tolist())


def autograd_grads(x, W, b):
    """(W.grad, b.grad) that autograd computes for L = ((x @ W + b) ** 2).sum()."""
    W, b = W.clone().requires_grad_(), b.clone().requires_grad_()
    ((x @ W + b) ** 2).sum().backward()
    return W.grad, b.grad


def compare(name, yours, expected, weight, batch):
    """What is wrong with the gradient `yours` for `weight` (a sentence), or None if right.

    `name` is "dL/dW" or "dL/db", `expected` autograd's gradient, `batch` the batch size.
    """
    if not isinstance(yours, torch.Tensor):
        return (f"{name} is of type {type(yours).__name__}; return a tensor shaped like "
                f"{weight} {shape(expected)}")
    if yours.shape != expected.shape:
        hint = f"a gradient has the shape of its tensor: {weight} is {shape(expected)}"
        if weight == "W" and yours.shape == expected.T.shape:
            hint += ("; yours is W's shape transposed: check which of x and dL/dy takes "
                     "the .T, and which comes first in the product")
        elif weight == "b" and yours.dim() == 2 and yours.shape[1:] == expected.shape:
            hint += ("; yours has one row per example, but b is added to every example, "
                     "so its gradient adds up over the batch")
        return f"{name} has shape {shape(yours)}, but {hint}"
    yours = yours.detach().to(expected.dtype)
    if torch.allclose(yours, expected, **TOLERANCE):
        return None
    seen = f"{name} has the right shape {shape(expected)} but other values"
    if torch.allclose(2 * yours, expected, **TOLERANCE):
        return f"{seen}: half of autograd's; check the derivative of y ** 2"
    if torch.allclose(batch * yours, expected, **TOLERANCE):
        return (f"{seen}: autograd's divided by the batch size {batch}. The loss is a sum, so "
                "the examples' gradients add up (a sum, not a mean)")
    return f"{seen}: yours {values(yours)}, autograd's {weight}.grad {values(expected)}"


def check_linear_grads(linear_grads):
    """Check the student's `linear_grads(x, W, b)` against autograd; print one verdict line.

    For the layer `y = x @ W + b` with `x` (B, n_in), `W` (n_in, n_out), `b` (n_out,) and
    the loss `L = (y ** 2).sum()`, `linear_grads` must return the pair `(dL/dW, dL/db)`,
    shaped like `W` and `b`. The check tries a (4, 3) @ (3, 2) layer and a (5, 4) @ (4, 3)
    one, compares each gradient with autograd's `.grad` (`torch.allclose`) and names the
    one that differs, with its shape or its values. Returns True when both match.

    Introduced in notebook 02b.
    """
    name = getattr(linear_grads, "__name__", type(linear_grads).__name__)
    generator = torch.Generator().manual_seed(0)  # its own numbers: the notebook's stay as they are
    for number, (batch, n_in, n_out) in enumerate(LAYERS):
        x = torch.randn(batch, n_in, generator=generator)
        W = torch.randn(n_in, n_out, generator=generator)
        b = torch.randn(n_out, generator=generator)
        layer = f"x {shape(x)}, W {shape(W)}, b {shape(b)}"
        where = "" if number == 0 else f"on a second layer, {layer}: "
        try:
            result = attempt(linear_grads, x.clone(), W.clone(), b.clone())
        except Failed as failed:
            return not_yet(f"{where}{failed}")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return not_yet(f"{where}{name} returned {type(result).__name__}; return the pair "
                           "dL_dW, dL_db")
        expected = autograd_grads(x, W, b)
        problems = [compare(n, yours, grad, weight, batch) for n, yours, grad, weight in
                    zip(["dL/dW", "dL/db"], result, expected, ["W", "b"])]
        if problems[0] and problems[1]:
            return not_yet(f"{where}{problems[0]}; and {problems[1]}")
        if problems[0] or problems[1]:
            wrong, fine = (problems[0], "dL/db") if problems[0] else (problems[1], "dL/dW")
            return not_yet(f"{where}{wrong} ({fine} is right)")
    first, second = LAYERS
    return right(f"{name} matches autograd's W.grad and b.grad on a {first[0]}-example layer "
                 f"x ({first[0]}, {first[1]}) @ W ({first[1]}, {first[2]}) and on a "
                 f"{second[0]}-example one, x ({second[0]}, {second[1]}) @ W ({second[1]}, "
                 f"{second[2]})")
