"""A Keras-style table of a model's layers, output shapes and parameter counts.

Introduced in notebook 04b.
"""

import contextlib
import copy
import io

import torchsummary

from .checks import IMAGE_SHAPE, check_model


def summary(model, input_size=IMAGE_SHAPE, show=True):
    """Print torchsummary's table for `model` (or, with show=False, return it as a string).

    torchsummary makes its example input on "cuda" or "cpu" by name, so a model on
    another device (or a GPU model summarised with device="cpu") fails with "Expected
    all tensors to be on the same device". This helper avoids that on every machine by
    summarising a CPU copy of the model: the input and the weights are then always on
    the same device, and the model itself (its device, its batch-norm statistics) is
    left untouched.

    Args:
        model: the network.
        input_size: shape of one example without the batch dimension, (1, 28, 28).
        show: print the table and return None (default True); False returns the text.
    """
    check_model(model)
    if isinstance(input_size, int) or not all(
        isinstance(size, int) and size > 0 for size in input_size
    ):
        raise ValueError(
            f"input_size is the shape of one example without the batch dimension, such as "
            f"(1, 28, 28) or (784,); got {input_size!r}"
        )
    cpu_copy = copy.deepcopy(model).cpu().eval()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        torchsummary.summary(cpu_copy, tuple(input_size), device="cpu")
    table = text.getvalue()
    if not show:
        return table
    print(table, end="")
