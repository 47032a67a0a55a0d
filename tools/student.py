#!/usr/bin/env python3
"""Make the student edition of every notebook: `python3 run.py student [OUTPUT_FOLDER]`.

For each notebook of the series it writes, into `build/student/` (or OUTPUT_FOLDER):

* `NN_topic.ipynb`: the notebook to hand out. Every output is cleared, and each exercise
  solution is replaced by an empty code cell that says "# Your answer here". The install
  cell stays, so the edition also runs on Colab.
* `solutions/NN_topic_solutions.ipynb`: the whole notebook with its stored outputs and
  every solution shown (not folded), to hand out after the deadline.

Neither edition keeps the result guards (cells tagged `guard`, which check the stored prose
against a fresh run for CI).

A solution is a cell tagged `solution`, or (the older form) a code cell whose source starts
with `# @title Solution`. The work is done by nbconvert's preprocessors: the legacy cells are
tagged first, then `TagRemovePreprocessor` drops them and `ClearOutputPreprocessor` clears
the rest. Nothing in `notebooks/` is changed.
"""

import sys
from pathlib import Path

import nbformat
from classroom import GUARD_TAG, ROOT, SOLUTION_TAG, is_solution, series
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor, TagRemovePreprocessor

ANSWER_HERE = "# Your answer here\n"


class TagSolutions(Preprocessor):
    """Tag every solution cell `solution` (older notebooks mark them only by their title)."""

    def preprocess_cell(self, cell, resources, index):
        if is_solution(cell):
            cell.metadata["tags"] = sorted({*cell.metadata.get("tags", []), SOLUTION_TAG})
        return cell, resources


class AnswerCells(Preprocessor):
    """Put an empty "# Your answer here" code cell after every solution, for the student."""

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            if SOLUTION_TAG in cell.metadata.get("tags", []):
                cells.append(nbformat.v4.new_code_cell(ANSWER_HERE))
        nb.cells = cells
        return nb, resources


class ShowSolutions(Preprocessor):
    """Unfold solution cells: drop the metadata that hides their code in JupyterLab and Colab."""

    def preprocess_cell(self, cell, resources, index):
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            cell.metadata.pop("cellView", None)
        return cell, resources


def student_edition(notebook):
    """Return the student copy of one notebook (a NotebookNode); the input is not changed."""
    nb = nbformat.read(notebook, as_version=4)
    resources = {}
    steps = [
        TagSolutions(),
        AnswerCells(),
        TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG, GUARD_TAG}, enabled=True),
        ClearOutputPreprocessor(remove_metadata_fields={"collapsed", "scrolled", "execution"}),
    ]
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    return nb


def solutions_edition(notebook):
    """Return the notebook with its outputs and every solution unfolded (a NotebookNode)."""
    nb = nbformat.read(notebook, as_version=4)
    steps = [TagSolutions(), ShowSolutions(),
             TagRemovePreprocessor(remove_cell_tags={GUARD_TAG}, enabled=True)]
    for step in steps:
        nb, _ = step.preprocess(nb, {})
    return nb


def build(output=ROOT / "build" / "student", notebooks=None):
    """Write both editions of every notebook into `output`; return the student notebooks."""
    output = Path(output)
    (output / "solutions").mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in notebooks or series():
        student = output / notebook.name
        nbformat.write(student_edition(notebook), student)
        solutions = solutions_edition(notebook)
        if any(SOLUTION_TAG in c.metadata.get("tags", []) for c in solutions.cells):
            nbformat.write(solutions, output / "solutions" / f"{notebook.stem}_solutions.ipynb")
        written.append(student)
    return written


def main(args):
    output = Path(args[0]) if args else ROOT / "build" / "student"
    written = build(output)
    print(f"student.py: {len(written)} student notebooks in {output}, solutions in "
          f"{output / 'solutions'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
