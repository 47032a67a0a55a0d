"""Tests for mnistlab.data: torchvision MNIST, the offline fallback, loaders."""

import gzip
import struct

import numpy as np
import pytest
import torch
from torchvision import datasets, transforms

import mnistlab
from mnistlab import data
from mnistlab.idx import write_idx


def fake_mnist_folder(root, n_train=5, n_test=3):
    """Write tiny but valid MNIST files in torchvision's layout; return the arrays written."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
        arrays[split] = (images, labels)
    return raw, arrays


# --- the offline sample -------------------------------------------------------------------


def test_sample_split_sizes_are_stratified(sample_sets):
    train, test = sample_sets
    assert len(train) == 4000 and len(test) == 1000
    assert train.targets.bincount().tolist() == [400] * 10
    assert test.targets.bincount().tolist() == [100] * 10


def test_sample_train_and_test_do_not_overlap(sample_sets):
    train, test = sample_sets
    train_rows = {bytes(image.numpy()) for image in train.data}
    assert not any(bytes(image.numpy()) in train_rows for image in test.data)


def test_sample_has_torchvision_interface(sample_sets):
    train, _ = sample_sets
    assert isinstance(train, datasets.MNIST)
    assert train.data.dtype == torch.uint8 and train.data.shape == (4000, 28, 28)
    assert train.targets.dtype == torch.int64
    assert train.classes == datasets.MNIST.classes
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert isinstance(label, int) and label == int(train.targets[0])
    # The transform really is applied: normalised pixels go below zero.
    assert image.min().item() == pytest.approx((0 - data.MNIST_MEAN) / data.MNIST_STD, abs=1e-5)
    assert "Root location" not in repr(train)  # no machine path in printed output


def test_sample_digits_are_real_mnist_not_noise(sample_sets):
    train, _ = sample_sets
    pixels = train.data.float() / 255
    # Real digits: mostly black background, mean near MNIST's 0.13, many exact zeros.
    assert 0.10 < pixels.mean() < 0.16
    assert (train.data == 0).float().mean() > 0.7
    # The average "1" is darker (fewer ink pixels) than the average "0".
    ink = pixels.mean(dim=(1, 2))
    assert ink[train.targets == 1].mean() < ink[train.targets == 0].mean()


def test_sample_without_transform_gives_pil_images():
    train = mnistlab.MNISTSample(train=True, transform=None)
    image, _ = train[0]
    assert image.size == (28, 28) and image.mode == "L"


def test_sample_order_is_deterministic():
    a = mnistlab.MNISTSample(train=False)
    b = mnistlab.MNISTSample(train=False)
    assert torch.equal(a.targets, b.targets) and torch.equal(a.data, b.data)


def test_env_variable_forces_sample_and_prints_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MNISTLAB_SAMPLE", "1")
    train, test = mnistlab.load_mnist(root=tmp_path)
    out = capsys.readouterr().out.strip().splitlines()
    assert isinstance(train, mnistlab.MNISTSample) and isinstance(test, mnistlab.MNISTSample)
    assert len(out) == 1 and "offline sample" in out[0] and "MNISTLAB_SAMPLE" in out[0]


def test_the_quick_sample_is_the_first_half_of_each_split_with_every_class(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLAB_SAMPLE", "quick")
    train, test = mnistlab.load_mnist(root=tmp_path, verbose=False)
    full_train, full_test = mnistlab.MNISTSample(train=True), mnistlab.MNISTSample(train=False)
    assert (len(train), len(test)) == (2_000, 500)
    assert torch.equal(train.data, full_train.data[:2_000])
    assert torch.equal(test.targets, full_test.targets[:500])
    for split in (train, test):
        counts = torch.bincount(split.targets, minlength=10)
        assert counts.min() >= len(split) // 20, counts  # every class, roughly balanced


# --- falling back when there is no network ------------------------------------------------


def test_no_network_falls_back_quickly_with_reason(no_network, capsys, tmp_path):
    train, test = mnistlab.load_mnist(root=tmp_path)
    assert isinstance(train, mnistlab.MNISTSample) and len(test) == 1000
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no MNIST mirror could be reached" in out[0]
    # Every connection attempt had a short timeout, so a silent network cannot hang the notebook.
    assert no_network and all(t is not None and t <= 5 for t in no_network)


def test_no_network_and_sample_false_raises(no_network, tmp_path):
    with pytest.raises(mnistlab.MNISTUnavailable, match="no MNIST mirror"):
        mnistlab.load_mnist(root=tmp_path, sample=False)


def test_download_false_without_files_falls_back(no_network, capsys, tmp_path):
    train, _ = mnistlab.load_mnist(root=tmp_path, download=False)
    assert isinstance(train, mnistlab.MNISTSample)
    assert "download=False" in capsys.readouterr().out
    assert no_network == []  # it did not even try the network


def test_missing_file_falls_back(no_network, tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    train, _ = mnistlab.load_mnist(root=tmp_path, verbose=False)
    assert isinstance(train, mnistlab.MNISTSample)


def test_mnist_files_on_disk_are_read_through_torchvision(no_network, capsys, tmp_path):
    _, arrays = fake_mnist_folder(tmp_path)
    train, test = mnistlab.load_mnist(root=tmp_path, transform=None)
    assert type(train) is datasets.MNIST and len(train) == 5 and len(test) == 3
    assert torch.equal(train.data, torch.from_numpy(arrays["train"][0]))
    assert train.targets.tolist() == arrays["train"][1].tolist()
    assert "from torchvision" in capsys.readouterr().out
    assert no_network == []  # files present: no download attempted


def test_truncated_file_gives_error_that_says_the_fix(tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:100])  # cut off mid-image
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match="Delete the folder") as info:
        mnistlab.load_mnist(root=tmp_path)
    assert str(raw) in str(info.value) and "train-images-idx3-ubyte" in str(info.value)
    assert "cut off" in str(info.value) and "sample=True" in str(info.value)
    assert path.exists()  # nothing is deleted behind the user's back


def test_file_with_wrong_header_gives_error_that_says_the_fix(tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"this is not an IDX file at all")
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match="t10k-labels-idx1-ubyte.*magic number"):
        mnistlab.load_mnist(root=tmp_path)


def test_default_root_honours_env_and_ignores_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MNISTLAB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert not str(mnistlab.default_root()).startswith(str(tmp_path))
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "mine"))
    assert mnistlab.default_root() == tmp_path / "mine"


def test_genuine_shared_mnist_through_the_package(shared_mnist):
    train = mnistlab.torchvision_mnist(shared_mnist, train=True, download=False)
    test = mnistlab.torchvision_mnist(shared_mnist, train=False, download=False)
    assert len(train) == 6000 and len(test) == 10000
    # Class counts listed in ../shared/mnist/README.md for the first 6,000 training labels.
    assert train.targets.bincount().tolist() == [592, 671, 581, 608, 623, 514, 608, 651, 551, 601]
    assert test.targets[:4].tolist() == [7, 2, 1, 0]  # the famous first test digits
    image, _ = train[0]
    expected = (train.data[0].float() / 255 - data.MNIST_MEAN) / data.MNIST_STD
    assert torch.allclose(image[0], expected, atol=1e-5)
    # MNIST_MEAN and MNIST_STD really are MNIST's pixel statistics.
    pixels = train.data.float() / 255
    assert pixels.mean().item() == pytest.approx(data.MNIST_MEAN, abs=0.003)
    assert pixels.std().item() == pytest.approx(data.MNIST_STD, abs=0.003)


# --- splits and loaders -------------------------------------------------------------------


def test_train_val_split_is_disjoint_and_repeatable(sample_sets):
    train, _ = sample_sets
    a_train, a_val = mnistlab.train_val_split(train, val_fraction=0.2, seed=3)
    b_train, b_val = mnistlab.train_val_split(train, val_fraction=0.2, seed=3)
    assert len(a_train) == 3200 and len(a_val) == 800
    assert set(a_train.indices).isdisjoint(a_val.indices)
    assert a_val.indices == b_val.indices
    with pytest.raises(ValueError, match="between 0 and 1"):
        mnistlab.train_val_split(train, val_fraction=1.5)


def test_make_loader_defaults_keep_every_example(sample_sets):
    _, test = sample_sets
    loader = mnistlab.make_loader(test, batch_size=300)
    sizes = [len(y) for _, y in loader]
    assert sizes == [300, 300, 300, 100]  # the last, smaller batch is kept
    assert loader.num_workers == 0 and loader.pin_memory == torch.cuda.is_available()


def test_make_loader_seed_repeats_the_shuffle(sample_sets):
    _, test = sample_sets
    first = [y for _, y in mnistlab.make_loader(test, batch_size=250, shuffle=True, seed=1)]
    again = [y for _, y in mnistlab.make_loader(test, batch_size=250, shuffle=True, seed=1)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(torch.cat(first), test.targets)  # it did shuffle


def test_tensor_loader_yields_the_same_batches_as_a_dataloader(sample_sets):
    _, test = sample_sets
    fast = mnistlab.TensorLoader.from_dataset(test, batch_size=128)
    slow = mnistlab.make_loader(test, batch_size=128)
    assert len(fast) == len(slow) == 8
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.shape == xs.shape and torch.equal(yf, ys)
        assert torch.allclose(xf, xs, atol=1e-5)


def test_tensor_loader_reshuffles_every_epoch_and_covers_all(sample_sets):
    _, test = sample_sets
    loader = mnistlab.TensorLoader.from_dataset(test, batch_size=100, shuffle=True, seed=0)
    epoch1 = torch.cat([y for _, y in loader])
    epoch2 = torch.cat([y for _, y in loader])
    assert not torch.equal(epoch1, epoch2)
    assert epoch1.bincount().tolist() == test.targets.bincount().tolist()
    again = mnistlab.TensorLoader.from_dataset(test, batch_size=100, shuffle=True, seed=0)
    assert torch.equal(torch.cat([y for _, y in again]), epoch1)


def test_tensor_loader_from_subset_and_other_transforms(sample_sets):
    train, _ = sample_sets
    subset, _ = mnistlab.train_val_split(train, val_fraction=0.5, seed=0)
    images, labels = mnistlab.dataset_to_tensors(subset)
    assert images.shape == (2000, 1, 28, 28)
    assert torch.equal(labels, train.targets[subset.indices])
    # A transform the fast path does not recognise is applied image by image.
    flipped = mnistlab.MNISTSample(
        train=False,
        transform=transforms.Compose([transforms.ToTensor(), transforms.RandomVerticalFlip(1.0)]),
    )
    images, _ = mnistlab.dataset_to_tensors(flipped)
    assert torch.equal(images[0], flipped[0][0])


def test_tensor_loader_rejects_mismatched_tensors():
    with pytest.raises(ValueError, match="from_dataset"):
        mnistlab.TensorLoader(torch.zeros(5, 784), torch.zeros(5))


def test_denormalize_undoes_the_transform(sample_sets):
    train, _ = sample_sets
    image, _ = train[0]
    assert torch.allclose(mnistlab.denormalize(image)[0], train.data[0].float() / 255, atol=1e-6)


# --- local files always win; damaged files are named (issue 8) ---------------------------


def pack(raw):
    """Replace each file in `raw` by its .gz, as the official downloads come."""
    for path in list(raw.iterdir()):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()


def test_packed_gz_files_are_used_offline(no_network, capsys, tmp_path):
    raw, arrays = fake_mnist_folder(tmp_path)
    pack(raw)
    train, test = mnistlab.load_mnist(root=tmp_path, transform=None)
    assert type(train) is datasets.MNIST and len(train) == 5 and len(test) == 3
    assert torch.equal(test.data, torch.from_numpy(arrays["t10k"][0]))
    assert no_network == []  # the files won: no mirror was even tried
    assert (raw / "train-images-idx3-ubyte").is_file()  # unpacked next to the .gz
    assert not list(raw.glob("*.partial"))
    assert "from torchvision" in capsys.readouterr().out


def test_official_gz_files_from_shared_mnist_are_used_offline(shared_mnist, no_network, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):  # as handed out
        (raw / name).write_bytes((shared_mnist / name).read_bytes())
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / name).write_bytes((shared_mnist / "MNIST" / "raw" / name).read_bytes())
    test = mnistlab.torchvision_mnist(tmp_path, train=False)
    assert len(test) == 10_000 and test.targets[:4].tolist() == [7, 2, 1, 0]
    assert no_network == []


def test_a_cut_off_gz_file_is_named(no_network, tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    pack(raw)
    packed = raw / "t10k-images-idx3-ubyte.gz"
    packed.write_bytes(packed.read_bytes()[:200])
    with pytest.raises(mnistlab.MNISTFilesCorrupt) as info:
        mnistlab.load_mnist(root=tmp_path)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and str(raw) in message
    assert "Delete the folder" in message and "sample=True" in message
    assert not (raw / "t10k-images-idx3-ubyte").exists()  # no half-unpacked file left behind
    assert not list(raw.glob("*.partial"))


def damage_folder(raw, kind):
    """Damage the fake MNIST files in `raw` in one of the ways a real folder gets damaged."""
    labels = raw / "train-labels-idx1-ubyte"
    if kind == "a folder in a file's place":
        labels.unlink()
        labels.mkdir()
    elif kind == "a folder in a .gz file's place":
        labels.unlink()
        (raw / "train-labels-idx1-ubyte.gz").mkdir()
    elif kind == "an empty file":
        labels.write_bytes(b"")
    elif kind == "a header cut short":
        labels.write_bytes(labels.read_bytes()[:6])
    elif kind == "an empty .gz":
        labels.unlink()
        (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    elif kind == "a .gz that is not gzip":
        labels.unlink()
        (raw / "train-labels-idx1-ubyte.gz").write_text("<html>404 Not Found</html>")
    elif kind == "a .gz and its unpacked file disagreeing":
        (raw / "train-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">II", 0x801, 4) + bytes(4)))


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("a folder in a file's place", "train-labels-idx1-ubyte in .* is a folder"),
        ("a folder in a .gz file's place", "train-labels-idx1-ubyte.gz in .* is a folder"),
        ("an empty file", "train-labels-idx1-ubyte in .* found no header"),
        ("a header cut short", "train-labels-idx1-ubyte in .* a header that ends early"),
        ("an empty .gz", "train-labels-idx1-ubyte.gz in .* could not be unpacked"),
        ("a .gz that is not gzip", "train-labels-idx1-ubyte.gz in .* could not be unpacked"),
        ("a .gz and its unpacked file disagreeing",
         "train-labels-idx1-ubyte and train-labels-idx1-ubyte.gz in .* disagree"),
    ],
)
def test_damaged_local_files_are_named_never_replaced_by_the_sample(
    no_network, capsys, tmp_path, kind, problem
):
    raw, _ = fake_mnist_folder(tmp_path)
    damage_folder(raw, kind)
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match=problem) as info:
        mnistlab.load_mnist(root=tmp_path)  # sample=None: it falls back only for missing files
    assert str(raw) in str(info.value) and "sample=True" in str(info.value)
    assert capsys.readouterr().out == "" and no_network == []  # no fallback, no download
    assert sorted(p.name for p in raw.iterdir() if p.suffix == ".partial") == []


def test_a_damaged_unpacked_file_next_to_its_gz_says_delete_the_unpacked_one(tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    labels = raw / "train-labels-idx1-ubyte"
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels.read_bytes()))
    labels.write_bytes(labels.read_bytes()[:8] + bytes(2))  # cut off after 2 of 5 labels
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match=(
        r"train-labels-idx1-ubyte in .* is 10 bytes .* cut off \(truncated.* Delete "
        r"train-labels-idx1-ubyte \(it is unpacked again from train-labels-idx1-ubyte.gz\)"
    )):
        mnistlab.torchvision_mnist(tmp_path, train=True)
    labels.unlink()
    assert len(mnistlab.torchvision_mnist(tmp_path, train=True)) == 5  # the fix works


def test_images_and_labels_must_agree_in_number(tmp_path):
    raw, arrays = fake_mnist_folder(tmp_path, n_train=6)
    write_idx(raw / "train-labels-idx1-ubyte", arrays["train"][1][:5])  # 6 images, 5 labels
    with pytest.raises(mnistlab.MNISTFilesCorrupt) as info:
        mnistlab.load_mnist(root=tmp_path)
    message = str(info.value)
    assert "6 images" in message and "5 labels" in message
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message


def test_labels_file_in_place_of_images_is_named(tmp_path):
    raw, arrays = fake_mnist_folder(tmp_path)
    write_idx(raw / "t10k-images-idx3-ubyte", arrays["t10k"][1])  # a labels file, wrong name
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match="t10k-images-idx3-ubyte.*0x00000803"):
        mnistlab.load_mnist(root=tmp_path)


def test_images_of_another_size_and_labels_above_nine_are_rejected(tmp_path):
    raw, arrays = fake_mnist_folder(tmp_path)
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((5, 32, 32), dtype=np.uint8))
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match=r"\(5, 32, 32\)"):
        mnistlab.torchvision_mnist(tmp_path, train=True)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([1, 2, 12], dtype=np.uint8))
    with pytest.raises(mnistlab.MNISTFilesCorrupt, match="label 12"):
        mnistlab.torchvision_mnist(tmp_path, train=False)


def test_root_pointing_at_the_raw_folder_is_understood(no_network, tmp_path):
    raw, arrays = fake_mnist_folder(tmp_path)
    train = mnistlab.torchvision_mnist(raw, train=True, transform=None)
    assert torch.equal(train.data, torch.from_numpy(arrays["train"][0]))


def test_files_with_other_names_are_listed_in_the_reason(no_network, capsys, tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    (raw / "train-images-idx3-ubyte").rename(raw / "train-images.idx3-ubyte")  # Kaggle's name
    mnistlab.load_mnist(root=tmp_path, verbose=True)
    out = capsys.readouterr().out
    assert "train-images.idx3-ubyte" in out and "missing train-images-idx3-ubyte" in out


# --- the data folder: where, and the fix --------------------------------------------------


def test_data_dir_variable_pointing_at_a_file(monkeypatch, capsys, tmp_path):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("hello")
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(not_a_folder))
    with pytest.raises(mnistlab.MNISTUnavailable) as info:
        mnistlab.load_mnist(sample=False)
    message = str(info.value)
    assert str(not_a_folder) in message and "MNISTLAB_DATA_DIR" in message
    assert "sample=True" in message and "is a file" in message
    train, _ = mnistlab.load_mnist()  # default settings: the sample, saying precisely why
    assert isinstance(train, mnistlab.MNISTSample)
    out = capsys.readouterr().out
    assert "is a file" in out and "MNISTLAB_DATA_DIR" in out


def test_unwritable_data_folder_is_named_before_downloading(monkeypatch, tmp_path):
    locked = tmp_path / "locked"

    def refuse(path, *args, **kwargs):  # what a read-only folder answers (tests may run as root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data, "_mirror_reachable", lambda *a, **k: True)
    monkeypatch.setattr(data.Path, "mkdir", refuse)
    with pytest.raises(mnistlab.MNISTUnavailable) as info:
        mnistlab.torchvision_mnist(locked)
    message = str(info.value)
    assert str(locked) in message and "Permission denied" in message
    assert "MNISTLAB_DATA_DIR" in message and "sample=True" in message


def test_failed_download_names_the_folder_and_the_fix(no_network, monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_mirror_reachable", lambda *a, **k: True)  # then the link drops
    with pytest.raises(mnistlab.MNISTUnavailable) as info:
        mnistlab.load_mnist(root=tmp_path, sample=False)
    message = str(info.value)
    assert "download" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "delete that folder" in message and "sample=True" in message


def test_no_network_reason_names_the_folder_and_how_to_copy_files(no_network, capsys, tmp_path):
    mnistlab.load_mnist(root=tmp_path)
    out = capsys.readouterr().out
    assert str(tmp_path / "MNIST" / "raw") in out and "*-ubyte.gz" in out


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_sample_variable_off_values(value, monkeypatch, no_network, tmp_path):
    fake_mnist_folder(tmp_path)
    monkeypatch.setenv("MNISTLAB_SAMPLE", value)
    train, _ = mnistlab.load_mnist(root=tmp_path, verbose=False)
    assert type(train) is datasets.MNIST


def test_transform_class_without_brackets_is_explained():
    with pytest.raises(TypeError, match=r"transform=ToTensor\(\)"):
        mnistlab.load_mnist(sample=True, transform=transforms.ToTensor)


# --- splits and loaders: degenerate sizes and wrong types, up front (issue 8) -------------


def digits(n):
    """The first n real test digits of the offline sample, as a TensorDataset."""
    test = mnistlab.MNISTSample(train=False, transform=mnistlab.MNIST_TRANSFORM)
    images, labels = mnistlab.dataset_to_tensors(test)
    return torch.utils.data.TensorDataset(images[:n], labels[:n])


@pytest.mark.parametrize(
    ("n", "fraction", "side"), [(20, 0.01, "validation"), (20, 0.99, "training"), (1, 0.5, "")]
)
def test_train_val_split_refuses_an_empty_side(n, fraction, side):
    with pytest.raises(ValueError) as info:
        mnistlab.train_val_split(digits(n), val_fraction=fraction)
    message = str(info.value)
    assert "val_fraction" in message and f"{n} examples" in message and side in message


def test_train_val_split_percent_and_wrong_types():
    with pytest.raises(ValueError, match="write 0.1"):
        mnistlab.train_val_split(digits(20), val_fraction=10)
    with pytest.raises(TypeError, match="val_fraction"):
        mnistlab.train_val_split(digits(20), val_fraction="0.1")
    with pytest.raises(TypeError, match="dataset"):
        mnistlab.train_val_split(None)
    train, val = mnistlab.train_val_split(digits(20), val_fraction=0.1)
    assert (len(train), len(val)) == (18, 2)


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, "100", True])
def test_batch_size_is_checked_up_front(batch_size):
    images, labels = digits(10).tensors
    for make in (lambda: mnistlab.TensorLoader(images, labels, batch_size=batch_size),
                 lambda: mnistlab.make_loader(digits(10), batch_size=batch_size)):
        with pytest.raises((TypeError, ValueError), match="batch_size"):
            make()


def test_tensor_loader_rejects_what_would_fail_later():
    images, labels = digits(10).tensors
    cases = [
        ((images.numpy(), labels), "torch.as_tensor"),
        ((images.double(), labels), "images.float()"),
        (((images * 255).to(torch.uint8), labels), "MNIST_MEAN"),
        ((images, labels.float()), ".long()"),
        ((images[:0], labels[:0]), "empty"),
        ((images.masked_fill(images > 2, float("nan")), labels), "NaN"),
    ]
    for (x, y), fix in cases:
        with pytest.raises((TypeError, ValueError)) as info:
            mnistlab.TensorLoader(x, y)
        assert fix in str(info.value)


def test_make_loader_rejects_empty_and_mistaken_datasets():
    images, labels = digits(10).tensors
    with pytest.raises(ValueError, match="empty"):
        mnistlab.make_loader(digits(0))
    with pytest.raises(TypeError, match="TensorDataset"):
        mnistlab.make_loader((images, labels))
    with pytest.raises(TypeError, match="loader.dataset"):
        mnistlab.make_loader(mnistlab.make_loader(digits(10)))


def test_take_explains_floats_and_accepts_numpy_integers():
    with pytest.raises(ValueError, match="write 10_000"):
        mnistlab.take(digits(10), 1e4)
    assert len(mnistlab.take(digits(10), np.int64(3))) == 3


def test_dataset_to_tensors_of_pil_images_says_to_use_the_transform():
    with pytest.raises(TypeError, match="MNIST_TRANSFORM"):
        mnistlab.dataset_to_tensors(mnistlab.take(mnistlab.MNISTSample(transform=None), 5))


def test_train_must_be_true_or_false():
    with pytest.raises(TypeError, match="train must be True"):
        mnistlab.MNISTSample(train="test")  # a non-empty string is truthy: the wrong split


def test_tensor_loader_on_a_missing_gpu_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    images, labels = digits(4).tensors
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        mnistlab.TensorLoader(images, labels, device="cuda")


def test_gz_files_on_a_read_only_stick_say_what_to_do(no_network, monkeypatch, tmp_path):
    raw, _ = fake_mnist_folder(tmp_path)
    pack(raw)

    def read_only(*args, **kwargs):  # what unpacking meets on a read-only USB stick
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(data, "unpack", read_only)
    with pytest.raises(mnistlab.MNISTUnavailable) as info:
        mnistlab.load_mnist(root=tmp_path, sample=False)
    message = str(info.value)
    assert str(raw) in message and "Read-only" in message and "gunzip" in message
