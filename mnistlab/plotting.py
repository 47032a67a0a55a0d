"""Pictures of digits, of training curves and of a model's mistakes.

Every function here takes a tensor or a NumPy array, draws on the matplotlib Axes you
pass as `ax` (or makes a new figure when `ax` is None) and returns what it drew on.
None of them calls `plt.show()` or changes matplotlib's settings: the notebook decides.
Figures they create are sized for a 1280x720 projector: text of at least 10 points on
learning curves and the confusion matrix, titles and axis labels on every chart, and a
resolution of `DPI` dots per inch, all set on the figure itself (never in rcParams).

* `plot_digit_pixels`: one digit with the values of its pixels written on it (notebook 03a)
* `show_images`: a grid of images with their labels or predictions (notebook 03a)
* `plot_history`: loss and accuracy curves returned by `mnistlab.fit` (notebook 04b)
* `plot_probabilities`: a bar chart of the predicted probabilities of one image (notebook 04b)
* `confusion_matrix`, `plot_confusion_matrix`, `show_misclassified`: what the model
  gets wrong (notebook 05c)
"""

import math

import matplotlib.patheffects as patheffects
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator, PercentFormatter

WRONG_COLOR = "tab:red"  # titles of wrongly predicted images
DPI = 110  # dots per inch of the figures made here: sharp on a projector, not huge on a laptop
LEGEND_FONTSIZE = 10  # points; readable from the back of a room
COLOR_CHANNELS = (3, 4)  # RGB and RGBA images


