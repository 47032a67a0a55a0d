"""Result guards and output-ignored cells: what keeps the prose true to a fresh run.

nbval re-runs every notebook and compares its outputs with the stored ones, except in cells
tagged `nbval-ignore-output`. Such a cell may hide a result the prose relies on, so:

* every ignored cell is listed in IGNORED with the reason its output cannot be compared
  (a new tag without an entry fails, and so does an entry whose cell lost its tag);
* a result the prose states is checked by a **guard**: a code cell tagged `guard` right after
  the result, folded and left out of slides and student editions, made only of `assert`
  statements. It prints nothing while the prose holds and otherwise fails nbval with
  "NN_topic: the prose says '<claim>', but this run measured <number>". The thresholds are
  those of the claim ("about 99%": at least 98.5% on the genuine files, 97% on the offline
  sample), not the stored digits. The claim it quotes must appear word for word in one of
  the notebook's markdown cells, so that guard and sentence change together.
"""

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
GUARD_TAG = "guard"
IGNORE_TAG = "nbval-ignore-output"
MESSAGE = re.compile(r"^(?P<notebook>\d\d[a-z]?_\w+): the prose says '(?P<claim>.+?)', "
                     r"but this run measured \S")

VARY = "training results vary in the last digits from machine to machine"
TRAINING = VARY + "; guarded: {}"
UNGUARDED = VARY + "; no prose rests on them"
DEVICE = "depends on the machine's device (CPU, CUDA, MPS) or its speed"
TIMING = "timings: {}"

