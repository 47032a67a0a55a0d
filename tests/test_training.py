"""Tests for mnistlab.training and early_stopping, and the summary, device and seed helpers."""

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import mnistlab
from mnistlab import training


@pytest.fixture(scope="module")
def small_sets(sample_sets):
    """600 real training digits and 200 test digits, as in-memory tensors."""
    train, test = sample_sets
    x_train, y_train = mnistlab.dataset_to_tensors(train)
    x_test, y_test = mnistlab.dataset_to_tensors(test)
    return TensorDataset(x_train[:600], y_train[:600]), TensorDataset(x_test[:200], y_test[:200])


def loader(dataset, batch_size=50, shuffle=False, seed=0):
    return mnistlab.make_loader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed)


@pytest.mark.parametrize("name", list(mnistlab.MODELS))
def test_one_batch_of_every_model_trains(name, small_sets):
    train, _ = small_sets
    model = mnistlab.build_model(name, seed=0)
    before = copy.deepcopy(model.state_dict())
    one_batch = [next(iter(loader(train, batch_size=32)))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    metrics = mnistlab.train_one_epoch(model, one_batch, optimizer)
    assert 0 < metrics["loss"] < 10 and 0 <= metrics["accuracy"] <= 1
    changed = [not torch.equal(before[k], v) for k, v in model.state_dict().items()]
    assert any(changed)


def test_evaluate_counts_every_example_and_restores_mode():
    # A model that always answers "0": its accuracy is exactly the share of zeros.
    always_zero = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.zeros_(always_zero[1].weight)
    with torch.no_grad():
        always_zero[1].bias.copy_(torch.tensor([1.0] + [0.0] * 9))
    labels = torch.tensor([0] * 37 + [3] * 63)
    data = TensorDataset(torch.randn(100, 1, 28, 28), labels)
    always_zero.train()
    metrics = mnistlab.evaluate(always_zero, loader(data, batch_size=64))  # 64 + 36
    assert metrics["accuracy"] == pytest.approx(0.37)
    probs = torch.softmax(torch.tensor([1.0] + [0.0] * 9), 0)
    expected_loss = -(0.37 * probs[0].log() + 0.63 * probs[3].log())
    assert metrics["loss"] == pytest.approx(expected_loss.item(), rel=1e-5)
    assert always_zero.training  # mode restored


def test_fit_learns_real_digits_and_records_history(small_sets):
    train, test = small_sets
    mnistlab.seed_everything(0)
    model = mnistlab.build_model("mlp_wide", seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = mnistlab.fit(
        model, loader(train, shuffle=True), optimizer, epochs=3, val_loader=loader(test),
        progress=False, verbose=False,
    )
    assert history["epoch"] == [1, 2, 3]
    assert set(history) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}
    assert history["train_loss"][2] < history["train_loss"][0]
    assert history["val_accuracy"][-1] > 0.75  # far above the 10% of guessing


def test_same_seed_gives_identical_losses_on_cpu(small_sets):
    train, _ = small_sets

    def run():
        mnistlab.seed_everything(0)
        model = mnistlab.build_model("lenet", seed=0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        few = torch.utils.data.Subset(train, range(200))
        history = mnistlab.fit(model, loader(few, shuffle=True, seed=0), optimizer, epochs=2,
                               progress=False, verbose=False)
        return history["train_loss"]

    assert run() == run()


class InterruptingLoader:
    """Yields real batches, then raises KeyboardInterrupt (Ctrl-C) at a chosen point."""

    def __init__(self, batches, interrupt_epoch, interrupt_batch):
        self.batches, self.epoch = batches, 0
        self.interrupt_epoch, self.interrupt_batch = interrupt_epoch, interrupt_batch

    def __iter__(self):
        self.epoch += 1
        for i, batch in enumerate(self.batches):
            if self.epoch == self.interrupt_epoch and i == self.interrupt_batch:
                raise KeyboardInterrupt
            yield batch


def test_ctrl_c_keeps_model_and_history(small_sets, capsys):
    train, _ = small_sets
    batches = list(loader(train))
    model = mnistlab.build_model("mlp", seed=0)
    start = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = mnistlab.fit(model, InterruptingLoader(batches, 2, 3), optimizer, epochs=5,
                           progress=False)
    assert history["epoch"] == [1] and len(history["train_loss"]) == 1
    assert "interrupted during epoch 2" in capsys.readouterr().out
    # The weights are those reached after 1 epoch + 3 batches: trained, finite, not reset.
    weights = model.state_dict()
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert not torch.equal(weights["layers.1.weight"], start["layers.1.weight"])
    assert mnistlab.evaluate(model, loader(train))["accuracy"] > 0.3


def test_nan_loss_stops_with_advice_and_history(small_sets, monkeypatch):
    train, _ = small_sets
    monkeypatch.setattr(training, "NAN_CHECK_EVERY", 2)
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = {"n": 0}

    def loss_that_explodes(logits, target, **kwargs):
        calls["n"] += 1
        loss = nn.functional.cross_entropy(logits, target, **kwargs)
        return loss * float("nan") if calls["n"] > 15 else loss  # epoch 2 (12 batches/epoch)

    with pytest.raises(mnistlab.TrainingDiverged, match="smaller learning rate") as info:
        mnistlab.fit(model, loader(train), optimizer, epochs=3, loss_fn=loss_that_explodes,
                     progress=False, verbose=False)
    assert info.value.history["epoch"] == [1]


def test_predict_gives_probabilities_for_a_batch_or_one_image(small_sets):
    _, test = small_sets
    model = mnistlab.build_model("lenet", seed=0)
    images = test.tensors[0][:5]
    probs = mnistlab.predict(model, images)
    assert probs.shape == (5, 10) and torch.allclose(probs.sum(1), torch.ones(5))
    single = mnistlab.predict(model, images[0])
    assert torch.allclose(single[0], probs[0], atol=1e-6)


def test_predict_loader_collects_everything(small_sets):
    _, test = small_sets
    model = mnistlab.build_model("mlp", seed=0)
    images, labels, predicted = mnistlab.predict_loader(model, loader(test, batch_size=64))
    assert images.shape == (200, 1, 28, 28) and labels.shape == predicted.shape == (200,)
    assert torch.equal(labels, test.tensors[1])


# --- summary, device, seed ----------------------------------------------------------------


def test_summary_counts_parameters_and_leaves_the_model_alone(capsys):
    model = mnistlab.build_model("cnn_bn", seed=0)
    before = copy.deepcopy(model.state_dict())
    assert mnistlab.summary(model) is None  # shown once, not echoed again by the notebook
    table = capsys.readouterr().out
    assert "Total params: 96,554" in table and table == mnistlab.summary(model, show=False)
    assert "[-1, 10]" in table  # the output shape row
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm stats untouched
    assert model.training


def test_summary_of_mlp_with_image_input():
    table = mnistlab.summary(mnistlab.build_model("mlp"), show=False)
    assert "Total params: 15,910" in table and "[-1, 784]" in table


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert mnistlab.get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert mnistlab.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert mnistlab.get_device() == torch.device("cuda")
    assert mnistlab.get_device("cpu") == torch.device("cpu")


def test_model_device_and_describe_device():
    assert mnistlab.model_device(mnistlab.build_model("mlp")) == torch.device("cpu")
    assert mnistlab.model_device(nn.ReLU()) == torch.device("cpu")
    assert mnistlab.describe_device("cpu").startswith("cpu (")


def test_seed_everything_repeats_random_numbers():
    mnistlab.seed_everything(5)
    a = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    mnistlab.seed_everything(5)
    b = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_deterministic_mode_is_switched_on_and_off():
    try:
        mnistlab.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        mnistlab.seed_everything(0)
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_fit_channels_last_keeps_the_weights_values(small_sets):
    train, _ = small_sets
    model = mnistlab.build_model("cnn", seed=0)
    reference = copy.deepcopy(model)
    one_batch = [next(iter(loader(train, batch_size=16)))]
    mnistlab.fit(model, one_batch, torch.optim.SGD(model.parameters(), lr=0.0), epochs=1,
                 progress=False, verbose=False, channels_last=True)
    weight = model.features[3].weight  # (32, 16, 5, 5): its layout really changes
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not reference.features[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(weight, reference.features[3].weight)  # lr 0: same values, new layout
    x = one_batch[0][0]
    assert torch.allclose(model.eval()(x), reference.eval()(x), atol=1e-5)


# --- fit: loss modules, nothing lost on errors, early stopping, schedulers ----------------


@pytest.fixture(scope="module")
def tiny(small_sets):
    """100 real training digits and 200 real test digits, as TensorLoaders (fast)."""
    train, test = small_sets
    x, y = train.tensors
    xt, yt = test.tensors
    return (mnistlab.TensorLoader(x[:100], y[:100], batch_size=25, shuffle=True, seed=0),
            mnistlab.TensorLoader(xt, yt, batch_size=200))


def quiet_fit(model, train_loader, lr=1e-2, **kwargs):
    optimizer = kwargs.pop("optimizer", None) or torch.optim.Adam(model.parameters(), lr=lr)
    return mnistlab.fit(model, train_loader, optimizer, progress=False, verbose=False, **kwargs)


@pytest.mark.parametrize(
    "loss_fn",
    [nn.CrossEntropyLoss(), nn.CrossEntropyLoss(reduction="sum"),
     nn.CrossEntropyLoss(reduction="none")],
    ids=["mean", "sum", "none"],
)
def test_loss_modules_report_the_same_mean_loss_as_the_function(loss_fn, tiny):
    _, val = tiny
    model = mnistlab.build_model("mlp", seed=0)
    reference = mnistlab.evaluate(model, val)  # F.cross_entropy
    assert mnistlab.evaluate(model, val, loss_fn=loss_fn)["loss"] == pytest.approx(
        reference["loss"], rel=1e-5)
    batches = [next(iter(val))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the report only
    train = mnistlab.train_one_epoch(model, batches, optimizer, loss_fn=loss_fn)
    assert train["loss"] == pytest.approx(reference["loss"], rel=1e-5)


def test_fit_with_a_loss_module_and_validation_matches_the_function(tiny):
    train, val = tiny
    histories = []
    for loss_fn in (nn.functional.cross_entropy, nn.CrossEntropyLoss()):
        train.generator.manual_seed(0)
        model = mnistlab.build_model("mlp", seed=0)
        histories.append(quiet_fit(model, train, epochs=2, val_loader=val, loss_fn=loss_fn))
    functional, module = histories
    assert module["epoch"] == [1, 2]
    assert module["val_loss"] == pytest.approx(functional["val_loss"], rel=1e-5)
    assert module["train_loss"] == pytest.approx(functional["train_loss"], rel=1e-5)


class FailingLoader:
    """Real batches; from epoch `fail_epoch` on, raises `error` instead (e.g. a full disk)."""

    def __init__(self, loader, fail_epoch, error):
        self.loader, self.fail_epoch, self.error, self.epoch = loader, fail_epoch, error, 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.epoch += 1
        if self.epoch >= self.fail_epoch:
            raise self.error
        yield from self.loader


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   RuntimeError("a bug in the student's own code")])
def test_an_error_after_epoch_one_keeps_the_finished_epochs(error, tiny):
    train, val = tiny
    model = mnistlab.build_model("mlp", seed=0)
    with pytest.raises(type(error)) as info:
        quiet_fit(model, train, epochs=4, val_loader=FailingLoader(val, 3, error))
    history = info.value.history
    assert history["epoch"] == [1, 2] and len(history["val_loss"]) == 2
    assert any(".history" in note for note in getattr(info.value, "__notes__", []))


def test_early_stopping_stops_after_patience_epochs_without_improvement(tiny):
    train, val = tiny
    model = mnistlab.build_model("mlp_wide", seed=0)
    train.generator.manual_seed(0)
    history = quiet_fit(model, train, epochs=30, val_loader=val, patience=3)
    best = history["best_epoch"]
    assert len(history["epoch"]) == best + 3 < 30  # 100 digits over-fit long before epoch 30
    assert min(history["val_loss"]) == history["val_loss"][best - 1]
    assert all(loss >= history["val_loss"][best - 1] for loss in history["val_loss"][best:])


def test_restore_best_loads_the_weights_of_the_best_epoch(tiny):
    train, val = tiny
    model = mnistlab.build_model("mlp_wide", seed=0)
    train.generator.manual_seed(0)
    history = quiet_fit(model, train, epochs=12, val_loader=val, restore_best=True)
    best = history["best_epoch"]
    assert best < 12 and history["val_loss"][-1] > history["val_loss"][best - 1]
    # The model now scores exactly what it scored after the best epoch, not the last.
    assert mnistlab.evaluate(model, val)["loss"] == pytest.approx(history["val_loss"][best - 1])


def test_restore_best_also_after_an_error(tiny):
    train, val = tiny
    model = mnistlab.build_model("mlp_wide", seed=0)
    train.generator.manual_seed(0)
    failing = FailingLoader(train, 10, RuntimeError("stopped in epoch 10"))
    with pytest.raises(RuntimeError) as info:
        quiet_fit(model, failing, epochs=12, val_loader=val, restore_best=True)
    history = info.value.history
    assert len(history["epoch"]) == 9
    best = history["best_epoch"]
    assert mnistlab.evaluate(model, val)["loss"] == pytest.approx(history["val_loss"][best - 1])


def test_scheduler_steps_per_batch_or_per_epoch(tiny):
    train, _ = tiny  # 4 batches per epoch
    for step, expected in (("epoch", 0.1 * 0.5**3), ("batch", 0.1 * 0.5**12)):
        model = mnistlab.build_model("mlp", seed=0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        quiet_fit(model, train, optimizer=optimizer, epochs=3, scheduler=scheduler,
                  scheduler_step=step)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected)


def test_reduce_on_plateau_gets_the_validation_loss(tiny):
    train, val = tiny
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    with pytest.raises(ValueError, match="scheduler_step='epoch'"):
        quiet_fit(model, train, optimizer=optimizer, scheduler=plateau, val_loader=val)
    history = quiet_fit(model, train, optimizer=optimizer, epochs=3, scheduler=plateau,
                        scheduler_step="epoch", val_loader=val)
    assert plateau.best == min(history["val_loss"])


@pytest.mark.parametrize(
    ("options", "named", "fix"),
    [
        ({"patience": 2}, "patience", "val_loader"),
        ({"restore_best": True}, "restore_best", "val_loader"),
        ({"patience": 0, "val_loader": []}, "patience", "1 or more"),
        ({"scheduler_step": "step"}, "scheduler_step", "'epoch'"),
        ({"epochs": 2.5}, "epochs", "whole number"),
    ],
)
def test_fit_options_are_checked_before_training(options, named, fix, tiny):
    train, _ = tiny
    model = mnistlab.build_model("mlp", seed=0)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError) as info:
        quiet_fit(model, train, **options)
    assert named in str(info.value) and fix in str(info.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # untouched


def test_one_cycle_too_short_for_the_epochs_is_caught_up_front(tiny):
    train, _ = tiny
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, epochs=2,
                                                    steps_per_epoch=len(train))
    with pytest.raises(ValueError, match="steps_per_epoch=len"):
        quiet_fit(model, train, optimizer=optimizer, epochs=3, scheduler=one_cycle)
    history = quiet_fit(model, train, optimizer=optimizer, epochs=2, scheduler=one_cycle)
    assert history["epoch"] == [1, 2]


# --- the wrong thing in hand: each mistake names the argument and the fix -----------------


def test_common_argument_mistakes_say_the_fix(small_sets, tiny):
    train_set, _ = small_sets
    train, _ = tiny
    model = mnistlab.build_model("mlp", seed=0)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    cases = [
        (dict(train_loader=train_set), "train_loader", "make_loader"),  # a dataset, not a loader
        (dict(loss_fn=nn.CrossEntropyLoss), "loss_fn", "CrossEntropyLoss()"),  # no brackets
        (dict(optimizer=torch.optim.SGD), "optimizer", "model.parameters()"),
        (dict(optimizer=torch.optim.SGD(mnistlab.build_model("mlp").parameters(), lr=0.1)),
         "another model", "optimizer = SGD(model.parameters()"),
        (dict(model=mnistlab.MLP), "class MLP", "build_model"),
        (dict(device="meta"), "device='meta'", "model.to('meta')"),
    ]
    for change, named, fix in cases:
        arguments = dict(model=model, train_loader=train, optimizer=sgd) | change
        with pytest.raises((TypeError, ValueError)) as info:
            mnistlab.fit(**arguments, progress=False, verbose=False)
        assert named in str(info.value) and fix in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("images", "labels", "fix"),
    [
        (torch.zeros(4, 1, 28, 28, dtype=torch.float64), torch.zeros(4, dtype=torch.long),
         "x.float()"),
        (torch.zeros(4, 1, 28, 28), torch.zeros(4), "labels.long()"),
        (torch.zeros(4, 1, 28, 28), torch.zeros(4, 10, dtype=torch.long), "argmax"),
        (torch.zeros(4, 1, 28, 28), torch.zeros(3, dtype=torch.long), "(4,)"),
    ],
    ids=["float64-images", "float-labels", "one-hot-labels", "count-mismatch"],
)
def test_bad_batches_are_explained_for_any_model(images, labels, fix):
    # A plain nn.Sequential: no check_images inside, so the loop's own check must catch it.
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for run in (lambda b: mnistlab.train_one_epoch(model, b, optimizer),
                lambda b: mnistlab.evaluate(model, b)):
        with pytest.raises((TypeError, ValueError)) as info:
            run([(images, labels)])
        assert "loader" in str(info.value) and fix in str(info.value)