def _to_numpy(x):
    """Return `x` (a tensor, an array, a PIL image or a list) as a NumPy array."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _as_int(value):
    """Turn a label (an int, a 0-d tensor or a 0-d array) into a plain int."""
    return int(value.item()) if hasattr(value, "item") else int(value)


def _as_text(label):
    """Turn a label (an int, a string, a 0-d tensor or array) into a title."""
    return str(label.item()) if hasattr(label, "item") else str(label)


def _pixel_image(image):
    """Return one digit as a (28, 28) array, or raise an error that says how to get one."""
    is_tensor = isinstance(image, torch.Tensor)
    array = _to_numpy(image)
    shape = tuple(array.shape)
    if shape == (1, 28, 28):
        return array[0]
    if shape == (28, 28):
        return array
    reshape = "image.view(28, 28)" if is_tensor else "image.reshape(28, 28)"
    if array.size == 784:
        hint = f"reshape with {reshape}"
    elif shape[:2] == (28, 28) and len(shape) == 3:
        hint = "that is a colour image: make it grey with image.mean(-1), or pick image[..., 0]"
    elif shape == (3, 28, 28):
        hint = "a colour image or a batch? make it grey with image.mean(0), or pick image[0]"
    elif array.ndim >= 3 and shape[-2:] == (28, 28):
        hint = "that is a batch of images: pick one with images[0]"
    else:
        hint = "MNIST digits are 28x28 pixels; check where the image came from"
    raise ValueError(f"expected a 28x28 image or (1, 28, 28), got {shape}: {hint}")


def pixel_window(top, left, size):
    """Check that a `size` x `size` window starting at row `top`, column `left` lies inside a
    28x28 digit, and return (rows, columns) as two ranges; raise an error naming the fix."""
    for name, value in [("top", top), ("left", left), ("size", size)]:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number of pixels, got {value!r}")
    if size < 1 or size > 28:
        raise ValueError(f"size must be 1 to 28 pixels, got {size}: 14 fits a projector, "
                         f"28 shows every pixel")
    for name, value in [("top", top), ("left", left)]:
        if value < 0 or value + size > 28:
            raise ValueError(
                f"{name}={value} with size={size} reaches past the 28x28 digit: "
                f"pick {name} from 0 to {28 - size}"
            )
    return range(top, top + size), range(left, left + size)


def plot_digit_pixels(image, label=None, ax=None, fontsize=10, top=7, left=7, size=14):
    """Write the value of every pixel of a square window of one digit on top of its picture.

    A 28x28 grid of numbers is too small to read on a projector, so the numbers cover a
    `size` x `size` window, by default the middle 14x14 pixels (rows and columns 7 to 20),
    where most of the stroke is. With `ax=None` the figure shows the whole digit on the
    left, the window outlined in red, and the window's values on the right; it is 880x528
    pixels at `DPI`, so it fits JupyterLab's notebook area on a 1280x720 screen, and the
    numbers are about 15 pixels high. The window keeps the digit's own row and column
    numbers on its axes. `top=0, left=0, size=28` writes every pixel (on a large figure).

    Integer images (0..255) show whole numbers; float images (ToTensor's [0, 1] or
    normalised pixels) show one decimal. Text is white on dark pixels and black on light
    ones (the switch is halfway between the darkest and the lightest pixel of the digit),
    with a thin outline in the other colour so that numbers on mid-grey pixels stay
    readable. The background value (the darkest pixel, hundreds of them) is written faintly.

    Args:
        image: one digit shaped (28, 28) or (1, 28, 28), a tensor or an array.
        label: the digit's label, shown in the title (default None: no label).
        ax: the matplotlib Axes for the window's values (default None: a new figure with
            the whole digit beside them).
        fontsize: size of the pixel values in points (default 10).
        top, left: the window's first row and column (default 7 and 7).
        size: the window's height and width in pixels (default 14).

    Returns the Axes of the window. Introduced in notebook 03a.
    """
    pixels = _pixel_image(image)
    rows, cols = pixel_window(top, left, size)
    low, high = pixels.min().item(), pixels.max().item()
    if ax is None:
        fig, (whole, ax) = plt.subplots(
            1, 2, figsize=(8, 4.8), dpi=DPI, width_ratios=(1, 2), layout="constrained"
        )
        whole.imshow(pixels, cmap="gray", vmin=low, vmax=high)
        whole.add_patch(plt.Rectangle(
            (left - 0.5, top - 0.5), size, size, fill=False, edgecolor="red", linewidth=2
        ))
        whole.set_title("all 28x28 pixels", fontsize=12)
        whole.set_axis_off()
    window = pixels[top:top + size, left:left + size]
    extent = (left - 0.5, left + size - 0.5, top + size - 0.5, top - 0.5)  # the digit's own
    ax.imshow(window, cmap="gray", vmin=low, vmax=high, extent=extent)  # row/column numbers
    middle = (low + high) / 2
    whole_numbers = not np.issubdtype(pixels.dtype, np.floating)
    outline = {
        color: [patheffects.withStroke(linewidth=1.5, foreground=other)]
        for color, other in [("white", "black"), ("black", "white")]
    }
    for row in rows:
        for col in cols:
            value = pixels[row, col].item()
            text = str(int(value)) if whole_numbers else f"{value:.1f}".replace("-0.0", "0.0")
            color = "white" if value < middle else "black"
            faint = value == low and low != high  # the background: hundreds of equal values
            ax.text(
                col, row, text, ha="center", va="center", color=color, fontsize=fontsize,
                alpha=0.4 if faint else 1.0, path_effects=None if faint else outline[color],
            )
    title = f"rows {rows[0]}-{rows[-1]}, columns {cols[0]}-{cols[-1]}"
    ax.set_title(title if label is None else f"label {_as_text(label)}: {title}", fontsize=12)
    ax.set_xticks([cols[0], cols[-1]])
    ax.set_yticks([rows[0], rows[-1]])
    ax.tick_params(labelsize=10, length=0)
    return ax


def _colour_for_imshow(stack):
    """Scale colour images to what imshow shows without clipping: uint8, or floats in [0, 1]."""
    if stack.dtype == np.uint8:
        return stack
    stack = stack.astype(np.float32)
    low = stack.min(axis=(1, 2, 3), keepdims=True)
    high = stack.max(axis=(1, 2, 3), keepdims=True)
    if low.min() >= 0 and high.max() <= 1:
        return stack
    return (stack - low) / np.maximum(high - low, 1e-12)  # each image stretched to [0, 1]


def _image_stack(images, kind):
    """Return images as an (N, H, W) grey or (N, H, W, C) colour array, or explain the shapes.

    Colour images come channels-first like PyTorch, (N, 3, H, W), or channels-last like
    NumPy and PIL, (N, H, W, 3) or one (H, W, 3) image; both are shown in colour.
    """
    array = _to_numpy(images)
    shape = tuple(array.shape)
    hint = None
    if array.ndim == 4 and shape[1] == 1:
        return array[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if array.ndim == 4 and shape[-1] == 1:
        return array[..., 0]  # channels-last grey (N, H, W, 1) -> (N, H, W)
    if array.ndim == 4 and shape[1] in COLOR_CHANNELS:
        return _colour_for_imshow(array.transpose(0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C)
    if array.ndim == 4 and shape[-1] in COLOR_CHANNELS:
        return _colour_for_imshow(array)
    one_colour_image = shape[-1:] in [(3,), (4,)] and shape[:2] == shape[:2][::-1]
    if array.ndim == 3 and one_colour_image and shape[0] > 4:
        return _colour_for_imshow(array[None])  # one (H, W, C) image -> (1, H, W, C)
    if array.ndim in (2, 3) and shape[-1] == 784:
        hint = "the images are flattened: reshape with images.reshape(-1, 28, 28)"
    elif array.ndim == 3:
        return array
    elif array.ndim == 2:
        return array[None]  # one image (H, W) -> (1, H, W)
    elif array.ndim == 4 and shape[1] == shape[2]:  # channels last, (N, H, W, C)
        hint = (
            f"images have 1 (grey) or 3 (colour) channels, got {shape[-1]} in (N, H, W, C): "
            f"pick one channel with images[..., 0]"
        )
    elif array.ndim == 4:
        hint = (
            f"images have 1 (grey) or 3 (colour) channels, got {shape[1]} in (N, C, H, W): "
            f"pick one channel with images[:, :1]"
        )
    elif array.ndim == 1:
        hint = "that is a single row of numbers, not an image: reshape it to (H, W)"
    else:
        hint = "pass a batch (N, 1, H, W), a tensor (N, H, W) or a list of images"
    raise ValueError(
        f"expected {kind} shaped (N, 1, H, W), (N, H, W), (H, W), or colour (N, 3, H, W), "
        f"(N, H, W, 3), (H, W, 3); got {shape}: {hint}"
    )


def _one_image(image):
    """Return one image of a list or a dataset as an (H, W) or (H, W, C) array."""
    stack = _image_stack(image, "each image")
    if len(stack) != 1:
        raise ValueError(
            f"expected each image shaped (H, W), (1, H, W) or (H, W, 3), got "
            f"{tuple(_to_numpy(image).shape)}: pass a batch (N, 1, H, W) as one tensor "
            f"instead of a list"
        )
    return stack[0]


def _first_items(images, n):
    """Split `images` into (an (N, H, W) array, the labels it carries or None)."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        stack = _image_stack(images, "images")
        return stack[:n], None
    count = len(images) if n is None else min(n, len(images))
    items = [images[i] for i in range(count)]
    if count and isinstance(items[0], (tuple, list)):  # a dataset of (image, label)
        stack = np.stack([_one_image(image) for image, _ in items])
        return stack, [_as_int(label) for _, label in items]
    return np.stack([_one_image(image) for image in items]), None


