"""Tests for mnistlab.models: the seeds' exact shapes, and clear errors for wrong input."""

import ast
import copy
import inspect
import math

import numpy as np
import pytest
import torch

import mnistlab
from mnistlab import models

# Parameter counts follow from the seeds' layer shapes, e.g. the seed-000 CNN:
# conv 1->16 5x5 (400 + 16) + conv 16->32 5x5 (12,800 + 32) + fc 1568->10 (15,680 + 10).
PARAMETERS = {
    "mlp": 784 * 20 + 20 + 20 * 10 + 10,
    "mlp_wide": 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10,
    "cnn": 16 * 25 + 16 + 32 * 16 * 25 + 32 + 1568 * 10 + 10,
    "lenet": 6 * 9 + 6 + 16 * 6 * 9 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10,
    "cnn_wide": 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 10 + 10,
    "cnn_deep": 416 + 32 * 16 * 25 + 32 + 64 * 32 * 25 + 64 + 576 * 100 + 100 + 100 * 10 + 10,
    "cnn_bn": 96_554,
}


@pytest.mark.parametrize("name", list(mnistlab.MODELS))
def test_parameter_counts_are_pinned(name):
    assert mnistlab.count_parameters(mnistlab.build_model(name)) == PARAMETERS[name]


@pytest.mark.parametrize("name", list(mnistlab.MODELS))
@pytest.mark.parametrize("batch", [1, 7])
def test_every_model_maps_a_batch_to_ten_scores(name, batch):
    model = mnistlab.build_model(name, seed=0).eval()
    assert model(torch.randn(batch, 1, 28, 28)).shape == (batch, 10)


def test_seed_000_and_002_layer_shapes():
    cnn = mnistlab.build_model("cnn")
    assert [tuple(m.weight.shape) for m in cnn.modules() if hasattr(m, "weight")] == [
        (16, 1, 5, 5), (32, 16, 5, 5), (10, 1568)
    ]
    wide = mnistlab.build_model("cnn_wide")
    assert [tuple(m.weight.shape) for m in wide.modules() if hasattr(m, "weight")] == [
        (32, 1, 3, 3), (64, 32, 3, 3), (10, 3136)
    ]


def test_seed_000_linear_layer_is_xavier_initialised():
    torch.manual_seed(0)
    weight = mnistlab.build_model("cnn").classifier[1].weight
    xavier_bound = math.sqrt(6 / (1568 + 10))  # 0.0617
    default_bound = 1 / math.sqrt(1568)  # 0.0253, PyTorch's default for nn.Linear
    assert default_bound * 1.5 < weight.abs().max() <= xavier_bound


def test_mlp_accepts_flat_pixels_with_the_same_result():
    model = mnistlab.build_model("mlp", seed=0)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(model(x), model(x.view(4, 784)))


def test_same_name_and_seed_give_the_same_weights():
    a = mnistlab.build_model("lenet", seed=1).state_dict()
    b = mnistlab.build_model("lenet", seed=1).state_dict()
    c = mnistlab.build_model("lenet", seed=2).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["features.0.weight"], c["features.0.weight"])


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="cnn_bn"):
        mnistlab.build_model("resnet")


@pytest.mark.parametrize(
    ("shape", "fix"),
    [
        ((8, 784), "x.view(-1, 1, 28, 28)"),
        ((1, 28, 28), "x.unsqueeze(0)"),
        ((28, 28), "x.view(1, 1, 28, 28)"),
        ((8, 28, 28), "x.unsqueeze(1)"),
        ((8, 28, 28, 1), "x.permute(0, 3, 1, 2)"),
        ((8, 3, 32, 32), "one channel"),
    ],
)
def test_wrong_shape_names_expected_shape_and_fix(shape, fix):
    model = mnistlab.build_model("cnn")
    with pytest.raises(ValueError) as info:
        model(torch.zeros(shape))
    message = str(info.value)
    assert "(N, 1, 28, 28)" in message and fix in message and str(shape) in message


def test_mlp_error_mentions_flat_input_is_fine():
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        mnistlab.build_model("mlp")(torch.zeros(2, 100))


def test_integer_pixels_are_rejected_with_the_fix():
    with pytest.raises(TypeError, match="float"):
        mnistlab.build_model("lenet")(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_non_tensor_input_is_rejected():
    with pytest.raises(TypeError, match="torch.as_tensor"):
        mnistlab.build_model("mlp")([[0.0] * 784])


def test_bad_activation_is_rejected():
    with pytest.raises(ValueError, match="relu"):
        models.MLP(activation="tanhh")


# --- dtypes and types, as a student meets them (issue 8) ---------------------------------


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn_bn"])
def test_float64_pixels_say_the_dtype_and_the_conversion(name):
    model = mnistlab.build_model(name)
    x = torch.from_numpy(np.zeros((2, 1, 28, 28)))  # float64, as NumPy gives
    with pytest.raises(TypeError) as info:
        model(x)
    message = str(info.value)
    assert "torch.float64" in message and "torch.float32" in message and "x.float()" in message
    assert model(x.float()).shape == (2, 10)  # the fix works


def test_a_float64_model_takes_float64_pixels():
    model = mnistlab.build_model("lenet").double()
    assert model(torch.zeros(2, 1, 28, 28, dtype=torch.float64)).dtype == torch.float64


def test_numpy_input_to_a_model_points_at_the_conversion_and_predict():
    with pytest.raises(TypeError) as info:
        mnistlab.build_model("cnn")(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert "torch.as_tensor" in str(info.value) and "mnistlab.predict" in str(info.value)


def test_model_name_in_capitals_gets_a_suggestion():
    with pytest.raises(ValueError, match="did you mean 'cnn_bn'"):
        mnistlab.build_model("CNN_BN")
    with pytest.raises(ValueError, match="choose one of"):
        mnistlab.build_model(models.CNN)


def test_mlp_hidden_sizes_may_be_one_number():
    assert mnistlab.count_parameters(models.MLP(hidden_sizes=20)) == 784 * 20 + 20 + 20 * 10 + 10


def test_count_parameters_of_a_class_says_to_build_it():
    with pytest.raises(TypeError, match="build_model"):
        mnistlab.count_parameters(models.LeNet)


def test_every_forward_is_only_the_computation():
    # The checks run in a hook that build_model adds, so the code a student reads is the network.

    tree = ast.parse(inspect.getsource(models))
    forwards = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "forward"]
    assert len(forwards) == 5
    for forward in forwards:
        calls = [ast.unparse(c.func) for c in ast.walk(forward) if isinstance(c, ast.Call)]
        assert not [name for name in calls if "check" in name], ast.unparse(forward)


def test_a_class_built_directly_computes_the_same_without_the_check():
    x = torch.randn(3, 1, 28, 28)
    checked = mnistlab.build_model("cnn", seed=0).eval()
    torch.manual_seed(0)
    plain = models.CNN().eval()
    assert torch.equal(checked(x), plain(x))
    with pytest.raises(RuntimeError):  # PyTorch's own error: no hook, no advice
        plain(torch.zeros(2, 784))


def test_a_checked_network_can_be_copied_and_pickled(tmp_path):
    model = mnistlab.build_model("mlp", seed=0)
    torch.save(model, tmp_path / "whole.pt")  # the hook is a module-level function
    again = torch.load(tmp_path / "whole.pt", weights_only=False)
    for same in (again, copy.deepcopy(model)):
        with pytest.raises(ValueError, match=r"\(N, 784\)"):
            same(torch.zeros(2, 100))
