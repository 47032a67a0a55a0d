"""Tests of the training-speed benchmark (the `benchmarks/` package) and its GPU script.

The full benchmark takes minutes and its numbers depend on the machine; here every part
runs in this process on a couple of batches (`cli.main` in quick mode, once), and the
tests check what does not depend on the machine: multiply-add counts, the arithmetic that
turns seconds into rates and rates into ratios (against the tests' own clock, or a fake
one), the report's names and shape, and the JSON it writes. `benchmarks/gpu_check.sh`
runs once, with --cpu-check and this test's Python, so it installs nothing. The genuine
MNIST files in ../shared/mnist are passed with --data-dir when that folder exists, and that
part is skipped otherwise.
"""

import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import mnistlab

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "mnist"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the benchmark is a package beside mnistlab, not installed

from benchmarks import accuracy, cli, flops, machine, pipelines, report, speed, timing  # noqa: E402

HAS_SHARED = (SHARED_MNIST / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


# --- counting the work -------------------------------------------------------------------------


def test_multiply_adds_of_the_mlp_are_counted_exactly():
    # 784 inputs -> 20 hidden -> 10 outputs: one multiply-add per weight.
    assert flops.count_macs(mnistlab.build_model("mlp")) == 784 * 20 + 20 * 10 == 15_880


def test_multiply_adds_of_the_cnn_match_a_hand_count():
    conv1 = 16 * 28 * 28 * (1 * 5 * 5)  # 16 output maps of 28x28, each value a 5x5x1 window
    conv2 = 32 * 14 * 14 * (16 * 5 * 5)  # after pooling: 32 maps of 14x14, 5x5x16 windows
    linear = 32 * 7 * 7 * 10
    assert flops.count_macs(mnistlab.build_model("cnn")) == conv1 + conv2 + linear


def test_mac_count_handles_grouped_convolutions_and_leaves_the_model_alone():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, groups=2))
    before = model[1].running_mean.clone()
    macs = flops.count_macs(model)
    assert macs == 4 * 26 * 26 * 9 + 4 * 24 * 24 * (2 * 9)
    assert torch.equal(model[1].running_mean, before) and model.training


def test_the_pytorch_example_network_has_its_published_size():
    net = accuracy.ExampleNet()
    # conv 1->32 (3x3), conv 32->64 (3x3), fc 9216->128, fc 128->10, with biases
    assert mnistlab.count_parameters(net) == 320 + 18_496 + 1_179_776 + 1_290 == 1_199_882
    macs = 32 * 26 * 26 * 9 + 64 * 24 * 24 * (32 * 9) + 9216 * 128 + 128 * 10
    assert flops.count_macs(net) == macs
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_matmul_peak_is_two_n_cubed_flops_over_the_fastest_product(monkeypatch):
    ticks = iter([0.0, 0.5, 1.0, 1.25, 2.0, 2.4])  # a fake clock: products of 0.5, 0.25, 0.4 s
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    assert flops.matmul_flops("cpu", size=64, repeats=3) == pytest.approx(2 * 64**3 / 0.25)


def test_training_costs_six_flops_per_multiply_add():
    assert flops.training_flops_per_image(15_880) == 6 * 15_880


def test_peak_memory_sees_an_allocation_and_starts_again_after_a_reset():
    if machine.reset_peak_memory("cpu") != "vmhwm":
        pytest.skip("resettable peak memory needs Linux's /proc/self/clear_refs")
    before = machine.current_memory_mb()
    block = torch.ones(50 * 2**20)  # 200 MiB of float32, every page written
    grown = machine.peak_memory_mb("cpu", "vmhwm")
    assert grown >= before + 190
    del block
    machine.reset_peak_memory("cpu")
    assert machine.peak_memory_mb("cpu", "vmhwm") < grown - 150  # the 200 MiB are gone


# --- timing --------------------------------------------------------------------------------------


def test_timing_windows_last_seconds_not_batches(monkeypatch):
    clock = [0.0]  # a fake clock that the runs below advance: no sleeping, no noise
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def run_taking(seconds_per_batch):
        def run(batches):
            clock[0] += seconds_per_batch * batches
            return 10 * batches  # 10 images per batch
        return run

    runs = {"slow": run_taking(0.1), "fast": run_taking(0.001)}
    rates = timing.measure_rates(runs, "cpu", window=2.0, rounds=3)
    for result in rates.values():
        assert result["window_s"] == pytest.approx([2.0] * 3)  # seconds, whatever the speed
    assert rates["slow"]["batches"] == 20 and rates["fast"]["batches"] == 2000
    assert rates["slow"]["images_per_s"] == pytest.approx(100)
    assert rates["fast"]["images_per_s"] == pytest.approx(10_000)