def grid_titles(count, titles=None, labels=None, predicted=None):
    """The titles and their colours for `show_images`: "7", or "7 (true 2)" in red when wrong."""
    colors = ["black"] * count
    if titles is not None:
        titles = [str(title) for title in titles]
    elif predicted is not None:
        predicted = [_as_int(p) for p in _to_numpy(predicted).reshape(-1)[:count]]
        titles = [str(p) for p in predicted]
        if labels is not None:
            labels = [_as_int(t) for t in _to_numpy(labels).reshape(-1)[:count]]
            for i, (guess, truth) in enumerate(zip(predicted, labels)):
                if guess != truth:
                    titles[i] = f"{guess} (true {truth})"
                    colors[i] = WRONG_COLOR
    elif labels is not None:
        titles = [str(_as_int(t)) for t in _to_numpy(labels).reshape(-1)[:count]]
    if titles is not None and len(titles) < count:
        raise ValueError(f"got {count} images but only {len(titles)} titles")
    return titles, colors


def show_images(images, titles=None, ncols=8, ax=None, n=None, labels=None, predicted=None):
    """Show images in a grid, each with a short title.

    Titles come from `titles`, or from `labels`, or from the dataset itself; with
    `predicted` as well, a right prediction reads "7" and a wrong one "7 (true 2)" in red.

    Args:
        images: a dataset of (image, label) pairs, a batch (N, 1, H, W), a tensor
            (N, H, W) or a list of images; tensors or arrays. Any small single-channel
            image works, e.g. 5x5 conv filters or feature maps. Colour images, (N, 3, H, W)
            or channels-last (N, H, W, 3) and (H, W, 3), are shown in colour (floats
            outside [0, 1] are stretched to it, image by image).
        titles: one string per image (default None).
        ncols: images per row (default 8).
        ax: a sequence or array of at least n Axes to draw on (default None: a new figure).
        n: how many images to show (default None: all of them, or the first 2 * ncols
            items of a dataset).
        labels: the true label of each image (default None: the dataset's own labels).
        predicted: the predicted label of each image (default None).

    Returns the Figure. Introduced in notebook 03a.
    """
    if n is None and not isinstance(images, (torch.Tensor, np.ndarray, list, tuple)):
        n = 2 * ncols  # a dataset: the first two rows
    if titles is not None and (labels is not None or predicted is not None):
        raise ValueError("pass either titles or labels/predicted, not both")
    stack, dataset_labels = _first_items(images, n)
    count = len(stack)
    if labels is None:
        labels = dataset_labels

    titles, colors = grid_titles(count, titles, labels, predicted)

    if ax is None:
        ncols = max(1, min(ncols, count))
        nrows = max(1, math.ceil(count / ncols))
        _, ax = plt.subplots(
            nrows, ncols, figsize=(1.4 * ncols, 1.6 * nrows), dpi=DPI, squeeze=False,
            layout="constrained",
        )
    axes = np.asarray(ax, dtype=object).reshape(-1)
    if len(axes) < count:
        raise ValueError(f"got {count} images but only {len(axes)} Axes: pass n={len(axes)}")
    for i, axis in enumerate(axes):
        axis.set_axis_off()
        if i < count:
            axis.imshow(stack[i], cmap="gray")
            if titles is not None:
                axis.set_title(titles[i], color=colors[i], fontsize=11)
    return axes[0].figure


