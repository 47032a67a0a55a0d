"""What `mnistlab.fit` costs on top of a bare loop, on the same loader and the same model.

`fit` does more than train: it checks the first batch, counts correct predictions, sums
the loss, looks for NaN every few dozen batches and keeps a history. None of it should
slow training down. Here one model is trained for one epoch at a time, by `fit` (progress
bar off) and by the bare loop of the fast path (`pipelines.fast_path_steps`, float32), on
one TensorLoader, in many rounds. Each round times both, in alternating order (whichever
runs second finds the caches warm); the result is the median, over rounds, of fit's rate
over the bare loop's in the same round. On a shared machine single rounds differ by 10%
or more, so it takes many short rounds, not a few long ones, to see 1%.
"""

import torch

from mnistlab.loaders import TensorLoader
from mnistlab.models import build_model
from mnistlab.training import fit

from .accuracy import ExampleNet
from .pipelines import BATCH_SIZE, LEARNING_RATE, fast_path_steps
from .timing import Stopwatch, paired_ratio

# (label, how to build the model, batch size, training digits: one epoch is a round):
# the smallest network, where the loop's own cost shows most (40 batches, about 0.05 s
# on 2 CPU cores), and the PyTorch example's network, where it was first noticed (10
# batches, about 0.8 s).
OVERHEAD_MODELS = {
    "mlp": (lambda: build_model("mlp", seed=0), BATCH_SIZE, 4_000),
    "PyTorch example": (ExampleNet, 64, 640),
}
OVERHEAD_ROUNDS = {"mlp": 101, "PyTorch example": 21}  # about 10 and 35 seconds on 2 cores


def fit_overhead(label, images, targets, device, rounds=None):
    """Time `fit` against the bare loop for one model; return their rates and the ratio.

    Both train the same model (taking turns, so each continues where the other stopped)
    on the same TensorLoader, one epoch per round; the first round is a warm-up.

    Returns {"model", "batch_size", "fit_images_per_s", "bare_images_per_s" (each the
    fastest round), "fit_over_bare": median of the paired rounds, "rounds": {...}}.
    """
    build, batch_size, digits = OVERHEAD_MODELS[label]
    rounds = rounds or OVERHEAD_ROUNDS[label]
    images, targets = images[:digits], targets[:digits]
    torch.manual_seed(0)
    model = build().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = TensorLoader(images, targets, batch_size=batch_size, shuffle=True, device=device,
                          seed=0)

    def with_fit():
        fit(model, loader, optimizer, epochs=1, progress=False, verbose=False)

    def bare_loop():
        fast_path_steps(model, loader, optimizer, len(loader))

    times = {"fit": [], "bare": []}
    runs = [("fit", with_fit), ("bare", bare_loop)]
    for number in range(rounds + 1):
        for name, run in runs if number % 2 else runs[::-1]:
            with Stopwatch(device) as watch:
                run()
            if number > 0:  # round 0 warms up
                times[name].append(watch.seconds)
    rates = {name: [len(targets) / s for s in seconds] for name, seconds in times.items()}
    return {
        "model": label,
        "batch_size": batch_size,
        "fit_images_per_s": max(rates["fit"]),
        "bare_images_per_s": max(rates["bare"]),
        "fit_over_bare": paired_ratio({"rounds": rates["fit"]}, {"rounds": rates["bare"]}),
        "rounds": rates,
    }
