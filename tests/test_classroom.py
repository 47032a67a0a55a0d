"""The classroom kit: slide metadata, static decks and student editions cover every notebook.

Slide checks read the committed notebooks. The deck test renders every notebook and checks
that no script or style sheet comes from the network. The student-edition tests build the
edition, check that no cell needs a name only a solution defines, and (with
MNISTLAB_SLOW_TESTS=1, as long as running the series once) run every student notebook.
"""

import ast
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import classroom  # noqa: E402
import slide_metadata  # noqa: E402
import slides  # noqa: E402
import student  # noqa: E402

NOTEBOOKS = classroom.series()
FIX = "run `python3 tools/slide_metadata.py` and commit the notebooks"


def read(path):
    return nbformat.read(path, as_version=4)


def test_the_tools_see_every_notebook():
    found = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert [p.name for p in NOTEBOOKS] == found  # a new NN_topic notebook cannot be missed
    assert len(NOTEBOOKS) >= 6


# --- slides in JupyterLab (RISE) ---------------------------------------------------------


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
        cell("code", "# @title Solution (click to show)\nprint(42)"),
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


def test_a_code_cell_counts_its_wrapped_lines():
    assert slide_metadata.slide_lines(cell("code", "a = 1\nb = 2")) == 3  # two lines + padding
    assert slide_metadata.slide_lines(cell("code", "x" * 250)) == 4  # wraps to three
    assert slide_metadata.slide_lines(cell("md", "## Title\n\nword " * 1)) == 3.5


def test_the_instructor_guide_has_a_lecture_plan_for_every_notebook():
    guide = (REPO / "INSTRUCTORS.md").read_text(encoding="utf-8")
    plans = guide.split("<!-- lecture-plans:begin -->")[1].split("<!-- lecture-plans:end -->")[0]
    for path in NOTEBOOKS:
        if path.stem != "00_start_here":
            assert f"(`{path.name}`)" in plans, (
                f"{path.name} has no lecture plan: run `.venv/bin/python tools/lecture_plan.py`"
            )
    assert "INSTRUCTORS.md" in (REPO / "README.md").read_text(encoding="utf-8")


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


def test_decks_load_nothing_from_the_network(tmp_path):
    decks = slides.build(tmp_path)
    assert [d.name for d in decks] == [f"{p.stem}.slides.html" for p in NOTEBOOKS]
    assert (tmp_path / "index.html").exists()
    for deck in decks:
        page = deck.read_text(encoding="utf-8")
        parser = Assets()
        parser.feed(page)
        assert len(parser.urls) >= 4, deck.name  # reveal.js, its style, theme, MathJax
        for url in parser.urls:
            assert not re.match(r"(https?:)?//", url), f"{deck.name} loads {url}"
            assert (tmp_path / url.split("?")[0]).is_file(), f"{deck.name}: {url} is missing"
        assert "require(" not in page and "cdnjs" not in page and "unpkg" not in page
        assert "@title Solution" not in page  # solutions stay out of the decks
    assert (tmp_path / "mathjax" / "jax" / "output" / "HTML-CSS" / "fonts" / "STIX-Web").is_dir()


# --- student editions ------------------------------------------------------------------------


def solution_lines(path):
    """The code lines of a notebook's solutions that could give an answer away."""
    lines = set()
    for each in read(path).cells:
        if classroom.is_solution(each):
            for line in classroom.source(each).split("\n"):
                if len(line.strip()) > 12 and not line.lstrip().startswith("#"):
                    lines.add(line.strip())
    return lines


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    return folder, student.build(folder)


def test_student_edition_has_no_solutions_and_no_outputs(edition):
    folder, written = edition
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, copy in zip(NOTEBOOKS, written):
        nb, source_nb = read(copy), read(original)
        text = "\n".join(classroom.source(c) for c in nb.cells)
        assert not any(classroom.is_solution(c) for c in nb.cells)
        assert not any(classroom.is_guard(c) for c in nb.cells), "guards are for CI only"
        for line in solution_lines(original):
            shown_elsewhere = any(
                line in classroom.source(c) for c in source_nb.cells if not classroom.is_solution(c)
            )
            assert shown_elsewhere or line not in text, f"{copy.name} gives away: {line}"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code)
        if any(classroom.is_setup(c) for c in source_nb.cells):
            assert classroom.is_setup(nb.cells[1]), "the install cell stays"
        answers = sum(classroom.source(c) == student.ANSWER_HERE for c in nb.cells)
        assert answers == sum(classroom.is_solution(c) for c in source_nb.cells)
        solutions = folder / "solutions" / f"{original.stem}_solutions.ipynb"
        if answers:
            shown = [c for c in read(solutions).cells if classroom.is_solution(c)]
            assert len(shown) == answers
            assert all(not c.metadata.get("jupyter", {}).get("source_hidden") for c in shown)
            assert not any(classroom.is_guard(c) for c in read(solutions).cells)