def plot_history(history, ax=None, label=None):
    """Plot the loss and accuracy of each epoch, side by side.

    Training curves are solid and validation curves dashed, in the same colour. To compare
    several runs on the same axes, pass the Figure's axes back with a label for each run:
    `fig = plot_history(h1, label="SGD")` then `plot_history(h2, ax=fig.axes, label="Adam")`.

    Args:
        history: the dict returned by `mnistlab.fit` ("epoch", "train_loss",
            "train_accuracy", and optionally "val_loss", "val_accuracy").
        ax: two Axes, for the loss and the accuracy (default None: a new figure).
        label: a name put before "train" and "validation" in the legend (default None).

    Returns the Figure. Introduced in notebook 04b.
    """
    needed = ["train_loss", "train_accuracy"]
    if not isinstance(history, dict) or any(key not in history for key in needed):
        got = sorted(history) if isinstance(history, dict) else type(history).__name__
        raise ValueError(
            f"expected the history dict returned by mnistlab.fit, with keys {needed}, got {got}"
        )
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(10, 3.8), dpi=DPI, layout="constrained")
    axes = np.asarray(ax, dtype=object).reshape(-1)
    if len(axes) != 2:
        raise ValueError(f"expected two Axes (loss, accuracy), got {len(axes)}")
    epochs = history.get("epoch") or list(range(1, len(history["train_loss"]) + 1))
    prefix = f"{label} " if label else ""
    titles = {"loss": "Loss per epoch (lower is better)",
              "accuracy": "Accuracy per epoch (higher is better)"}
    for axis, metric in zip(axes, ["loss", "accuracy"]):
        (line,) = axis.plot(
            epochs, history[f"train_{metric}"], marker="o", markersize=3, label=prefix + "train"
        )
        if len(history.get(f"val_{metric}", [])) > 0:
            axis.plot(
                epochs,
                history[f"val_{metric}"],
                marker="o",
                markersize=3,
                linestyle="--",
                color=line.get_color(),
                label=prefix + "validation",
            )
        axis.set_title(titles[metric], fontsize=12)
        axis.set_xlabel("epoch", fontsize=11)
        axis.set_ylabel(metric, fontsize=11)
        axis.tick_params(labelsize=10)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axis.legend(fontsize=LEGEND_FONTSIZE)
    axes[1].yaxis.set_major_formatter(PercentFormatter(xmax=1))
    return axes[0].figure


