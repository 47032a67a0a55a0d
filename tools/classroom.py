"""What the classroom tools (slides, student editions, slide metadata) agree on.

A small shared module, not a command: it names the notebooks of the series and says which
cells are exercises, solutions, "Your turn" spots, result guards and set-up, so that
`tools/student.py`, `tools/slides.py` and `tools/slide_metadata.py` treat every notebook
the same way. CONTRIBUTING.md describes the tags and markers for authors.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTION_TAG = "solution"
# A guard is a folded code cell, right after a result, that raises when a fresh run no longer
# supports what the prose says about that result (tests/test_guards.py). It is for CI and
# authors: student editions and slides leave it out.
GUARD_TAG = "guard"
# An exercise statement (markdown) or the code it gives (a skeleton and its check); the
# student edition adds an empty answer cell after a statement that gives no code.
EXERCISE_TAG = "exercise"
# A "Your turn" spot: the worked code, with the student's part between the markers below
# (nbgrader's markers, so the notebooks read the same to an instructor who knows nbgrader).
# The cell after it, tagged `check`, says "Right" or "Not yet" (mnistlab.exercises).
YOUR_TURN_TAG = "your-turn"
CHECK_TAG = "check"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[ \t]*\n.*?^[ \t]*{re.escape(END)}[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
# A widget needs a running kernel, which the static decks do not have: a deck shows a still
# picture of it instead, a screenshot of the real widget that tests/test_browser.py takes
# (the drawing pad after it read a drawn 3). A widget's stored output names its widgets in
# its text form ("HBox(children=(VBox(children=(Canvas(...") and is matched by it.
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_PICTURES = {"Canvas(": ROOT / "tools" / "slides_template" / "drawing_pad.png"}


# 05_topic, or 05a_topic, 05b_topic for a chapter taught as one lecture per part
PART = re.compile(r"(?P<chapter>\d\d)(?P<part>[a-z]?)_[a-z0-9_]+")


def series(folder=NOTEBOOKS):
    """Every notebook of the series (`NN_topic.ipynb`, or `NNa_topic.ipynb`, `NNb_topic.ipynb`
    for a chapter in several lectures; including 00), in order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]*_*.ipynb") if PART.fullmatch(p.stem))


def source(cell):
    """A cell's source as one string (nbformat stores either a string or a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def tags(cell):
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell):
    """True for a cell of the Solutions section at the end of a notebook: tagged `solution`."""
    return SOLUTION_TAG in tags(cell)


def is_your_turn(cell):
    """True for a "Your turn" cell: tagged `your-turn`."""
    return YOUR_TURN_TAG in tags(cell)


def skeleton(text):
    """The student's version of a "Your turn" cell: each marked region becomes `...`.

    `...` is a statement Python accepts anywhere a block needs one, so the skeleton runs:
    a function whose body was the region returns None, which the check reports as not done.
    """
    return REGION.sub(lambda match: f"{match['indent']}...", text)


def without_markers(text):
    """The worked code with the marker lines taken out (what a slide shows)."""
    lines = text.split("\n")
    return "\n".join(line for line in lines if line.strip() not in (BEGIN, END))


def is_guard(cell):
    """True for a result guard: a cell tagged `guard`."""
    return GUARD_TAG in tags(cell)


def is_setup(cell):
    """True for the install cell that opens every notebook (CONTRIBUTING.md)."""
    return cell["cell_type"] == "code" and 'find_spec("mnistlab") is None' in source(cell)


def widget_picture(output):
    """The still picture (a PNG file) that the decks show for a widget output, or None for an
    output that is no widget or a widget with no picture (see WIDGET_PICTURES)."""
    data = output.get("data", {})
    if WIDGET not in data:
        return None
    text = "".join(data.get("text/plain", ""))
    return next((path for name, path in WIDGET_PICTURES.items() if name in text), None)


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