def test_a_loader_of_pil_images_says_to_use_the_transform():
    pil_set = mnistlab.MNISTSample(train=False, transform=None)
    model = mnistlab.build_model("mlp")
    with pytest.raises(TypeError, match="MNIST_TRANSFORM"):
        mnistlab.evaluate(model, mnistlab.make_loader(pil_set, batch_size=8))


def test_an_empty_loader_says_so():
    model = mnistlab.build_model("mlp")
    nothing = TensorDataset(torch.zeros(0, 1, 28, 28), torch.zeros(0).long())
    with pytest.raises(ValueError, match="empty"):
        mnistlab.make_loader(nothing)  # refused up front...
    empty = torch.utils.data.DataLoader(nothing)  # ...and by the loops, for any loader
    for run in (lambda: mnistlab.evaluate(model, empty),
                lambda: mnistlab.predict_loader(model, empty),
                lambda: mnistlab.train_one_epoch(model, empty, torch.optim.SGD(
                    model.parameters(), lr=0.1))):
        with pytest.raises(ValueError, match="empty"):
            run()


def test_predict_accepts_numpy_and_float64_like_a_tensor(small_sets):
    _, test = small_sets
    model = mnistlab.build_model("lenet", seed=0)
    images = test.tensors[0][:3]
    expected = mnistlab.predict(model, images)
    from_numpy = mnistlab.predict(model, images.numpy().astype("float64"))
    assert from_numpy.dtype == torch.float32
    assert torch.allclose(from_numpy, expected, atol=1e-6)
    one = mnistlab.predict(model, images[0, 0].numpy())  # a bare (28, 28) image
    assert torch.allclose(one[0], expected[0], atol=1e-6)
    with pytest.raises(TypeError, match="MNIST_TRANSFORM"):  # raw 0-255 pixels
        mnistlab.predict(model, (images.numpy() * 255).astype("uint8"))
    with pytest.raises(TypeError, match="torch.as_tensor"):
        mnistlab.predict(model, images.tolist())


