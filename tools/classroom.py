"""What the classroom tools (slides, student editions, slide metadata) agree on.

A small shared module, not a command: it names the notebooks of the series and says which
cells are exercise solutions, result guards and set-up, so that `tools/student.py`,
`tools/slides.py` and `tools/slide_metadata.py` treat every notebook the same way.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTION_TAG = "solution"
# A guard is a folded code cell, right after a result, that raises when a fresh run no longer
# supports what the prose says about that result (tests/test_guards.py). It is for CI and
# authors: student editions and slides leave it out.
GUARD_TAG = "guard"
LEGACY_SOLUTION_TITLE = "# @title Solution"  # the Colab form title of older solution cells


def series(folder=NOTEBOOKS):
    """Every notebook of the series (`NN_topic.ipynb`, including 00), in order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def source(cell):
    """A cell's source as one string (nbformat stores either a string or a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def tags(cell):
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell):
    """True for an exercise solution: tagged `solution`, or a code cell titled as one."""
    if SOLUTION_TAG in tags(cell):
        return True
    return cell["cell_type"] == "code" and source(cell).lstrip().startswith(LEGACY_SOLUTION_TITLE)


def is_guard(cell):
    """True for a result guard: a cell tagged `guard`."""
    return GUARD_TAG in tags(cell)


def is_setup(cell):
    """True for the install cell that opens every notebook (CONTRIBUTING.md)."""
    return cell["cell_type"] == "code" and 'find_spec("mnistlab") is None' in source(cell)


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
