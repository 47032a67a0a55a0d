"""Tests for mnistlab.checkpoint: what saves, loads; other programs' files; nothing lost."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

import mnistlab


def same_weights(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_bare_state_dict_saved_the_tutorial_way_loads(tmp_path):
    model = mnistlab.build_model("lenet", seed=0)
    torch.save(model.state_dict(), tmp_path / "lenet.pth")
    fresh = mnistlab.build_model("lenet", seed=1)
    checkpoint = mnistlab.load_checkpoint(tmp_path / "lenet.pth", fresh)
    assert same_weights(fresh, model) and checkpoint["model_name"] is None


def test_pytorch_general_checkpoint_loads_weights_and_optimizer(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 1, 28, 28)).sum().backward()
    optimizer.step()  # the optimizer now has state worth resuming
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict()}, tmp_path / "general.tar")
    fresh = mnistlab.build_model("mlp", seed=1)
    fresh_optimizer = torch.optim.Adam(fresh.parameters())
    checkpoint = mnistlab.load_checkpoint(tmp_path / "general.tar", fresh, fresh_optimizer)
    assert same_weights(fresh, model) and checkpoint["metadata"] == {"epoch": 3}
    assert fresh_optimizer.state_dict()["state"][0]["step"] == 1


def test_numpy_metadata_saves_in_a_form_that_loads(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    val_loss = np.array([0.5, 0.3, 0.4])
    path = mnistlab.save_checkpoint(
        tmp_path / "m.pt", model, history={"val_loss": list(val_loss.astype(np.float32))},
        best_epoch=np.argmin(val_loss) + 1, accuracy=np.float64(0.97), losses=val_loss,
    )
    torch.load(path, weights_only=True)  # loads without trusting the file
    checkpoint = mnistlab.load_checkpoint(path, mnistlab.build_model("mlp"))
    metadata = checkpoint["metadata"]
    assert metadata["best_epoch"] == 2 and type(metadata["best_epoch"]) is int
    assert metadata["accuracy"] == 0.97 and type(metadata["accuracy"]) is float
    assert torch.equal(metadata["losses"], torch.tensor([0.5, 0.3, 0.4], dtype=torch.float64))
    assert checkpoint["history"]["val_loss"] == pytest.approx([0.5, 0.3, 0.4])


def test_a_file_saved_earlier_with_numpy_numbers_still_loads(tmp_path):
    # What an older save_checkpoint wrote: NumPy scalars inside, refused by weights_only=True.
    model = mnistlab.build_model("mlp", seed=0)
    path = tmp_path / "old.pt"
    torch.save({"model_state": model.state_dict(), "model_name": "mlp",
                "metadata": {"best_epoch": np.int64(4), "losses": np.arange(3.0)}}, path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)
    fresh = mnistlab.build_model("mlp", seed=1)
    checkpoint = mnistlab.load_checkpoint(path, fresh)  # no code runs: NumPy data only
    assert same_weights(fresh, model) and checkpoint["metadata"]["best_epoch"] == 4


def test_metadata_that_cannot_load_is_refused_at_save_time(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    with pytest.raises(TypeError, match=r"metadata\['note'\].*str\(x\)"):
        mnistlab.save_checkpoint(tmp_path / "m.pt", model, note=object())
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize(("saved", "loaded"), [("lenet", "cnn"), ("cnn", "cnn_wide")])
def test_the_wrong_architecture_is_named_and_leaves_the_model_unchanged(saved, loaded, tmp_path):
    path = mnistlab.save_checkpoint(tmp_path / "m.pt", mnistlab.build_model(saved, seed=0))
    model = mnistlab.build_model(loaded, seed=1)
    before = copy.deepcopy(model)
    with pytest.raises(ValueError) as info:
        mnistlab.load_checkpoint(path, model)
    message = str(info.value)
    assert f"the model {saved!r}" in message and f"build_model({saved!r})" in message
    assert repr(loaded) in message  # and the model that was passed
    assert same_weights(model, before)  # not a single weight was overwritten


def test_a_whole_pickled_model_needs_trust(tmp_path):
    model = mnistlab.build_model("lenet", seed=0)
    torch.save(model, tmp_path / "whole.pt")  # pickles the class: loading would run code
    fresh = mnistlab.build_model("lenet", seed=1)
    with pytest.raises(Exception, match="trusted=True"):
        mnistlab.load_checkpoint(tmp_path / "whole.pt", fresh)
    assert not same_weights(fresh, model)
    mnistlab.load_checkpoint(tmp_path / "whole.pt", fresh, trusted=True)
    assert same_weights(fresh, model)


def test_data_parallel_prefix_is_understood(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    wrapped = nn.DataParallel(model)  # saves keys as "module.layers.1.weight"
    torch.save(wrapped.state_dict(), tmp_path / "dp.pt")
    fresh = mnistlab.build_model("mlp", seed=1)
    mnistlab.load_checkpoint(tmp_path / "dp.pt", fresh)
    assert same_weights(fresh, model)


def test_swapped_arguments_and_wrong_paths_say_the_fix(tmp_path):
    model = mnistlab.build_model("mlp")
    with pytest.raises(TypeError, match=r"save_checkpoint\('model.pt', model\)"):
        mnistlab.save_checkpoint(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"load_checkpoint\('model.pt', model\)"):
        mnistlab.load_checkpoint(model, tmp_path / "m.pt")
    with pytest.raises(IsADirectoryError, match="model.pt"):
        mnistlab.save_checkpoint(tmp_path, model)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OSError, match="nothing is lost"):
        mnistlab.save_checkpoint(tmp_path / "a_file" / "m.pt", model)


def test_a_failed_save_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    path = mnistlab.save_checkpoint(tmp_path / "m.pt", mnistlab.build_model("mlp", seed=0))

    def disk_full(obj, f, *args, **kwargs):  # what torch.save meets on a full disk
        with open(f, "wb") as partial:
            partial.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="nothing is lost"):
        mnistlab.save_checkpoint(path, mnistlab.build_model("mlp", seed=1))
    monkeypatch.undo()
    fresh = mnistlab.build_model("mlp", seed=2)
    mnistlab.load_checkpoint(path, fresh)  # the earlier file is intact
    assert same_weights(fresh, mnistlab.build_model("mlp", seed=0))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_another_optimizer_class_is_refused_before_anything_changes(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    path = mnistlab.save_checkpoint(tmp_path / "m.pt", model,
                                    torch.optim.SGD(model.parameters(), lr=0.1))
    fresh = mnistlab.build_model("mlp", seed=1)
    before = copy.deepcopy(fresh)
    with pytest.raises(ValueError, match="SGD optimizer.*Adam"):
        mnistlab.load_checkpoint(path, fresh, torch.optim.Adam(fresh.parameters()))
    assert same_weights(fresh, before)


def damage(kind, good, folder):
    """Write a damaged version of the checkpoint `good` (bytes) into `folder`; return its path."""
    path = folder / f"{kind}.pt"
    if kind == "half":
        path.write_bytes(good[: len(good) // 2])  # what a full disk or an interrupted copy leaves
    elif kind == "head":
        path.write_bytes(good[:500])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "zeros":
        path.write_bytes(bytes(100))
    elif kind == "list":
        torch.save([1, 2, 3], path)
    elif kind == "other_dict":
        torch.save({"weights": [1, 2, 3]}, path)
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("half", "is damaged or cut off"),
        ("head", "is damaged or cut off (500 bytes"),
        ("empty", "is empty (0 bytes)"),
        ("text", "is a text file (it starts with 'not a checkpoint"),
        ("zeros", "is not a PyTorch file"),
        ("list", "holds a list, not model weights"),
        ("other_dict", "holds a dict with keys ['weights'], but no model weights"),
    ],
)
def test_a_damaged_checkpoint_names_the_file_the_problem_and_the_fix(
    kind, problem, tmp_path, trained_checkpoint, trained_mlp
):
    path = damage(kind, trained_checkpoint.read_bytes(), tmp_path)
    model = mnistlab.build_model("mlp", seed=1)
    before = copy.deepcopy(model)
    for load in (lambda: mnistlab.load_checkpoint(path, model), lambda: mnistlab.load_model(path)):
        with pytest.raises(mnistlab.CheckpointError) as info:
            load()
        message = str(info.value)
        assert message.startswith(f"checkpoint {str(path)!r} {problem}")
        assert "Fix: " in message and info.value.path == path
    assert same_weights(model, before)


def test_a_wrong_path_is_named(tmp_path):
    (tmp_path / "models").mkdir()
    mnistlab.save_checkpoint(tmp_path / "models" / "cnn.pt", mnistlab.build_model("mlp"))
    with pytest.raises(IsADirectoryError, match=r"models' is a folder.*holds cnn.pt; pass one"):
        mnistlab.load_checkpoint(tmp_path / "models")
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at '.*missing.pt': check the name"):
        mnistlab.load_model(tmp_path / "missing.pt")


def test_load_model_rebuilds_the_network_named_in_the_file(trained_checkpoint, trained_mlp):
    model, checkpoint = mnistlab.load_model(trained_checkpoint)
    assert type(model) is mnistlab.MLP and not model.training
    assert checkpoint["model_name"] == "mlp" and checkpoint["metadata"] == {"epochs": 1}
    assert same_weights(model, trained_mlp)


@pytest.mark.parametrize("name", ["lenet", "cnn_bn"])
def test_load_model_recognises_a_bare_state_dict(name, tmp_path):
    saved = mnistlab.build_model(name, seed=0)
    torch.save(saved.state_dict(), tmp_path / "tutorial_style.pt")  # the way tutorials save
    model, checkpoint = mnistlab.load_model(tmp_path / "tutorial_style.pt")
    assert checkpoint["model_name"] == name and same_weights(model, saved)


def test_load_model_says_when_no_network_fits(tmp_path):
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "foreign.pt")
    with pytest.raises(mnistlab.CheckpointError, match=(
        r"holds weights of a model whose name was not saved, and those weights fit none of "
        r"mnistlab's networks \(mlp, .*\)\. Fix: build the network .*mnistlab.load_checkpoint"
    )):
        mnistlab.load_model(tmp_path / "foreign.pt")


def test_checkpoint_dir_is_outside_the_notebooks(monkeypatch, tmp_path):
    monkeypatch.delenv("MNISTLAB_CHECKPOINT_DIR", raising=False)
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "data"))
    assert mnistlab.checkpoint_dir() == tmp_path / "data" / "checkpoints"
    assert not (tmp_path / "data").exists()  # asking creates nothing
    monkeypatch.setenv("MNISTLAB_CHECKPOINT_DIR", str(tmp_path / "mine"))
    assert mnistlab.checkpoint_dir() == tmp_path / "mine"


def test_a_trained_model_its_optimizer_and_history_come_back_whole(tmp_path, trained_mlp):
    model = copy.deepcopy(trained_mlp)
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.zero_grad()
    model(torch.zeros(2, 1, 28, 28)).sum().backward()
    optimizer.step()  # the optimizer now holds a state worth keeping
    path = mnistlab.save_checkpoint(tmp_path / "ck" / "model.pt", model, optimizer,
                                    history={"epoch": [1]}, test_accuracy=0.5)
    fresh = mnistlab.build_model("mlp", seed=1)
    fresh_optimizer = torch.optim.Adam(fresh.parameters())
    checkpoint = mnistlab.load_checkpoint(path, fresh, fresh_optimizer)
    assert checkpoint["model_name"] == "mlp"
    assert checkpoint["metadata"] == {"test_accuracy": 0.5}
    assert checkpoint["history"] == {"epoch": [1]}
    assert same_weights(model, fresh)
    saved, loaded = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
    assert torch.equal(saved[0]["exp_avg"], loaded[0]["exp_avg"])


def test_a_checkpoint_saved_on_cuda_loads_on_cpu(tmp_path, monkeypatch):
    # Pretend the tensors were on a GPU when saved: torch records each storage's device.
    model = mnistlab.build_model("mlp", seed=0)
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        mnistlab.save_checkpoint(path, model)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)  # what a bare torch.load does on a laptop
    fresh = mnistlab.build_model("mlp", seed=1)
    mnistlab.load_checkpoint(path, fresh)
    assert next(fresh.parameters()).device.type == "cpu"
    assert same_weights(model, fresh)
