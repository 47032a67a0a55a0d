"""Tests of mnistlab.plotting: what each plot draws, the errors it raises, and its manners.

The images here are small hand-made arrays (a ramp of pixel values), not MNIST digits:
these tests check what is drawn, not what a model learned.
"""

import io
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import same_color
from PIL import Image
from torch.utils.data import TensorDataset

from mnistlab.plotting import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_digit_pixels,
    plot_history,
    plot_probabilities,
    show_images,
    show_misclassified,
)


@pytest.fixture(autouse=True)
def agg_backend_no_show(monkeypatch):
    """Draw off-screen, fail on plt.show(), check rcParams are untouched, close figures."""
    matplotlib.use("Agg")

    def forbidden_show(*args, **kwargs):
        raise AssertionError("plotting functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden_show)
    rc_before = matplotlib.rcParams.copy()
    yield
    assert matplotlib.rcParams == rc_before, "a plotting function changed rcParams"
    plt.close("all")


def ramp_image():
    """A (28, 28) uint8 image whose pixels run 0, 1, ..., 255, 0, 1, ... row by row."""
    return (torch.arange(784) % 256).to(torch.uint8).view(28, 28)


def shown_images(fig):
    """The image arrays drawn on a figure's axes, in order."""
    return [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]


def titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.images]


HISTORY = {
    "epoch": [1, 2, 3],
    "train_loss": [0.9, 0.5, 0.3],
    "train_accuracy": [0.70, 0.85, 0.90],
    "val_loss": [0.6, 0.45, 0.40],
    "val_accuracy": [0.80, 0.86, 0.88],
    "seconds": [1.0, 1.0, 1.0],
}


# --- plot_digit_pixels ----------------------------------------------------------------


def test_pixel_plot_writes_every_value_in_a_contrasting_colour():
    image = ramp_image()
    ax = plot_digit_pixels(image, label=7, top=0, left=0, size=28)
    assert len(ax.texts) == 784
    for text in ax.texts:
        col, row = text.get_position()
        value = image[int(row), int(col)].item()
        assert text.get_text() == str(value)
        expected = "white" if value < 127.5 else "black"  # white on dark, black on light
        assert same_color(text.get_color(), expected), (value, text.get_color())
    assert ax.get_title() == "label 7: rows 0-27, columns 0-27"
    np.testing.assert_array_equal(ax.images[0].get_array(), image.numpy())


def test_pixel_plot_numbers_the_middle_window_at_the_digits_own_rows_and_columns():
    image = ramp_image()
    ax = plot_digit_pixels(image)  # default: rows and columns 7 to 20
    assert len(ax.texts) == 14 * 14
    positions = {text.get_position() for text in ax.texts}
    assert positions == {(col, row) for row in range(7, 21) for col in range(7, 21)}
    for text in ax.texts:
        col, row = text.get_position()
        assert text.get_text() == str(image[row, col].item())
    np.testing.assert_array_equal(ax.images[0].get_array(), image[7:21, 7:21].numpy())
    assert ax.get_title() == "rows 7-20, columns 7-20"
    corner = plot_digit_pixels(image, top=20, left=0, size=8)
    assert {t.get_position() for t in corner.texts} == {
        (col, row) for row in range(20, 28) for col in range(8)
    }


def test_pixel_plot_shows_the_whole_digit_with_the_window_outlined():
    image = ramp_image()
    ax = plot_digit_pixels(image, top=3, left=5, size=10)
    whole = [other for other in ax.figure.axes if other is not ax]
    assert len(whole) == 1
    np.testing.assert_array_equal(whole[0].images[0].get_array(), image.numpy())
    (outline,) = whole[0].patches
    assert outline.get_xy() == (4.5, 2.5) and outline.get_width() == outline.get_height() == 10


def test_pixel_plot_of_float_images_writes_one_decimal_and_uses_the_middle_of_the_range():
    image = torch.linspace(-0.4, 2.8, 784).view(1, 28, 28)  # like normalised pixels
    ax = plot_digit_pixels(image, label=torch.tensor(3), top=0, left=0, size=28)
    middle = (-0.4 + 2.8) / 2
    for text in ax.texts:
        col, row = text.get_position()
        value = image[0, int(row), int(col)].item()
        assert text.get_text() == f"{value:.1f}".replace("-0.0", "0.0")
        assert same_color(text.get_color(), "white" if value < middle else "black")
    assert ax.get_title().startswith("label 3: ")
    assert {"-0.4", "0.0", "2.8"} <= {text.get_text() for text in ax.texts}