def test_a_rate_is_the_images_over_the_seconds_the_run_took():
    a = torch.randn(128, 128)
    spent = []  # seconds of each call, by this test's own clock

    def run(batches):
        start = time.perf_counter()
        for _ in range(batches * 5):
            a @ a
        spent.append(time.perf_counter() - start)
        return 32 * batches

    result = timing.measure_rates({"matmul": run}, "cpu", window=0.1, rounds=2)["matmul"]
    # Calls: a warm-up, the estimate of the time per batch, then one per round.
    assert len(spent) == 4 and len(result["rounds"]) == 2
    for rate, window, seconds in zip(result["rounds"], result["window_s"], spent[2:]):
        # The stopwatch's window holds the call and nothing else: on a busy machine a few
        # milliseconds more, not a factor (as seconds counted in milliseconds would be).
        assert window == pytest.approx(seconds, rel=0.2)
        assert rate == pytest.approx(32 * result["batches"] / seconds, rel=0.2)
    assert result["images_per_s"] == max(result["rounds"])


def test_paired_ratio_is_the_median_of_same_round_ratios():
    a = {"rounds": [100.0, 50.0, 90.0]}
    b = {"rounds": [100.0, 100.0, 100.0]}
    assert timing.paired_ratio(a, b) == pytest.approx(0.9)


# --- settings and effects --------------------------------------------------------------------


def test_settings_change_one_thing_at_a_time_from_float32():
    names = [s.name for s in pipelines.settings_for("cpu", "cnn_bn")]
    assert names == ["float32", "channels-last", "bf16", "channels-last+bf16"]
    assert [s.name for s in pipelines.settings_for("cpu", "mlp")] == ["float32", "bf16"]
    cuda = [s.name for s in pipelines.settings_for("cuda", "cnn", compile_models=True)]
    assert cuda[0] == "float32" and cuda[-1].endswith("+compile") and len(cuda) == 5
    assert "compile" not in " ".join(
        s.name for s in pipelines.settings_for("cuda", "cnn", compile_models=False)
    )


def test_effects_are_ratios_of_runs_that_differ_in_one_thing():
    settings = pipelines.settings_for("cpu", "cnn")
    fast = {"float32": 200.0, "channels-last": 300.0, "bf16": 100.0,
            "channels-last+bf16": 500.0}
    effects = speed.effects(fast, tutorial_rate=50.0, settings=settings)
    assert effects == {"pipeline": 4.0, "channels_last": 1.5, "bf16": 0.5, "best": 10.0,
                       "best_setting": "channels-last+bf16"}
    mlp = speed.effects({"float32": 200.0, "bf16": 100.0}, 100.0,
                        pipelines.settings_for("cpu", "mlp"))
    assert mlp == {"pipeline": 2.0, "bf16": 0.5, "best": 2.0, "best_setting": "float32"}


def test_fast_path_settings_train_in_their_layout_and_precision(sample_sets):
    images, targets = mnistlab.dataset_to_tensors(sample_sets[0])
    setting = pipelines.Setting(channels_last=True, precision="bf16")
    run = pipelines.fast_path_run("cnn", images[:200], targets[:200], "cpu", setting)
    before = [p.detach().clone() for p in run.model.parameters()]
    assert run(3) == 300  # drop_last: two batches of 100, then a new pass
    conv = next(m for m in run.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.parameters()))


# --- time to accuracy --------------------------------------------------------------------------


def _small(sample_sets):
    train, test = sample_sets
    x_train, y_train = mnistlab.dataset_to_tensors(train)
    x_test, y_test = mnistlab.dataset_to_tensors(test)
    return x_train[:300], y_train[:300], x_test[:100], y_test[:100]


def test_time_to_accuracy_stops_at_the_target(sample_sets):
    recipe = accuracy.BNCNNRecipe(width=4, batch_size=100, epochs=3)
    start = time.perf_counter()
    result = accuracy.time_to_accuracy(recipe, *_small(sample_sets), "cpu", target=0.0)
    wall = time.perf_counter() - start  # this test's clock: around everything the recipe did
    assert result["reached"] and result["epochs"] == 1  # any accuracy reaches 0%
    assert 0 < result["train_seconds"] < result["seconds"] <= wall
    assert result["seconds"] == result["history"][-1][0]


def test_the_example_recipe_runs_its_epochs_and_decays_its_learning_rate(sample_sets):
    recipe = accuracy.ExampleRecipe(batch_size=100, epochs=2)
    model, optimizer, scheduler, step_every = recipe.build(steps_per_epoch=3)
    assert isinstance(optimizer, torch.optim.Adadelta) and step_every == "epoch"
    optimizer.step()  # no gradients yet: changes nothing, but comes before the scheduler's step
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.7)
    result = accuracy.time_to_accuracy(recipe, *_small(sample_sets), "cpu", target=1.01)
    assert not result["reached"] and result["epochs"] == 2  # 101% cannot be reached
    assert result["best_accuracy"] == max(acc for _, acc in result["history"])


