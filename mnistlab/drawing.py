"""Drawing a digit: the pad in the notebook, stored pen strokes, and random distortions.

* `DrawingPad`: a pad to draw on with the mouse or a finger, the model's answer beside it
* `draw_strokes`: a digit drawn from stored pen strokes, exactly the way the pad draws
* `STROKE_DIGITS`: one digit of each class, drawn as strokes for this series (not MNIST)
* `random_distort`: random rotations, sizes, shifts and stroke widths for training

Whatever is drawn then goes through `digits.preprocess`, MNIST's own preparation.

Introduced in notebooks 08a (the pad, stored strokes) and 08b (random distortions).
"""

import io
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from .data import MNIST_MEAN, MNIST_STD
from .digits import SIZE, BlankImageError, preprocess, to_batch
from .training import predict

PAD_SIZE = 280  # the drawing pad is 280 x 280 pixels: ten pad pixels per MNIST pixel
LINE_WIDTH = 20  # pen width on the pad, in pad pixels (about 2 MNIST pixels after scaling)
SUPERSAMPLE = 4  # strokes are drawn 4x larger, then shrunk: smooth (anti-aliased) edges

# One digit of each class, drawn as pen strokes on the 280 x 280 pad for this series (they
# are not MNIST digits). Each stroke is a list of (x, y) points; draw them with draw_strokes.
STROKE_DIGITS = {
    0: [
        [
            (135, 50), (150, 51), (164, 58), (177, 71), (187, 88), (194, 109), (198, 132),
            (197, 156), (193, 179), (186, 199), (175, 215), (162, 227), (147, 233), (133, 233),
            (118, 227), (105, 215), (94, 199), (87, 179), (83, 156), (82, 132), (86, 109),
            (93, 88), (103, 71), (116, 58), (130, 51), (145, 50),
        ],
    ],
    1: [
        [
            (112, 82), (126, 68), (140, 55), (151, 44), (151, 71), (150, 99), (150, 126),
            (149, 154), (149, 181), (148, 209), (148, 236),
        ],
    ],
    2: [
        [
            (88, 83), (95, 71), (105, 61), (118, 54), (132, 51), (147, 50), (161, 54), (174, 61),
            (184, 70), (191, 82), (195, 95), (194, 109), (176, 132), (157, 152), (139, 172),
            (121, 192), (102, 212), (84, 232), (114, 231), (144, 230), (174, 229), (204, 228),
        ],
    ],
    3: [
        [
            (90, 66), (102, 54), (117, 47), (135, 44), (153, 47), (168, 54), (180, 66),
            (186, 80), (186, 96), (180, 110), (168, 122), (153, 129), (135, 132), (156, 131),
            (174, 140), (187, 154), (194, 171), (194, 189), (187, 206), (174, 220), (156, 229),
            (135, 232), (114, 229), (96, 220), (83, 206),
        ],
    ],
    4: [
        [
            (158, 44), (144, 65), (131, 87), (117, 108), (103, 129), (90, 151), (76, 172),
            (103, 171), (130, 170), (158, 170), (185, 169), (212, 168),
        ],
        [
            (170, 98), (169, 122), (169, 146), (168, 170), (167, 194), (167, 218), (166, 242),
        ],
    ],
    5: [
        [
            (104, 50), (102, 70), (99, 90), (96, 110), (94, 130), (106, 119), (129, 112),
            (153, 115), (174, 126), (190, 143), (197, 166), (195, 189), (184, 209), (165, 224),
            (142, 232), (119, 230), (97, 219), (81, 202),
        ],
        [
            (104, 50), (126, 49), (149, 48), (172, 47), (194, 46),
        ],
    ],
    6: [
        [
            (182, 50), (166, 65), (151, 80), (136, 95), (120, 110), (99, 144), (114, 131),
            (134, 125), (154, 127), (172, 135), (186, 150), (194, 169), (194, 189), (187, 208),
            (174, 223), (156, 233), (136, 235), (117, 230), (100, 218), (89, 201), (85, 181),
            (88, 161),
        ],
    ],
    7: [
        [
            (78, 56), (103, 55), (128, 54), (152, 54), (177, 53), (202, 52), (191, 79),
            (179, 106), (168, 133), (156, 161), (145, 188), (133, 215), (122, 242),
        ],
    ],
    8: [
        [
            (140, 44), (119, 46), (102, 54), (93, 65), (93, 80), (102, 98), (119, 119),
            (140, 140), (161, 161), (178, 182), (187, 200), (187, 215), (178, 226), (161, 234),
            (140, 236), (119, 234), (102, 226), (93, 215), (93, 200), (102, 182), (119, 161),
            (140, 140), (161, 119), (178, 98), (187, 80), (187, 65), (178, 54), (161, 46),
            (140, 44),
        ],
    ],
    9: [
        [
            (182, 98), (179, 115), (169, 130), (154, 141), (137, 146), (118, 144), (102, 136),
            (89, 123), (83, 107), (83, 89), (89, 73), (102, 60), (118, 52), (137, 50), (154, 55),
            (169, 66), (179, 81), (182, 98), (180, 122), (179, 147), (177, 171), (175, 195),
            (174, 220), (172, 244),
        ],
    ],
}


