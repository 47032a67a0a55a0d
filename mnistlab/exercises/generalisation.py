"""The check behind notebook 07a's "Your turn": dropout, written by hand.

The student writes `MyDropout(p)`, an `nn.Module` whose forward, in training mode, zeroes
each value with probability `p` and divides the values it keeps by `1 - p`, so that on
average every value is unchanged; in evaluation mode (`self.training` is False) it returns
its input as it is. `check_dropout` tries it on a large tensor and compares what it does
with what `nn.Dropout` does: the share of zeros, the scale of the kept values, the mean,
a new mask at every call, and the two cases where nothing may change (eval mode, p = 0).
"""

import torch
from torch import nn

from . import Failed, attempt, not_yet, right

P = 0.2  # not 0.5: with p = 0.5, dropping with probability 1 - p by mistake would look right
SHAPE = (500, 200)  # 100,000 values: the share of zeros lands within 0.4 points of p
SHARE_TOLERANCE = 0.01  # far wider than the chance spread, far narrower than a real mistake
MEAN_TOLERANCE = 0.01  # relative: the mean of 100,000 values moves by about 0.2% by chance


def call(layer, x, where):
    """Run `layer(x)` on a copy of `x`; return the output tensor, or raise `Failed`.

    `where` says which case this is ("in training mode, p = 0.2"), for the message.
    """
    given = x.clone()
    try:
        out = attempt(layer, given)
    except Failed as failed:
        raise Failed(f"{where}: {failed}") from None
    if not isinstance(out, torch.Tensor):
        raise Failed(f"{where}: forward returned {type(out).__name__}; return a tensor "
                     "shaped like its input")
    if out.shape != x.shape:
        raise Failed(f"{where}: forward returned shape {tuple(out.shape)} for an input "
                     f"shaped {tuple(x.shape)}; dropout keeps the shape (one random number "
                     "per value: torch.rand_like(x))")
    if not torch.equal(given, x):
        raise Failed(f"{where}: forward changed its input in place; build a new tensor "
                     "(x * mask), do not assign into x")
    return out.detach()


def build(MyDropout, p):
    """`MyDropout(p)` in training mode, or raise `Failed` saying what is wrong."""
    try:
        layer = attempt(MyDropout, p)
    except Failed as failed:
        raise Failed(f"MyDropout({p}): {failed}") from None
    if not isinstance(layer, nn.Module):
        raise Failed(f"MyDropout({p}) made a {type(layer).__name__}; make MyDropout a "
                     "subclass of nn.Module")
    try:
        return layer.train()
    except AttributeError:  # nn.Module.__init__ never ran: the module has no _modules yet
        raise Failed(f"MyDropout({p}) is not set up as a module: start __init__ with "
                     "super().__init__(), then keep p (self.p = p)") from None


def trained_problem(layer, x, p):
    """Return (what is wrong with `layer` in training mode or None, the share it zeroed)."""
    where = f"in training mode, p = {p}"
    out = call(layer, x, where)
    dropped = out == 0
    share = dropped.float().mean().item()
    problem = share_problem(out, x, dropped, share, p, where)
    if problem is None:
        again = call(layer, x, where) == 0
        if torch.equal(again, dropped):
            problem = (f"{where}: two calls zeroed the same values; draw a new random mask "
                       "in every forward instead of keeping one")
    return problem, share


def share_problem(out, x, dropped, share, p, where):
    """What is wrong with one training-mode output `out` of input `x` (a sentence), or None."""
    if share == 0:
        unchanged = " (the output equals the input)" if torch.equal(out, x) else ""
        return (f"{where}: no value was zeroed{unchanged}; when self.training is True, zero "
                "each value with probability p")
    if (dropped == dropped[0]).all():
        return (f"{where}: every row has the same values zeroed; draw one random number "
                "per value (torch.rand_like(x)), not one per column")
    if abs(share - (1 - p)) < SHARE_TOLERANCE:
        return (f"{where}: {share:.1%} of the values were zeroed, about 1 - p: each value "
                "was kept with probability p; zero it with probability p instead (turn the "
                "comparison with p round)")
    if abs(share - p) > SHARE_TOLERANCE:
        return (f"{where}: {share:.1%} of the values were zeroed; expected about p = "
                f"{p:.0%}")
    kept, inputs = out[~dropped], x[~dropped]
    if torch.allclose(kept, inputs):
        return (f"{where}: kept values are not scaled by 1/(1-p): they equal the input; "
                "divide them by 1 - p so that the mean stays the same")
    expected = inputs / (1 - p)
    if not torch.allclose(kept, expected, rtol=1e-5, atol=1e-6):
        hints = [(inputs * (1 - p), "multiplied by 1 - p; divide by it instead"),
                 (inputs / p, "divided by p; divide by 1 - p instead")]
        hint = next((h for wrong, h in hints if torch.allclose(kept, wrong)),
                    f"an input of {inputs[0]:.3f} gave {kept[0]:.3f}, expected "
                    f"{expected[0]:.3f} (input / (1 - p))")
        return f"{where}: kept values are not scaled by 1/(1-p): {hint}"
    if abs(out.mean() - x.mean()) > MEAN_TOLERANCE * x.mean().abs():
        return (f"{where}: the mean moved from {x.mean():.4f} to {out.mean():.4f}; the "
                "kept values, divided by 1 - p, should make up for the zeroed ones")
    return None


def check_dropout(MyDropout):
    """Check the student's `MyDropout` class against what `nn.Dropout` does; print one verdict.

    The check builds `MyDropout(0.2)` and feeds it 100,000 positive values: in training
    mode about 20% must come out zero, the others divided by 0.8, the mean kept, and each
    call must zero other values. In eval mode, and with p = 0, the output must equal the
    input. Random numbers come from a seeded copy of PyTorch's generator, so the notebook's
    own random numbers stay as they are. Returns True when everything holds.

    Introduced in notebook 07a.
    """
    with torch.random.fork_rng(devices=[]):  # the student's torch.rand draws; ours stay put
        torch.manual_seed(0)
        x = 1 + torch.rand(SHAPE)  # (500, 200) values from 1 to 2: none is zero by itself
        try:
            layer = build(MyDropout, P)
            problem, share = trained_problem(layer, x, P)
            if problem is None:
                layer.eval()
                out = call(layer, x, "in eval mode")
                if (out == 0).any():
                    problem = ("still drops in eval mode: when self.training is False, return "
                               "the input unchanged")
                elif not torch.equal(out, x):
                    problem = ("in eval mode the values changed (scaled?): when "
                               "self.training is False, return the input unchanged")
            if problem is None:
                out = call(build(MyDropout, 0.0), x, "with p = 0, in training mode")
                if not torch.equal(out, x):
                    problem = (f"with p = 0, in training mode: {(out == 0).float().mean():.1%} "
                               "of the values were zeroed or changed; p = 0 must drop nothing "
                               "and leave the input unchanged")
        except Failed as failed:
            return not_yet(str(failed))
    if problem is not None:
        return not_yet(problem)
    return right(f"MyDropout({P}) zeroed {share:.1%} of {x.numel():,} values (other ones at "
                 f"every call) and divided the rest by 1 - p = {1 - P}, which kept "
                 "the mean; in eval mode and with p = 0 it leaves the input unchanged, like "
                 "nn.Dropout")