# (notebook, cell id) -> why nbval cannot compare the cell's output.
IGNORED = {
    ("01_tensors", "65b45cdf"): "torch.empty shows leftover memory, different on every run",
    ("04_mlp", "9e77e9fd"): TRAINING.format("the loss falls epoch after epoch"),
    ("04_mlp", "9b1da5d4"): TRAINING.format("less than the common version's 95%"),
    ("04_mlp", "45218ac7"): TRAINING.format("the wider network's log, with 74e17ded"),
    ("04_mlp", "74e17ded"): TRAINING.format("the wider network does better"),
    ("04_mlp", "3f0c9d21"): TRAINING.format("the wider network does better by more than the "
                                            "noise, digit by digit"),
    ("04_mlp", "9c466c23"): TRAINING.format("the leak's five runs, with 524b2eec"),
    ("04_mlp", "524b2eec"): TRAINING.format("the wider network's leak grows past the noise, the "
                                            "small one's stays smaller"),
    ("04_mlp", "65ebfaf0"): TRAINING.format("the race's rounds, with 2d5b3766; the prose reads "
                                            "the verdicts and ranks nothing"),
    ("04_mlp", "8bea487e"): TRAINING.format("2d5b3766, the learning rate moves the accuracy more "
                                            "than the race's optimizers; the prose reads the "
                                            "verdicts and ranks nothing"),
    ("04_mlp", "f7557803"): TIMING.format("the open exercise's worked answer: check_target prints "
                                          "its time and accuracy") + " (exercise solution)",
    ("05_cnn", "solution-5-code"): TIMING.format("the open exercise's worked answer: "
                                                 "check_target prints its time and accuracy") +
    " (exercise solution)",
    ("07b_recipe", "7885add1"): TIMING.format("the open exercise's check prints its time; "
                                              "guarded: the worked answer meets the "
                                              "target") + " (exercise solution)",
    ("04_mlp", "aa57aa3f"): TRAINING.format("a softmax in the model learns far more slowly") +
    " (exercise solution)",
    ("04_mlp", "2d5b3766"): TRAINING.format("too small a learning rate crawls, 1.0 beats 0.1, "
                                            "10 ends worse, the spread beats the race's") +
    " (exercise solution)",
    ("04_mlp", "cdf2ee02"): TRAINING.format("more sigmoid layers learn more slowly") +
    " (exercise solution)",
    ("05_cnn", "c030"): UNGUARDED + " (the training log; the next cells' guards use it)",
    ("05_cnn", "c033"): TRAINING.format("the first epoch's loss cannot be tiny"),
    ("05_cnn", "c035"): TRAINING.format("the second run starts where the first ended"),
    ("05_cnn", "c038"): UNGUARDED + " (the prose states no number for it)",
    ("05_cnn", "c045"): UNGUARDED + " (LeNet's log and accuracy; no number in the prose)",
    ("05_cnn", "c063"): TRAINING.format("the race's accuracies, with c065"),
    ("05_cnn", "c065"): TRAINING.format("a CNN beats the MLP by more than the noise"),
    ("05_cnn", "c074"): UNGUARDED + " (which digits are confused)",
    ("05_cnn", "c097"): TRAINING.format("the raw pixels, with c098"),
    ("05_cnn", "c098"): TRAINING.format("the raw pixels usually cost accuracy"),
    ("05_cnn", "c113"): UNGUARDED + " (exercise solution; the prose is conditional)",
    ("05_cnn", "c116"): TRAINING.format("lr 0.001 stays far below 0.03"),
    ("06_gpu", "c006"): DEVICE,
    ("06_gpu", "c008"): "the processor's name and thread count",
    ("06_gpu", "c013"): DEVICE + " (where the weights and batches are; the prose states PyTorch's "
                                 "rules, not a measurement)",
    ("06_gpu", "c016"): DEVICE + " (on a CPU a sentence; on a GPU the error, which the prose "
                                 "quotes and a CPU cannot check)",
    ("06_gpu", "c022"): DEVICE + " (the same: the error exists only on a CUDA machine)",
    ("06_gpu", "c027"): DEVICE + " (the number of epochs depends on it)",
    ("06_gpu", "c029"): DEVICE + " (the training log on the device; c031's guard checks where it "
                                 "ends)",
    ("06_gpu", "c031"): DEVICE + " (the accuracy after the device's number of epochs); guarded: "
                                 "larger steps make up for fewer of them",
    ("06_gpu", "c033"): DEVICE + " (the two learning rates on the device); guarded: 0.001 stays "
                                 "near guessing, 0.01 goes much further",
    ("06_gpu", "c038"): TIMING.format("the pipelines' speeds; guarded with a wide margin: the "
                                      "fast path is faster on the CPU (ratio above 1.5, about 4 "
                                      "stored); the GPU rows only on a GPU"),
    ("06_gpu", "c043"): TIMING.format("reading digits one by one; the prose states no number"),
    ("06_gpu", "c046"): TIMING.format("one pass over the data; guarded with a wide margin: the "
                                      "DataLoader's pass takes over 5x the TensorLoader's (its "
                                      "share of an epoch swings with the machine's load)"),
    ("06_gpu", "c053"): DEVICE + " (whether it computes bfloat16 natively)",
    ("06_gpu", "c055"): DEVICE + " (the autocast type)",
    ("06_gpu", "c057"): DEVICE + " (the autocast type)",
    ("06_gpu", "c062"): TIMING.format("float32 against 16-bit steps; guarded with a wide margin "
                                      "on a CPU without native bfloat16: autocast at most half "
                                      "float32's speed"),
    ("06_gpu", "c069"): DEVICE + " (whether default kernels repeat bit for bit); guarded: on a "
                                 "CPU they do",
    ("06_gpu", "c072"): TIMING.format("default against deterministic mode; the prose says only "
                                      "that it can cost, and to rerun before trusting a "
                                      "difference"),
    ("06_gpu", "batch-size"): TIMING.format("images/s for each batch size; guarded: small "
                                           "batches learn far more in one epoch"),
    ("06_gpu", "c080"): DEVICE + " (exercise solution: timings; the prose states no result)",
    ("06_gpu", "c083"): DEVICE + " (exercise solution); guarded: few predictions change, the "
                                 "accuracy barely moves",
    ("07a_overfitting", "46fb078b"): TRAINING.format("the baseline, with 4df066a2"),
    ("07a_overfitting", "4df066a2"): TRAINING.format("overfitting: 100% on the training "
                                                     "digits, the best epoch before the last"),
    ("07a_overfitting", "3487cfb6-runs"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "70650ff3"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "9ed4da12"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "b65bcfc0"): TRAINING.format("no remedy gains accuracy beyond the "
                                                     "noise; more loss gaps told apart; "
                                                     "dropout's loss lower, weight decay's gap "
                                                     "tiny, augmentation told apart on neither"),
    ("07a_overfitting", "07a-sol2-code"): TRAINING.format("exercise solution: the stronger decay "
                                                          "gains accuracy on the sample"),
    ("07b_recipe", "0ac497b9"): UNGUARDED + " (the range test's best learning rate)",
    ("07b_recipe", "2f7054f3"): TRAINING.format("early stopping stops early"),
    ("07b_recipe", "871f1249"): TRAINING.format("the recipe's validation accuracy, "
                                                "07b-recipe-val"),
    ("07b_recipe", "07b-recipe-val"): TRAINING.format("the recipe reaches about 99% on "
                                                      "validation digits") +
    "; also the training time and the device",
    ("07b_recipe", "07b-ablation-runs"): TRAINING.format("the ablation's table") +
    "; also its time",
    ("07b_recipe", "6efb854e"): TRAINING.format("the recipe reaches about 99% on the test "
                                                "digits"),
    ("07b_recipe", "cbf93b78"): UNGUARDED + " (exercise solution)",
    ("07b_recipe", "48192107"): UNGUARDED + " (exercise solution; the range test)",
    ("08_your_own_digit", "c4bcc49e"): TRAINING.format("the plain network is 97% right"),
    ("08_your_own_digit", "7e0177e2"): UNGUARDED + " (the shrunk 3's reading)",
    ("08_your_own_digit", "f1f6098f"): TRAINING.format("the recipe reads more drawings than "
                                                       "shrinking"),
    ("08_your_own_digit", "8777a7ef"): TRAINING.format("turning costs the most"),
    ("08_your_own_digit", "38e08dc2"): TRAINING.format("the augmented network, with 3a582233"),
    ("08_your_own_digit", "3a582233"): TRAINING.format("augmentation gains on thin, thick and "
                                                       "turned digits, costs nothing as written"),
    ("08_your_own_digit", "b37432a0"): UNGUARDED + " (ten drawings each, too few to claim)",
    ("08_your_own_digit", "70d01baa"): UNGUARDED + " (precision and recall per class)",
    ("08_your_own_digit", "a2d7b6bf"): UNGUARDED + " (the number of mistakes)",
    ("08_your_own_digit", "527f96e5"): TRAINING.format("most digits in the top bin, near 100%"),
    ("08_your_own_digit", "4ef4778a"): UNGUARDED + " (the script's probabilities)",
    ("08_your_own_digit", "6bf14f9e"): "torch.export's operator names change between PyTorch "
                                       "releases",
    ("08_your_own_digit", "f2739efc"): UNGUARDED + " (exercise solution)",
    ("08_your_own_digit", "48c5d0bc"): UNGUARDED + " (exercise solution)",
    ("08_your_own_digit", "6f74eaad"): UNGUARDED + " (exercise solution)",
}


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def tags(cell):
    return cell["metadata"].get("tags", [])