def test_pixel_plot_gives_the_same_picture_for_numpy_and_torch():
    image = ramp_image()
    from_torch = plot_digit_pixels(image)
    from_numpy = plot_digit_pixels(image.numpy())
    np.testing.assert_array_equal(
        from_torch.images[0].get_array(), from_numpy.images[0].get_array()
    )
    assert [t.get_text() for t in from_torch.texts] == [t.get_text() for t in from_numpy.texts]
    assert "label" not in from_torch.get_title()  # no label, none in the title


def test_pixel_plot_draws_on_the_axes_it_is_given():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_digit_pixels(ramp_image().float() / 255, ax=right) is right
    assert len(right.texts) == 14 * 14 and len(left.texts) == 0
    assert len(plt.get_fignums()) == 1 and len(fig.axes) == 2  # nothing added


@pytest.mark.parametrize(
    "window, named",
    [
        ({"top": 20}, "top=20 with size=14 reaches past the 28x28 digit: pick top from 0 to 14"),
        ({"left": -1}, "left=-1"),
        ({"size": 29}, "size must be 1 to 28"),
        ({"size": 0}, "size must be 1 to 28"),
        ({"top": 7.5}, "top must be a whole number"),
    ],
)
def test_pixel_plot_rejects_a_window_outside_the_digit_and_names_the_argument(window, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        plot_digit_pixels(ramp_image(), **window)
    assert plt.get_fignums() == []  # checked before a figure is made


@pytest.mark.parametrize(
    "shape, fix",
    [
        ((784,), "image.view(28, 28)"),
        ((1, 784), "image.view(28, 28)"),
        ((2, 28, 28), "images[0]"),
        ((28, 27), "28x28"),
    ],
)
def test_pixel_plot_rejects_other_shapes_and_says_the_fix(shape, fix):
    with pytest.raises(ValueError, match="expected a 28x28 image") as error:
        plot_digit_pixels(torch.zeros(shape))
    assert str(shape) in str(error.value) and fix in str(error.value)


def test_pixel_plot_error_for_numpy_suggests_reshape():
    with pytest.raises(ValueError, match=r"image\.reshape\(28, 28\)"):
        plot_digit_pixels(np.zeros(784))


# --- show_images --------------------------------------------------------------------------


def test_show_images_from_a_dataset_uses_its_labels_as_titles():
    images = torch.rand(20, 1, 28, 28)
    dataset = TensorDataset(images, torch.arange(20) % 10)
    fig = show_images(dataset, n=5, ncols=4)
    assert titles(fig) == ["0", "1", "2", "3", "4"]
    np.testing.assert_array_equal(shown_images(fig)[2], images[2, 0].numpy())
    assert len(fig.axes) == 8  # 2 rows of 4, the last 3 left empty
    assert tuple(fig.get_size_inches()) == pytest.approx((1.4 * 4, 1.6 * 2))
    assert len(titles(show_images(dataset, ncols=4))) == 8  # default: the first two rows
    assert titles(show_images(dataset, n=2, titles=["a", "b"])) == ["a", "b"]
    with pytest.raises(ValueError, match="not both"):
        show_images(images, titles=["a"], labels=[1])


def test_show_images_marks_wrong_predictions_in_red():
    images = torch.rand(4, 1, 28, 28)
    fig = show_images(images, labels=[7, 2, 3, 1], predicted=torch.tensor([7, 7, 3, 0]))
    assert titles(fig) == ["7", "7 (true 2)", "3", "0 (true 1)"]
    colours = [ax.title.get_color() for ax in fig.axes]
    assert [same_color(c, "tab:red") for c in colours] == [False, True, False, True]


def test_show_images_dataset_labels_with_predictions():
    dataset = TensorDataset(torch.rand(3, 1, 28, 28), torch.tensor([4, 5, 6]))
    fig = show_images(dataset, predicted=[4, 9, 6])
    assert titles(fig) == ["4", "9 (true 5)", "6"]


@pytest.mark.parametrize(
    "images",
    [
        torch.rand(3, 1, 28, 28),
        torch.rand(3, 28, 28),
        [torch.rand(28, 28), torch.rand(1, 28, 28), np.random.rand(28, 28)],
    ],
    ids=["batch", "tensor", "list"],
)
def test_show_images_accepts_batches_tensors_and_lists(images):
    fig = show_images(images, titles=["a", "b", "c"])
    assert titles(fig) == ["a", "b", "c"]
    for shown, image in zip(shown_images(fig), images):
        np.testing.assert_allclose(shown, np.asarray(image).reshape(28, 28))


def test_show_images_shows_the_first_n_images_of_a_batch():
    images = torch.rand(10, 1, 28, 28)
    shown = shown_images(show_images(images, n=3))
    assert len(shown) == 3
    np.testing.assert_array_equal(shown[2], images[2, 0].numpy())


def test_show_images_shows_small_conv_filters():
    filters = torch.nn.Conv2d(1, 6, kernel_size=5).weight  # (6, 1, 5, 5), requires grad
    fig = show_images(filters, ncols=3)
    shown = shown_images(fig)
    assert len(shown) == 6 and shown[0].shape == (5, 5)
    np.testing.assert_allclose(shown[5], filters[5, 0].detach().numpy())


@pytest.mark.parametrize(
    "shape, message",
    [((784,), "not an image"), ((2, 2, 28, 28), "one channel"), ((4, 784), "flattened")],
)
def test_show_images_rejects_what_is_not_an_image(shape, message):
    with pytest.raises(ValueError, match=message) as error:
        show_images(torch.zeros(shape))
    assert str(shape) in str(error.value)


def test_show_images_draws_on_the_axes_it_is_given():
    fig, axes = plt.subplots(2, 3)
    assert show_images(torch.rand(4, 28, 28), ax=axes) is fig
    assert sum(1 for ax in axes.flat if ax.images) == 4
    with pytest.raises(ValueError, match="only 6 Axes"):
        show_images(torch.rand(7, 28, 28), ax=axes)


# --- plot_history -------------------------------------------------------------------------


def test_plot_history_draws_the_history_lists():
    fig = plot_history(HISTORY)
    loss_ax, accuracy_ax = fig.axes
    (train_loss, val_loss) = loss_ax.get_lines()
    (train_acc, val_acc) = accuracy_ax.get_lines()
    assert list(train_loss.get_xdata()) == HISTORY["epoch"]
    assert list(train_loss.get_ydata()) == HISTORY["train_loss"]
    assert list(val_loss.get_ydata()) == HISTORY["val_loss"]
    assert list(train_acc.get_ydata()) == HISTORY["train_accuracy"]
    assert list(val_acc.get_ydata()) == HISTORY["val_accuracy"]
    assert val_loss.get_linestyle() == "--" and train_loss.get_linestyle() == "-"
    assert same_color(val_loss.get_color(), train_loss.get_color())
    assert loss_ax.get_ylabel() == "loss" and accuracy_ax.get_ylabel() == "accuracy"


def test_plot_history_without_validation_draws_only_training_curves():
    history = {key: HISTORY[key] for key in ["epoch", "train_loss", "train_accuracy"]}
    fig = plot_history(history)
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]


