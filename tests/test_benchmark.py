"""Smoke test of the training-speed benchmark (benchmarks/train_speed.py) in quick mode.

The full benchmark takes minutes and its numbers depend on the machine; this runs every
part of it on a couple of batches, and checks what does not depend on the machine: the
multiply-add counts, the shape of the report, and the JSON it writes.
"""

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from torch import nn

import mnistlab

# The benchmark is a script beside the package, not part of it: load it from its file.
_path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
_spec = importlib.util.spec_from_file_location("train_speed", _path)
benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark)


def test_multiply_adds_of_the_mlp_are_counted_exactly():
    # 784 inputs -> 20 hidden -> 10 outputs: one multiply-add per weight.
    assert benchmark.count_macs(mnistlab.build_model("mlp")) == 784 * 20 + 20 * 10 == 15_880


def test_multiply_adds_of_the_seed_cnn_match_a_hand_count():
    conv1 = 16 * 28 * 28 * (1 * 5 * 5)  # 16 output maps of 28x28, each value a 5x5x1 window
    conv2 = 32 * 14 * 14 * (16 * 5 * 5)  # after pooling: 32 maps of 14x14, 5x5x16 windows
    linear = 32 * 7 * 7 * 10
    assert benchmark.count_macs(mnistlab.build_model("cnn")) == conv1 + conv2 + linear


def test_mac_count_handles_grouped_convolutions_and_leaves_the_model_alone():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, groups=2))
    before = model[1].running_mean.clone()
    macs = benchmark.count_macs(model)
    assert macs == 4 * 26 * 26 * 9 + 4 * 24 * 24 * (2 * 9)
    assert torch.equal(model[1].running_mean, before) and model.training


def test_matmul_peak_is_a_positive_flop_rate():
    assert benchmark.matmul_flops("cpu", size=256, repeats=2) > 1e6


def test_training_flops_are_six_per_multiply_add():
    assert benchmark.training_flops_per_image(15_880) == 6 * 15_880


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """One quick run over two networks, through the command line, with a JSON file.

    It uses one thread: on a busy 2-core CI machine two threads mostly wait for each other.
    """
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    threads = torch.get_num_threads()
    try:
        arguments = ["--quick", "--models", "mlp", "lenet", "--threads", "1", "--json", str(path)]
        benchmark.main(arguments)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    return json.loads(path.read_text())


def test_quick_run_has_a_row_per_model_with_positive_numbers(quick_report):
    rows = {row["model"]: row for row in quick_report["rows"]}
    assert list(rows) == ["mlp", "lenet"]
    assert rows["mlp"]["macs_per_image"] == 15_880
    assert rows["mlp"]["params"] == 15_910 and rows["lenet"]["params"] == 60_074
    for row in rows.values():
        for key in ("seed_images_per_s", "fast_images_per_s", "ratio", "fast_flops",
                    "peak_fraction", "fast_peak_mb", "seed_peak_mb"):
            assert row[key] > 0, key
        assert row["ratio"] == pytest.approx(row["fast_images_per_s"] / row["seed_images_per_s"])
        assert row["ratio_ceiling"] > 1  # the DataLoader always costs something
    assert quick_report["matmul_flops"] > 0


def test_quick_run_times_variants_and_time_to_accuracy(quick_report):
    assert "mlp" not in quick_report["variants"]  # layouts only matter for convolutions
    assert quick_report["variants"]["lenet"]["float32"] > 0
    assert "threads" not in quick_report  # new processes take seconds: full runs only
    runs = quick_report["time_to_accuracy"]
    assert runs[0]["data"].startswith("offline sample")
    if len(runs) == 2:  # ../shared/mnist is present
        assert runs[1]["data"] == "genuine MNIST files" and runs[1]["train_images"] == 64
    for run in runs:
        assert run["epochs"] == 1 and run["seconds"] > 0 and 0 <= run["accuracy"] <= 1


def test_report_survives_a_json_round_trip_and_prints_one_table(quick_report):
    text = benchmark.format_report(quick_report)
    assert "seed img/s" in text and "% peak" in text and "time to 98.0%" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["model", "params"])
    rows = [line.split() for line in lines[header + 2 : header + 4]]  # after the dashes
    assert [row[0] for row in rows] == ["mlp", "lenet"]
    assert rows[0][1:3] == ["15,910", "15,880"]  # params, multiply-adds per image
    assert json.loads(json.dumps(quick_report)) == quick_report


def test_genuine_files_are_skipped_cleanly_when_the_folder_is_missing(tmp_path, capsys):
    assert benchmark.genuine_mnist(tmp_path / "nothing here") is None
    assert "Skipping the genuine MNIST files" in capsys.readouterr().out
    assert benchmark.genuine_mnist(None) is None


def test_genuine_files_are_read_from_the_shared_folder(shared_mnist):
    train_set, test_set = benchmark.genuine_mnist(shared_mnist)
    assert len(train_set) >= benchmark.GENUINE_TRAIN_IMAGES and len(test_set) == 10_000


def test_time_to_accuracy_stops_at_the_target(sample_sets):
    train, test = sample_sets
    x_train, y_train = mnistlab.dataset_to_tensors(train)
    x_test, y_test = mnistlab.dataset_to_tensors(test)
    recipe = benchmark.Recipe(width=4, batch_size=100, epochs=3)
    result = benchmark.time_to_accuracy(
        x_train[:300], y_train[:300], x_test[:100], y_test[:100], "cpu", target=0.0,
        recipe=recipe,
    )
    assert result["reached"] and result["epochs"] == 1  # any accuracy reaches 0%
    assert result["train_images"] == 300 and result["test_images"] == 100


def test_thread_settings_start_with_one_thread_and_cover_both_wait_policies():
    settings = benchmark.thread_settings()
    assert settings[0] == {"threads": 1, "omp_wait_policy": "not set"}
    if torch.get_num_threads() > 1:
        assert {s["omp_wait_policy"] for s in settings[1:]} == {"not set", "PASSIVE"}


def test_thread_probe_measures_with_the_threads_it_was_given(monkeypatch):
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")
    before = torch.get_num_threads()
    try:
        numbers = benchmark.probe_threads("mlp", 1, seconds=0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert numbers["images_per_s"] > 0 and numbers["matmul_flops"] > 0


def test_gpu_variants_are_listed_without_needing_a_gpu():
    cnn = benchmark.variant_names("cuda", "cnn_bn")
    assert cnn[:2] == ["float32", "amp"] and "amp+channels_last+compile" in cnn
    assert "channels_last" not in benchmark.variant_names("cuda", "mlp")
    assert "compile" not in " ".join(benchmark.variant_names("cuda", "cnn", compile_models=False))
    assert benchmark.variant_names("cpu", "mlp") == []  # layouts only matter for convolutions