def python_of(cell):
    """A code cell's source as plain Python (IPython turns `%magic` lines into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(classroom.source(cell))


TIMING_MAGICS = ("time", "timeit", "prun")  # magics that run Python code given to them


class Names(ast.NodeVisitor):
    """The names a cell binds at its top level, and every name it reads."""

    def __init__(self, code):
        self.bound, self.read, self.depth = set(), set(), 0  # depth: inside def or class
        self.visit(ast.parse(code))

    def bind(self, name):
        if self.depth == 0:
            self.bound.add(name)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.bind(node.id)
        else:
            self.read.add(node.id)

    def visit_FunctionDef(self, node):  # binds its name; its body reads (not binds) names
        self.bind(node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_alias(self, node):  # import x.y as z binds z; import x.y binds x
        self.bind(node.asname or node.name.split(".")[0])

    def visit_Call(self, node):  # %time code, %%time: the code is a string argument
        self.generic_visit(node)
        name = getattr(node.func, "attr", "")
        magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
        if name in ("run_line_magic", "run_cell_magic") and magic in TIMING_MAGICS:
            code = Names(node.args[-1].value)
            for name in code.bound:
                self.bind(name)
            self.read |= code.read


def names_only_a_solution_gives(nb):
    """[(cell number, name)]: a later cell reads a name that only a solution cell bound.

    In the student edition the solutions are gone, so such a cell stops with a NameError.
    """
    missing, from_solutions, bound = [], set(), set()
    for number, each in enumerate(nb.cells, start=1):
        if each.cell_type != "code" or classroom.is_guard(each):  # guards leave with solutions
            continue
        names = Names(python_of(each))
        if classroom.is_solution(each):
            from_solutions |= names.bound - bound
            continue
        missing += [(number, n) for n in sorted(names.read & from_solutions - names.bound)]
        bound |= names.bound
        from_solutions -= names.bound
    return missing


def test_the_name_check_finds_a_cell_that_needs_a_solution():
    solution = nbformat.v4.new_code_cell("import numpy as np\nanswer = np.zeros(3)")
    solution.metadata["tags"] = [classroom.SOLUTION_TAG]
    cells = [
        nbformat.v4.new_code_cell("x = 1\ndef f():\n    local = 2\n    return local"),
        solution,
        nbformat.v4.new_code_cell("%time print(answer, x, local)"),
        nbformat.v4.new_code_cell("np = None\nprint(np)"),  # binds it itself: fine
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert names_only_a_solution_gives(nb) == [(3, "answer")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_needs_a_name_that_only_a_solution_defines(path):
    """The student edition is the notebook without its solutions: it runs top to bottom
    exactly when nbval's run of the full notebook passes and no later cell reads a name
    that only a solution bound. The slow test below runs the editions themselves."""
    assert names_only_a_solution_gives(read(path)) == [], "define these outside the solutions"


@pytest.mark.skipif(
    os.environ.get("MNISTLAB_SLOW_TESTS") != "1",
    reason="runs every student notebook (6 minutes): set MNISTLAB_SLOW_TESTS=1",
)
def test_every_student_notebook_runs_top_to_bottom(edition, tmp_path, monkeypatch):
    """Run each student notebook in a fresh kernel on the offline sample (minutes)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from nbclient import NotebookClient

    class ThisPython(KernelSpecManager):
        """Run the kernel with the Python running the tests (like nbval --current-env)."""

        def get_kernel_spec(self, kernel_name):
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return KernelSpec(argv=argv, display_name="Python 3", language="python")

    _, written = edition
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")  # the offline sample, as nbval uses
    for path in written:
        nb = read(path)
        kernel = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
        client = NotebookClient(
            nb, km=kernel, timeout=900, resources={"metadata": {"path": str(tmp_path)}}
        )
        try:
            client.execute()  # raises CellExecutionError, naming the cell, if one fails
        finally:  # nbclient leaves a kernel it was handed running: stop it
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
        errors = [
            o for c in nb.cells if c.cell_type == "code" and "raises-exception" not in
            c.metadata.get("tags", []) for o in c.outputs if o.output_type == "error"
        ]
        assert not errors, path.name


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