def plot_probabilities(probabilities, label=None, ax=None):
    """Draw the predicted probability of each class for one image, the top class highlighted.

    Args:
        probabilities: one row of `mnistlab.predict`, shaped (10,) or (1, 10).
        label: the image's true label, added to the title (default None).
        ax: the matplotlib Axes to draw on (default None: a new figure).

    Returns the Axes. Introduced in notebook 04b.
    """
    probs = _to_numpy(probabilities).astype(np.float64)
    if probs.ndim == 2 and probs.shape[0] == 1:
        probs = probs[0]
    if probs.ndim != 1:
        raise ValueError(
            f"expected the probabilities of one image, shaped (10,), got {probs.shape}: "
            f"pick one row with probabilities[0]"
        )
    if probs.min() < 0 or probs.max() > 1 or abs(probs.sum() - 1) > 1e-3:
        raise ValueError(
            "expected probabilities between 0 and 1 that sum to 1: these look like raw "
            "scores (logits); apply torch.softmax(logits, dim=1) or use mnistlab.predict"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3), dpi=DPI, layout="constrained")
    top = int(probs.argmax())
    colors = ["tab:gray"] * len(probs)
    colors[top] = "tab:blue"
    classes = np.arange(len(probs))
    ax.bar(classes, probs, color=colors)
    ax.set_xticks(classes)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    title = f"predicted {top} ({probs[top]:.0%})"
    if label is not None:
        title += f", true {_as_text(label)}"
    ax.set_title(title, fontsize=12)
    return ax


def confusion_matrix(labels, predicted, num_classes=10):
    """Count how often each true class was predicted as each class.

    Row i, column j holds the number of images of class i that the model called j, so the
    diagonal holds the right answers.

    Args:
        labels: the true labels, shaped (N,).
        predicted: the predicted labels, shaped (N,).
        num_classes: the number of classes (default 10).

    Returns an int64 tensor shaped (num_classes, num_classes). Introduced in notebook 05c.
    """
    labels = torch.as_tensor(_to_numpy(labels)).long().reshape(-1)
    predicted = torch.as_tensor(_to_numpy(predicted)).long().reshape(-1)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"labels and predicted must have the same length, got {len(labels)} and "
            f"{len(predicted)}"
        )
    for name, values in [("labels", labels), ("predicted", predicted)]:
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"{name} must be class numbers 0..{num_classes - 1}; for probabilities or "
                f"scores use .argmax(dim=1) first"
            )
    pairs = labels * num_classes + predicted  # one number per (true, predicted) pair
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def plot_confusion_matrix(labels, predicted, ax=None, num_classes=10, title=None):
    """Draw the confusion matrix with the count written in each cell.

    Args:
        labels: the true labels, shaped (N,).
        predicted: the predicted labels, shaped (N,).
        ax: the matplotlib Axes to draw on (default None: a new figure).
        num_classes: the number of classes (default 10).
        title: the title (default None: "Confusion matrix, N digits").

    Returns the Axes. Introduced in notebook 05c.
    """
    counts = confusion_matrix(labels, predicted, num_classes).numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5.2), dpi=DPI, layout="constrained")
    ax.imshow(counts, cmap="Blues")
    middle = counts.max() / 2
    for true in range(num_classes):
        for guess in range(num_classes):
            count = counts[true, guess]
            color = "white" if count > middle else "black"
            ax.text(guess, true, str(count), ha="center", va="center", color=color, fontsize=11)
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.tick_params(labelsize=11)
    ax.set_xlabel("predicted digit", fontsize=12)
    ax.set_ylabel("true digit", fontsize=12)
    if title is None:
        title = f"Confusion matrix, {int(counts.sum()):,} digits"
    ax.set_title(title, fontsize=13)
    return ax


def show_misclassified(images, labels, predicted, n=16, ncols=8, ax=None):
    """Show the first `n` images the model got wrong, titled "predicted (true label)".

    Args:
        images: the images, a batch (N, 1, 28, 28) or (N, 28, 28), tensor or array.
        labels: their true labels, shaped (N,).
        predicted: the predicted labels, shaped (N,).
        n: how many mistakes to show at most (default 16).
        ncols: images per row (default 8).
        ax: a sequence or array of Axes to draw on (default None: a new figure).

    Returns the Figure. Introduced in notebook 05c.
    """
    stack, _ = _first_items(images, None)  # (N, H, W)
    labels = _to_numpy(labels).reshape(-1)
    predicted = _to_numpy(predicted).reshape(-1)
    if len(labels) != len(predicted) or len(labels) != len(stack):
        raise ValueError(
            f"images, labels and predicted must have the same length, got {len(stack)}, "
            f"{len(labels)} and {len(predicted)}"
        )
    wrong = np.flatnonzero(labels != predicted)[:n]
    if len(wrong) == 0:
        if ax is None:
            _, ax = plt.subplots(figsize=(3, 0.6), dpi=DPI, layout="constrained")
        axis = np.asarray(ax, dtype=object).reshape(-1)[0]
        axis.set_axis_off()
        axis.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return axis.figure
    return show_images(
        stack[wrong],
        ncols=ncols,
        ax=ax,
        labels=labels[wrong],
        predicted=predicted[wrong],
    )
