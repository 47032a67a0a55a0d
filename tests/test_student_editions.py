"""Students write the key code, and no answer is visible until they ask for it.

Two halves. The repository notebooks (the instructor's edition): every "Your turn" spot is
followed by a check that said "Right" on the worked code, every solution sits in the
Solutions section at the end, away from its exercise. The student editions
(`tools/student.py`): no answer, no speaker note, no output; the committed copies in
`student/` (what the Colab badges open) are current; and every student notebook runs to
the end unanswered, each check saying "Not yet".
"""

import ast
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import classroom  # noqa: E402

import student  # noqa: E402

NOTEBOOKS = classroom.series()
CHAPTERS = [p for p in NOTEBOOKS if p.stem != "00_start_here"]
SOLUTIONS_HEADING = "## Solutions"
FIX = "run `python3 tools/student.py --colab` and commit student/"


def read(path):
    return nbformat.read(path, as_version=4)


def has(cell, tag):
    return tag in classroom.tags(cell)


def output_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


# --- the markers -----------------------------------------------------------------------------


def test_a_skeleton_keeps_signatures_and_comments_and_runs():
    worked = (
        "def softmax(scores):\n"
        '    """Probabilities along dim 1."""\n'
        "    # Your turn: exponentiate, then divide by the row sums.\n"
        "    ### BEGIN SOLUTION\n"
        "    exps = scores.exp()\n"
        "    return exps / exps.sum(dim=1, keepdim=True)\n"
        "    ### END SOLUTION\n"
        "\n"
        "class Net:\n"
        "    def __init__(self):\n"
        "        self.ready = True\n"
        "        ### BEGIN SOLUTION\n"
        "        self.layers = [1, 2]\n"
        "        ### END SOLUTION\n"
    )
    text = classroom.skeleton(worked)
    assert "exps" not in text and "layers" not in text and "SOLUTION" not in text
    assert "def softmax(scores):" in text and "# Your turn" in text and "self.ready" in text
    names = {}
    exec(compile(text, "skeleton", "exec"), names)  # the skeleton runs: `...` fills each block
    assert names["softmax"](None) is None and names["Net"]().ready
    assert classroom.without_markers(worked).count("SOLUTION") == 0
    assert "return exps" in classroom.without_markers(worked)


def test_a_your_turn_cell_without_its_end_marker_is_refused(tmp_path):
    cell = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    cell.metadata["tags"] = [classroom.YOUR_TURN_TAG]
    path = tmp_path / "99_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    with pytest.raises(ValueError, match="END SOLUTION"):
        student.student_edition(path)


# --- the repository notebooks: spots, checks, exercises, solutions ---------------------------


def spots(nb):
    """[(your-turn cell, the check cell after it)] of a notebook."""
    return [(c, nb.cells[i + 1]) for i, c in enumerate(nb.cells) if classroom.is_your_turn(c)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_your_turn_spot_is_checked_and_right_on_the_worked_code(path):
    nb = read(path)
    for worked, check in spots(nb):
        text = classroom.source(worked)
        assert text.count(classroom.BEGIN) == text.count(classroom.END) >= 1
        assert has(check, classroom.CHECK_TAG), f"{path.name}: a check cell follows each spot"
        assert "mnistlab.exercises" in classroom.source(check) or "check_" in classroom.source(
            check)
        said = output_text(check)
        assert said.startswith("Right: "), f"{path.name}: the stored check says {said!r}"
        assert "Not yet" not in said


def chapter(number):
    """The notebooks of one chapter: `05_topic`, or its parts `05a_...`, `05b_...`."""
    return [p for p in CHAPTERS if p.stem[:2] == number]


def test_students_write_code_in_every_chapter_from_02():
    counts = {}
    for path in CHAPTERS:  # a chapter taught in parts counts its parts together
        counts[path.stem[:2]] = counts.get(path.stem[:2], 0) + len(spots(read(path)))
    assert all(n >= 1 for number, n in counts.items() if number >= "02"), counts
    assert sum(counts.values()) >= 8, counts


@pytest.mark.parametrize("number, wanted", [("03", "self.images[i]"), ("04", "backward()"),
                                            ("05", "nn.Conv2d")])
def test_the_named_spots_are_the_students(number, wanted):
    """03's Dataset, 04's training loop, 05's first CNN class are written by the student."""
    regions = "\n".join(classroom.source(c) for path in chapter(number)
                        for c, _ in spots(read(path)))
    assert any(wanted in match.group(0) for match in classroom.REGION.finditer(regions))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_sit_in_a_section_of_their_own_at_the_end(path):
    cells = read(path).cells
    exercises = [i for i, c in enumerate(cells) if has(c, classroom.EXERCISE_TAG)
                 and c.cell_type == "markdown"]
    solutions = [i for i, c in enumerate(cells) if classroom.is_solution(c)]
    assert exercises, f"{path.name} has no exercise tagged 'exercise'"
    heading = next(i for i, c in enumerate(cells)
                   if classroom.source(c).startswith(SOLUTIONS_HEADING))
    assert heading > max(exercises) and heading == min(solutions)
    after = cells[heading:]
    assert all(classroom.is_solution(c) or classroom.is_guard(c) for c in after), (
        f"{path.name}: every cell after '{SOLUTIONS_HEADING}' is a solution (or its guard)")
    assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in after
                   if classroom.is_solution(c)), "a solution at the end needs no folding"
    titles = [re.match(r"\*\*(Exercise \d+)", classroom.source(cells[i])) for i in exercises]
    assert all(titles), f"{path.name}: an exercise statement starts '**Exercise N.**'"
    for title in titles:  # "Exercise 2" is answered in the Solutions section
        assert any(classroom.source(c).startswith(f"**{title[1]}") for c in after), title[1]


