#!/usr/bin/env python3
"""Write the per-notebook lecture plans into INSTRUCTORS.md: `python3 tools/lecture_plan.py`.

For every notebook it lists what students can do afterwards (the notebook's own "After this
notebook you can" list) and a table with one row per `## ` section: how many slides it has,
an estimate of the time in class (talking, the measured running time of its cells, and the
minutes students spend writing code in class), and the measured running time. Every notebook
is meant to be one lecture of at most `SESSION_MINUTES`; tests/test_classroom.py holds each
plan to that. The minutes students need for a "Your turn" spot (or any cell they work at in
class) sit in the cell's metadata, `{"mnistlab": {"minutes": N}}`. Exercises are set after
class: their slide counts as talking time, the work does not, and the Solutions section is not
shown in class. The text between the two `lecture-plans` markers in INSTRUCTORS.md is
replaced; the rest of the guide is written by hand.

To see one notebook's estimate while you edit it:

    python3 tools/lecture_plan.py --check notebooks/05a_cnn_layers.ipynb

Running times come from `python3 run.py timings --json FILE` (tools/timings.py):

    python3 run.py timings --sample --json build/timings-sample.json
    python3 run.py timings --proxy --json build/timings-full.json
    python3 tools/lecture_plan.py --sample build/timings-sample.json --full build/timings-full.json

Without `--sample`, the times that `python3 run.py execute` stored in each code cell's
metadata are used (the offline sample on the machine that stored the outputs). Measure on an
idle machine: timings taken next to other work are too slow.
"""

import argparse
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path

from classroom import ROOT, read_json, series, source
from slide_metadata import assign, heading

GUIDE = ROOT / "INSTRUCTORS.md"
BEGIN, END = "<!-- lecture-plans:begin -->", "<!-- lecture-plans:end -->"
OPENING = "(before the first section)"  # tools/timings.py's name for the cells above any ##
MINUTES_PER_SLIDE = 1.5  # talking time: explaining one slide, and taking a question or two
SESSION_MINUTES = 50  # one lecture
AFTER_CLASS = ("Solutions",)  # sections not shown in class


