"""The checks of the "Your turn" spots of notebooks 04a and 04b: Right on the worked code,
Not yet (saying what is wrong) on the skeleton and on typical mistakes, and never an exception."""

import pytest
import torch
import torch.nn.functional as F

from mnistlab.exercises import mlp


def softmax(scores):
    exps = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
    return exps / exps.sum(dim=1, keepdim=True)


def cross_entropy(scores, labels):
    return -torch.log(softmax(scores)[torch.arange(len(labels)), labels]).mean()


def naive_softmax(scores):  # right, until torch.exp overflows
    return torch.exp(scores) / torch.exp(scores).sum(dim=1, keepdim=True)


def column_softmax(scores):  # normalises over the batch
    return torch.exp(scores) / torch.exp(scores).sum(dim=0, keepdim=True)


def unfinished(name):
    """A function whose body is the student edition's `...`: it returns None."""
    def skeleton(*args):
        ...
    skeleton.__name__ = name
    return skeleton


def verdict(capsys, check, *args):
    """(what the check returned, the one line it printed)."""
    result = check(*args)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    return result, lines[0]


def test_softmax_and_cross_entropy_worked_code_is_right(capsys):
    assert verdict(capsys, mlp.check_softmax_and_cross_entropy, softmax, cross_entropy) == (
        True, "Right: softmax matches torch.softmax and cross_entropy matches F.cross_entropy, "
        "also on scores near 1000")


@pytest.mark.parametrize("student_softmax, student_cross_entropy, words", [
    (unfinished("softmax"), unfinished("cross_entropy"), "softmax returned None"),
    (softmax, unfinished("cross_entropy"), "cross_entropy returned None"),
    (column_softmax, cross_entropy, "makes each column sum to 1"),
    (naive_softmax, cross_entropy, "softmax is right on small scores, but on the same scores "
                                   "plus 1000 gives inf or nan"),
    (softmax, lambda s, y: torch.log(softmax(s)[torch.arange(len(y)), y]).mean(), "wrong sign"),
    (softmax, lambda s, y: -torch.log(softmax(s)[torch.arange(len(y)), y]).sum(), "the sum"),
    (softmax, lambda s, y: -torch.log(naive_softmax(s)[torch.arange(len(y)), y]).mean(),
     "cross_entropy is right on small scores"),
    (softmax, lambda s, y: -torch.log(softmax(s)[:, y]).mean(), "F.cross_entropy gives"),
    (softmax, lambda s, y: -torch.log(softmax(s)[torch.arange(len(y)), y]), "shape (4,)"),
    (lambda s: s.numpy(), cross_entropy, "is a ndarray"),
    (lambda s: 1 / 0, cross_entropy, "softmax raised ZeroDivisionError"),
])
def test_softmax_and_cross_entropy_mistakes_are_named(capsys, student_softmax,
                                                      student_cross_entropy, words):
    result, line = verdict(capsys, mlp.check_softmax_and_cross_entropy, student_softmax,
                           student_cross_entropy)
    assert result is False and line.startswith("Not yet: ")
    assert words in line


def test_the_reference_step_is_one_sgd_step_on_cross_entropy():
    model, batches = mlp.tiny_problem()
    images, labels = batches[0]
    before = [p.detach().clone() for p in model.parameters()]
    expected_loss = F.cross_entropy(model(images), labels)
    gradients = torch.autograd.grad(expected_loss, list(model.parameters()))
    logits, loss = mlp.train_step(model, images, labels,
                                  torch.optim.SGD(model.parameters(), lr=0.1))
    assert logits.shape == (8, 10) and torch.allclose(loss, expected_loss)
    for weight, start, gradient in zip(model.parameters(), before, gradients):
        assert torch.allclose(weight, start - 0.1 * gradient, atol=1e-6)


def test_train_step_check_is_right_on_the_reference_and_leaves_the_random_state(capsys):
    state = torch.get_rng_state()
    assert verdict(capsys, mlp.check_train_step, mlp.train_step) == (
        True, "Right: train_step takes the same two SGD steps as mnistlab's train_step and "
        "returns the same loss")
    assert torch.equal(torch.get_rng_state(), state)


def no_zero_grad(model, images, labels, optimizer):
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return logits, loss


def no_step(model, images, labels, optimizer):
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    return logits, loss


def zero_grad_between(model, images, labels, optimizer):
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return logits, loss


def nll_on_scores(model, images, labels, optimizer):
    logits = model(images)
    loss = F.nll_loss(logits, labels)  # forgets the log-softmax
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return logits, loss


def two_steps(model, images, labels, optimizer):
    logits, loss = mlp.train_step(model, images, labels, optimizer)
    optimizer.step()
    return logits, loss


def model_zero_grad(model, images, labels, optimizer):  # another right answer
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    model.zero_grad()
    loss.backward()
    optimizer.step()
    return logits, loss


@pytest.mark.parametrize("step, words", [
    (unfinished("train_step"), "train_step returned None"),
    (no_zero_grad, "the second followed the sum of both batches' gradients"),
    (no_step, "call optimizer.step() after loss.backward()"),
    (zero_grad_between, "optimizer.step() found no gradients"),
    (nll_on_scores, "F.cross_entropy(model(images), labels) gives"),
    (two_steps, "after batch 1 the weights differ"),
    (lambda m, x, y, o: mlp.train_step(m, x, y, o)[1], "returned a Tensor; return the pair"),
    (lambda m, x, y, o: (m(x), F.cross_entropy(m(x), y).item()), "is a float"),
    (lambda m, x, y, o: m(x.view(100, -1)), "RuntimeError"),
])
def test_train_step_mistakes_are_named(capsys, step, words):
    result, line = verdict(capsys, mlp.check_train_step, step)
    assert result is False and line.startswith("Not yet: ")
    assert words in line


def test_train_step_check_accepts_model_zero_grad(capsys):
    assert verdict(capsys, mlp.check_train_step, model_zero_grad)[0] is True
