"""Tests for the command line `python -m mnistlab predict IMAGE` and the model export."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mnistlab
from mnistlab import cli
from mnistlab.digits import preprocess, to_batch
from mnistlab.drawing import draw_strokes

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, sample_sets):
    """A `cnn` trained for two epochs on 600 sample digits (seconds), saved as a checkpoint."""
    train, _ = sample_sets
    images, labels = mnistlab.dataset_to_tensors(train)
    loader = mnistlab.TensorLoader(images[:600], labels[:600], batch_size=50, shuffle=True, seed=0)
    model = mnistlab.build_model("cnn", seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    for _ in range(2):
        mnistlab.train_one_epoch(model, loader, optimizer)
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    mnistlab.save_checkpoint(path, model, epochs=2)
    return path, model.eval()


def write_digit(folder, label, name=None):
    path = folder / (name or f"digit_{label}.png")
    Image.fromarray(draw_strokes(mnistlab.STROKE_DIGITS[label])).save(path)
    return path


def run_main(capsys, *argv):
    code = cli.main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_digit_and_every_probability(tmp_path, tiny_checkpoint, capsys):
    checkpoint, model = tiny_checkpoint
    image = write_digit(tmp_path, 3)
    code, out, err = run_main(capsys, image, "--checkpoint", checkpoint)
    assert code == 0 and err == ""
    lines = out.splitlines()
    pixels = preprocess(draw_strokes(mnistlab.STROKE_DIGITS[3]))
    expected = mnistlab.predict(model, to_batch(pixels))
    top = int(expected.argmax())
    assert lines[0] == f"digit: {top} ({expected[0, top].item():.1%} sure)"
    assert [line.split()[0] for line in lines[1:]] == [str(d) for d in range(10)]
    shares = [float(line.split()[1].rstrip("%")) for line in lines[1:]]
    assert sum(shares) == pytest.approx(100, abs=0.6)
    assert shares[top] == max(shares)


def test_several_images_are_read_in_turn(tmp_path, tiny_checkpoint, capsys):
    images = [write_digit(tmp_path, 0), write_digit(tmp_path, 1)]
    code, out, _ = run_main(capsys, *images, "--checkpoint", tiny_checkpoint[0])
    assert code == 0 and out.count("digit: ") == 2 and f"{images[1]}:" in out


def test_the_cli_uses_the_same_preprocessing_as_the_package(tmp_path, tiny_checkpoint):
    _, model = tiny_checkpoint
    drawing = draw_strokes(mnistlab.STROKE_DIGITS[8])
    Image.fromarray(255 - drawing).save(tmp_path / "inverted.png")  # white ink on black
    from_file = cli.classify_image(tmp_path / "inverted.png", model)
    direct = mnistlab.predict(model, to_batch(preprocess(drawing)))[0]
    torch.testing.assert_close(from_file, direct)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda folder: folder / "nothing.png", ["image: received", "does not exist"]),
        (lambda folder: folder, ["image: received", "is a folder"]),
        (lambda folder: _text_file(folder), ["not a picture", "PNG or JPEG"]),
        (lambda folder: _blank_png(folder), ["no ink", "Draw a digit"]),
    ],
)
def test_bad_images_give_one_clear_line_and_exit_code_1(
    tmp_path, tiny_checkpoint, capsys, make, expected
):
    code, out, err = run_main(capsys, make(tmp_path), "--checkpoint", tiny_checkpoint[0])
    assert code == 1 and out == ""
    assert err.startswith("python -m mnistlab predict: error: ")
    assert "Traceback" not in err
    for text in expected:
        assert text in err


def _text_file(folder):
    path = folder / "notes.png"
    path.write_text("shopping list")
    return path


def _blank_png(folder):
    path = folder / "blank.png"
    Image.new("L", (280, 280), 255).save(path)
    return path


def test_damaged_checkpoints_are_reported_with_the_fix(tmp_path, tiny_checkpoint, capsys):
    image = write_digit(tmp_path, 5)
    good = tiny_checkpoint[0].read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 3])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    torch.save({"weights": [1, 2, 3]}, tmp_path / "other.pt")
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "foreign_state.pt")
    cases = {
        "cut.pt": "could not be read as a PyTorch checkpoint",
        "text.pt": "could not be read as a PyTorch checkpoint",
        "other.pt": "holds no model weights",
        "foreign_state.pt": "fit none of mnistlab's networks",
        "missing.pt": "does not exist",
    }
    for name, reason in cases.items():
        code, out, err = run_main(capsys, image, "--checkpoint", tmp_path / name)
        assert code == 1 and out == "", name
        assert err.count("\n") == 1 and "Traceback" not in err, name
        assert "checkpoint: " in err and name in err and reason in err, name
        assert "Fix: " in err or "leave out --checkpoint" in err, name


def test_a_bare_state_dict_is_recognised(tmp_path, tiny_checkpoint, capsys):
    _, model = tiny_checkpoint
    torch.save(model.state_dict(), tmp_path / "tutorial_style.pt")  # the way tutorials save
    loaded, checkpoint = cli.load_model(tmp_path / "tutorial_style.pt")
    assert checkpoint["model_name"] == "cnn"
    x = to_batch(preprocess(draw_strokes(mnistlab.STROKE_DIGITS[6])))
    torch.testing.assert_close(mnistlab.predict(loaded, x), mnistlab.predict(model, x))


def test_default_model_is_trained_once_then_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")  # no download in a unit test
    monkeypatch.setattr(cli, "TRAINING_IMAGES", 400)  # one epoch of the sample
    image = write_digit(tmp_path, 7)
    code, out, err = run_main(capsys, image)
    path = cli.default_checkpoint_path()
    assert code == 0 and path.is_file() and path.parent == tmp_path / "cache" / "models"
    assert out.splitlines()[0].startswith("No --checkpoint given and no default model yet: ")
    assert str(path) in out.splitlines()[0] and "digit: " in out
    assert not list(path.parent.glob("*.partial"))
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["model_name"] == "cnn" and checkpoint["metadata"]["augmented"] is True
    modified = path.stat().st_mtime_ns
    code, out, _ = run_main(capsys, image)
    assert code == 0 and out.startswith("digit: ")  # no second training
    assert path.stat().st_mtime_ns == modified


def test_a_damaged_default_model_says_to_delete_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "cache"))
    path = cli.default_checkpoint_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 100)
    code, _, err = run_main(capsys, write_digit(tmp_path, 1))
    assert code == 1 and "delete it" in err and str(path) in err


def test_mnistlab_predict_is_the_function_not_the_command_line():
    assert mnistlab.predict is mnistlab.training.predict and cli.predict is mnistlab.predict


def test_command_line_end_to_end(tmp_path, tiny_checkpoint):
    """The real command in a fresh process, from the root of a clone: a good image, then none."""
    image = write_digit(tmp_path, 2)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "mnistlab", "predict", image, tmp_path / "none.png",
         "--checkpoint", tiny_checkpoint[0]],
        capture_output=True, text=True, cwd=REPO, env=dict(environment, OMP_NUM_THREADS="1"),
    )
    assert result.stdout.startswith(f"{image}:\ndigit: ")
    assert result.returncode == 1 and "none.png" in result.stderr
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [[], ["predict"], ["guess", "digit.png"]])
def test_usage_errors_exit_with_code_2(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2 and "usage: python -m mnistlab" in capsys.readouterr().err


def test_export_round_trip_gives_the_same_outputs(tmp_path, tiny_checkpoint):
    """torch.export: save the model as a program, load it without mnistlab's classes."""
    _, model = tiny_checkpoint
    batch = torch.export.Dim("batch", min=1, max=1024)
    example = torch.zeros(2, 1, 28, 28)
    program = torch.export.export(model.eval(), (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, tmp_path / "cnn.pt2")
    loaded = torch.export.load(tmp_path / "cnn.pt2").module()
    digits = np.stack([preprocess(draw_strokes(s)) for s in mnistlab.STROKE_DIGITS.values()])
    x = to_batch(digits)  # (10, 1, 28, 28): another batch size than the example
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=1e-5, atol=1e-5)