def _check_strokes(strokes):
    """Return strokes as lists of (x, y) float pairs, or raise an error showing the format."""
    example = "[[(60, 40), (60, 240)], [(30, 60), (90, 60)]]"
    try:
        checked = [[(float(x), float(y)) for x, y in stroke] for stroke in strokes]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"strokes: received {str(strokes)[:60]}; expected a list of strokes, each a list "
            f"of (x, y) points, for example {example}"
        ) from err
    if not all(math.isfinite(v) for stroke in checked for point in stroke for v in point):
        raise ValueError("strokes: received a point that is NaN or infinite; expected numbers")
    return checked


def draw_strokes(strokes, size=PAD_SIZE, line_width=LINE_WIDTH):
    """Draw pen strokes the way the drawing pad does: black, round-ended, on white paper.

    The strokes are drawn four times larger and then shrunk, which gives them the smooth
    (anti-aliased) edges a browser gives the pad's lines.

    Args:
        strokes: a list of strokes, each a list of (x, y) points in pad pixels from the
            top-left corner, as `DrawingPad.strokes` records them.
        size: side of the square pad in pixels (default 280).
        line_width: pen width in pixels (default 20).

    Returns a uint8 array (size, size): 255 is paper, 0 is ink. Introduced in notebook 08a.
    """
    big = Image.new("L", (size * SUPERSAMPLE, size * SUPERSAMPLE), 255)
    pen = ImageDraw.Draw(big)
    width = line_width * SUPERSAMPLE
    radius = width / 2
    for stroke in _check_strokes(strokes):
        points = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=0, width=round(width), joint="curve")
        for x, y in points:  # round ends and corners, like the pad's round line caps
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=0)
    return np.asarray(big.resize((size, size), Image.Resampling.BOX))