def test_recipes_are_compared_as_medians_of_several_runs(sample_sets):
    recipes = [accuracy.BNCNNRecipe(width=4, batch_size=100, epochs=2)]
    data = [("small", *_small(sample_sets))]
    [summary] = accuracy.compare_recipes(recipes, data, "cpu", target=0.0, repeats=3,
                                         say=lambda *a, **k: None)
    seconds = sorted(run["seconds"] for run in summary["runs"])
    assert len(seconds) == 3 and summary["reached"] == 3
    assert (summary["seconds_min"], summary["seconds_median"], summary["seconds_max"]) == (
        seconds[0], seconds[1], seconds[2])
    assert summary["train_images"] == 300 and summary["test_images"] == 100


# --- data ------------------------------------------------------------------------------------


def test_genuine_files_are_skipped_cleanly_when_the_folder_is_missing(tmp_path, capsys):
    assert accuracy.genuine_mnist(tmp_path / "nothing here") is None
    assert "Skipping the genuine MNIST files" in capsys.readouterr().out
    assert accuracy.genuine_mnist(None) is None


def test_the_data_folder_is_an_option_defaulting_to_the_environment(monkeypatch):
    monkeypatch.delenv("MNISTLAB_DATA_DIR", raising=False)
    assert cli.parse_args([]).data_dir is None  # no hidden default folder
    monkeypatch.setenv("MNISTLAB_DATA_DIR", "/some/where")
    assert cli.parse_args([]).data_dir == "/some/where"
    assert cli.parse_args(["--data-dir", "elsewhere"]).data_dir == "elsewhere"


@pytest.mark.skipif(not HAS_SHARED, reason="../shared/mnist is absent (a fresh clone has none)")
def test_genuine_files_are_read_from_the_data_folder():
    train_set, test_set = accuracy.genuine_mnist(SHARED_MNIST)
    assert len(train_set) >= accuracy.GENUINE_TRAIN_DIGITS and len(test_set) == 10_000


# --- threads -----------------------------------------------------------------------------------


def test_thread_settings_start_with_one_thread_and_cover_both_wait_policies():
    settings = speed.thread_settings()
    assert settings[0] == {"threads": 1, "omp_wait_policy": "not set"}
    if torch.get_num_threads() > 1:
        assert {s["omp_wait_policy"] for s in settings[1:]} == {"not set", "PASSIVE"}


def test_thread_probe_times_the_fast_path_with_the_threads_it_was_given(monkeypatch):
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")
    seen = {}

    def measure_rates(runs, device, window, rounds):  # stands in for the timing, records it
        seen.update(threads=torch.get_num_threads(), device=device, window=window,
                    rounds=rounds, images=runs["fast"](1), model=type(runs["fast"].model))
        return {"fast": {"images_per_s": 1234.5}}

    monkeypatch.setattr(speed, "measure_rates", measure_rates)
    before = torch.get_num_threads()
    try:
        assert speed.probe_threads("mlp", 1, window=0.5) == 1234.5
    finally:
        torch.set_num_threads(before)
    assert seen == {"threads": 1, "device": "cpu", "window": 0.5, "rounds": 1,
                    "images": pipelines.BATCH_SIZE, "model": mnistlab.MLP}


