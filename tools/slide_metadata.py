#!/usr/bin/env python3
"""Give every notebook slideshow metadata: `python3 tools/slide_metadata.py [NB ...]`.

jupyterlab-slideshow (live slides in the lab) and `python3 run.py slides` read each cell's
`metadata.slideshow.slide_type`. This tool sets it by rules, so that authors never edit it by
hand and running it twice changes nothing:

* the title cell and every markdown cell with a `## ` heading start a new "slide";
  a `### ` heading starts a "subslide" (reveal.js shows subslides below the slide, reached with the
  down arrow or the space bar);
* the cells after a heading are added to its slide ("-") until the slide would be taller than
  `SLIDE_PX` pixels (each cell's height as `cell_px` estimates it, from its lines, headings,
  tables and formulas, and from the pixel size of its stored pictures); the cell that would
  overflow starts a "subslide": where a section is too long, it continues on the next slide.
  A single cell taller than a slide gets a slide of its own, and the decks shrink it to fit
  (`tools/slides.py`);
* the install cell, cells holding only imports (and %magics), result guards (cells tagged
  `guard`) and exercise solutions are "skip" (the exercise text stays, so students see the
  task and the lecturer shows the answer in the notebook itself);
* cells an author marked "notes" (speaker notes, shown only in the speaker view) stay so.

It also sets the notebook's `rise` metadata: a 1280x720 slide and scrolling for the rare
output taller than the screen. tests/test_browser.py measures every slide of every deck.
`--check` changes nothing and exits 1 if a notebook would change (for CI or a pre-commit
hook). With no notebook given, it treats all of notebooks/.
"""

import argparse
import base64
import re
import sys
import textwrap

import nbformat
from classroom import (
    WIDGET,
    is_guard,
    is_setup,
    is_solution,
    is_your_turn,
    series,
    source,
    widget_picture,
    without_markers,
)

# Heights in CSS pixels on a 1280x720 slide of the static decks (`run.py slides`), read off
# the rendered decks with the browser's developer tools (tests/test_browser.py measures every
# slide). A slide shows SLIDE_PX of content; reveal.js centres a shorter one.
SLIDE_PX = 680  # 720 less a margin: cell_px falls short of a measured cell by up to 11 px
CELL_PAD = 10  # above and below every cell
CODE_LINE, CODE_PAD = 23, 22  # a line of a code cell; the box around the code
TEXT_LINE, TEXT_PAD = 23, 15  # a line of printed output; the space around an output
IMAGE_WIDTH, IMAGE_PAD = 1095, 55  # a wider picture is scaled down to this width
BLOCK_GAP = 20  # below a paragraph, a list or a quote
BLOCKS = {  # (a line's height, characters on a line, the gap below) of a block of markdown
    "prose": (26, 100, BLOCK_GAP),
    "item": (32, 94, 0),  # a list item; the list ends with a BLOCK_GAP
    "quote": (26, 60, 3 * BLOCK_GAP),  # a quote is narrow, with margins
}
MATH_LINE = 4  # more on a line of text with a $formula$ in it
HEADINGS = {"#": (60, 50, 36), "##": (39, 40, 55), "###": (31, 40, 70)}  # line, margins, wrap
TABLE_ROW, TABLE_WRAP = 36, 70  # a table row's line; characters on a row before it wraps
MATH_PX, MD_CODE_LINE = 85, 23  # a $$ formula; a line of a ``` block
OUTPUT_WRAP = 88  # characters on a line of printed output before it wraps
RISE_SETTINGS = {"width": 1280, "height": 720, "scroll": True, "enable_chalkboard": False}
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
IMPORT_LINE = re.compile(r"^\s*(import \w|from \S+ import )")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](address) shows only its text
LIST_ITEM = re.compile(r"^\s*([*+-]|\d+\.) ")


def wrapped(text, width):
    """How many lines `text` takes when wrapped at `width` characters (at least one)."""
    return max(1, len(textwrap.wrap(text, width)))


def png_size(png):
    """(width, height) of a PNG image (bytes), read from its header (the IHDR chunk)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def output_px(output):
    """The height of one stored output on a slide: a picture scaled to the slide's width,
    a widget as the still picture the decks show (or a line of text), text by its lines."""
    data = output.get("data", {})
    picture = widget_picture(output)
    if picture is not None or "image/png" in data:
        png = picture.read_bytes() if picture else base64.b64decode(data["image/png"])
        width, height = png_size(png)
        return height * min(1, IMAGE_WIDTH / width) + IMAGE_PAD
    if WIDGET in data:
        return TEXT_PAD + TEXT_LINE  # the decks say it is a widget (tools/slides.py)
    text = "".join(output.get("text") or data.get("text/plain") or "").removesuffix("\n")
    return TEXT_PAD + TEXT_LINE * sum(wrapped(line, OUTPUT_WRAP) for line in text.split("\n"))


def markdown_px(text):
    """The height of rendered markdown: headings, paragraphs, list items, tables, formulas.

    Consecutive lines join into one block (a paragraph, a list item or a quote), which the
    renderer re-wraps at the block's width (BLOCKS); a blank line or a heading ends a block.
    """
    total, words, kind, in_math, in_fence = 0.0, [], "prose", False, False
    for line in LINK.sub(r"\1", text).split("\n") + [""]:
        stripped = line.strip()
        starts_block = not stripped or stripped.startswith(("#", "|", "$$", "```"))
        if words and (starts_block or LIST_ITEM.match(line)):  # the block so far ends here
            line_px, width, gap = BLOCKS[kind]
            joined = " ".join(words)
            total += (line_px + MATH_LINE * ("$" in joined)) * wrapped(joined, width) + gap
            words = []
        if stripped.startswith("```"):
            in_fence = not in_fence
            total += 0 if in_fence else BLOCK_GAP
        elif in_fence:
            total += MD_CODE_LINE
        elif in_math or stripped.startswith("$$"):
            total += 0 if in_math else MATH_PX
            in_math = in_math != (stripped.count("$$") % 2 == 1)  # a formula opens or closes
        elif stripped.startswith("|"):
            if not set(stripped) <= set("|-: "):  # |---| under the header draws no row
                total += TABLE_ROW * wrapped(stripped, TABLE_WRAP)
        elif stripped.startswith("#"):
            marker, _, title = stripped.partition(" ")
            line_px, margins, width = HEADINGS.get(marker, HEADINGS["###"])
            total += line_px * wrapped(title, width) + margins
        elif stripped:
            if not words:
                kind = "item" if LIST_ITEM.match(line) else "quote" if line[0] == ">" else "prose"
            words.append(stripped.lstrip("> "))
        elif kind == "item":
            total += BLOCK_GAP  # a list ends
            kind = "prose"
    return total


def cell_px(cell):
    """How many pixels a cell takes on a slide of the static decks.

    A code cell: its lines (long lines scroll sideways, they do not wrap) and its stored
    outputs (`output_px`); a markdown cell: `markdown_px`. Both add CELL_PAD.
    """
    text = source(cell).rstrip("\n")
    if cell["cell_type"] != "code":
        return CELL_PAD + markdown_px(text)
    if is_your_turn(cell):
        text = without_markers(text)  # as the decks show it
    code = CODE_PAD + CODE_LINE * len(text.split("\n"))
    return CELL_PAD + code + sum(output_px(output) for output in cell.get("outputs", []))


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
        elif used + cell_px(cell) > SLIDE_PX:
            kind = "subslide"
        else:
            kind = "-"
        if kind in ("slide", "subslide"):
            used = 0.0
        if kind not in ("skip", "notes"):
            used += cell_px(cell)
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