def stored_seconds(cell):
    """Seconds a code cell took when its output was stored (None if no time was recorded)."""
    times = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(times["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(times["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return max(0.0, (end - start).total_seconds())


def student_minutes(cell):
    """Minutes students spend on this cell in class (0 unless its metadata says so)."""
    return cell.get("metadata", {}).get("mnistlab", {}).get("minutes", 0)


def sections(nb):
    """[(title, slides, stored seconds or None, [(seconds, first line), ...], student minutes)]
    per section."""
    result = [[OPENING, 0, None, [], 0]]
    for cell, kind in zip(nb["cells"], assign(nb["cells"])):
        text = source(cell)
        if heading(cell, "## "):
            title = next(line for line in text.split("\n") if line.startswith("## "))
            result.append([title[3:].strip(), 0, None, [], 0])
        current = result[-1]
        current[1] += kind in ("slide", "subslide")
        current[4] += student_minutes(cell)
        if cell["cell_type"] == "code":
            seconds = stored_seconds(cell)
            if seconds is None:
                continue
            current[2] = (current[2] or 0.0) + seconds
            lines = [x.strip() for x in text.split("\n") if x.strip()]
            shown = [x for x in lines if not x.startswith("#")] or lines or [""]
            current[3].append((seconds, shown[0][:60]))
    return [s for s in result if s[1] or s[2] or s[4]]


def in_class(slides, run_seconds, students):
    """Whole minutes in class for one section: talking, running its cells, students' work."""
    return math.ceil(MINUTES_PER_SLIDE * slides + (run_seconds or 0) / 60 + students)


def lecture_minutes(path, sample=None):
    """Minutes in class for a whole notebook, by the same estimate as its plan."""
    sample_sections = (sample or {}).get(path.stem, ({}, []))[0]
    return sum(in_class(slides, sample_sections.get(name, stored), students)
               for name, slides, stored, _, students in sections(read_json(path))
               if name not in AFTER_CLASS)


def measured(path):
    """{notebook stem: ({section title: seconds}, [(seconds, first line) per cell])} from a
    tools/timings.py JSON file."""
    if not path:
        return {}
    report = json.loads(open(path, encoding="utf-8").read())
    return {
        re.sub(r"\.ipynb$", "", str(r["notebook"]).split("/")[-1]): (
            {s["title"]: s["seconds"] for s in r["sections"]},
            [(c["seconds"], c["first_line"][:60]) for c in r.get("cells", [])],
        )
        for r in report["notebooks"]
    }


def goal_list(text):
    """The bullet list that follows "After this notebook you can" in the title cell."""
    if "After this notebook" not in text:
        return ""
    lines = text[text.find("After this notebook"):].split("\n")[1:]
    bullets = []
    for line in lines:
        if line.lstrip().startswith(("* ", "- ")) or (bullets and line.startswith("  ")):
            bullets.append(line)
        elif bullets and not line.strip():
            break
    return "\n".join(bullets)


def minutes(seconds):
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def plan(path, sample, full):
    """The markdown plan of one notebook."""
    nb = read_json(path)
    first = source(nb["cells"][0])
    title = first.split("\n")[0].lstrip("# ").strip()
    goals = goal_list(first)
    sample_sections, sample_cells = sample.get(path.stem, ({}, []))
    full_sections, _ = full.get(path.stem, ({}, []))
    found = sections(nb)
    rows, talk_total = [], 0
    for name, slides, stored, _, students in found:
        run = sample_sections.get(name, stored)
        big = full_sections.get(name)
        if name in AFTER_CLASS:
            rows.append([f"{name} (after class)", slides, "–", "–", minutes(run), minutes(big)])
            continue
        talk = in_class(slides, run, students)
        talk_total += talk
        rows.append([name, slides, students or "–", talk, minutes(run), minutes(big)])
    where = "measured" if sample_cells else "stored run"
    cells = sample_cells or [c for s in found for c in s[3]]
    slow = sorted(cells, reverse=True)[:3]
    lines = [
        f"### {title} (`{path.name}`)", "",
        *(["Afterwards students can:", "", goals, ""] if goals else []),
        f"About **{talk_total:.0f} minutes** in class, students' work included; the exercises "
        "are set after class.", "",
        "| section | slides | students write (min) | minutes in class (estimate) "
        "| run, sample (min) | run, full MNIST (min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {' | '.join(str(x) for x in row)} |" for row in rows), "",
    ]
    if slow and slow[0][0] >= 1:
        listed = "; ".join(f"`{line}` {seconds:.0f} s" for seconds, line in slow if seconds >= 1)
        lines += [f"Slowest cells (sample, {where}): {listed}.", ""]
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", help="tools/timings.py JSON measured on the offline sample")
    parser.add_argument("--full", help="tools/timings.py JSON measured on full-size MNIST")
    parser.add_argument("--check", nargs="+", metavar="NOTEBOOK",
                        help="print these notebooks' minutes in class; write nothing")
    args = parser.parse_args(argv)
    sample, full = measured(args.sample), measured(args.full)
    if args.check:
        for name in args.check:
            total = lecture_minutes(Path(name), sample)
            over = f" (over {SESSION_MINUTES})" if total > SESSION_MINUTES else ""
            print(f"{Path(name).name}: about {total} minutes in class{over}")
        return 0
    chapters = [p for p in series() if not p.stem.startswith("00")]
    body = "\n".join(plan(p, sample, full) for p in chapters)
    guide = GUIDE.read_text(encoding="utf-8")
    if BEGIN not in guide or END not in guide:
        raise SystemExit(f"lecture_plan.py: {GUIDE.name} lacks the markers {BEGIN} ... {END}")
    head, rest = guide.split(BEGIN, 1)
    GUIDE.write_text(f"{head}{BEGIN}\n\n{body}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    print(f"lecture_plan.py: {len(chapters)} lecture plans written into {GUIDE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
