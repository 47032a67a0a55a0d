#!/usr/bin/env python3
"""Build a full-size stand-in for MNIST from the genuine files in ../shared/mnist.

    .venv/bin/python tools/make_proxy.py DIR        # DIR/MNIST/raw/: 60,000 + 10,000 digits
    .venv/bin/python tools/make_proxy.py DIR --repeat 10 --source ../shared/mnist

`../shared/mnist` holds the first 6,000 official training digits and the official 10,000
test digits. Online, a student's `load_mnist()` returns all 60,000 training digits, and
how long a notebook takes depends mostly on that number. This script writes the 6,000
genuine training digits ten times over into valid IDX files (the header says 60,000), plus
the official test files, in torchvision's layout, so that

    MNISTLAB_DATA_DIR=DIR  (or `python3 run.py timings --data-dir DIR`)

makes every notebook see a training set of the full size. Accuracies measured on it are not
full-MNIST accuracies (it holds only 6,000 different digits); timings are what it is for.
The files go where you ask (a temporary folder): never into the repository. The IDX files
are read and written by `mnistlab.idx`, so it runs in the project's environment.
"""

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this clone's mnistlab, installed or not

from mnistlab.idx import FILES, IMAGES_MAGIC, LABELS_MAGIC, read_idx, write_idx  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "mnist"
TRAIN_FILES = dict(zip(FILES[True], (IMAGES_MAGIC, LABELS_MAGIC)))  # name: magic number
TEST_FILES = FILES[False]


def make_proxy(dest, source=DEFAULT_SOURCE, repeat=10):
    """Write `repeat` copies of the genuine training digits (and the test files) under `dest`.

    Args:
        dest: folder to create; the files go to `dest/MNIST/raw/`, torchvision's layout.
        source: folder with genuine MNIST in that layout (default `../shared/mnist`).
        repeat: how many times the training digits are repeated (10: 6,000 -> 60,000).

    Returns the number of training digits written.
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a whole number of copies, 1 or more; got {repeat!r}")
    source_raw = Path(source).expanduser() / "MNIST" / "raw"
    missing = [n for n in (*TRAIN_FILES, *TEST_FILES) if not (source_raw / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"{source_raw} lacks {', '.join(missing)}: pass --source with a folder that holds "
            f"MNIST/raw/ in torchvision's layout (uncompressed IDX files)"
        )
    raw = Path(dest).expanduser() / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    fix = f"Copy the genuine MNIST files into {source_raw} again."
    images, labels = (read_idx(source_raw / name, magic, fix)
                      for name, magic in TRAIN_FILES.items())
    if len(images) != len(labels):
        raise ValueError(f"the training images and labels in {source_raw} differ in number: "
                         f"{len(images):,} images, {len(labels):,} labels")
    for name, values in zip(TRAIN_FILES, (images, labels)):
        write_idx(raw / name, np.concatenate([values] * repeat))
    for name in TEST_FILES:
        shutil.copyfile(source_raw / name, raw / name)
    return len(labels) * repeat


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", help="folder to write (files go to DEST/MNIST/raw/)")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE),
                        help="genuine MNIST in torchvision's layout (default ../shared/mnist)")
    parser.add_argument("--repeat", type=int, default=10, help="copies of the training digits")
    args = parser.parse_args(argv)
    n = make_proxy(args.dest, args.source, args.repeat)
    print(f"wrote {n:,} training digits ({args.repeat} copies) and the official test digits "
          f"to {Path(args.dest) / 'MNIST' / 'raw'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
