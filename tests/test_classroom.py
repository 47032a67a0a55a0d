"""The classroom kit: slide metadata, static decks and student editions cover every notebook.

Slide checks read the committed notebooks. The deck test renders every notebook and checks
that no script or style sheet comes from the network. The student editions have their own
tests: tests/test_student_editions.py.
"""

import base64
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import classroom  # noqa: E402
import lecture_plan  # noqa: E402
import slide_metadata  # noqa: E402
import slides  # noqa: E402

NOTEBOOKS = classroom.series()
FIX = "run `python3 tools/slide_metadata.py` and commit the notebooks"


def read(path):
    return nbformat.read(path, as_version=4)


def test_the_tools_see_every_notebook():
    found = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert [p.name for p in NOTEBOOKS] == found  # a new NN_topic notebook cannot be missed
    assert len(NOTEBOOKS) >= 6


# --- slide metadata: what each slide holds ----------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_slide_metadata_from_the_rules(path):
    nb = read(path)
    stored = [slide_metadata.slide_type(cell) for cell in nb.cells]
    assert all(kind in slide_metadata.SLIDE_TYPES for kind in stored), f"missing: {FIX}"
    assert stored == slide_metadata.assign(nb.cells), f"out of date: {FIX}"
    assert stored[0] == "slide"
    assert nb.metadata.get("rise") == slide_metadata.RISE_SETTINGS, FIX
    for cell, kind in zip(nb.cells, stored):
        if classroom.is_solution(cell) or classroom.is_setup(cell) or classroom.is_guard(cell):
            assert kind == "skip"


# Whether each slide fits 1280x720 is measured in the browser: tests/test_browser.py.


def cell(kind, text, **metadata):
    made = nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
    made.metadata.update(metadata)
    return made


def test_slide_rules_headings_overflow_skips_and_notes():
    setup = 'import importlib.util\nif importlib.util.find_spec("mnistlab") is None:\n    pass'
    long_code = "\n".join(f"x{i} = {i}" for i in range(15))
    cells = [
        cell("md", "# 01 · Title"),
        cell("code", setup),
        cell("code", "import torch\nfrom torch import nn\n%matplotlib inline"),
        cell("md", "## A section"),
        cell("code", long_code),  # 16 lines, fits under the heading
        cell("code", long_code),  # would make 34: a new subslide
        cell("md", "Say this out loud.", slideshow={"slide_type": "notes"}),
        cell("md", "### A smaller step"),
        cell("md", "## Solutions", tags=["solution"]),
        cell("code", "print(1)", tags=["solution"]),
        cell("code", "assert 1 < 2, '01: the prose says ...'", tags=["guard"]),
    ]
    assert slide_metadata.assign(cells) == [
        "slide", "skip", "skip", "slide", "-", "subslide", "notes", "subslide", "skip", "skip",
        "skip",
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert slide_metadata.update(nb) is True
    assert slide_metadata.update(nb) is False  # idempotent
    assert slide_metadata.slides(nb.cells) == [[0], [3, 4], [5], [7]]


def test_a_cells_height_counts_lines_wrapping_headings_and_pictures():
    code = cell("code", "a = 1\nb = 2")
    assert slide_metadata.cell_px(code) == 10 + 22 + 2 * 23  # padding, the code box, 2 lines
    code.outputs = [nbformat.v4.new_output("stream", text="x" * 100 + "\n")]  # wraps to 2
    assert slide_metadata.cell_px(code) == 10 + 22 + 2 * 23 + 15 + 2 * 23
    picture = (REPO / "tools" / "slides_template" / "drawing_pad.png").read_bytes()
    width, height = slide_metadata.png_size(picture)
    wide = {"image/png": base64.b64encode(picture[:16] + (2 * 1095).to_bytes(4, "big")
                                          + picture[20:]).decode()}  # twice the slide's width
    code.outputs = [nbformat.v4.new_output("display_data", data=wide)]
    assert slide_metadata.cell_px(code) == 10 + 22 + 2 * 23 + height / 2 + 55  # scaled down
    prose = "## Title\n\n" + "word " * 30 + "\n\n* one\n* two\n  continued"
    assert slide_metadata.markdown_px(prose) == (39 + 40) + 2 * 26 + 20 + 2 * 32 + 20
    assert slide_metadata.markdown_px("$$\nx = 1\n$$\n\n| a |\n|---|\n| 1 |") == 85 + 2 * 36


def test_decks_show_a_widget_as_its_still_picture_and_shrink_a_cell_taller_than_a_slide(
    tmp_path,
):
    pad = nbformat.v4.new_output("display_data", data={
        classroom.WIDGET: {"model_id": "0", "version_major": 2, "version_minor": 0},
        "text/plain": "HBox(children=(VBox(children=(Canvas(height=280, ..."})
    upload = nbformat.v4.new_output("display_data", data={
        classroom.WIDGET: {"model_id": "1", "version_major": 2, "version_minor": 0},
        "text/plain": "FileUpload(value=(), accept='image/*')"})
    long_code = "\n".join(f"x{i} = {i}" for i in range(40))  # 40 lines: taller than a slide
    cells = [cell("md", "# 99 · Test"), cell("code", "pad"), cell("code", long_code)]
    cells[1].outputs = [pad, upload]
    cells[1].id, cells[2].id = "pad-cell", "tall-cell"
    notebook = tmp_path / "99_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    html = slides.deck(notebook, slides.exporter())
    picture = classroom.WIDGET_PICTURES["Canvas("].read_bytes()
    assert base64.b64encode(picture).decode() in html  # the pad's still picture
    assert slides.WIDGET_NOTE in html  # a widget with no picture says what it is
    assert '[id="cell-id=tall-cell"] { zoom: ' in html
    assert "cell-id=pad-cell\"]" not in html.split("</style>")[0]  # fits: not shrunk


def test_the_instructor_guide_has_a_lecture_plan_for_every_notebook():
    guide = (REPO / "INSTRUCTORS.md").read_text(encoding="utf-8")
    plans = guide.split("<!-- lecture-plans:begin -->")[1].split("<!-- lecture-plans:end -->")[0]
    for path in NOTEBOOKS:
        if path.stem != "00_start_here":
            assert f"(`{path.name}`)" in plans, (
                f"{path.name} has no lecture plan: run `.venv/bin/python tools/lecture_plan.py`"
            )
    assert "INSTRUCTORS.md" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem != "00_start_here"],
                         ids=lambda p: p.stem)
