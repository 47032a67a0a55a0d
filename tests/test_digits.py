"""Tests for mnistlab.digits (preprocessing) and mnistlab.drawing (strokes, distortions, pad)."""

import numpy as np
import pytest
import torch
from PIL import Image

import mnistlab
from mnistlab import digits, drawing
from mnistlab.digits import (
    BlankImageError,
    DigitImageError,
    centre_of_mass,
    load_image,
    preprocess,
)
from mnistlab.drawing import draw_strokes


def ink_box(pixels):
    """(height, width) of the rows and columns holding ink."""
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_centre_of_mass_lands_in_the_middle_even_for_a_digit_drawn_in_a_corner():
    strokes = [[(20, 20), (60, 20), (30, 90)]]  # a small 7 in the top-left corner
    pixels = preprocess(draw_strokes(strokes))
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    row, col = centre_of_mass(pixels)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_every_stroke_digit_is_centred_and_fits_a_20_pixel_box():
    for label, strokes in mnistlab.STROKE_DIGITS.items():
        pixels = preprocess(draw_strokes(strokes))
        row, col = centre_of_mass(pixels)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5, label
        assert max(ink_box(pixels)) == 20, label
        assert 0.9 < pixels.max() <= 1 and pixels.min() == 0


def test_aspect_ratio_is_kept():
    page = np.full((300, 300), 255, dtype=np.uint8)
    page[50:250, 100:140] = 0  # a dark bar 200 tall and 40 wide
    height, width = ink_box(preprocess(page))
    assert height == 20 and width == pytest.approx(4, abs=1)  # 200:40 scaled to 20:4
    wide = preprocess(page.T)  # the same bar lying down
    assert ink_box(wide) == (width, height)


def test_dark_on_light_and_light_on_dark_give_the_same_digit():
    drawing = draw_strokes(mnistlab.STROKE_DIGITS[4])  # black ink on white, as on the pad
    np.testing.assert_allclose(preprocess(drawing), preprocess(255 - drawing), atol=1e-6)
    ink = preprocess(drawing)
    assert ink[0, 0] == 0 and ink.max() > 0.9  # paper black, ink white, like MNIST


def test_mnist_digits_come_out_almost_unchanged(sample_sets):
    train, _ = sample_sets
    for i in range(20):
        original = train.data[i].numpy()
        again = preprocess(original)
        # MNIST is already cropped, scaled and centred: at most a pixel of shift.
        assert abs(np.subtract(centre_of_mass(again), centre_of_mass(original / 255))).max() < 1.1
        assert max(ink_box(again)) == 20


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_images_raise_a_clear_error(value):
    with pytest.raises(BlankImageError, match=r"image: .*no ink.*Draw a digit"):
        preprocess(np.full((280, 280), value, dtype=np.uint8))


def test_faint_noise_is_not_a_digit():
    rng = np.random.default_rng(0)
    noisy_paper = 250 - rng.integers(0, 10, size=(100, 100))  # texture, no ink
    with pytest.raises(BlankImageError):
        preprocess(noisy_paper.astype(np.uint8))


def test_empty_strokes_are_a_blank_pad():
    with pytest.raises(BlankImageError):
        preprocess(draw_strokes([]))


def test_photo_like_input_grey_paper_and_uneven_light():
    pen = draw_strokes(mnistlab.STROKE_DIGITS[2]).astype(np.float32) / 255
    light = np.linspace(0.95, 0.55, 280)[None, :]  # the light fades from left to right
    photo = light * (0.35 + 0.55 * pen)  # grey ink on grey paper
    clean = preprocess(pen)
    assert ink_box(preprocess(photo)) == ink_box(clean)  # the shadow is not taken for ink
    assert np.abs(preprocess(photo) - clean).max() < 0.05
    np.testing.assert_array_equal(digits.paper_light(pen), np.ones_like(pen))  # even light


