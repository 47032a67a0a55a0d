"""The networks of the series, each with the exact layer shapes of a common MNIST tutorial.

| name       | network                                                      | notebook  |
|------------|--------------------------------------------------------------|-----------|
| `mlp`      | 784-20-10, sigmoid                                           | 04a, 04b  |
| `mlp_wide` | 784-128-64-10, ReLU                                          | 04c       |
| `cnn`      | conv 1->16->32 (5x5, padding 2), max-pool, fc 1568->10       | 05a       |
| `lenet`    | conv 1->6->16 (3x3), fc 400->120->84->10 (LeNet style)       | 05b, 06a  |
| `cnn_wide` | conv 1->32->64 (3x3, padding 1), max-pool, fc 3136->10       | 05b       |
| `cnn_deep` | conv 16/32/64 (5x5, no padding), fc 576->100->10             | 05b       |
| `cnn_bn`   | a small modern CNN with batch norm and dropout               | 06b, 07   |

The README credits the tutorials these shapes come from.

`build_model("cnn")` builds one by name. Every model takes a batch of normalised images
shaped (N, 1, 28, 28) and returns raw scores (logits) shaped (N, 10): there is no softmax
at the end because `nn.CrossEntropyLoss` applies log-softmax itself. Each `forward` is
only the computation; a network made by `build_model` also checks its input first (a
hook from `mnistlab.checks`), so a wrongly shaped batch gets a message with the fix.

Introduced in notebooks 04b (MLPs; 04a writes the first one by hand) and 05a (CNNs).
"""

import torch
from torch import nn

from . import checks

NUM_CLASSES = 10


class MLP(nn.Module):
    """A fully connected network: flatten the 784 pixels, hidden layers, 10 scores.

    Args:
        hidden_sizes: width of each hidden layer; (20,) is the series' first network and
            (128, 64) its wider one.
        activation: "sigmoid" (the first network) or "relu".

    Accepts images (N, 1, 28, 28) or already flattened pixels (N, 784).
    """

    def __init__(self, hidden_sizes=(20,), activation="sigmoid"):
        super().__init__()
        if isinstance(hidden_sizes, int):
            hidden_sizes = (hidden_sizes,)  # MLP(hidden_sizes=20) means one layer of 20
        activations = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
        if activation not in activations:
            raise ValueError(f"activation must be one of {sorted(activations)}, got {activation!r}")
        layers = [nn.Flatten()]  # (N, 1, 28, 28) -> (N, 784)
        width = 28 * 28
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), activations[activation]()]
            width = hidden
        layers.append(nn.Linear(width, NUM_CLASSES))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)  # (N, 10)


