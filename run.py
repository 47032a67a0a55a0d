#!/usr/bin/env python3
"""Set up the mnistlab environment and run the series or its tests.

    python3 run.py lab     # make .venv if missing, install, open notebooks/ in JupyterLab
    python3 run.py test    # same set-up, then lint, unit tests and nbval over notebooks/
    python3 run.py bench   # same set-up, then the training-speed benchmark
    python3 run.py execute notebooks/01a_tensors_basics.ipynb   # re-run one, store its outputs
    python3 run.py slides  # reveal.js decks of every notebook in build/slides/ (offline)
    python3 run.py student # student editions and solutions in build/student/
    python3 run.py timings # wall time of every notebook (and its slowest cells)

Only Python 3 is needed to start: the first run creates `.venv/` next to this file and
installs the project into it (a few minutes); later runs skip the install unless
pyproject.toml changed. Extra arguments go to the tool, for example
`python3 run.py test -k models` or `python3 run.py lab --no-browser --port 8899`.
"""

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".mnistlab-installed"

# Options nbval needs to run the notebooks strictly (outputs compared) in this environment.
NBVAL_ARGS = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    str(ROOT / "tests" / "nbval_sanitize.cfg"),
    "--nbval-cell-timeout=300",
]


def install_key():
    """A fingerprint of what pyproject.toml asks to install (not of its tool settings)."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib  # Python 3.11+; older Pythons fingerprint the whole file

        text = repr(tomllib.loads(text)["project"])
    except ImportError:
        pass
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_environment():
    """Create .venv and install the project into it, unless that is already done."""
    wanted = install_key()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("run.py: creating the virtual environment in .venv/", flush=True)
        venv.create(VENV, with_pip=True)
    print(
        "run.py: installing mnistlab and its dependencies into .venv/ (the first time: about\n"
        "        6 GB, mostly PyTorch's CUDA build; about 3 minutes on a fast connection)",
        flush=True,
    )
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]  # with progress
    subprocess.run([*pip, "-e", ".[dev]"], cwd=ROOT, check=True)
    STAMP.write_text(wanted)


def run(*command, env=None):
    """Run one command from the repository root; return its exit code."""
    return subprocess.run([str(part) for part in command], cwd=ROOT, env=env).returncode


# JupyterLab settings for everyone who opens the series with `run.py lab`: no "get notified
# about Jupyter news?" pop-up over the first notebook, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
START_PAGE = "00_start_here.ipynb"  # the lab opens on this notebook, which lists the others


def write_lab_settings():
    """Merge LAB_SETTINGS into the environment's JupyterLab overrides.json."""
    path = VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(path.read_text()) if path.exists() else {}
    for plugin, values in LAB_SETTINGS.items():
        settings[plugin] = {**settings.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def lab(args):
    """Open notebooks/ in JupyterLab on the start page; Ctrl-C shuts Jupyter down cleanly."""
    write_lab_settings()
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    if (ROOT / "notebooks" / START_PAGE).exists():
        extra.append(f"--LabApp.default_url=/lab/tree/{START_PAGE}")
    command = [BIN / "jupyter", "lab", f"--notebook-dir={ROOT / 'notebooks'}", *extra, *args]
    process = subprocess.Popen([str(part) for part in command], cwd=ROOT)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            # The terminal sent Ctrl-C to Jupyter too: it asks whether to shut down (or shuts
            # down on a second Ctrl-C) and exits by itself. Wait for it instead of a traceback.
            continue


def test(args):
    # The notebooks' stored outputs were made with the offline sample of real MNIST
    # digits; forcing it here makes the test independent of the network.
    env = dict(os.environ, MNISTLAB_SAMPLE="1")
    code = run(PYTHON, "-m", "ruff", "check", ".", env=env)
    if code:
        return code
    return run(PYTHON, "-m", "pytest", *NBVAL_ARGS, *args, env=env)


def bench(args):
    """The training-speed benchmark: the package `benchmarks/` (see its __init__.py)."""
    return run(PYTHON, "-m", "benchmarks", *args)


def execute(args):
    """Run notebooks top to bottom in a fresh kernel and store their outputs (for authors)."""
    env = dict(os.environ, MNISTLAB_SAMPLE="1")
    notebooks = args or sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for notebook in notebooks:
        print(f"run.py: executing {notebook}", flush=True)
        code = run(
            BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
            "--ExecutePreprocessor.timeout=600", notebook, env=env,
        )
        if code:
            return code
    return 0


def tool(name):
    """A command that runs `tools/<name>.py` in the environment (each tool documents itself)."""

    def command(args):
        return run(PYTHON, ROOT / "tools" / f"{name}.py", *args)

    command.__doc__ = f"Run tools/{name}.py."
    return command


COMMANDS = {
    "lab": lab,
    "test": test,
    "bench": bench,
    "execute": execute,
    "slides": tool("slides"),
    "student": tool("student"),
    "timings": tool("timings"),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