def test_rgba_with_transparent_paper_counts_as_white(tmp_path):
    drawing = draw_strokes(mnistlab.STROKE_DIGITS[7])
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)  # transparent everywhere...
    rgba[..., 3] = 255 - drawing  # ...except the black ink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "seven.png")
    np.testing.assert_allclose(
        preprocess(tmp_path / "seven.png"), preprocess(drawing), atol=0.02
    )
    grey = digits.to_grey(rgba)
    assert grey[0, 0] == pytest.approx(1.0)


def photo_of_a_digit():
    """A 4 in dark grey ink (0.15) on light grey paper (0.85), with soft edges: 0..1 floats."""
    pen = draw_strokes(mnistlab.STROKE_DIGITS[4]).astype(np.float64) / 255  # 0 ink, 1 paper
    return 0.15 + 0.7 * pen


def grey8():
    return np.round(photo_of_a_digit() * 255).astype(np.uint8)


def transparent(mode):
    """Black ink whose opacity is the ink, on fully transparent (black) paper, in `mode`."""
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - grey8()
    return Image.fromarray(rgba, "RGBA").convert(mode)


def transparent_palette():
    image = Image.fromarray(grey8()).convert("P")  # Pillow's grey palette: index = grey level
    image.info["transparency"] = int(grey8()[0, 0])  # the paper's index is see-through
    return image


SAVED_IN_EVERY_MODE = {  # name: (how to make the picture, file format or None to keep it)
    "L": (lambda: Image.fromarray(grey8()), "PNG"),
    "LA": (lambda: Image.fromarray(grey8()).convert("LA"), "PNG"),
    "P": (lambda: Image.fromarray(grey8()).convert("P"), "PNG"),
    "PA": (lambda: Image.fromarray(grey8()).convert("PA"), "TIFF"),
    "RGB": (lambda: Image.fromarray(grey8()).convert("RGB"), "PNG"),
    "RGB JPEG": (lambda: Image.fromarray(grey8()).convert("RGB"), "JPEG"),
    "RGBA": (lambda: Image.fromarray(grey8()).convert("RGBA"), "PNG"),
    "CMYK": (lambda: Image.fromarray(grey8()).convert("CMYK"), "TIFF"),
    "YCbCr": (lambda: Image.fromarray(grey8()).convert("YCbCr"), "TIFF"),
    "LAB": (lambda: Image.fromarray(grey8()).convert("LAB"), "TIFF"),
    "HSV": (lambda: Image.fromarray(grey8()).convert("HSV"), None),
    "RGBX": (lambda: Image.fromarray(grey8()).convert("RGBX"), None),
    "I;16 16-bit PNG": (lambda: Image.fromarray(grey8().astype(np.uint16) * 257), "PNG"),
    "I;16 full precision": (
        lambda: Image.fromarray(np.round(photo_of_a_digit() * 65535).astype(np.uint16)), "PNG"),
    "I;16B": (lambda: Image.fromarray((grey8().astype(np.uint16) * 257).astype(">u2")), "TIFF"),
    "I;16 holding 8-bit values": (lambda: Image.fromarray(grey8()).convert("I;16"), "PNG"),
    "I 32-bit holding 16-bit values": (
        lambda: Image.fromarray(grey8().astype(np.int32) * 257), "TIFF"),
    "I 32-bit full range": (
        lambda: Image.fromarray((photo_of_a_digit() * (2**31 - 1)).astype(np.int32)), None),
    "I from convert": (lambda: Image.fromarray(grey8()).convert("I"), "TIFF"),
    "F 0..1": (lambda: Image.fromarray(photo_of_a_digit().astype(np.float32)), "TIFF"),
    "F 0..255 from convert": (lambda: Image.fromarray(grey8()).convert("F"), "TIFF"),
    "RGBA transparent paper": (lambda: transparent("RGBA"), "PNG"),
    "LA transparent paper": (lambda: transparent("LA"), "PNG"),
    "La premultiplied": (lambda: transparent("RGBA").convert("RGBa").convert("RGBA")
                         .convert("LA"), None),
    "RGBa premultiplied": (lambda: transparent("RGBa"), None),
    "P with a transparent index": (transparent_palette, "PNG"),
}