def test_several_histories_share_axes_with_labels():
    fig = plot_history(HISTORY, label="SGD")
    other = {**HISTORY, "train_loss": [0.5, 0.2, 0.1]}
    assert plot_history(other, ax=fig.axes, label="Adam") is fig
    loss_ax = fig.axes[0]
    labels = [text.get_text() for text in loss_ax.get_legend().get_texts()]
    assert labels == ["SGD train", "SGD validation", "Adam train", "Adam validation"]
    assert list(loss_ax.get_lines()[2].get_ydata()) == [0.5, 0.2, 0.1]
    assert not same_color(loss_ax.get_lines()[0].get_color(), loss_ax.get_lines()[2].get_color())


def test_plot_history_rejects_something_else():
    with pytest.raises(ValueError, match="mnistlab.fit"):
        plot_history({"loss": [1.0]})


# --- confusion matrix, mistakes, probabilities --------------------------------------------


def test_confusion_matrix_matches_a_hand_count():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    expected = torch.tensor([[1, 1, 0], [0, 1, 0], [1, 0, 2]])  # rows true, columns predicted
    matrix = confusion_matrix(labels, predicted, num_classes=3)
    assert matrix.dtype == torch.int64
    assert torch.equal(matrix, expected)
    assert torch.equal(
        confusion_matrix(labels.numpy(), predicted.tolist(), num_classes=3), expected
    )
    full = confusion_matrix(labels, predicted)
    assert full.shape == (10, 10) and full.sum() == 6 and full[2, 0] == 1