def test_every_notebook_is_one_lecture(path):
    """Talking (1.5 minutes a slide), running its cells (the stored run) and the students'
    in-class work fit one lecture; a chapter that does not fit is taught in parts (05a, 05b)."""
    minutes = lecture_plan.lecture_minutes(path)
    assert minutes <= lecture_plan.SESSION_MINUTES, (
        f"{path.name} takes about {minutes} minutes in class, more than one lecture "
        f"({lecture_plan.SESSION_MINUTES}): split it into parts, NNa_topic and NNb_topic")


def test_students_work_counts_in_the_lecture_plan():
    """Every "Your turn" spot says how many minutes students need for it in class."""
    for path in NOTEBOOKS:
        for c in read(path).cells:
            if classroom.YOUR_TURN_TAG in classroom.tags(c):
                assert lecture_plan.student_minutes(c) > 0, (
                    f"{path.name}: the spot {c.get('id')} has no metadata mnistlab.minutes")


# --- static decks ----------------------------------------------------------------------------


class Assets(HTMLParser):
    """Collect the addresses of scripts and style sheets in an HTML page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.urls.append(attrs["href"])


def test_decks_load_nothing_from_the_network(decks):
    folder = decks[0].parent
    assert [d.name for d in decks] == [f"{p.stem}.slides.html" for p in NOTEBOOKS]
    pad = base64.b64encode(classroom.WIDGET_PICTURES["Canvas("].read_bytes()).decode()
    with_pad = [path for path in NOTEBOOKS if any(  # found by the widget's mime type
        classroom.widget_picture(output) for c in nbformat.read(path, as_version=4).cells
        for output in c.get("outputs", []))]
    assert with_pad, "no notebook shows the drawing pad any more"
    for path in with_pad:
        assert pad in (folder / f"{path.stem}.slides.html").read_text(encoding="utf-8")
    assert (folder / "index.html").exists()
    for deck in decks:
        page = deck.read_text(encoding="utf-8")
        parser = Assets()
        parser.feed(page)
        assert len(parser.urls) >= 4, deck.name  # reveal.js, its style, theme, MathJax
        for url in parser.urls:
            assert not re.match(r"(https?:)?//", url), f"{deck.name} loads {url}"
            assert (folder / url.split("?")[0]).is_file(), f"{deck.name}: {url} is missing"
        assert "require(" not in page and "cdnjs" not in page and "unpkg" not in page
        assert "## Solutions" not in page and "BEGIN SOLUTION" not in page  # no answers there
    assert (folder / "mathjax" / "jax" / "output" / "HTML-CSS" / "fonts" / "STIX-Web").is_dir()


# --- the first screen: run.py lab ------------------------------------------------------------


def test_lab_settings_turn_off_the_news_pop_up_and_keep_other_settings(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO))
    import run

    monkeypatch.setattr(run, "VENV", tmp_path)
    overrides = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True)
    overrides.write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}')
    run.write_lab_settings()
    run.write_lab_settings()  # twice: the same file
    settings = json.loads(overrides.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert Path(run.NBVAL_ARGS[run.NBVAL_ARGS.index("--nbval-sanitize-with") + 1]).is_file()
    assert (REPO / "notebooks" / run.START_PAGE).is_file()


def test_lab_waits_for_jupyter_through_ctrl_c(tmp_path, monkeypatch):
    """Ctrl-C reaches Jupyter too, which shuts down by itself: run.py waits, no traceback."""
    sys.path.insert(0, str(REPO))
    import run

    class Jupyter:
        def __init__(self, command, cwd):
            self.command, self.interrupts = command, 2

        def wait(self):
            if self.interrupts:
                self.interrupts -= 1
                raise KeyboardInterrupt
            return 0

    started = []
    monkeypatch.setattr(run, "VENV", tmp_path)
    def popen(command, cwd):
        started.append(command)
        return Jupyter(command, cwd)

    monkeypatch.setattr(run.subprocess, "Popen", popen)
    assert run.lab(["--no-browser"]) == 0
    command = started[0]
    assert f"--LabApp.default_url=/lab/tree/{run.START_PAGE}" in command
    assert command[-1] == "--no-browser"