class CNN(nn.Module):
    """Two convolution blocks (conv, ReLU, 2x2 max-pool) and one linear layer.

    With the defaults it is notebook 05a's first CNN: 1->16->32 channels, 5x5 kernels,
    padding 2 (so 28x28 -> 14x14 -> 7x7), then 32*7*7 = 1568 -> 10. With
    `channels=(32, 64), kernel_size=3` it is `cnn_wide` (3136 -> 10).
    Both tutorials initialise the linear layer with Xavier-uniform weights; so does this.
    """

    def __init__(self, channels=(16, 32), kernel_size=5):
        super().__init__()
        c1, c2 = channels
        padding = kernel_size // 2  # keeps 28x28 at 28x28 before each pooling
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size, padding=padding),  # (N, c1, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, kernel_size, padding=padding),  # (N, c2, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c2, 7, 7)
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 7 * 7, NUM_CLASSES))
        nn.init.xavier_uniform_(self.classifier[1].weight)

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNet(nn.Module):
    """A LeNet-style network: two 3x3 convolutions, then 400 -> 120 -> 84 -> 10.

    Without padding, 28x28 shrinks to 26 (conv), 13 (pool), 11 (conv) and 5 (pool), so
    the flattened features number 16 * 5 * 5 = 400.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 3),  # (N, 6, 26, 26)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 6, 13, 13)
            nn.Conv2d(6, 16, 3),  # (N, 16, 11, 11)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 400)
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, NUM_CLASSES),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class DeepCNN(nn.Module):
    """Three 5x5 convolutions (16, 32, 64 channels), no padding.

    28 -> 24 -> 20 -> pool 10 -> 6 -> pool 3, so 64 * 3 * 3 = 576 features feed
    576 -> 100 -> 10. A common version of this code flattens with
    `view(batch_size, -1)`, which breaks on the last, smaller batch; this flattens with
    `nn.Flatten()` instead.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5),  # (N, 16, 24, 24)
            nn.ReLU(),
            nn.Conv2d(16, 32, 5),  # (N, 32, 20, 20)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 32, 10, 10)
            nn.Conv2d(32, 64, 5),  # (N, 64, 6, 6)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 64, 3, 3)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 576)
            nn.Linear(64 * 3 * 3, 100),
            nn.ReLU(),
            nn.Linear(100, NUM_CLASSES),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def conv_bn(in_channels, out_channels):
    """A 3x3 convolution, batch normalisation and ReLU: the building block of `BNCNN`."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),  # BN supplies the bias
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class BNCNN(nn.Module):
    """A small modern CNN: 3x3 convolutions with batch norm, two poolings, one linear layer.

    Batch norm keeps each layer's inputs well scaled, so it trains quickly with a large
    learning rate, and dropout before the last layer curbs overfitting (07a and 07b).
    With 07b's recipe it reaches about 99% on the official 10,000 test digits
    from only 6,000 training digits.

    Args:
        width: channels of the first block; the second block has twice as many.
    """

    def __init__(self, width=32):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, width),  # (N, w, 28, 28)
            conv_bn(width, width),
            nn.MaxPool2d(2),  # (N, w, 14, 14)
            conv_bn(width, 2 * width),  # (N, 2w, 14, 14)
            conv_bn(2 * width, 2 * width),
            nn.MaxPool2d(2),  # (N, 2w, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 2w * 49)
            nn.Dropout(0.2),
            nn.Linear(2 * width * 7 * 7, NUM_CLASSES),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {
    "mlp": lambda: MLP(hidden_sizes=(20,), activation="sigmoid"),
    "mlp_wide": lambda: MLP(hidden_sizes=(128, 64), activation="relu"),
    "cnn": lambda: CNN(channels=(16, 32), kernel_size=5),
    "lenet": LeNet,
    "cnn_wide": lambda: CNN(channels=(32, 64), kernel_size=3),
    "cnn_deep": DeepCNN,
    "cnn_bn": BNCNN,
}


def build_model(name, seed=None):
    """Build one of the series' networks by name (see `MODELS`), optionally seeded.

    Args:
        name: "mlp", "mlp_wide", "cnn", "lenet", "cnn_wide", "cnn_deep" or "cnn_bn".
        seed: when given, `torch.manual_seed(seed)` runs first, so the same name and
            seed always give the same starting weights.

    The network checks every batch it is given (shape, dtype) before its `forward` runs,
    and says the fix when the batch is wrong.

    Introduced in notebook 04b.
    """
    if not isinstance(name, str) or name not in MODELS:
        hint = ""
        if isinstance(name, str) and name.lower().replace("-", "_") in MODELS:
            hint = f" (did you mean {name.lower().replace('-', '_')!r}?)"
        raise ValueError(f"unknown model {name!r}{hint}; choose one of {', '.join(MODELS)}")
    if seed is not None:
        torch.manual_seed(seed)
    model = MODELS[name]()
    model.name = name  # remembered in checkpoints
    return checks.check_inputs_of(model, flat_ok=isinstance(model, MLP))


def count_parameters(model, trainable_only=True):
    """Return the number of (trainable) numbers in a model's weights and biases."""
    checks.check_model(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