def test_confusion_matrix_rejects_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="argmax"):
        confusion_matrix([0, 1], [0, 10])


def test_plot_confusion_matrix_writes_the_counts():
    fig, ax = plt.subplots()
    labels, predicted = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    assert plot_confusion_matrix(labels, predicted, ax=ax, num_classes=3) is ax
    expected = confusion_matrix(labels, predicted, num_classes=3)
    np.testing.assert_array_equal(ax.images[0].get_array(), expected.numpy())
    written = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert written == {(i, j): str(expected[i, j].item()) for i in range(3) for j in range(3)}
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    assert ax.get_title() == "Confusion matrix, 6 digits"
    colours = {
        (int(t.get_position()[1]), int(t.get_position()[0])): t.get_color() for t in ax.texts
    }
    assert same_color(colours[2, 2], "white") and same_color(colours[0, 2], "black")  # dark, light


def test_show_misclassified_shows_only_the_mistakes():
    images = torch.stack([torch.full((1, 28, 28), float(i)) for i in range(6)])  # image i is all i
    labels = torch.tensor([0, 1, 2, 3, 4, 5])
    predicted = torch.tensor([0, 7, 2, 8, 9, 5])
    fig = show_misclassified(images, labels, predicted)
    assert titles(fig) == ["7 (true 1)", "8 (true 3)", "9 (true 4)"]
    assert [shown[0, 0] for shown in shown_images(fig)] == [1.0, 3.0, 4.0]
    assert titles(show_misclassified(images, labels, predicted, n=2)) == [
        "7 (true 1)",
        "8 (true 3)",
    ]
    nothing = show_misclassified(images, labels, labels)
    assert "no misclassified" in nothing.axes[0].texts[0].get_text()


def test_plot_probabilities_draws_each_class_and_highlights_the_top_one():
    probabilities = torch.softmax(torch.tensor([[0.0, 1, 2, 5, 0, 0, 0, 0, 0, 1]]), dim=1)
    ax = plot_probabilities(probabilities, label=3)
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, probabilities[0].numpy(), rtol=1e-6)
    top = [bar.get_facecolor() for bar in ax.patches]
    assert all(not same_color(top[3], colour) for i, colour in enumerate(top) if i != 3)
    assert ax.get_title().startswith("predicted 3") and "true 3" in ax.get_title()


def test_plot_probabilities_rejects_logits_and_batches():
    with pytest.raises(ValueError, match="softmax"):
        plot_probabilities(torch.tensor([2.0, -1.0, 0.5]))
    with pytest.raises(ValueError, match=r"probabilities\[0\]"):
        plot_probabilities(torch.full((2, 10), 0.1))


# --- colour images (channels-last, as NumPy and PIL give them) ----------------------------


def test_show_images_shows_a_channels_last_rgb_batch_in_colour():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 3), dtype=np.uint8)
    fig = show_images(images, labels=[0, 1, 2, 3, 4])
    shown = shown_images(fig)
    assert len(shown) == 5 and shown[0].shape == (28, 28, 3)  # five pictures, not strips
    np.testing.assert_array_equal(shown[4], images[4])
    assert titles(fig) == ["0", "1", "2", "3", "4"]


def test_show_images_shows_one_rgb_image_as_one_panel():
    image = torch.rand(28, 28, 3)
    fig = show_images(image)
    shown = shown_images(fig)
    assert len(shown) == 1 and len(fig.axes) == 1  # not 28 panels
    np.testing.assert_allclose(shown[0], image.numpy())
    listed = shown_images(show_images([image, image.numpy()]))  # a list of colour images
    assert [s.shape for s in listed] == [(28, 28, 3), (28, 28, 3)]


