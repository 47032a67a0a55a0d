"""Your own digits: drawn on a pad or photographed, made to look like MNIST's.

MNIST's digits were not simply shrunk to 28 x 28. Each one was written in dark ink on
light paper, scanned, and then: made grey, inverted (white ink on black), cropped to its
ink, scaled to fit a 20 x 20 box without changing its proportions, and placed in a
28 x 28 field so that its centre of mass sits in the middle. A network trained on MNIST
expects exactly that, so a digit of your own must go through the same steps:

* `load_image`: read a PNG or photo, with a clear error when it is not an image
* `to_grey`, `ink_on_black`, `crop_to_ink`, `fit_in_box`, `centre_by_mass`: the steps
* `preprocess`: all of them in order; `to_batch`: normalised like `MNIST_TRANSFORM`

Drawing a digit (the pad, stored strokes, distortions for training) is in `drawing.py`.

Introduced in notebook 08a.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .data import MNIST_MEAN, MNIST_STD

BOX = 20  # MNIST scaled every digit to fit a 20 x 20 box...
SIZE = 28  # ...and placed it in a 28 x 28 field
CENTRE = SIZE / 2  # where MNIST's centres of mass lie: pixel (14, 14), measured in notebook 08a
INK_THRESHOLD = 0.15  # after inversion, fainter pixels count as paper (shadows, texture)
MIN_CONTRAST = 0.1  # an image whose ink differs less than this from its paper is blank


class DigitImageError(ValueError):
    """Raised when a file or an array cannot be read as a picture of a digit."""


class BlankImageError(DigitImageError):
    """Raised when an image holds no ink that could be a digit."""


def load_image(path):
    """Open a PNG, JPEG or other picture file; a photo taken sideways is turned upright.

    Args:
        path: the file to read.

    Returns a PIL image. Raises `FileNotFoundError` or `DigitImageError` with a message
    that says what to do. Introduced in notebook 08b.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"image: received {str(path)!r}, which does not exist; expected the path of a "
            f"PNG or JPEG picture of one digit. Check the name and the folder (a relative "
            f"path starts in {Path.cwd()})."
        )
    if path.is_dir():
        raise DigitImageError(
            f"image: received {str(path)!r}, which is a folder; expected one picture file "
            f"inside it, for example {str(path / 'digit.png')!r}."
        )
    try:
        with Image.open(path) as opened:
            opened.load()  # read every pixel now, so a truncated file fails here
            image = ImageOps.exif_transpose(opened)  # phones store "rotate me" separately
    except UnidentifiedImageError as err:
        raise DigitImageError(
            f"image: {str(path)!r} is not a picture that Pillow can read; expected a PNG or "
            f"JPEG of one digit. Save the drawing or photo as .png or .jpg and try again."
        ) from err
    except (OSError, SyntaxError, ValueError) as err:  # Pillow's errors for damaged files
        raise DigitImageError(
            f"image: {str(path)!r} looks like a picture but could not be read ({err}); it "
            f"may be truncated. Save or copy it again."
        ) from err
    return image


def full_scale(brightest):
    """The white level of integer pixels: 255 (8 bits), 65,535 (16 bits) or 2**31 - 1 (32 bits).

    A file does not always say how many bits its pixels use (Pillow's "I" mode holds 8- or
    16-bit pictures in 32-bit integers), so the smallest of these that holds the brightest
    pixel is taken. (Pillow's 32-bit integers are signed, hence 2**31 - 1.)
    """
    return next((top for top in (255, 65_535, 2**31 - 1) if brightest <= top), brightest)


def to_grey(image):
    """Step 1: return an image as grey levels, a float32 array (H, W) from 0 (black) to 1 (white).

    Colours are mixed into grey the way Pillow's "L" mode does (0.299 R + 0.587 G +
    0.114 B). Transparent pixels count as white paper. Pictures of more than 8 bits per
    pixel (16-bit PNGs, 32-bit or float TIFFs) are divided by their white level
    (`full_scale`), so they give the same grey levels as the same picture saved with 8.

    Args:
        image: a PIL image of any mode Pillow opens (1, L, LA, P, PA, RGB, RGBA, CMYK,
            YCbCr, LAB, HSV, I;16, I, F, ...), or an array or tensor shaped (H, W),
            (H, W, 3) or (H, W, 4) holding integers (0..255, or up to 65,535 for 16 bits)
            or floats 0..1.

    Introduced in notebook 08a.
    """
    if isinstance(image, Image.Image):
        return grey_from_pil(image)
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    return grey_from_array(array)