# --- the whole run, in this process ------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """`python3 run.py bench --quick` over two networks on the CPU, run by `cli.main` here.

    One thread: on a busy 2-core machine two threads mostly wait for each other. Returns
    the report as read back from --json, what main printed, and the seconds it took by
    this test's clock.
    """
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    argv = ["--quick", "--device", "cpu", "--models", "mlp", "lenet", "--threads", "1",
            "--json", str(path)]
    if HAS_SHARED:
        argv += ["--data-dir", str(SHARED_MNIST)]
    threads = torch.get_num_threads()
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("MNISTLAB_SAMPLE", "1")  # the offline sample: no download
        env.delenv("MNISTLAB_DATA_DIR", raising=False)
        start = time.perf_counter()
        try:
            assert cli.main(argv) == 0
        finally:
            torch.set_num_threads(threads)
        seconds = time.perf_counter() - start
    return json.loads(path.read_text()), printed.getvalue(), seconds


def test_quick_run_has_a_row_per_model_with_its_rates_and_effects(quick_run):
    quick_report, _, wall = quick_run
    rows = {row["model"]: row for row in quick_report["rows"]}
    assert list(rows) == ["mlp", "lenet"]
    assert rows["lenet"]["params"] == 60_074  # the mlp's are in the printed table's test
    peak = quick_report["matmul_flops"]
    assert peak >= 2 * 512**3 / wall  # quick mode's 512x512 product took less than the run
    for row in rows.values():
        fast, tutorial = row["fast_path_images_per_s"], row["tutorial_pipeline_images_per_s"]
        assert fast == row["fast_path_settings"]["float32"] == max(row["rounds"]["float32"])
        assert tutorial == max(row["rounds"]["tutorial"])
        for label, rates in row["rounds"].items():  # quick: one round of two batches of 100
            assert len(rates) == 1 and rates[0] >= 200 / wall, label
        assert row["fast_path_flops"] == pytest.approx(fast * 6 * row["macs_per_image"])
        assert row["peak_fraction"] == pytest.approx(row["fast_path_flops"] / peak)
        assert row["effects"]["pipeline"] == pytest.approx(fast / tutorial)
        assert row["memory_method"] in ("vmhwm", "ru_maxrss")
    assert "channels_last" in rows["lenet"]["effects"]  # layouts only matter for convolutions
    assert "channels_last" not in rows["mlp"]["effects"]
    assert quick_report["pipelines"] == {"tutorial_pipeline": pipelines.TUTORIAL,
                                         "fast_path": pipelines.FAST_PATH}


def test_quick_run_measures_fit_and_both_recipes(quick_run):
    quick_report = quick_run[0]
    overhead = quick_report["fit_overhead"]
    assert [r["model"] for r in overhead] == ["mlp", "PyTorch example"]
    for r in overhead:
        fit, bare = r["rounds"]["fit"], r["rounds"]["bare"]
        assert len(fit) == len(bare) == 2  # quick mode: two rounds after the warm-up
        assert r["fit_over_bare"] == pytest.approx(
            statistics.median(f / b for f, b in zip(fit, bare)))
        assert (r["fit_images_per_s"], r["bare_images_per_s"]) == (max(fit), max(bare))
    assert "threads" not in quick_report  # new processes take seconds: full runs only
    runs = quick_report["time_to_accuracy"]
    assert [r["recipe"] for r in runs[:2]] == ["cnn_bn (this package)", "PyTorch MNIST example"]
    assert runs[0]["data"].startswith("offline sample")
    assert [r["data"] for r in runs[2:]] == (["genuine MNIST files"] * 2 if HAS_SHARED else [])
    for run in runs:
        assert run["runs"][0]["epochs"] == 1 and 0 <= run["best_accuracy_median"] <= 1
        assert run["train_images"] == 2 * 64 and run["test_images"] == 500  # quick: 2 batches


def test_printed_report_uses_the_pipelines_names_and_reprints_from_json(quick_run):
    quick_report, printed, _ = quick_run
    text = report.format_report(quick_report)
    assert text in printed  # a saved run prints the same tables again
    assert pipelines.TUTORIAL in text and pipelines.FAST_PATH in text
    assert "seed" not in text.replace("seeds 0-", "")  # a reader would take it for a random seed
    assert "ceiling" not in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["model", "params"])
    rows = [line.split() for line in lines[header + 2 : header + 4]]  # after the dashes
    assert [row[0] for row in rows] == ["mlp", "lenet"]
    assert rows[0][1:3] == ["15,910", "15,880"]  # params, multiply-adds per image
    assert rows[0][6] == "-"  # no layout effect for an MLP


# --- the GPU script, once, on the CPU ----------------------------------------------------------


def test_gpu_script_runs_everything_but_cuda_with_a_given_python(tmp_path):
    """`gpu_check.sh --cpu-check --python ...`: no set-up (nothing installed), quick benchmark."""
    if shutil.which("bash") is None:
        pytest.skip("gpu_check.sh needs bash")
    out = tmp_path / "gpu_check"
    command = ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--cpu-check",
               "--skip-notebook", "--python", sys.executable, "--out", str(out),
               "--", "--models", "mlp", "--no-overhead", "--threads", "1"]
    env = dict(os.environ, MNISTLAB_SAMPLE="1", CUDA_VISIBLE_DEVICES="")
    env.pop("MNISTLAB_DATA_DIR", None)
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "run.py:" not in done.stdout  # the set-up step (.venv/, pip) did not run
    machine_txt = (out / "machine.txt").read_text()
    assert "device: cpu" in machine_txt and f"PyTorch {torch.__version__} |" in machine_txt
    bench = json.loads((out / "bench.json").read_text())
    assert [row["model"] for row in bench["rows"]] == ["mlp"]  # the args after -- arrived
    assert bench["settings"]["quick"] and bench["fit_overhead"] == []
    assert report.format_report(bench) in (out / "bench.txt").read_text()