@pytest.mark.parametrize("name", SAVED_IN_EVERY_MODE)
def test_every_image_mode_gives_the_same_digit_as_8_bit_grey(name, tmp_path):
    make, file_format = SAVED_IN_EVERY_MODE[name]
    image = make()
    if file_format is not None:
        path = tmp_path / f"digit.{file_format.lower()}"
        image.save(path, file_format)
        image = load_image(path)
    expected = preprocess(Image.fromarray(grey8()))
    pixels = preprocess(image)
    assert np.corrcoef(pixels.ravel(), expected.ravel())[0, 1] > 0.995, image.mode
    assert np.abs(pixels - expected).max() < (0.2 if "JPEG" in name else 0.05), image.mode


def test_a_1_bit_picture_gives_the_same_digit_as_8_bit_grey(tmp_path):
    pen = draw_strokes(mnistlab.STROKE_DIGITS[4])  # black ink on white, soft edges
    Image.fromarray(pen).point(lambda v: 255 if v > 127 else 0).convert("1").save(
        tmp_path / "bw.png")
    pixels, expected = preprocess(tmp_path / "bw.png"), preprocess(pen)
    assert np.corrcoef(pixels.ravel(), expected.ravel())[0, 1] > 0.98


def test_16_bit_and_float_arrays_are_scaled_by_their_range():
    photo = photo_of_a_digit()
    np.testing.assert_allclose(digits.to_grey(np.round(photo * 65535).astype(np.uint16)), photo,
                               atol=1e-4)
    np.testing.assert_allclose(digits.to_grey(grey8().astype(np.int64)), grey8() / 255,
                               atol=1e-6)
    assert digits.full_scale(255) == 255 and digits.full_scale(256) == 65_535
    assert digits.full_scale(70_000) == 2**31 - 1
    with pytest.raises(DigitImageError, match="from -3 to 5.*image - image.min"):
        digits.to_grey(np.array([[-3, 5]]))


@pytest.mark.parametrize(
    "bad, fix",
    [
        (np.zeros((3, 28, 28)), "permute"),
        (np.zeros((28, 28, 2)), r"\(H, W, 3\)"),
        (np.full((28, 28), 3.5), "Divide by 255"),
        (np.array([["a"]]), "numbers"),
    ],
)
def test_arrays_of_the_wrong_kind_are_rejected_with_the_fix(bad, fix):
    with pytest.raises(DigitImageError, match=fix) as err:
        digits.to_grey(bad)
    assert str(err.value).startswith("image: received")


