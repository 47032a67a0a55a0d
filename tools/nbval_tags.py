#!/usr/bin/env python3
"""Turn nbval's comment markers into cell tags: `python3 tools/nbval_tags.py [NB ...]`.

nbval reads a marker either as a first-line comment (`# NBVAL_IGNORE_OUTPUT`) or as a cell
tag (`nbval-ignore-output`). Students see the comments and not the tags, so the series uses
tags only (tests/test_notebooks.py checks it). This tool moves every comment marker into the
matching tag and deletes the comment line; outputs and everything else stay as they are.
Running it again changes nothing. With no notebook given, it treats all of notebooks/.
"""

import re
import sys

import nbformat
from classroom import series, source

TAGS = {
    "NBVAL_IGNORE_OUTPUT": "nbval-ignore-output",
    "NBVAL_CHECK_OUTPUT": "nbval-check-output",
    "NBVAL_SKIP": "nbval-skip",
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
}
MARKER = re.compile(r"^[ \t]*#[ \t]*(NBVAL_[A-Z_]+)[ \t]*\n?", re.MULTILINE)


def convert(nb):
    """Move the markers of every code cell into tags; return how many were moved."""
    moved = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = source(cell)
        markers = MARKER.findall(text)
        unknown = [m for m in markers if m not in TAGS]
        if unknown:
            raise SystemExit(f"nbval_tags.py: unknown marker {unknown[0]} in cell {cell.get('id')}")
        if markers:
            tags = cell.metadata.get("tags", [])
            cell.metadata["tags"] = tags + [TAGS[m] for m in markers if TAGS[m] not in tags]
            cell.source = MARKER.sub("", text)
            moved += len(markers)
    return moved


def main(paths):
    for path in paths or series():
        nb = nbformat.read(path, as_version=4)
        moved = convert(nb)
        if moved:
            nbformat.write(nb, path)
        print(f"nbval_tags.py: {path}: {moved} marker(s) moved into tags")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
