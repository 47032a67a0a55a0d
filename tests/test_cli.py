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


def write_digit(folder, label, name=None):
    path = folder / (name or f"digit_{label}.png")
    Image.fromarray(draw_strokes(mnistlab.STROKE_DIGITS[label])).save(path)
    return path


def run_main(capsys, *argv):
    code = cli.main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_digit_and_every_probability(tmp_path, trained_mlp, trained_checkpoint, capsys):
    image = write_digit(tmp_path, 3)
    code, out, err = run_main(capsys, image, "--checkpoint", trained_checkpoint)
    assert code == 0 and err == ""
    lines = out.splitlines()
    expected = mnistlab.predict(trained_mlp, to_batch(preprocess(image)))[0]
    assert int(expected.argmax()) == 3  # the trained mlp reads the drawn 3 (81% sure)
    assert lines[0] == f"digit: 3 ({expected[3].item():.1%} sure)"
    assert [line.split()[:2] for line in lines[1:]] == [
        [str(d), f"{p:.1%}"] for d, p in enumerate(expected.tolist())
    ]
    bars = [line.count("#") for line in lines[1:]]
    assert bars[3] == round(expected[3].item() * 30) and max(bars) == bars[3]


def test_several_images_are_read_in_turn(tmp_path, trained_checkpoint, capsys):
    images = [write_digit(tmp_path, 0), write_digit(tmp_path, 1)]
    code, out, _ = run_main(capsys, *images, "--checkpoint", trained_checkpoint)
    assert code == 0
    lines = out.splitlines()  # name, digit, 10 bars, a blank line; name, digit, 10 bars
    assert len(lines) == 25 and lines[12] == ""
    assert lines[0] == f"{images[0]}:" and lines[1].startswith("digit: 0 (")
    assert lines[13] == f"{images[1]}:" and lines[14].startswith("digit: 1 (")


def test_the_cli_uses_the_same_preprocessing_as_the_package(tmp_path, trained_mlp):
    drawing = draw_strokes(mnistlab.STROKE_DIGITS[8])
    Image.fromarray(255 - drawing).save(tmp_path / "inverted.png")  # white ink on black
    from_file = cli.classify_image(tmp_path / "inverted.png", trained_mlp)
    direct = mnistlab.predict(trained_mlp, to_batch(preprocess(drawing)))[0]
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
    tmp_path, trained_checkpoint, capsys, make, expected
):
    code, out, err = run_main(capsys, make(tmp_path), "--checkpoint", trained_checkpoint)
    assert code == 1 and out == ""
    assert err.startswith("python -m mnistlab predict: error: ") and err.count("\n") == 1
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


def test_bad_checkpoints_give_one_clear_line_and_exit_code_1(tmp_path, trained_checkpoint, capsys):
    """What is wrong with each file is tested in test_checkpoint.py; here: how it is printed."""
    image = write_digit(tmp_path, 5)
    good = trained_checkpoint.read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "foreign.pt")
    for name, reason in [("cut.pt", "is damaged or cut off"), ("missing.pt", "no checkpoint at"),
                         ("foreign.pt", "fit none of mnistlab's networks")]:
        code, out, err = run_main(capsys, image, "--checkpoint", tmp_path / name)
        assert code == 1 and out == "", name
        assert err.startswith("python -m mnistlab predict: error: ") and err.count("\n") == 1
        assert str(tmp_path / name) in err and reason in err, name


def test_default_model_is_trained_once_then_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")  # no download in a unit test
    monkeypatch.setattr(cli, "TRAINING_IMAGES", 400)  # one epoch of the sample
    image = write_digit(tmp_path, 7)
    code, out, err = run_main(capsys, image)
    path = cli.default_checkpoint_path()
    assert code == 0 and path == tmp_path / "cache" / "models" / "predict_cnn.pt"
    assert out.splitlines()[0].startswith("No --checkpoint given and no default model yet: ")
    assert str(path) in out.splitlines()[0] and out.splitlines()[-11].startswith("digit: ")
    assert sorted(p.name for p in path.parent.iterdir()) == ["predict_cnn.pt"]  # no leftovers
    checkpoint = mnistlab.load_checkpoint(path)
    assert checkpoint["model_name"] == "cnn"
    assert checkpoint["metadata"]["augmented"] is True and checkpoint["metadata"]["epochs"] == 1
    assert checkpoint["metadata"]["test_digits"] == 1_000  # the sample's test split
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
    assert code == 1 and err.count("\n") == 1
    assert "is not a PyTorch file" in err and f"delete it (rm {str(path)!r})" in err


def test_mnistlab_predict_is_the_function_not_the_command_line():
    assert mnistlab.predict is mnistlab.training.predict and cli.predict is mnistlab.predict


def test_command_line_end_to_end(tmp_path, trained_checkpoint):
    """The real command in a fresh process, from the root of a clone: a good image, then none."""
    image = write_digit(tmp_path, 2)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "mnistlab", "predict", image, tmp_path / "none.png",
         "--checkpoint", trained_checkpoint],
        capture_output=True, text=True, cwd=REPO, env=dict(environment, OMP_NUM_THREADS="1"),
    )
    assert result.stdout.startswith(f"{image}:\ndigit: 2 (")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("python -m mnistlab predict: error: image: received ")
    assert "none.png" in result.stderr and "does not exist" in result.stderr


@pytest.mark.parametrize("argv", [[], ["predict"], ["guess", "digit.png"]])
def test_usage_errors_exit_with_code_2(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2 and "usage: python -m mnistlab" in capsys.readouterr().err


def test_export_round_trip_gives_the_same_outputs(tmp_path, trained_mlp):
    """torch.export: save the model as a program, load it without mnistlab's classes."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    example = torch.zeros(2, 1, 28, 28)
    program = torch.export.export(trained_mlp, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, tmp_path / "mlp.pt2")
    loaded = torch.export.load(tmp_path / "mlp.pt2").module()
    digits = np.stack([preprocess(draw_strokes(s)) for s in mnistlab.STROKE_DIGITS.values()])
    x = to_batch(digits)  # (10, 1, 28, 28): another batch size than the example
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), trained_mlp(x), rtol=1e-5, atol=1e-5)
