#!/usr/bin/env python3
"""How long does each notebook take? Run them in fresh kernels and time every cell.

    python3 run.py timings                          # every notebook, the data load_mnist() finds
    python3 run.py timings --sample                 # the offline sample (what CI uses)
    python3 run.py timings --data-dir DIR           # the MNIST in DIR/MNIST/raw/
    python3 run.py timings --proxy                  # a 60,000-digit stand-in built from ../shared
    python3 run.py timings --sample --json t.json notebooks/07b_recipe.ipynb
    python3 run.py timings --data-dir DIR --keep out/   # also keep the executed copies

Each notebook is copied into a temporary folder and run there top to bottom in a new
kernel, the way a student runs it, so the notebooks in the repository are never changed
(their stored outputs stay as they are). The table gives the wall time of each notebook,
its slowest cells (number, counting every cell from 1, and first line), and the time of
each section (each `## ` heading), which an instructor can use to plan a lecture.

`--data-dir DIR` sets MNISTLAB_DATA_DIR=DIR and unsets MNISTLAB_SAMPLE; `--sample` sets
MNISTLAB_SAMPLE=1; `--proxy` builds the 60,000-digit size proxy of `tools/make_proxy.py`
in a temporary folder and uses it as `--data-dir`. Timings depend on what else the machine
is doing: measure on an idle one.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this clone's mnistlab, installed or not

from mnistlab.idx import read_header  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
DEFAULT_LIMIT_S = 300.0  # the series' budget per notebook on the full MNIST (5 minutes)
OPENING = "(before the first section)"


def first_line(source):
    """The first line of a cell worth showing: skips blank lines and `# @title` markers."""
    for line in source.splitlines():
        line = line.strip()
        if line and not line.startswith("# @title"):
            return line
    return ""


def section_titles(cells):
    """For each cell, the `## ` heading it falls under (the latest one above or in it)."""
    titles, current = [], OPENING
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    current = line[3:].strip()
        titles.append(current)
    return titles


def run_notebook(path, workdir, timeout=600, kernel_name=None, echo=None):
    """Execute a copy of the notebook at `path` inside `workdir`; return its timings.

    Args:
        path: the notebook; it is read, never written.
        workdir: folder the kernel runs in; it receives anything the notebook writes, and
            afterwards the executed copy of the notebook, with its outputs.
        timeout: seconds one cell may take before it counts as failed.
        kernel_name: default the notebook's own kernel (python3, this environment).
        echo: a function called with a line of progress after each cell of 1 s or more.

    Returns:
        {"notebook", "seconds", "kernel_seconds", "cells": [{"number", "seconds", "section",
        "first_line"}], "sections": [{"title", "seconds"}], "error"} where seconds is the
        wall time from starting the kernel to the end of the last cell, and error is None
        or the first line of the error that stopped the notebook.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name or nb.metadata.get("kernelspec", {}).get(
            "name", "python3"), resources={"metadata": {"path": str(workdir)}},
    )
    titles = section_titles(nb.cells)
    cells, error = [], None
    start = time.perf_counter()
    with client.setup_kernel():
        kernel_seconds = time.perf_counter() - start
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell_start = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError) as err:
                error = f"cell {index + 1}: " + (str(err).strip().splitlines() or ["?"])[-1]
            seconds = time.perf_counter() - cell_start
            cells.append({"number": index + 1, "seconds": seconds, "section": titles[index],
                          "first_line": first_line(cell.source)})
            if echo and seconds >= 1:
                echo(f"  {path.stem} cell {index + 1}/{len(nb.cells)}: {seconds:.1f} s")
            if error:
                break
    total = time.perf_counter() - start
    nbformat.write(nb, Path(workdir) / path.name)  # the executed copy, with its outputs
    sections = {}
    for cell in cells:
        sections[cell["section"]] = sections.get(cell["section"], 0.0) + cell["seconds"]
    return {
        "notebook": path.name,
        "seconds": total,
        "kernel_seconds": kernel_seconds,
        "cells": cells,
        "sections": [{"title": t, "seconds": s} for t, s in sections.items()],
        "error": error,
    }


