#!/usr/bin/env python3
"""Render every notebook as a reveal.js slide deck: `python3 run.py slides [OUTPUT_FOLDER]`.

Writes `build/slides/NN_topic.slides.html` for each notebook, with its stored outputs
(re-run a notebook with `python3 run.py execute` first if its outputs are stale), and an
`index.html` that lists the decks. Open `index.html` in a browser; the decks need no network:

* reveal.js comes from the `sphinx-revealjs` package and MathJax from
  `jupyter-server-mathjax` (both installed by the dev extra), copied next to the decks into
  `reveal.js/` and `mathjax/`. Copy the whole folder to a USB stick to present elsewhere.
* the template in `tools/slides_template/` is nbconvert's reveal template without the
  scripts it would load from CDNs (require.js, jQuery, mermaid, the widget renderer).

Slides follow each cell's `slideshow.slide_type` (see `tools/slide_metadata.py`); exercise
solutions and result guards are left out of the decks, and a "Your turn" cell shows its
worked code (for after the students' attempt) without its `### BEGIN/END SOLUTION` lines.
Keys while presenting: arrows to move, `s` for the speaker notes window, `f` for full
screen, `Esc` for the overview.
"""

import html
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
from classroom import ROOT, is_guard, is_solution, is_your_turn, series, without_markers
from classroom import source as cell_source
from nbconvert.exporters import SlidesExporter
from traitlets.config import Config

TEMPLATE = Path(__file__).resolve().parent / "slides_template"
REVEAL_FOLDER = "reveal.js"
MATHJAX_FOLDER = "mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # a configuration MathJax's package ships


def package_folder(package, *parts):
    """The folder of an installed package's data files, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"slides.py: the package {package!r} is missing; install the dev extra with "
            f"`python3 run.py slides` (it installs it) or `pip install -e '.[dev]'`"
        )
    return Path(spec.submodule_search_locations[0], *parts)


def copy_assets(output):
    """Copy reveal.js and MathJax from their installed packages next to the decks."""
    sources = {
        REVEAL_FOLDER: package_folder("sphinx_revealjs", "_static", "revealjs"),
        MATHJAX_FOLDER: package_folder("jupyter_server_mathjax", "static"),
    }
    for name, source in sources.items():
        shutil.copytree(source, output / name, dirs_exist_ok=True)


def exporter():
    """nbconvert's slides exporter, pointed at the local copies, sized for a 1280x720 screen."""
    config = Config()
    config.SlidesExporter.reveal_url_prefix = REVEAL_FOLDER
    config.SlidesExporter.mathjax_url = f"{MATHJAX_FOLDER}/MathJax.js?config={MATHJAX_CONFIG}"
    config.SlidesExporter.reveal_width = "1280"
    config.SlidesExporter.reveal_height = "720"
    config.SlidesExporter.reveal_theme = "white"
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATE.parent)]
    config.SlidesExporter.template_name = TEMPLATE.name
    return SlidesExporter(config=config)


def deck(notebook, slides_exporter):
    """Return one notebook's deck as HTML text, without its exercise solutions and guards;
    a "Your turn" cell shows its worked code without the nbgrader marker lines."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [cell for cell in nb.cells if not (is_solution(cell) or is_guard(cell))]
    for cell in nb.cells:
        if is_your_turn(cell):
            cell.source = without_markers(cell_source(cell))
    resources = {"metadata": {"name": notebook.stem}}
    body, _ = slides_exporter.from_notebook_node(nb, resources=resources)
    return body


def index_page(decks):
    """A plain HTML page that links every deck (also needs no network)."""
    items = "\n".join(
        f'<li><a href="{html.escape(d.name)}">{html.escape(d.name.split(".")[0])}</a></li>'
        for d in decks
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>mnistlab slides</title></head>\n<body style='font: 20px sans-serif'>"
        f"<h1>mnistlab slides</h1>\n<ul>\n{items}\n</ul>\n"
        "<p>Keys: arrows move, <kbd>s</kbd> opens the speaker notes, <kbd>f</kbd> full "
        "screen, <kbd>Esc</kbd> the overview.</p>\n</body></html>\n"
    )


def build(output=ROOT / "build" / "slides", notebooks=None):
    """Write a deck for every notebook, the index page and the assets; return the decks."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    copy_assets(output)
    slides_exporter = exporter()
    decks = []
    for notebook in notebooks or series():
        path = output / f"{notebook.stem}.slides.html"
        path.write_text(deck(notebook, slides_exporter), encoding="utf-8")
        decks.append(path)
    (output / "index.html").write_text(index_page(decks), encoding="utf-8")
    return decks


def main(args):
    output = Path(args[0]) if args else ROOT / "build" / "slides"
    decks = build(output)
    print(f"slides.py: {len(decks)} decks in {output}; open {output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
