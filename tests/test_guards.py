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
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))  # NN_x, NNa_x
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
    ("01b_tensors_shapes", "65b45cdf"): "torch.empty shows leftover memory, different on every run",
    ("04b_mlp_training", "9e77e9fd"): TRAINING.format("the loss falls epoch after epoch"),
    ("04b_mlp_training", "9b1da5d4"): TRAINING.format("less than the boot-camp notes' 95%"),
    ("04b_mlp_training", "b-solution-1-code"): UNGUARDED + " (exercise solution; the prose is "
                                                           "conditional)",
    ("04b_mlp_training", "aa57aa3f"): TRAINING.format("a softmax in the model learns far more "
                                                      "slowly") + " (exercise solution)",
    ("04c_mlp_comparing", "c-setup-model"): TRAINING.format("04b's network again, with 74e17ded"),
    ("04c_mlp_comparing", "45218ac7"): TRAINING.format("the wider network's log, with 74e17ded"),
    ("04c_mlp_comparing", "74e17ded"): TRAINING.format("the wider network does better"),
    ("04c_mlp_comparing", "3f0c9d21"): TRAINING.format("the wider network does better by more "
                                                       "than the noise, digit by digit"),
    ("04c_mlp_comparing", "9c466c23"): TRAINING.format("the leak's five runs, with 524b2eec"),
    ("04c_mlp_comparing", "524b2eec"): TRAINING.format("the wider network's leak grows past the "
                                                       "noise, the small one's stays smaller"),
    ("04c_mlp_comparing", "65ebfaf0"): TRAINING.format("the race's rounds, with 2d5b3766; the "
                                                       "prose reads the verdicts and ranks "
                                                       "nothing"),
    ("04c_mlp_comparing", "8bea487e"): TRAINING.format("2d5b3766, the learning rate moves the "
                                                       "accuracy more than the race's optimizers; "
                                                       "the prose reads the verdicts and ranks "
                                                       "nothing"),
    ("04c_mlp_comparing", "c-final-test"): TRAINING.format("the final choice's test score, once: "
                                                          "higher than its validation score, "
                                                          "within both margins"),
    ("04c_mlp_comparing", "f7557803"): TIMING.format("the open exercise's worked answer: "
                                                     "check_target prints its time and accuracy") +
    " (exercise solution)",
    ("04c_mlp_comparing", "2d5b3766"): TRAINING.format("too small a learning rate crawls, 1.0 "
                                                       "beats 0.1, 10 ends worse, the spread "
                                                       "beats the race's") + " (exercise solution)",
    ("04c_mlp_comparing", "cdf2ee02"): TRAINING.format("more sigmoid layers learn more slowly; "
                                                       "the wide sigmoid network is told apart "
                                                       "behind both of section 1's") +
    " (exercise solution)",
    ("05b_cnn_training", "solution-5-code"): TIMING.format("the open exercise's worked answer: "
                                                           "check_target prints its time and "
                                                           "accuracy") + " (exercise solution)",
    ("05b_cnn_training", "c030"): UNGUARDED + " (the training log; the next cells' guards use "
                                              "it)",
    ("05b_cnn_training", "c033"): TRAINING.format("the first epoch's loss cannot be tiny"),
    ("05b_cnn_training", "c035"): TRAINING.format("the second run starts where the first ended"),
    ("05b_cnn_training", "c038"): UNGUARDED + " (the prose states no number for it)",
    ("05b_cnn_training", "c045"): UNGUARDED + " (LeNet's log and accuracy; no number in the prose)",
    ("05b_cnn_training", "c063"): TRAINING.format("the race's accuracies, with c065"),
    ("05b_cnn_training", "c065"): TRAINING.format("cnn_wide beats the MLP by more than the noise; "
                                                  "on the offline sample cnn is not told from it "
                                                  "and the MLP beats lenet"),
    ("05b_cnn_training", "b-test-code"): UNGUARDED + " (the one test score; the prose states no "
                                                     "number for it)",
    ("05b_cnn_training", "c113"): UNGUARDED + " (exercise solution; the prose is conditional)",
    ("05b_cnn_training", "c116"): TRAINING.format("lr 0.001 stays far below 0.03"),
    ("05c_cnn_mistakes", "c-network-code"): UNGUARDED + " (05b's CNN trained again: its log)",
    ("05c_cnn_mistakes", "c074"): UNGUARDED + " (which digits are confused)",
    ("05c_cnn_mistakes", "c097"): TRAINING.format("the raw pixels, with c098"),
    ("05c_cnn_mistakes", "c098"): TRAINING.format("on the offline sample the mean cost of the raw "
                                                  "pixels over the seeds has an interval that "
                                                  "includes 0, seed 2's excludes 0, the other "
                                                  "seeds' include it"),
    ("05c_cnn_mistakes", "c-solution-1-code"): UNGUARDED + " (exercise solution: shares per "
                                                           "digit)",
    ("05c_cnn_mistakes", "c-solution-2-code"): VARY + "; the prose quotes the two accuracies as "
                                                     "the stored run's (exercise solution)",
    ("06a_gpu_devices", "c006"): DEVICE,
    ("06a_gpu_devices", "c008"): "the processor's name and thread count",
    ("06a_gpu_devices", "c013"): DEVICE + " (where the weights and batches are; the prose "
                                          "states PyTorch's documented rules, not a measurement)",
    ("06a_gpu_devices", "c016"): DEVICE + " (on a CPU a sentence; on a GPU the error, which the "
                                          "prose quotes and a CPU cannot check)",
    ("06a_gpu_devices", "c022"): DEVICE + " (the same: the error exists only on a CUDA machine)",
    ("06a_gpu_devices", "c027"): DEVICE + " (the number of epochs depends on it)",
    ("06a_gpu_devices", "c029"): DEVICE + " (the training log on the device; c031's guard "
                                          "checks where it ends)",
    ("06a_gpu_devices", "c031"): DEVICE + " (the accuracy after the device's number of epochs); "
                                          "guarded: larger steps may have to make up for fewer",
    ("06a_gpu_devices", "c033"): DEVICE + " (the three learning rates on the device, scored on "
                                          "validation digits); guarded: 0.001 stays near "
                                          "guessing, the chosen one goes further by more than "
                                          "the noise",
    ("06a_gpu_devices", "c06a-solution-2-code"): DEVICE + " (exercise solution: where each "
                                                          "tensor ended up)",
    ("06b_gpu_speed", "c06b-setup"): "the processor's name, its thread count and the device",
    ("06b_gpu_speed", "c038"): TIMING.format("the pipelines' speeds; guarded with a wide margin: "
                                             "the fast path is faster on the CPU (ratio above "
                                             "1.5, about 4 stored); the GPU rows only on a GPU"),
    ("06b_gpu_speed", "c043"): TIMING.format("reading digits one by one; the prose states no "
                                             "number"),
    ("06b_gpu_speed", "c046"): TIMING.format("the fastest of three passes over the data; "
                                             "guarded with a wide margin: the DataLoader's pass "
                                             "takes over 5x the TensorLoader's (its share of an "
                                             "epoch swings with the machine's load)"),
    ("06b_gpu_speed", "c053"): DEVICE + " (whether it computes bfloat16 natively)",
    ("06b_gpu_speed", "c055"): DEVICE + " (the autocast type)",
    ("06b_gpu_speed", "c057"): DEVICE + " (the autocast type)",
    ("06b_gpu_speed", "c062"): TIMING.format("float32 against 16-bit steps; guarded with a wide "
                                             "margin on a CPU without native bfloat16: autocast "
                                             "at most half float32's speed"),
    ("06b_gpu_speed", "c069"): DEVICE + " (whether default kernels repeat bit for bit); guarded: "
                                        "on a CPU they do",
    ("06b_gpu_speed", "c072"): TIMING.format("default against deterministic mode; the prose says "
                                             "only to rerun before trusting a difference"),
    ("06b_gpu_speed", "batch-size"): TIMING.format("images/s for each batch size; guarded: "
                                                   "small batches learn far more in one epoch "
                                                   "(the paired interval of 16 against 1,024 "
                                                   "lies above 30 points)"),
    ("06b_gpu_speed", "c080"): DEVICE + " (exercise solution: timings; the prose states no "
                                        "result)",
    ("06b_gpu_speed", "c083"): DEVICE + " (exercise solution); guarded: few predictions change, "
                                        "the accuracy barely moves",
    ("07a_overfitting", "46fb078b"): TRAINING.format("the baseline, with 4df066a2"),
    ("07a_overfitting", "4df066a2"): TRAINING.format("overfitting: 100% on the training "
                                                     "digits; seed 0's lowest validation loss "
                                                     "in epoch 7 of 12, the last higher"),
    ("07a_overfitting", "3487cfb6-runs"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "70650ff3"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "9ed4da12"): TRAINING.format("the table, b65bcfc0"),
    ("07a_overfitting", "b65bcfc0"): TRAINING.format("no remedy gains accuracy beyond the "
                                                     "noise; more loss gaps told apart; "
                                                     "dropout's loss lower, weight decay's gap "
                                                     "about a twentieth of dropout's, "
                                                     "augmentation told apart on neither"),
    ("07a_overfitting", "07a-sol2-code"): TRAINING.format("exercise solution: the stronger decay "
                                                          "gains accuracy on the sample"),
    ("07b_recipe", "7885add1"): TIMING.format("the open exercise's check prints its time; "
                                              "guarded: the worked answer meets the "
                                              "target") + " (exercise solution)",
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
    ("07b_recipe", "cbf93b78"): TRAINING.format("both training-mode scores a few digits "
                                                "below eval mode's") + " (exercise solution)",
    ("07b_recipe", "48192107"): UNGUARDED + " (exercise solution; the range test)",
    ("08a_digit_recipe", "c4bcc49e"): TRAINING.format("the plain network is 97% right"),
    ("08a_digit_recipe", "7e0177e2"): UNGUARDED + " (the shrunk 3's reading)",
    ("08a_digit_recipe", "f1f6098f"): TRAINING.format("the recipe reads more drawings than "
                                                      "shrinking"),
    ("08a_digit_recipe", "19a59fc2"): UNGUARDED + " (exercise solution)",
    ("08a_digit_recipe", "48c5d0bc"): UNGUARDED + " (exercise solution)",
    ("08b_digit_beyond_accuracy", "8777a7ef"): TRAINING.format("turning costs the most; the "
                                                               "plain network is 97% right"),
    ("08b_digit_beyond_accuracy", "38e08dc2"): TRAINING.format("the augmented network, with "
                                                               "3a582233"),
    ("08b_digit_beyond_accuracy", "3a582233"): TRAINING.format("on validation digits, augmentation "
                                                               "gains on thin, thick and turned "
                                                               "digits, costs nothing as written"),
    ("08b_digit_beyond_accuracy", "b37432a0"): UNGUARDED + " (ten drawings each, too few to "
                                                           "claim)",
    ("08b_digit_beyond_accuracy", "70d01baa"): UNGUARDED + " (the one test pass: accuracy, "
                                                           "precision and recall per class)",
    ("08b_digit_beyond_accuracy", "a2d7b6bf"): UNGUARDED + " (the number of mistakes)",
    ("08b_digit_beyond_accuracy", "527f96e5"): TRAINING.format("most digits in the top bin, "
                                                               "near 100%"),
    ("08b_digit_beyond_accuracy", "4ef4778a"): UNGUARDED + " (the script's probabilities)",
    ("08b_digit_beyond_accuracy", "6bf14f9e"): "torch.export's operator names change between "
                                               "PyTorch releases",
    ("08b_digit_beyond_accuracy", "f2739efc"): UNGUARDED + " (exercise solution)",
    ("08b_digit_beyond_accuracy", "6f74eaad"): UNGUARDED + " (exercise solution)",
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
    chapter = {n: sum(v for stem, v in counts.items() if stem[:2] == n)
               for n in {stem[:2] for stem in counts}}  # a chapter's parts together
    assert chapter["04"] >= 7 and chapter["05"] >= 5 and chapter["06"] >= 8
    assert chapter["07"] >= 4 and chapter["08"] >= 5


def test_a_guard_message_names_notebook_claim_and_number():
    guard = {"source": ["assert 0.9 > 0.95, (\n",
                        "    \"07_x: the prose says 'about 99%', but this run \"\n",
                        "    f\"measured {0.9:.2%}\")\n"]}
    [message] = messages(guard)
    assert MESSAGE.match(message)["claim"] == "about 99%"
    with pytest.raises(AssertionError, match=r"07_x: the prose says 'about 99%', but this run "
                                             r"measured 90\.00%"):
        exec(compile(source(guard), "guard", "exec"), {})