def grey_from_pil(image):
    """`to_grey` for a PIL image of any mode: grey levels 0..1, transparency on white paper."""
    if image.mode == "F":  # 32-bit float pixels: 0..1, or 0..255 as Pillow's convert gives
        pixels = np.asarray(image, dtype=np.float64)
        peak = float(np.nanmax(pixels)) if pixels.size else 0.0
        return grey_from_array(pixels if peak <= 1 else pixels / full_scale(peak))
    if image.mode == "I" or image.mode.startswith("I;16"):  # 16- or 32-bit integers
        return grey_from_array(np.asarray(image).astype(np.int64))
    if "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"),
                                      image.convert("RGBA"))
    if image.mode in ("LAB", "HSV"):  # no direct conversion to grey in Pillow
        image = image.getchannel("L") if image.mode == "LAB" else image.convert("RGB")
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def grey_from_array(array):
    """`to_grey` for a NumPy array: integers by their white level, floats 0..1, colour mixed."""
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise DigitImageError(
            f"image: received an array of {array.dtype}; expected numbers (0..255 integers "
            f"or 0..1 floats). Convert it with np.asarray(image, dtype=np.uint8)."
        )
    shape = array.shape
    if array.ndim == 3 and shape[0] == 1:
        array = array[0]  # (1, H, W), as ToTensor gives
    if not (array.ndim == 2 or (array.ndim == 3 and shape[-1] in (3, 4))) or 0 in shape:
        raise DigitImageError(
            f"image: received an array shaped {shape}; expected (H, W) grey, (H, W, 3) RGB "
            f"or (H, W, 4) RGBA pixels. For a (3, H, W) tensor use image.permute(1, 2, 0)."
        )
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0:
            raise DigitImageError(
                f"image: received integer pixels from {array.min()} to {array.max()}; expected "
                f"0 (black) and up (0..255 for 8 bits). Shift them, e.g. image - image.min()."
            )
        array = array / full_scale(int(array.max()))  # 8 bits: the same numbers as PIL's "L"
    elif not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise DigitImageError(
            f"image: received float pixels from {np.nanmin(array):.3g} to "
            f"{np.nanmax(array):.3g}; expected floats between 0 and 1 (or integers 0..255). "
            f"Divide by 255, or for normalised MNIST pixels use mnistlab.denormalize."
        )
    array = array.astype(np.float32)
    if array.ndim == 3:
        if shape[-1] == 4:  # put the colours on white paper, as far as they are transparent
            alpha = array[..., 3:]
            array = array[..., :3] * alpha + (1 - alpha)
        array = array @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return array


def paper_light(grey):
    """Estimate the brightness of light paper at every pixel, for a photo lit unevenly.

    The picture is shrunk to 32 pixels on its longer side; there each pixel takes the
    lightest value around it (the ink is darker and thin, so that is the paper), which is
    smoothed and enlarged back. On evenly lit paper it is the same everywhere.
    """
    pixels = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))[None, None]
    scale = 32 / max(grey.shape)
    small = F.interpolate(pixels, scale_factor=min(1.0, scale), mode="area")
    paper = F.max_pool2d(small, 7, stride=1, padding=3)
    paper = F.avg_pool2d(paper, 7, stride=1, padding=3, count_include_pad=False)
    return F.interpolate(paper, size=grey.shape, mode="bilinear")[0, 0].numpy()


def ink_on_black(grey, threshold=INK_THRESHOLD):
    """Step 2: turn a grey picture into MNIST's colours: ink 1 (white) on paper 0 (black).

    The paper's colour is the median of the border pixels. If it is light (ink on paper,
    as on the pad or in a photo), uneven light is evened out first (each pixel divided by
    `paper_light`) and the picture is inverted. Then the paper is moved to 0 and the
    darkest ink to 1, and pixels fainter than `threshold` become paper.

    Args:
        grey: a (H, W) array from `to_grey`, 0 black to 1 white.
        threshold: ink fainter than this (after stretching to 0..1) is set to 0 (default
            0.15), which removes paper texture and shadows from photos.

    Raises `BlankImageError` when the ink hardly differs from the paper.
    Introduced in notebook 08a.
    """
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:  # light paper: even out the light, then invert (the ink becomes bright)
        grey = np.clip(grey / np.maximum(paper_light(grey), 1e-3), 0, 1)
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        grey, paper = 1 - grey, 1 - float(np.median(border))
    contrast = float(grey.max()) - paper
    if contrast < MIN_CONTRAST:
        height, width = grey.shape
        raise BlankImageError(
            f"image: received a {width}x{height} picture with no ink (its strongest ink "
            f"differs from the paper by {contrast:.2f}; expected at least {MIN_CONTRAST}). "
            f"Draw a digit first, or photograph it in dark ink on plain light paper."
        )
    ink = np.clip((grey - paper) / contrast, 0, 1)
    ink[ink < threshold] = 0
    return ink.astype(np.float32)


