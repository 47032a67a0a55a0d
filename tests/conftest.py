"""Shared fixtures: the offline sample of real MNIST digits, the genuine files in ../shared, and
the offline slide decks."""

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests draw figures without a screen

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "mnist"


@pytest.fixture(scope="session")
def sample_sets():
    """(train, test) of the offline sample: 4,000 + 1,000 real digits, normalised."""
    import mnistlab

    return mnistlab.load_mnist(sample=True, verbose=False)


@pytest.fixture(scope="session")
def trained_mlp(sample_sets):
    """The series' first network, `mlp`, trained one epoch on the offline sample (a second).

    Trained once per test session and shared: tests that need a model that reads digits
    (not random weights) use it, and must not change its weights.
    """
    import torch

    import mnistlab

    train, _ = sample_sets
    loader = mnistlab.TensorLoader.from_dataset(train, batch_size=50, shuffle=True, seed=0)
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    mnistlab.train_one_epoch(model, loader, optimizer)
    return model.eval()


@pytest.fixture(scope="session")
def trained_checkpoint(trained_mlp, tmp_path_factory):
    """`trained_mlp` saved with `mnistlab.save_checkpoint`: the path of the .pt file."""
    import mnistlab

    return mnistlab.save_checkpoint(tmp_path_factory.mktemp("models") / "mlp.pt", trained_mlp,
                                    epochs=1)


@pytest.fixture
def shared_mnist():
    """Folder with genuine MNIST in torchvision's layout; the test is skipped without it."""
    if not (SHARED_MNIST / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.skip("../shared/mnist is absent (a user's fresh clone has no ../shared)")
    return SHARED_MNIST


@pytest.fixture
def no_network(monkeypatch):
    """Make every outgoing connection fail at once, as on a machine with no network.

    Returns the list of timeouts the code asked for, so a test can check it would not hang.
    """
    import socket

    timeouts = []

    def refuse(address, timeout=None, *args, **kwargs):
        timeouts.append(timeout)
        raise OSError(f"network disabled in this test ({address[0]})")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return timeouts


@pytest.fixture(autouse=True)
def _real_data_path(monkeypatch):
    """Unit tests choose their data themselves: `run.py test` sets MNISTLAB_SAMPLE=1 for nbval."""
    monkeypatch.delenv("MNISTLAB_SAMPLE", raising=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")



@pytest.fixture(scope="session")
def decks(tmp_path_factory):
    """The offline decks of `run.py slides`, built once (a minute) into a temporary folder:
    test_classroom reads their HTML, test_browser measures their slides."""
    import sys

    sys.path.insert(0, str(REPO / "tools"))
    import slides

    return slides.build(tmp_path_factory.mktemp("slides"))