def plain(text):
    """Prose as a guard quotes it: one line, no emphasis marks."""
    return " ".join(text.replace("*", "").split())


def messages(guard):
    """The assert messages of a guard cell, with each {expression} written as {}."""
    found = []
    for statement in ast.parse(source(guard)).body:
        assert isinstance(statement, ast.Assert), "a guard holds only assert statements"
        parts = statement.msg.values if isinstance(statement.msg, ast.JoinedStr) else [
            node for node in ast.walk(statement.msg) if isinstance(node, ast.Constant)]
        found.append("".join(p.value if isinstance(p, ast.Constant) else "{}" for p in parts))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_ignored_cell_has_a_reason(path):
    tagged = {(path.stem, c.get("id")) for c in cells(path) if IGNORE_TAG in tags(c)}
    listed = {key for key in IGNORED if key[0] == path.stem}
    assert tagged - listed == set(), (
        f"cells tagged {IGNORE_TAG} with no reason in tests/test_guards.py IGNORED: "
        f"{sorted(tagged - listed)}; a result the prose relies on needs a guard too")
    assert listed - tagged == set(), f"IGNORED lists cells that are not tagged: {listed - tagged}"
    assert all(len(IGNORED[key]) > 20 for key in listed)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_guards_are_folded_silent_asserts_that_quote_the_prose(path):
    notebook = cells(path)
    prose = plain(" ".join(source(c) for c in notebook if c["cell_type"] == "markdown"))
    for index, cell in enumerate(notebook):
        if GUARD_TAG not in tags(cell):
            continue
        where = f"{path.stem}, guard {cell.get('id')}"
        assert cell["cell_type"] == "code" and cell["outputs"] == [], where
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
        assert cell["metadata"]["slideshow"] == {"slide_type": "skip"}, where
        assert notebook[index - 1]["cell_type"] == "code", f"{where} follows its result"
        for message in messages(cell):
            match = MESSAGE.match(message)
            assert match, f"{where}: the message reads 'NN_topic: the prose says ...': {message}"
            assert match["notebook"] == path.stem, where
            assert plain(match["claim"]) in prose, f"{where} quotes what no sentence says"


def test_results_that_the_prose_relies_on_are_guarded():
    counts = {p.stem: sum(GUARD_TAG in tags(c) for c in cells(p)) for p in NOTEBOOKS}
    assert counts["05_cnn"] >= 5
    assert counts["07a_overfitting"] >= 2 and counts["07b_recipe"] >= 5
    assert counts["08_your_own_digit"] >= 5
    assert counts["04_mlp"] >= 7 and counts["06_gpu"] >= 8


def test_a_guard_message_names_notebook_claim_and_number():
    guard = {"source": ["assert 0.9 > 0.95, (\n",
                        "    \"07_x: the prose says 'about 99%', but this run \"\n",
                        "    f\"measured {0.9:.2%}\")\n"]}
    [message] = messages(guard)
    assert MESSAGE.match(message)["claim"] == "about 99%"
    with pytest.raises(AssertionError, match=r"07_x: the prose says 'about 99%', but this run "
                                             r"measured 90\.00%"):
        exec(compile(source(guard), "guard", "exec"), {})