def test_show_images_shows_channels_first_colour_and_stretches_floats_to_the_range():
    images = torch.linspace(-1, 1, 2 * 3 * 28 * 28).view(2, 3, 28, 28)  # normalised colour
    shown = shown_images(show_images(images))
    assert len(shown) == 2 and shown[0].shape == (28, 28, 3)
    for picture in shown:
        assert picture.min() == pytest.approx(0) and picture.max() == pytest.approx(1)
    np.testing.assert_allclose(  # same picture up to the stretch, channels moved last
        shown[0][..., 1], (images[0, 1].numpy() - images[0].min().item())
        / (images[0].max() - images[0].min()).item(), rtol=1e-5, atol=1e-6,
    )


def test_show_images_channels_last_grey_is_shown_grey():
    images = torch.rand(3, 28, 28, 1)
    shown = shown_images(show_images(images))
    assert [s.shape for s in shown] == [(28, 28)] * 3


# --- legible on a projector ----------------------------------------------------------------


def test_pixel_plot_is_faint_on_the_background_and_outlined_elsewhere():
    image = torch.zeros(28, 28, dtype=torch.uint8)
    image[10:18, 10:18] = 128  # mid-grey: the hardest contrast
    image[12, 12] = 255
    ax = plot_digit_pixels(image)
    background = [t for t in ax.texts if t.get_text() == "0"]
    ink = [t for t in ax.texts if t.get_text() != "0"]
    assert len(background) == 14 * 14 - 64
    assert all(t.get_alpha() < 1 for t in background)
    assert all(t.get_path_effects() for t in ink)  # an outline in the other colour


def test_pixel_plot_fits_a_1280x720_notebook_and_its_numbers_are_12_pixels_high():
    """As JupyterLab's inline backend shows it: saved at the figure's dpi, cropped tight."""
    image = torch.full((28, 28), 255, dtype=torch.uint8)  # "255" everywhere: the widest text
    image[0, 0] = 0
    ax = plot_digit_pixels(image)
    fig = ax.figure
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    width, height = Image.open(png).size
    assert height <= 560 and width <= 900, (width, height)  # the notebook area: about 600 px
    assert all(t.get_fontsize() * fig.dpi / 72 >= 12 for t in ax.texts)  # pixels on screen
    renderer = fig.canvas.get_renderer()
    cell = ax.get_window_extent(renderer).width / 14
    assert max(t.get_window_extent(renderer).width for t in ax.texts) < cell  # no overlap


def test_plot_history_has_titles_axis_labels_and_a_legible_legend():
    fig = plot_history(HISTORY)
    assert fig.dpi >= 100
    for ax, metric in zip(fig.axes, ["Loss", "Accuracy"]):
        assert ax.get_title().startswith(metric)
        assert ax.get_xlabel() == "epoch"
        assert all(text.get_fontsize() >= 10 for text in ax.get_legend().get_texts())


def test_plot_confusion_matrix_is_titled_and_legible():
    ax = plot_confusion_matrix([0, 1, 1], [0, 1, 0], title="CNN on 3 digits")
    assert ax.get_title() == "CNN on 3 digits"
    assert ax.figure.dpi >= 100
    assert all(text.get_fontsize() >= 10 for text in ax.texts)


@pytest.mark.parametrize(
    "shape, fix, shown",
    [((2, 28, 28, 2), "images[..., 0]", (28, 28)), ((2, 2, 28, 28), "images[:, :1]", (28, 28))],
)
def test_show_images_channel_hints_give_whole_images(shape, fix, shown):
    images = torch.rand(shape)
    with pytest.raises(ValueError, match=re.escape(fix)):
        show_images(images)
    fixed = images[..., 0] if fix == "images[..., 0]" else images[:, :1]
    assert [s.shape for s in shown_images(show_images(fixed))] == [shown] * 2  # not strips


@pytest.mark.parametrize(
    "shape, fix", [((28, 28, 3), "image.mean(-1)"), ((3, 28, 28), "image.mean(0)")]
)
def test_pixel_plot_of_a_colour_image_says_how_to_make_it_grey(shape, fix):
    with pytest.raises(ValueError, match=re.escape(fix)):
        plot_digit_pixels(torch.rand(shape))
    grey = torch.rand(shape).mean(-1 if shape[-1] == 3 else 0)
    assert len(plot_digit_pixels(grey).texts) == 14 * 14
