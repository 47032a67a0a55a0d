"""tools/timings.py times notebooks without changing them; tools/make_proxy.py builds valid IDX."""

import json
import os
import struct
import sys
from pathlib import Path

import nbformat
import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import make_proxy  # noqa: E402
import timings  # noqa: E402


def tiny_notebook(path, record=None):
    """Two sections; the second holds a cell that sleeps, and one that records the data setting.

    The last cell writes `here.txt` in its working folder and, given `record`, the kernel's
    MNISTLAB_DATA_DIR and MNISTLAB_SAMPLE to that file.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A tiny notebook"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("## 1. Quick\n\ntext"),
        nbformat.v4.new_code_cell("y = x + 1"),
        nbformat.v4.new_markdown_cell("## 2. Slow"),
        nbformat.v4.new_code_cell("\n# @title Solution\nimport time\ntime.sleep(0.6)"),
        nbformat.v4.new_code_cell(
            "import os, pathlib\n"
            "pathlib.Path('here.txt').write_text('ran here')\n"
            f"record = {str(record) if record else None!r}\n"
            "if record:\n"
            "    pathlib.Path(record).write_text(repr((os.environ.get('MNISTLAB_DATA_DIR'),"
            " os.environ.get('MNISTLAB_SAMPLE'))))"
        ),
    ]
    nbformat.write(nb, path)
    return path


def test_timings_finds_the_slow_cell_and_sections_without_touching_the_notebook(
    tmp_path, monkeypatch, capsys
):
    seen = tmp_path / "seen.txt"
    notebook = tiny_notebook(tmp_path / "01_tiny.ipynb", record=seen)
    before = notebook.read_bytes()
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")  # --data-dir must unset it for the kernel
    data = tmp_path / "data"
    (data / "MNIST" / "raw").mkdir(parents=True)
    out = tmp_path / "t.json"

    kept = tmp_path / "kept"
    assert timings.main([str(notebook), "--data-dir", str(data), "--json", str(out),
                         "--keep", str(kept)]) == 0

    assert notebook.read_bytes() == before  # the original is never executed in place
    executed = nbformat.read(kept / "01_tiny.ipynb", as_version=4)
    assert executed.cells[3].execution_count is not None  # the kept copy has run
    assert not (tmp_path / "here.txt").exists()  # it ran in a temporary copy of the folder
    assert seen.read_text() == repr((str(data.resolve()), None))  # the kernel's environment
    assert os.environ["MNISTLAB_SAMPLE"] == "1"  # this process's environment is restored
    result = json.loads(out.read_text())["notebooks"][0]
    slowest = max(result["cells"], key=lambda c: c["seconds"])
    assert slowest["number"] == 6 and slowest["first_line"] == "import time"
    assert slowest["seconds"] >= 0.6
    titles = [s["title"] for s in result["sections"]]
    assert titles == [timings.OPENING, "1. Quick", "2. Slow"]
    slow = result["sections"][2]["seconds"]
    assert slow >= 0.6 and slow > result["sections"][1]["seconds"]
    assert result["seconds"] >= slow and result["error"] is None
    printed = capsys.readouterr().out
    assert "01_tiny" in printed and "cell  6" in printed and "2. Slow" in printed
    assert "MNISTLAB_SAMPLE" not in json.dumps(result)


def test_data_environment_selects_the_data(tmp_path):
    data = tmp_path / "data"
    env, line = timings.data_environment(data, environ={"MNISTLAB_SAMPLE": "1"})
    assert env["MNISTLAB_DATA_DIR"] == str(data.resolve()) and "MNISTLAB_SAMPLE" not in env
    env, line = timings.data_environment(sample=True, environ={})
    assert env["MNISTLAB_SAMPLE"] == "1" and "offline sample" in line


def test_a_failing_cell_is_reported_and_stops_the_notebook(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 / 0"), nbformat.v4.new_code_cell("print('after')")]
    path = tmp_path / "02_broken.ipynb"
    nbformat.write(nb, path)
    assert timings.main([str(path), "--sample"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED at cell 1" in printed and "ZeroDivisionError" in printed


def test_report_flags_notebooks_over_the_limit():
    result = {"notebook": "05_cnn.ipynb", "seconds": 400.0, "kernel_seconds": 1.0, "error": None,
              "cells": [{"number": 9, "seconds": 390.0, "section": "2. Train",
                         "first_line": "history = fit(...)"}],
              "sections": [{"title": "2. Train", "seconds": 390.0}]}
    text = timings.report([result], "test data", limit=300)
    assert "05_cnn" in text and "6m 40s  OVER LIMIT" in text and "history = fit(...)" in text
    assert "OVER LIMIT" not in timings.report([result], "test data", limit=500)


def write_idx(path, magic, dims, body):
    path.write_bytes(struct.pack(f">i{len(dims)}i", magic, *dims) + body)


@pytest.fixture
def tiny_mnist(tmp_path):
    """Three 28x28 training digits and two test digits, as torchvision's raw IDX files."""
    raw = tmp_path / "src" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", 2051, (3, 28, 28), bytes(range(3)) * 784)
    write_idx(raw / "train-labels-idx1-ubyte", 2049, (3,), bytes([7, 2, 1]))
    write_idx(raw / "t10k-images-idx3-ubyte", 2051, (2, 28, 28), bytes(2 * 784))
    write_idx(raw / "t10k-labels-idx1-ubyte", 2049, (2,), bytes([0, 9]))
    return tmp_path / "src"


def test_make_proxy_repeats_the_training_digits_in_valid_idx_files(tiny_mnist, tmp_path):
    from torchvision import datasets

    assert make_proxy.make_proxy(tmp_path / "proxy", tiny_mnist, repeat=4) == 12
    train = datasets.MNIST(str(tmp_path / "proxy"), train=True, download=False)
    test = datasets.MNIST(str(tmp_path / "proxy"), train=False, download=False)
    assert len(train) == 12 and len(test) == 2
    assert train.targets.tolist() == [7, 2, 1] * 4
    assert (train.data[3:6] == train.data[:3]).all() and not (train.data[0] == train.data[1]).all()
    assert timings.training_digits(tmp_path / "proxy") == "12"


def test_make_proxy_says_what_is_missing_or_broken(tiny_mnist, tmp_path):
    with pytest.raises(FileNotFoundError, match="lacks t10k-images-idx3-ubyte"):
        (tiny_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte").rename(tmp_path / "moved")
        make_proxy.make_proxy(tmp_path / "proxy", tiny_mnist)
    (tmp_path / "moved").rename(tiny_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte")
    images = tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        make_proxy.make_proxy(tmp_path / "proxy", tiny_mnist)
    with pytest.raises(ValueError, match="repeat must be"):
        make_proxy.make_proxy(tmp_path / "proxy", tiny_mnist, repeat=0)


def test_make_proxy_from_the_genuine_files_has_60000_digits(shared_mnist, tmp_path):
    assert make_proxy.make_proxy(tmp_path / "proxy", shared_mnist) == 60_000
    assert timings.training_digits(tmp_path / "proxy") == "60,000"
    test_file = tmp_path / "proxy" / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    original = shared_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    assert test_file.read_bytes() == original.read_bytes()
