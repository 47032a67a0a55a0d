"""What `mnistlab.fit` costs on top of a bare loop, on the same loader and the same model.

`fit` does more than train: it checks the first batch, counts correct predictions, sums
the loss, looks for NaN every few dozen batches and keeps a history. None of it should
slow training down. Here one model is trained in alternating windows by `fit` (progress
bar off) and by the bare loop of the fast path (`pipelines.fast_path_steps`, float32), on
one TensorLoader; the result is the median, over rounds, of fit's rate over the bare
loop's in the same round.
"""

import math

import torch

from mnistlab.data import TensorLoader
from mnistlab.models import build_model
from mnistlab.training import fit

from .accuracy import ExampleNet
from .pipelines import BATCH_SIZE, LEARNING_RATE, fast_path_steps
from .timing import measure_rates, paired_ratio

OVERHEAD_DIGITS = 4_000  # training digits used: whole epochs of a second or two on 2 CPU cores

# (label, how to build the model, batch size): the smallest network, where the loop's own
# cost shows most, and the PyTorch example's network, where it was first noticed.
OVERHEAD_MODELS = {
    "mlp": (lambda: build_model("mlp", seed=0), BATCH_SIZE),
    "PyTorch example": (ExampleNet, 64),
}


def fit_overhead(label, images, targets, device, window=1.0, rounds=5):
    """Time `fit` against the bare loop for one model; return their rates and the ratio.

    Both train the same model (taking turns, so each continues where the other stopped)
    on the same TensorLoader for whole epochs.

    Returns {"model", "batch_size", "fit_images_per_s", "bare_images_per_s",
    "fit_over_bare": median of the paired rounds, "rounds": {...}}.
    """
    build, batch_size = OVERHEAD_MODELS[label]
    torch.manual_seed(0)
    model = build().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = TensorLoader(images, targets, batch_size=batch_size, shuffle=True, device=device,
                          seed=0)

    def epochs_for(batches):
        return max(1, math.ceil(batches / len(loader)))

    def with_fit(batches):
        epochs = epochs_for(batches)
        fit(model, loader, optimizer, epochs=epochs, progress=False, verbose=False)
        return epochs * len(targets)

    def bare_loop(batches):
        epochs = epochs_for(batches)
        fast_path_steps(model, loader, optimizer, epochs * len(loader))
        return epochs * len(targets)

    rates = measure_rates({"fit": with_fit, "bare": bare_loop}, device, window, rounds)
    return {
        "model": label,
        "batch_size": batch_size,
        "fit_images_per_s": rates["fit"]["images_per_s"],
        "bare_images_per_s": rates["bare"]["images_per_s"],
        "fit_over_bare": paired_ratio(rates["fit"], rates["bare"]),
        "rounds": {name: rate["rounds"] for name, rate in rates.items()},
    }