@pytest.mark.parametrize("number", ["04", "05", "07"])
def test_an_open_exercise_has_a_target_and_a_worked_answer_that_meets_it(number):
    cells = [c for path in chapter(number) for c in read(path).cells]
    given = [c for c in cells if has(c, classroom.EXERCISE_TAG) and c.cell_type == "code"
             and "check_target(" in classroom.source(c)]
    answered = [c for c in cells if classroom.is_solution(c) and "check_target(" in
                classroom.source(c)]
    assert given and answered, f"chapter {number}: an open exercise checked by check_target"
    assert output_text(given[0]).startswith("Not yet: ")  # the repository leaves it open
    assert output_text(answered[-1]).startswith("Right: target met")


# --- names: a student edition never needs what only an answer defines ------------------------


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


def names_only_an_answer_gives(nb):
    """[(cell number, name)]: a later cell reads a name that only an answer bound.

    An answer is a solution cell, or the worked part of a "Your turn" cell. The student
    edition has neither, so such a cell would stop with a NameError.
    """
    missing, from_answers, bound = [], set(), set()
    for number, each in enumerate(nb.cells, start=1):
        if each.cell_type != "code" or classroom.is_guard(each):  # guards leave with solutions
            continue
        names = Names(python_of(each))
        if classroom.is_solution(each):
            from_answers |= names.bound - bound
            continue
        if classroom.is_your_turn(each):
            kept = Names(classroom.skeleton(python_of(each))).bound
            from_answers |= names.bound - kept - bound
            names.bound = kept
        missing += [(number, n) for n in sorted(names.read & from_answers - names.bound)]
        bound |= names.bound
        from_answers -= names.bound
    return missing