def test_load_image_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="image: received .*missing.png.*does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(DigitImageError, match="is a folder"):
        load_image(tmp_path)
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(DigitImageError, match="not a picture.*PNG or JPEG"):
        load_image(tmp_path / "notes.png")
    Image.fromarray(draw_strokes(mnistlab.STROKE_DIGITS[1])).save(tmp_path / "one.png")
    data = (tmp_path / "one.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DigitImageError, match="could not be read.*truncated"):
        load_image(tmp_path / "cut.png")


def test_sideways_photo_is_turned_upright(tmp_path):
    tall = np.full((60, 30), 255, dtype=np.uint8)
    image = Image.fromarray(tall)
    exif = image.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees to display
    image.save(tmp_path / "photo.jpg", exif=exif)
    assert load_image(tmp_path / "photo.jpg").size == (60, 30)


def test_draw_strokes_draws_round_lines_of_the_pen_width():
    pad = draw_strokes([[(50, 140), (230, 140)]], line_width=20)
    assert pad.shape == (280, 280) and pad.dtype == np.uint8
    column = pad[:, 140]
    dark = np.flatnonzero(column < 128)
    assert len(dark) == pytest.approx(20, abs=1)  # the line is 20 pixels thick
    assert dark.mean() == pytest.approx(140, abs=1)
    assert pad[140, 45] < 128 and pad[140, 25] == 255  # round end: 10 pixels past the point
    assert 0 < pad[130, 140] < 255 or 0 < pad[129, 140] < 255  # smooth (anti-aliased) edge
    dot = draw_strokes([[(100, 100)]])
    assert dot[100, 100] == 0 and dot[100, 115] == 255


def test_bad_strokes_show_the_expected_format():
    with pytest.raises(ValueError, match=r"strokes: .*list of \(x, y\) points"):
        draw_strokes([[1, 2, 3]])
    with pytest.raises(ValueError, match="NaN"):
        draw_strokes([[(float("nan"), 1.0)]])


def test_to_batch_normalises_like_mnist_transform(sample_sets):
    train, _ = sample_sets
    image, _ = train[0]
    pixels = train.data[0].numpy() / 255
    torch.testing.assert_close(digits.to_batch(pixels)[0], image)
    assert digits.to_batch(np.zeros((5, 28, 28))).shape == (5, 1, 28, 28)
    with pytest.raises(ValueError, match=r"pixels: received shape \(1, 784\)"):
        digits.to_batch(np.zeros((1, 784)))


def test_random_distort_is_repeatable_and_keeps_the_paper(sample_sets):
    images, _ = mnistlab.dataset_to_tensors(sample_sets[0])
    batch = images[:64]
    first = drawing.random_distort(batch, generator=torch.Generator().manual_seed(1))
    again = drawing.random_distort(batch, generator=torch.Generator().manual_seed(1))
    other = drawing.random_distort(batch, generator=torch.Generator().manual_seed(2))
    assert first.shape == batch.shape
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)
    paper = (batch.min() - 1e-4).item()
    assert first.min() >= paper  # nothing darker than the paper appears
    changed = (first - batch).flatten(1).abs().amax(1)
    assert (changed > 0.5).float().mean() > 0.9  # almost every digit moved
    def ink(images):
        return mnistlab.denormalize(images).clamp(min=0).sum((1, 2, 3))

    assert (ink(first) > 0.1 * ink(batch)).all()  # thinner, never erased


def test_random_distort_without_change_is_the_identity(sample_sets):
    images, _ = mnistlab.dataset_to_tensors(sample_sets[0])
    batch = images[:8]
    torch.manual_seed(0)
    same = drawing.random_distort(batch, degrees=0, scale=(1, 1), shift=0)
    # Only the stroke width may change: one third each thinner, unchanged, thicker.
    unchanged = [(same[i] - batch[i]).abs().max() < 1e-4 for i in range(8)]
    assert any(unchanged)


def test_drawing_pad_predicts_from_the_strokes_it_records(trained_mlp):
    pytest.importorskip("ipycanvas")
    pad = mnistlab.DrawingPad(trained_mlp)
    assert pad.probabilities is None and "Draw a digit" in pad.answer.value
    strokes = mnistlab.STROKE_DIGITS[5]
    pad.draw(strokes)
    assert [len(s) for s in pad.strokes] == [len(s) for s in strokes]
    expected = preprocess(draw_strokes(strokes))
    np.testing.assert_array_equal(pad.pixels, expected)
    probabilities = mnistlab.predict(trained_mlp, digits.to_batch(expected))[0]
    torch.testing.assert_close(pad.probabilities, probabilities)
    top = int(probabilities.argmax())
    assert top == 5 and "I read a 5" in pad.answer.value
    assert pad.bars[top].value == pytest.approx(float(probabilities[top]))
    pad.clear()
    assert pad.strokes == [] and pad.probabilities is None and pad.bars[top].value == 0


def test_drawing_pad_follows_mouse_events(trained_mlp):
    pytest.importorskip("ipycanvas")
    pad = mnistlab.DrawingPad(trained_mlp)
    pad._pen_move(10, 10)  # moving without pressing draws nothing
    pad._pen_down(140, 40)
    pad._pen_move(140.4, 40.4)  # a jitter under 2 pixels is ignored
    pad._pen_move(141, 240)
    pad._pen_up(141, 240)
    assert pad.strokes == [[(140, 40), (141, 240)]]
    assert pad.probabilities is not None
    assert pad.probabilities.sum().item() == pytest.approx(1, abs=1e-5)