def data_environment(data_dir=None, sample=False, environ=None):
    """The environment the kernels get, and a line saying which data it selects."""
    env = dict(os.environ if environ is None else environ)
    if data_dir is not None:
        env["MNISTLAB_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
        env.pop("MNISTLAB_SAMPLE", None)
        return env, f"MNIST files in {data_dir} ({training_digits(data_dir)} training digits)"
    if sample:
        env["MNISTLAB_SAMPLE"] = "1"
        return env, "the offline sample (4,000 training, 1,000 test digits)"
    return env, "whatever load_mnist() finds (downloaded MNIST, else the offline sample)"


def training_digits(data_dir):
    """The number of training digits the IDX header in `data_dir` announces, as text."""
    images = Path(data_dir).expanduser() / "MNIST" / "raw" / "train-images-idx3-ubyte"
    try:
        _, dims = read_header(images)
    except OSError:
        dims = ()
    return f"{dims[0]:,}" if dims else "unknown (no readable MNIST/raw/train-images-idx3-ubyte)"


def format_seconds(seconds):
    """68.2 -> "1m 08s"; 9.84 -> "9.8 s"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def report(results, data_line, slowest=3, limit=DEFAULT_LIMIT_S, width=60):
    """The printed table: notebooks with their slowest cells, then sections, then the total."""
    threads = os.environ.get("OMP_NUM_THREADS", "not set")
    lines = [f"data: {data_line}", f"machine: {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores; OMP_NUM_THREADS={threads}",
             "", f"{'notebook':28} {'wall':>8}  slowest cells (number: seconds, first line)",
             "-" * 100]
    for r in results:
        flag = "  OVER LIMIT" if r["seconds"] > limit else ""
        flag += f"  FAILED at {r['error']}" if r["error"] else ""
        top = sorted(r["cells"], key=lambda c: -c["seconds"])[:slowest]
        lines.append(f"{Path(r['notebook']).stem:28} {format_seconds(r['seconds']):>8}{flag}")
        for c in top:
            text = c["first_line"][:width]
            lines.append(f"{'':28} {'':>8}  cell {c['number']:>2}: {c['seconds']:6.1f} s  {text}")
    total = sum(r["seconds"] for r in results)
    lines += ["-" * 100, f"{'all notebooks':28} {format_seconds(total):>8}", ""]
    lines.append("time per section (code cells only; kernel start-up not included)")
    for r in results:
        lines.append(f"{Path(r['notebook']).stem} (kernel start {r['kernel_seconds']:.1f} s)")
        for s in r["sections"]:
            lines.append(f"  {s['title'][:70]:72} {format_seconds(s['seconds']):>8}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--data-dir", help="MNIST in DIR/MNIST/raw/ (sets MNISTLAB_DATA_DIR)")
    data.add_argument("--sample", action="store_true",
                      help="the offline sample (MNISTLAB_SAMPLE=1)")
    data.add_argument("--proxy", action="store_true",
                      help="build the 60,000-digit proxy from ../shared/mnist in a temp folder")
    parser.add_argument("--json", help="also write the timings to this JSON file")
    parser.add_argument("--keep", help="save the executed copies (with outputs) in this folder")
    parser.add_argument("--slowest", type=int, default=3, help="slowest cells shown per notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may take")
    parser.add_argument("--limit", type=float, default=DEFAULT_LIMIT_S,
                        help="flag notebooks slower than this many seconds (default 300)")
    args = parser.parse_args(argv)

    notebooks = [Path(n) for n in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.data_dir and not Path(args.data_dir, "MNIST", "raw").is_dir():
        parser.error(f"--data-dir {args.data_dir} has no MNIST/raw/ folder (torchvision's "
                     f"layout); build one with tools/make_proxy.py DIR")

    with tempfile.TemporaryDirectory(prefix="mnistlab-timings-") as scratch:
        data_dir = args.data_dir
        if args.proxy:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from make_proxy import make_proxy

            data_dir = Path(scratch) / "proxy"
            try:
                digits = make_proxy(data_dir)
            except (FileNotFoundError, ValueError) as err:
                parser.error(f"--proxy could not be built: {err}")
            print(f"timings: built the size proxy ({digits:,} training digits)",
                  file=sys.stderr, flush=True)
        env, data_line = data_environment(data_dir, args.sample)
        if args.proxy:
            data_line = "the size proxy: " + data_line.replace(str(data_dir), "a temp folder")
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)  # kernels inherit this process's environment
        results = []
        try:
            for notebook in notebooks:
                workdir = Path(scratch) / notebook.stem
                shutil.copytree(notebook.parent, workdir, ignore=shutil.ignore_patterns(
                    "*.ipynb", "checkpoints", ".ipynb_checkpoints", "__pycache__"))
                print(f"timings: running {notebook.name}", file=sys.stderr, flush=True)
                results.append(run_notebook(
                    notebook, workdir, timeout=args.timeout,
                    echo=lambda line: print(line, file=sys.stderr, flush=True)))
                if args.keep:
                    Path(args.keep).mkdir(parents=True, exist_ok=True)
                    shutil.copy(workdir / notebook.name, Path(args.keep) / notebook.name)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    print(report(results, data_line, args.slowest, args.limit))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"data": data_line, "cpu_count": os.cpu_count(), "notebooks": results}, indent=1))
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    # `kill` (SIGTERM) exits through main's `with` blocks, so the kernel is shut down and the
    # temporary folder (with the 47 MB proxy) is removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