def test_the_name_check_finds_a_cell_that_needs_an_answer():
    solution = nbformat.v4.new_code_cell("import numpy as np\nanswer = np.zeros(3)")
    solution.metadata["tags"] = [classroom.SOLUTION_TAG]
    spot = nbformat.v4.new_code_cell("def f():\n    ...\n### BEGIN SOLUTION\nW = 1\n"
                                     "### END SOLUTION")
    spot.metadata["tags"] = [classroom.YOUR_TURN_TAG]
    cells = [
        nbformat.v4.new_code_cell("x = 1\ndef g():\n    local = 2\n    return local"),
        solution,
        nbformat.v4.new_code_cell("%time print(answer, x, local)"),
        nbformat.v4.new_code_cell("np = None\nprint(np)"),  # binds it itself: fine
        spot,
        nbformat.v4.new_code_cell("print(f(), W)"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert names_only_an_answer_gives(nb) == [(3, "answer"), (6, "W")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_needs_a_name_that_only_an_answer_defines(path):
    assert names_only_an_answer_gives(read(path)) == [], "define these outside the answers"


# --- the student editions ----------------------------------------------------------------------


def answer_lines(nb):
    """Code lines of a notebook's answers (solutions, worked parts) that give something away."""
    lines = set()
    for each in nb.cells:
        text = classroom.source(each)
        if classroom.is_solution(each) and each.cell_type == "code":
            parts = [text]
        elif classroom.is_your_turn(each):
            parts = [m.group(0) for m in classroom.REGION.finditer(text)]
        else:
            continue
        for line in "\n".join(parts).split("\n"):
            if len(line.strip()) > 12 and not line.lstrip().startswith("#"):
                lines.add(line.strip())
    return lines


def given_text(nb):
    """Everything a notebook shows outside its answers (code and prose)."""
    parts = []
    for each in nb.cells:
        if classroom.is_solution(each):
            continue
        text = classroom.source(each)
        parts.append(classroom.skeleton(text) if classroom.is_your_turn(each) else text)
    return "\n".join(parts)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    return folder, student.build(folder)


def test_a_student_edition_holds_no_answer_no_note_and_no_output(edition):
    folder, written = edition
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, copy in zip(NOTEBOOKS, written):
        nb, source_nb = read(copy), read(original)
        text = "\n".join(classroom.source(c) for c in nb.cells)
        assert not any(classroom.is_solution(c) or classroom.is_guard(c) for c in nb.cells)
        assert SOLUTIONS_HEADING not in text and classroom.BEGIN not in text
        assert "end of the notebook" not in text, f"{copy.name} points at solutions it lacks"
        given = given_text(source_nb)
        for line in answer_lines(source_nb):
            assert line in given or line not in text, f"{copy.name} gives away: {line}"
        assert not any(c.metadata.get("slideshow", {}).get("slide_type") == "notes"
                       for c in nb.cells), f"{copy.name} keeps a speaker note"
        assert "Speaker notes" not in text
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code)
        if any(classroom.is_setup(c) for c in source_nb.cells):
            assert classroom.is_setup(nb.cells[1]), "the install cell stays"
        if copy.stem != "00_start_here":
            badge = f"{student.STUDENT_URL}{copy.name}"
            assert badge in classroom.source(nb.cells[0]), "the badge opens the student edition"
        statements = [c for c in nb.cells if has(c, classroom.EXERCISE_TAG)
                      and c.cell_type == "markdown"]
        answers = sum(classroom.source(c) == student.ANSWER_HERE for c in nb.cells)
        assert 0 < len(statements) or copy.stem == "00_start_here"
        assert answers <= len(statements)
        solutions = folder / "solutions" / f"{original.stem}_solutions.ipynb"
        if any(classroom.is_solution(c) for c in source_nb.cells):
            shown = read(solutions).cells
            assert any(classroom.source(c).startswith(SOLUTIONS_HEADING) for c in shown)
            assert not any(classroom.is_guard(c) for c in shown)


def test_the_student_editions_colab_opens_are_current(edition):
    _, written = edition
    for built in written:
        committed = student.COLAB_FOLDER / built.name
        assert committed.exists(), f"student/{built.name} is missing: {FIX}"
        assert read(committed) == read(built), f"student/{built.name} is out of date: {FIX}"
    assert sorted(p.name for p in student.COLAB_FOLDER.glob("*.ipynb")) == sorted(
        p.name for p in written), f"student/ holds a notebook the series no longer has: {FIX}"


def run_unanswered(path, folder):
    """Execute one student notebook in a fresh kernel; return the executed copy's path.

    The kernel gets one thread (OMP_NUM_THREADS=1) so that two notebooks share the two
    cores without fighting over them, and the quick sample (MNISTLAB_SAMPLE=quick: 2,000
    training and 500 test digits of the offline sample): nothing in a student edition is
    compared with stored numbers, so neither changes anything that is checked.
    """
    env = dict(os.environ, MNISTLAB_SAMPLE="quick", OMP_NUM_THREADS="1",
               MNISTLAB_CHECKPOINT_DIR=str(folder / "checkpoints"))
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.kernel_name=python3",
               "--output-dir", str(folder / "executed"), str(path)]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{path.name} stopped:\n{done.stderr[-3000:]}"
    return folder / "executed" / path.name


def test_every_student_notebook_with_a_skeleton_runs_to_the_end_unanswered(edition, tmp_path):
    """Run each student notebook that holds a "Your turn" skeleton on the quick sample, two
    at a time (minutes): no cell fails, and every check says "Not yet" to the skeleton it
    follows. The other student notebooks are the instructor's notebooks, which nbval runs,
    less their solution, guard and note cells, plus empty answer cells: that no remaining
    cell needs what only an answer defines is checked above, without running them."""
    _, written = edition
    skeletons = [p for p in written if any(has(c, classroom.CHECK_TAG) for c in read(p).cells)]
    assert len(skeletons) >= 7, [p.name for p in skeletons]
    with ThreadPoolExecutor(max_workers=2) as pool:
        executed = list(pool.map(lambda path: run_unanswered(path, tmp_path), skeletons))
    for path in executed:
        nb = read(path)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error" and "raises-exception" not in classroom.tags(c)]
        assert not errors, path.name
        for check in (c for c in nb.cells if has(c, classroom.CHECK_TAG)):
            said = output_text(check)
            assert said.startswith("Not yet: "), f"{path.name}: an unanswered check said {said!r}"