def test_asking_for_a_device_this_machine_lacks_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU.*get_device()"):
        mnistlab.get_device("cuda")
    with pytest.raises(RuntimeError, match="MPS"):
        mnistlab.describe_device("mps")
    with pytest.raises(ValueError, match="calls a GPU 'cuda'"):
        mnistlab.get_device("gpu")


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", None])
def test_seed_everything_rejects_seeds_numpy_cannot_take(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        mnistlab.seed_everything(seed)


def test_summary_checks_its_arguments():
    with pytest.raises(TypeError, match="build_model"):
        mnistlab.summary(mnistlab.CNN)
    with pytest.raises(ValueError, match=r"\(1, 28, 28\)"):
        mnistlab.summary(mnistlab.build_model("cnn"), input_size=784)


def test_predict_refuses_nan_pixels():
    model = mnistlab.build_model("mlp")
    images = torch.zeros(2, 1, 28, 28)
    images[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        mnistlab.predict(model, images)


def test_nan_in_the_data_is_blamed_on_the_data_not_the_learning_rate(small_sets):
    train, _ = small_sets
    images, labels = train.tensors[0][:60].clone(), train.tensors[1][:60]
    images[:, :, 0, 0] = float("nan")  # e.g. normalised by a standard deviation of 0
    data = TensorDataset(images, labels)  # a DataLoader: no TensorLoader check on the way
    model = mnistlab.build_model("mlp", seed=0)
    with pytest.raises(mnistlab.TrainingDiverged, match="input images themselves") as info:
        mnistlab.train_one_epoch(model, loader(data, batch_size=20),
                                 torch.optim.SGD(model.parameters(), lr=0.1))
    assert "smaller learning rate" not in str(info.value)


def test_train_one_epoch_refuses_a_plateau_scheduler_per_batch(tiny):
    train, _ = tiny
    model = mnistlab.build_model("mlp", seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.raises(ValueError, match="scheduler_step='epoch'"):
        mnistlab.train_one_epoch(model, train, optimizer, scheduler=plateau)


def test_predict_on_many_images_goes_in_chunks_with_the_same_result(sample_sets):
    train, _ = sample_sets
    images = mnistlab.dataset_to_tensors(mnistlab.take(train, 2500))[0]
    model = mnistlab.build_model("mlp", seed=0)
    sizes = []
    model.register_forward_hook(lambda module, args, output: sizes.append(len(args[0])))
    probs = mnistlab.predict(model, images)
    assert sizes == [1000, 1000, 500]  # memory stays bounded for any number of images
    with torch.no_grad():
        expected = torch.softmax(model.eval()(images), dim=1)
    assert torch.allclose(probs, expected, atol=1e-6)


def test_early_stopping_counts_epochs_without_a_better_loss():
    model = nn.Linear(2, 2)
    stopper = mnistlab.EarlyStopping(patience=2, keep_weights=True)
    losses = [1.0, 0.5, float("nan"), 0.7, 0.4]  # a NaN loss is never the best
    stops = [stopper.update(epoch, loss, model) for epoch, loss in enumerate(losses, start=1)]
    assert stops == [False, False, False, True, False]
    assert (stopper.best_epoch, stopper.best_loss) == (5, 0.4)
    with torch.no_grad():
        model.weight.zero_()
    assert stopper.restore(model) and model.weight.abs().sum() > 0
    assert not mnistlab.EarlyStopping().restore(model)  # nothing kept, nothing changed
