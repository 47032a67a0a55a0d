"""Static checks of the notebooks (nbval re-runs them; these check what nbval cannot)."""

import json
import re
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
START_PAGE = "00_start_here"  # the lab's first screen: a list of the notebooks, no code
ALL = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
NOTEBOOKS = [name for name in ALL if name != START_PAGE]  # the chapters
REPOSITORY = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/|/Users/|C:\\\\)")


def load(name):
    return json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())


def source(cell):
    return "".join(cell["source"])


def test_the_series_is_complete_and_ordered():
    assert ALL[0] == START_PAGE
    # NN_topic, or NNa_topic, NNb_topic, ... for a chapter taught in several lectures
    found = [re.fullmatch(r"(\d\d)([a-z]?)_[a-z0-9_]+", name) for name in ALL]
    assert all(found), ALL
    chapters = sorted({int(m[1]) for m in found[1:]})
    assert chapters == list(range(1, len(chapters) + 1)), "chapters are numbered 01, 02, ..."
    for chapter in chapters:
        parts = [m[2] for m in found[1:] if int(m[1]) == chapter]
        assert parts in ([""], list("abcdefgh"[: len(parts)])), (chapter, parts)
    assert [p.name for p in (REPO / "notebooks").iterdir() if p.suffix != ".ipynb"
            and not p.name.startswith(".") and p.name != "checkpoints"] == [], (
        "keep notebooks/ for notebooks: test settings live in tests/"
    )


def test_start_page_lists_every_notebook_by_its_title():
    sys.path.insert(0, str(REPO / "tools"))
    import start_page

    assert start_page.is_current(), "run `python3 tools/start_page.py` and commit the page"
    listing = source(load(START_PAGE)["cells"][1])
    for name in NOTEBOOKS:
        assert f"]({name}.ipynb)" in listing and start_page.title(REPO / "notebooks" /
                                                                 f"{name}.ipynb") in listing


@pytest.mark.parametrize("name", ALL)
def test_no_nbval_comment_shows_in_a_cell(name):
    for i, cell in enumerate(load(name)["cells"]):
        assert "# NBVAL_" not in source(cell), (
            f"{name}, cell {i}: use the cell tag (nbval-ignore-output, nbval-skip, "
            f"raises-exception) instead of the comment; `python3 tools/nbval_tags.py` moves them"
        )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_opening_cell_has_title_goals_and_colab_badge(name):
    first = load(name)["cells"][0]
    text = source(first)
    assert first["cell_type"] == "markdown" and text.startswith("# ")
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    # Colab opens the student edition (student/, made by tools/student.py): no answers there
    badge = f"https://colab.research.google.com/github/{owner_repo}/blob/main/student/{name}.ipynb"
    assert badge in text
    assert "colab.research.google.com/github/" not in text.replace(badge, "")  # no stale badge
    assert "After this notebook" in text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_setup_cell_installs_from_the_project_repository(name):
    setup = load(name)["cells"][1]
    text = source(setup)
    assert setup["cell_type"] == "code" and 'find_spec("mnistlab") is None' in text
    assert re.findall(r"git\+(\S+?)\"", text) == [REPOSITORY]
    assert setup["outputs"] == []  # does nothing where mnistlab is installed


@pytest.mark.parametrize("name", ALL)
def test_stored_outputs_are_clean(name):
    code = [c for c in load(name)["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-run top to bottom in a fresh kernel"
    for i, cell in enumerate(code):
        for output in cell["outputs"]:
            where = f"{name}, code cell {i}"
            assert output["output_type"] != "error", where
            assert output.get("name") != "stderr", f"{where} writes to stderr"
            assert not MACHINE_PATH.search(json.dumps(output)), f"{where} shows a machine path"
            if output["output_type"] == "execute_result":
                text = "".join(output["data"].get("text/plain", ""))
                assert not text.startswith(("<Figure", "<matplotlib", "[<matplotlib")), where
