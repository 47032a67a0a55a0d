"""The check of notebook 02b's "Your turn": a linear layer's gradients by hand, against autograd."""

import torch

from mnistlab.exercises.autograd import check_linear_grads


def linear_grads(x, W, b):
    """The worked answer of notebook 02b."""
    dL_dy = 2 * (x @ W + b)
    return x.T @ dL_dy, dL_dy.sum(dim=0)


def verdict(answer, capsys):
    result = check_linear_grads(answer)
    line = capsys.readouterr().out
    assert line.count("\n") == 1, "a check prints one line"
    return result, line


def test_the_worked_answer_is_right(capsys):
    result, line = verdict(linear_grads, capsys)
    assert result is True and line.startswith("Right: linear_grads matches autograd's")


def test_the_skeleton_is_not_yet(capsys):
    def linear_grads(x, W, b):
        ...

    result, line = verdict(linear_grads, capsys)
    assert result is False
    assert line.startswith("Not yet: linear_grads returned None: fill in")


def test_a_bias_gradient_not_summed_over_the_batch_is_named(capsys):
    def per_example(x, W, b):
        dL_dy = 2 * (x @ W + b)
        return x.T @ dL_dy, dL_dy

    result, line = verdict(per_example, capsys)
    assert result is False
    assert "dL/db has shape (4, 2)" in line and "b is (2,)" in line
    assert "adds up over the batch" in line and "(dL/dW is right)" in line


def test_a_transposed_weight_gradient_is_named(capsys):
    def transposed(x, W, b):
        dL_dy = 2 * (x @ W + b)
        return dL_dy.T @ x, dL_dy.sum(dim=0)

    result, line = verdict(transposed, capsys)
    assert result is False
    assert "dL/dW has shape (2, 3)" in line and "transposed" in line
    assert "(dL/db is right)" in line


def test_wrong_values_name_the_factor_or_show_both(capsys):
    def no_two(x, W, b):
        dL_dy = x @ W + b  # forgot the 2 of the derivative of y ** 2
        return x.T @ dL_dy, dL_dy.sum(dim=0)

    result, line = verdict(no_two, capsys)
    assert result is False and "half of autograd's" in line and "dL/db" in line

    def averaged(x, W, b):
        dL_dy = 2 * (x @ W + b)
        return x.T @ dL_dy, dL_dy.mean(dim=0)

    assert "divided by the batch size 4" in verdict(averaged, capsys)[1]

    def zeros(x, W, b):
        return torch.zeros_like(W), torch.zeros_like(b)

    line = verdict(zeros, capsys)[1]
    assert "yours [[0.0, 0.0]" in line and "autograd's W.grad [[" in line


def test_an_answer_for_the_first_shapes_only_fails_on_the_second_layer(capsys):
    def hard_coded(x, W, b):
        if x.shape != (4, 3):
            return torch.zeros(3, 2), torch.zeros(2)
        return linear_grads(x, W, b)

    result, line = verdict(hard_coded, capsys)
    assert result is False and line.startswith("Not yet: on a second layer, x (5, 4)")


def test_broken_answers_never_raise(capsys):
    def raises(x, W, b):
        return x @ W.T  # shapes that cannot be multiplied

    result, line = verdict(raises, capsys)
    assert result is False and "raised RuntimeError" in line
    assert verdict(lambda x, W, b: x, capsys)[1].startswith("Not yet: <lambda> returned Tensor")
    line = verdict(lambda x, W, b: (W, "b"), capsys)[1]
    assert "dL/db is of type str" in line


def test_the_check_leaves_the_global_random_numbers_alone(capsys):
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    verdict(linear_grads, capsys)
    assert torch.equal(torch.rand(2), expected)