def crop_to_ink(ink):
    """Step 3: cut away the empty rows and columns around the digit.

    Args:
        ink: a (H, W) array from `ink_on_black`, paper 0.

    Introduced in notebook 08a.
    """
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        raise BlankImageError(
            "image: received a picture with no ink left after removing the paper; expected "
            "a digit. Draw one first, or pass a lower threshold for a faint photo."
        )
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_in_box(ink, box=BOX):
    """Step 4: scale the cropped digit so that its longer side is `box` pixels (default 20).

    Both sides are scaled by the same factor, so a tall, thin 1 stays tall and thin.
    Shrinking averages neighbouring pixels (anti-aliasing), as MNIST did.

    Introduced in notebook 08a.
    """
    height, width = ink.shape
    scale = box / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    pixels = torch.from_numpy(np.ascontiguousarray(ink, dtype=np.float32))[None, None]
    scaled = F.interpolate(pixels, size=size, mode="bilinear", antialias=True, align_corners=False)
    return scaled[0, 0].clamp(0, 1).numpy()


def centre_of_mass(pixels):
    """Return `(row, column)`, the brightness-weighted mean position of a digit's pixels."""
    mass = float(pixels.sum())
    if mass <= 0:
        raise BlankImageError("image: received a picture with no ink; expected a digit")
    rows, cols = np.indices(pixels.shape)
    return float((rows * pixels).sum() / mass), float((cols * pixels).sum() / mass)


def centre_by_mass(digit, size=SIZE, centre=CENTRE):
    """Step 5: place the digit in a `size` x `size` field with its centre of mass in the middle.

    The digit is moved by whole pixels, so its centre of mass lands within half a pixel
    of `centre`; a digit is never cut, so a very lopsided one may stay a little off.

    Args:
        digit: a (h, w) array no larger than `size` (from `fit_in_box`).
        size: side of the field (default 28).
        centre: where the centre of mass goes, in pixel coordinates (default 14.0, where
            MNIST's digits have it).

    Introduced in notebook 08a.
    """
    height, width = digit.shape
    if height > size or width > size:
        raise ValueError(
            f"digit: received {height}x{width} pixels, larger than the {size}x{size} field; "
            f"scale it first with fit_in_box(digit)"
        )
    row, col = centre_of_mass(digit)
    top = int(np.clip(round(centre - row), 0, size - height))
    left = int(np.clip(round(centre - col), 0, size - width))
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def preprocess(image, threshold=INK_THRESHOLD):
    """Make a picture of a digit look like an MNIST digit: all five steps in order.

    Grey, inverted to white ink on black (`ink_on_black`), cropped to the ink, scaled to
    fit 20 x 20 keeping its proportions, and centred by its centre of mass in 28 x 28.

    Args:
        image: a PIL image, an array or a tensor (see `to_grey`), or a file path.
        threshold: see `ink_on_black` (default 0.15).

    Returns a float32 array (28, 28) with values 0..1, like `ToTensor()` of an MNIST
    digit; `to_batch` normalises it for a model. Introduced in notebook 08a.
    """
    if isinstance(image, (str, Path)):
        image = load_image(image)
    ink = ink_on_black(to_grey(image), threshold)
    return centre_by_mass(fit_in_box(crop_to_ink(ink)))


def to_batch(pixels):
    """Normalise 28 x 28 pixels (0..1) like `MNIST_TRANSFORM` and shape them (N, 1, 28, 28).

    Args:
        pixels: one digit (28, 28) or several (N, 28, 28), an array or a tensor.

    Introduced in notebook 08a.
    """
    pixels = torch.as_tensor(np.asarray(pixels), dtype=torch.float32)
    shape = tuple(pixels.shape)
    if shape == (SIZE, SIZE):
        pixels = pixels.unsqueeze(0)  # one digit -> a batch of one
    elif len(shape) != 3 or shape[1:] != (SIZE, SIZE):
        raise ValueError(
            f"pixels: received shape {shape}; expected (28, 28) or (N, 28, 28) "
            f"values 0..1, as preprocess(image) returns"
        )
    return ((pixels - MNIST_MEAN) / MNIST_STD).unsqueeze(1)  # (N, 1, 28, 28)
