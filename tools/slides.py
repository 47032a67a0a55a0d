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
A deck has no kernel, so a widget shows as a still picture of the real widget (the drawing
pad: `tools/slides_template/drawing_pad.png`, see `classroom.WIDGET_PICTURES`). A cell taller
than a slide (`slide_metadata.cell_px`) is shrunk to fit with CSS `zoom`: its outputs when
it has pictures, otherwise the whole cell.
Keys while presenting: arrows to move, `s` for the speaker notes window, `f` for full
screen, `Esc` for the overview.
"""

import base64
import html
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
from classroom import (
    ROOT,
    WIDGET,
    is_guard,
    is_solution,
    is_your_turn,
    series,
    widget_picture,
    without_markers,
)
from classroom import source as cell_source
from nbconvert.exporters import SlidesExporter
from slide_metadata import SLIDE_PX, cell_px, output_px
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


WIDGET_NOTE = "(a live widget: run this cell in JupyterLab to use it)"


def still(output):
    """An output as a deck shows it: a widget becomes its still picture or, with none, a note."""
    picture = widget_picture(output)
    if picture is not None:
        png = base64.b64encode(picture.read_bytes()).decode("ascii")
        return nbformat.v4.new_output("display_data", data={"image/png": png})
    if WIDGET in output.get("data", {}):
        return nbformat.v4.new_output("display_data", data={"text/plain": WIDGET_NOTE})
    return output


def fit_css(cell):
    """A CSS rule that shrinks a cell taller than a slide to SLIDE_PX pixels ("" for others).

    A cell with pictures keeps its code at full size and zooms out its outputs; a cell of
    code or text alone (or code that fills the slide by itself) zooms out as a whole.
    """
    height = cell_px(cell)
    if height <= SLIDE_PX:
        return ""
    outputs = cell.get("outputs", [])
    pictures = any("image/png" in output.get("data", {}) for output in outputs)
    outputs_px = sum(output_px(output) for output in outputs)
    if pictures and height - outputs_px < SLIDE_PX / 2:
        scale = (SLIDE_PX - (height - outputs_px)) / outputs_px
        return f'[id="cell-id={cell.id}"] .jp-OutputArea {{ zoom: {scale:.3f}; }}'
    return f'[id="cell-id={cell.id}"] {{ zoom: {SLIDE_PX / height:.3f}; }}'


def deck(notebook, slides_exporter):
    """Return one notebook's deck as HTML text, without its exercise solutions and guards;
    a "Your turn" cell shows its worked code without the nbgrader marker lines, a widget its
    still picture (`still`), and a cell taller than a slide is shrunk to fit (`fit_css`)."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [cell for cell in nb.cells if not (is_solution(cell) or is_guard(cell))]
    for cell in nb.cells:
        if is_your_turn(cell):
            cell.source = without_markers(cell_source(cell))
        if cell.cell_type == "code":
            cell.outputs = [still(output) for output in cell.outputs]
    fits = "\n".join(filter(None, map(fit_css, nb.cells)))
    resources = {"metadata": {"name": notebook.stem}, "fit_css": fits}
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
