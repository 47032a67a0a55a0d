#!/usr/bin/env python3
"""Give every notebook slideshow metadata: `python3 tools/slide_metadata.py [NB ...]`.

jupyterlab-slideshow (live slides in the lab) and `python3 run.py slides` read each cell's
`metadata.slideshow.slide_type`. This tool sets it by rules, so that authors never edit it by
hand and running it twice changes nothing:

* the title cell and every markdown cell with a `## ` heading start a new "slide";
  a `### ` heading starts a "subslide" (reveal.js shows subslides below the slide, reached with the
  down arrow or the space bar);
* the cells after a heading are added to its slide ("-") until the slide would be longer than
  `MAX_LINES` lines of prose and code (counted as `slide_lines` does); the cell that would
  overflow starts a "subslide";
* the install cell, cells holding only imports (and %magics), result guards (cells tagged
  `guard`) and exercise solutions are "skip" (the exercise text stays, so students see the
  task and the lecturer shows the answer in the notebook itself);
* cells an author marked "notes" (speaker notes, shown only in the speaker view) stay so.

It also sets the notebook's `rise` metadata: a 1280x720 slide and scrolling for the rare
output taller than the screen. `--check` changes nothing and exits 1 if a notebook would
change (for CI or a pre-commit hook). With no notebook given, it treats all of notebooks/.
"""

import argparse
import base64
import re
import sys
import textwrap

import nbformat
from classroom import is_guard, is_setup, is_solution, series, source

# Prose + code lines on one slide. Measured in screenshots of a 1280x720 slide: a code line
# takes 22 px in the static decks (18 px in RISE), and about 640 px are free below the top
# margin, so 28 lines fit (a 27-line slide of notebook 07 ends at 650 px); a tall output
# below them scrolls.
MAX_LINES = 28
LINE_PX = 23  # a code line's height in pixels on a 1280x720 slide (tests/test_browser.py)
WIDGET_LINES = 15  # a widget's outputs are not stored: the drawing pad is about 340 px
WRAP = 110  # characters per line on a 1280-pixel-wide slide (static decks; RISE fits more)
RISE_SETTINGS = {"width": 1280, "height": 720, "scroll": True, "enable_chalkboard": False}
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
IMPORT_LINE = re.compile(r"^\s*(import \w|from \S+ import )")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](address) shows only its text


def output_lines(cell):
    """How many slide lines a code cell's stored outputs take (LINE_PX pixels a line).

    A picture takes its height in pixels (read from the PNG), a widget WIDGET_LINES, text
    its wrapped lines. Measured in the browser by tests/test_browser.py.
    """
    total = 0.0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            total += WIDGET_LINES
        elif "image/png" in data:
            png = base64.b64decode(data["image/png"])
            total += 1 + int.from_bytes(png[20:24], "big") / LINE_PX  # IHDR height, + margin
        else:
            text = output.get("text") or data.get("text/plain") or ""
            text = "".join(text).rstrip("\n")
            total += sum(max(1, -(-len(line) // WRAP)) for line in text.split("\n")) + 0.5
    return total


def slide_lines(cell):
    """How many lines a cell takes on a slide: wrapped lines, headings count double.

    Blank lines in prose count half (a paragraph gap), links count their text only (not the
    address), and a code cell adds one line of padding and its outputs (`output_lines`).
    """
    text = source(cell).rstrip("\n")
    if cell["cell_type"] == "code":
        lines = sum(max(1, -(-len(line) // WRAP)) for line in text.split("\n"))
        return 1 + lines + output_lines(cell)
    total = 0.0
    for line in LINK.sub(r"\1", text).split("\n"):
        if not line.strip():
            total += 0.5
        elif line.lstrip().startswith("#"):
            total += 2
        else:
            total += max(1, len(textwrap.wrap(line, WRAP)))
    return total


def is_imports_only(cell):
    """True for a code cell whose every line (comments aside) is an import or a %magic."""
    lines = [line for line in source(cell).split("\n") if line.strip()]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    bookkeeping = [x for x in lines if IMPORT_LINE.match(x) or x.lstrip().startswith("%")]
    return cell["cell_type"] == "code" and bool(lines) and bookkeeping == lines


def heading(cell, marker):
    """True for a markdown cell with a heading of this level on any of its lines."""
    lines = source(cell).split("\n")
    return cell["cell_type"] == "markdown" and any(line.startswith(marker) for line in lines)


def slide_type(cell):
    """A cell's slide type; a cell with none continues the slide above ("-")."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def assign(cells):
    """Return the slide type of each cell (a list of strings), by the rules above."""
    types, used = [], 0.0
    for index, cell in enumerate(cells):
        if slide_type(cell) == "notes":
            kind = "notes"
        elif is_setup(cell) or is_imports_only(cell) or is_solution(cell) or is_guard(cell):
            kind = "skip"
        elif index == 0 or heading(cell, "## "):
            kind = "slide"
        elif heading(cell, "### "):
            kind = "subslide"
        elif used + slide_lines(cell) > MAX_LINES:
            kind = "subslide"
        else:
            kind = "-"
        if kind in ("slide", "subslide"):
            used = 0.0
        if kind not in ("skip", "notes"):
            used += slide_lines(cell)
        types.append(kind)
    return types


def slides(cells):
    """Group the shown cells into slides: a list of lists of cell indices."""
    groups = []
    for index, cell in enumerate(cells):
        kind = slide_type(cell)
        if kind in ("skip", "notes"):
            continue
        if kind in ("slide", "subslide") or not groups:
            groups.append([])
        groups[-1].append(index)
    return groups


def update(nb):
    """Set the slide metadata of one notebook in place; return True if anything changed."""
    changed = False
    for cell, kind in zip(nb.cells, assign(nb.cells)):
        # "-" is stored as no slide type: jupyterlab-slideshow shows a cell marked "-" on no
        # slide at all, while RISE and nbconvert read a missing type as "-".
        wanted = {} if kind == "-" else {"slide_type": kind}
        if cell.metadata.get("slideshow", {}) != wanted:
            cell.metadata.pop("slideshow", None)
            if wanted:
                cell.metadata["slideshow"] = wanted
            changed = True
    if nb.metadata.get("rise") != RISE_SETTINGS:
        nb.metadata["rise"] = dict(RISE_SETTINGS)
        changed = True
    return changed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks (default: all of notebooks/)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks or series():
        nb = nbformat.read(path, as_version=4)
        if update(nb):
            stale.append(str(path))
            if not args.check:
                nbformat.write(nb, path)
    verb = "would change" if args.check else "updated"
    print(f"slide_metadata.py: {verb} {len(stale)} notebook(s)")
    for path in stale:
        print(f"  {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