def random_distort(images, degrees=20.0, scale=(0.85, 1.1), shift=2.0, generator=None):
    """Randomly rotate, resize, move and thicken or thin each digit of a normalised batch.

    Training on such copies teaches a network that a digit drawn at a slant, a little
    small or with a thick pen is still the same digit (data augmentation, 07a).
    Each image gets its own angle, size and shift; a third of them get strokes one pixel
    thicker (a 3 x 3 maximum filter) and a third thinner (a 2 x 2 minimum filter).

    Args:
        images: a batch (N, 1, 28, 28) normalised like `MNIST_TRANSFORM`, on any device.
        degrees: largest rotation either way (default 20).
        scale: range of size factors (default (0.85, 1.1)).
        shift: largest move in pixels, in each direction (default 2).
        generator: a `torch.Generator` for repeatable draws (default None).

    Introduced in notebook 08b.
    """
    n = len(images)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    factor = scale[0] + torch.rand(n, generator=generator) * (scale[1] - scale[0])
    move = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2 / SIZE  # grid units
    thickness = torch.randint(3, (n, 1, 1, 1), generator=generator)  # 0 thin, 1 same, 2 thick
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack(
        [torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1
    )  # (N, 2, 3): where each output pixel reads from in the input
    pixels = images * MNIST_STD + MNIST_MEAN  # back to 0..1, paper 0
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    pixels = F.grid_sample(pixels, grid, align_corners=False)  # outside the image: paper
    thick = F.max_pool2d(pixels, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-F.pad(pixels, (0, 1, 0, 1)), 2, stride=1)
    thickness = thickness.to(images.device)
    pixels = torch.where(thickness == 0, thin, torch.where(thickness == 2, thick, pixels))
    return (pixels - MNIST_MEAN) / MNIST_STD


LIVE_UPDATE_S = 0.25  # while the pen moves, the answer is refreshed at most this often


class DrawingPad:
    """A pad to draw a digit on with the mouse or a finger, with the model's answer beside it.

    The pad records each stroke as a list of (x, y) points and shows it on an `ipycanvas`
    canvas. The picture the model reads is drawn again from those points by
    `draw_strokes` (the function that draws stored strokes) and goes through
    `preprocess`; the bars show the predicted probabilities and update as you draw.
    Runs in JupyterLab and Jupyter Notebook; on Colab, first run
    `google.colab.output.enable_custom_widget_manager()`.

    Args:
        model: a trained network returning 10 scores for a (N, 1, 28, 28) batch.
        size: side of the pad in pixels (default 280).
        line_width: pen width in pixels (default 20).

    Attributes: `strokes` (the points drawn so far), `pixels` (the 28 x 28 digit the
    model saw, or None) and `probabilities` (a (10,) tensor, or None).
    Introduced in notebook 08a.
    """

    def __init__(self, model, size=PAD_SIZE, line_width=LINE_WIDTH):
        import ipywidgets as widgets  # imported here: the rest of mnistlab needs no notebook
        from ipycanvas import Canvas

        self.model, self.size, self.line_width = model, size, line_width
        self.strokes, self.pixels, self.probabilities = [], None, None
        self._pen_is_down, self._last_update = False, 0.0
        self.canvas = Canvas(width=size, height=size, layout=widgets.Layout(
            width=f"{size}px", height=f"{size}px", border="1px solid #888"))
        self.canvas.on_mouse_down(self._pen_down)
        self.canvas.on_mouse_move(self._pen_move)
        self.canvas.on_mouse_up(self._pen_up)
        self.canvas.on_mouse_out(self._pen_up)
        self.canvas.on_touch_start(lambda touches: self._pen_down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self._pen_move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self._pen_up(0, 0))
        clear = widgets.Button(description="Clear", icon="eraser")
        clear.on_click(lambda _: self.clear())
        self.answer = widgets.HTML()
        self.seen = widgets.Image(format="png", width=112, height=112)
        self.bars = [widgets.FloatProgress(min=0, max=1, layout=widgets.Layout(width="150px"))
                     for _ in range(10)]
        self.percents = [widgets.Label() for _ in range(10)]
        rows = [widgets.HBox([widgets.Label(f"{d}"), bar, percent])
                for d, (bar, percent) in enumerate(zip(self.bars, self.percents))]
        seen_box = widgets.VBox([widgets.Label("what the model sees:"), self.seen])
        self.widget = widgets.HBox([widgets.VBox([self.canvas, clear]),
                                    widgets.VBox([self.answer, seen_box]), widgets.VBox(rows)])
        self.clear()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)  # shows the pad when it ends a cell

    def _pen_down(self, x, y):
        self._pen_is_down = True
        self.strokes.append([(round(x), round(y))])
        self.canvas.fill_circle(x, y, self.line_width / 2)  # a dot, until the pen moves

    def _pen_move(self, x, y):
        if not self._pen_is_down:
            return
        x0, y0 = self.strokes[-1][-1]
        if (x - x0) ** 2 + (y - y0) ** 2 < 4:  # ignore moves under 2 pixels
            return
        self.strokes[-1].append((round(x), round(y)))
        self.canvas.stroke_line(x0, y0, x, y)
        if time.monotonic() - self._last_update > LIVE_UPDATE_S:
            self.update()

    def _pen_up(self, x, y):
        if self._pen_is_down:
            self._pen_is_down = False
            self.update()

    def draw(self, strokes):
        """Draw stored strokes on the pad as if they came from the mouse, then predict."""
        for stroke in _check_strokes(strokes):
            self._pen_down(*stroke[0])
            for x, y in stroke[1:]:
                self._pen_move(x, y)
            self._pen_up(*stroke[-1])
        return self

    def clear(self):
        """Wipe the pad and the answer."""
        self.strokes, self.pixels, self.probabilities = [], None, None
        canvas = self.canvas
        canvas.fill_style = "white"
        canvas.fill_rect(0, 0, self.size, self.size)
        canvas.fill_style = canvas.stroke_style = "black"
        canvas.line_width, canvas.line_cap, canvas.line_join = self.line_width, "round", "round"
        self._show()

    def update(self):
        """Predict the digit drawn so far and show the answer."""
        self._last_update = time.monotonic()
        try:
            self.pixels = preprocess(draw_strokes(self.strokes, self.size, self.line_width))
        except BlankImageError:
            self.pixels, self.probabilities = None, None
        else:
            self.probabilities = predict(self.model, to_batch(self.pixels))[0]
        self._show()

    def _show(self):
        if self.probabilities is None:
            self.answer.value = "<h3>Draw a digit</h3>"
            pixels, probabilities = np.zeros((SIZE, SIZE)), [0.0] * 10
        else:
            pixels, probabilities = self.pixels, self.probabilities.tolist()
            digit = int(np.argmax(probabilities))
            self.answer.value = f"<h3>I read a {digit} ({probabilities[digit]:.0%} sure)</h3>"
        picture = Image.fromarray((pixels * 255).astype(np.uint8)).resize((112, 112), Image.NEAREST)
        buffer = io.BytesIO()
        picture.save(buffer, format="png")
        self.seen.value = buffer.getvalue()
        for bar, percent, p in zip(self.bars, self.percents, probabilities):
            bar.value, percent.value = p, f"{p:.0%}"
