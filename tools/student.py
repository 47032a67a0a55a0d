#!/usr/bin/env python3
"""Make the student edition of every notebook: `python3 run.py student [OUTPUT_FOLDER]`.

For each notebook of the series it writes, into `build/student/` (or OUTPUT_FOLDER):

* `NN_topic.ipynb`: the notebook to hand out. It holds no answer:
  - each "Your turn" cell (tagged `your-turn`) keeps its signature, comments and shapes, but
    every part between `### BEGIN SOLUTION` and `### END SOLUTION` becomes `...`; the check
    cell after it then says "Not yet" until the student has written that part;
  - the Solutions section at the end (every cell tagged `solution`) is gone, and so are the
    pointers to it; an empty `# Your answer here` cell follows each exercise that gives no
    code of its own;
  - speaker notes, result guards (cells tagged `guard`, for CI) and every output are gone.
* `solutions/NN_topic_solutions.ipynb`: the whole notebook with its stored outputs and its
  Solutions section, without the guards, to hand out after the deadline.

`python3 tools/student.py --colab` writes the student editions into `student/` instead: the
committed copies that every notebook's Colab badge opens, so that a student who follows the
badge from GitHub meets no answer (tests/test_student_editions.py checks they are current).

Why our own preprocessors rather than nbgrader's `ClearSolutions`: we need the skeleton to
keep running (nbgrader puts `raise NotImplementedError()` in the answer's place, which would
stop a lecture at the first unanswered spot), and nbgrader would bring a database and a
server extension into the environment for a 15-line job. The markers are nbgrader's, so an
instructor who grades with nbgrader recognises them. Nothing in `notebooks/` is changed.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat
from classroom import (
    BEGIN,
    END,
    EXERCISE_TAG,
    GUARD_TAG,
    ROOT,
    SOLUTION_TAG,
    is_your_turn,
    series,
    skeleton,
    source,
    tags,
)
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor, TagRemovePreprocessor

ANSWER_HERE = "# Your answer here\n"
COLAB_FOLDER = ROOT / "student"  # the student editions on GitHub, opened by the Colab badges
STUDENT_URL = "/blob/main/student/"  # where every notebook's Colab badge points
# The repository notebook points at its Solutions section; the student edition has none.
POINTERS = {  # a line break may fall anywhere between the words
    r"\s*\(Solution\s+at\s+the\s+end\s+of\s+the\s+notebook\.\)": "",
    r"the\s+solutions\s+are\s+in\s+a\s+section\s+at\s+the\s+end\s+of\s+the\s+notebook\.":
        "your instructor hands out the solutions afterwards.",
    r"\s*Try\s+each\s+one\s+before\s+you\s+look\s+at\s+its\s+solution,\s+at\s+the\s+end\s+of\s+the\s+notebook\.":
        " Try each one yourself; your instructor hands out the solutions afterwards.",
}


class Skeletons(Preprocessor):
    """Replace the worked part of every "Your turn" cell with `...` (classroom.skeleton)."""

    def preprocess_cell(self, cell, resources, index):
        if is_your_turn(cell):
            text = source(cell)
            if text.count(BEGIN) != text.count(END) or BEGIN not in text:
                raise ValueError(f"cell {index}: a 'your-turn' cell needs matching {BEGIN!r} "
                                 f"and {END!r} lines around the student's part")
            cell.source = skeleton(text)
        return cell, resources


class NoSpeakerNotes(Preprocessor):
    """Drop the speaker notes: they are for the instructor, and often name the answer."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells
                    if c.metadata.get("slideshow", {}).get("slide_type") != "notes"]
        return nb, resources


class NoSolutionPointers(Preprocessor):
    """Reword the sentences that send a reader to the Solutions section (not in this edition)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            text = source(cell)
            for pointer, instead in POINTERS.items():
                text = re.sub(pointer, instead, text)
            cell.source = text
        return cell, resources


class AnswerCells(Preprocessor):
    """Put an empty answer cell after every exercise that gives no code of its own."""

    def preprocess(self, nb, resources):
        cells = []
        for number, cell in enumerate(nb.cells):
            cells.append(cell)
            following = nb.cells[number + 1] if number + 1 < len(nb.cells) else None
            gives_code = (following is not None and following.cell_type == "code"
                          and EXERCISE_TAG in tags(following))
            if cell.cell_type == "markdown" and EXERCISE_TAG in tags(cell) and not gives_code:
                answer = nbformat.v4.new_code_cell(ANSWER_HERE)
                answer.id = f"answer-{cell.id}"  # the same id every build: student/ stays put
                cells.append(answer)
        nb.cells = cells
        return nb, resources


def student_edition(notebook):
    """Return the student copy of one notebook (a NotebookNode); the input is not changed."""
    nb = nbformat.read(notebook, as_version=4)
    resources = {}
    steps = [
        TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG, GUARD_TAG}, enabled=True),
        NoSpeakerNotes(),
        Skeletons(),
        NoSolutionPointers(),
        AnswerCells(),
        ClearOutputPreprocessor(remove_metadata_fields={"collapsed", "scrolled", "execution"}),
    ]
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    return nb


def solutions_edition(notebook):
    """Return the notebook with its outputs and Solutions section, without guards."""
    nb = nbformat.read(notebook, as_version=4)
    nb, _ = TagRemovePreprocessor(remove_cell_tags={GUARD_TAG}, enabled=True).preprocess(nb, {})
    return nb


def build(output=ROOT / "build" / "student", notebooks=None, solutions=True):
    """Write the student edition of every notebook into `output` (and, with `solutions`,
    the solutions editions into `output/solutions`); return the student notebooks."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in notebooks or series():
        student = output / notebook.name
        nbformat.write(student_edition(notebook), student)
        edition = solutions_edition(notebook)
        if solutions and any(SOLUTION_TAG in tags(c) for c in edition.cells):
            (output / "solutions").mkdir(exist_ok=True)
            nbformat.write(edition, output / "solutions" / f"{notebook.stem}_solutions.ipynb")
        written.append(student)
    return written


def main(args):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", nargs="?", default=ROOT / "build" / "student", type=Path,
                        help="folder for the student and solutions editions (build/student/)")
    parser.add_argument("--colab", action="store_true",
                        help="write the student editions into student/, the committed copies "
                             "the Colab badges open (and remove those of notebooks gone)")
    args = parser.parse_args(args)
    if args.colab:
        written = build(COLAB_FOLDER, solutions=False)
        for old in set(COLAB_FOLDER.glob("*.ipynb")) - set(written):
            old.unlink()  # a notebook the series no longer has (renamed or split)
        print(f"student.py: {len(written)} student editions in {COLAB_FOLDER} (commit them)")
        return 0
    written = build(args.output)
    print(f"student.py: {len(written)} student notebooks in {args.output}, solutions in "
          f"{args.output / 'solutions'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
