"""mnistlab.exercises.gpu: notebook 06a's check of a device-agnostic evaluation loop."""

import torch

import mnistlab
from mnistlab.exercises.gpu import check_evaluate_on


def example():
    """An untrained LeNet and a loader of 50 random images in batches of 16 (the last 2)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(50, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (50,), generator=generator)
    dataset = torch.utils.data.TensorDataset(images, labels)
    return mnistlab.build_model("lenet", seed=0), torch.utils.data.DataLoader(dataset, 16)


def worked(model, loader, device):
    model.to(device).eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    return correct / total


def verdict(capsys, evaluate_on):
    model, loader = example()
    before = [p.clone() for p in model.parameters()]
    ok = check_evaluate_on(evaluate_on, model, loader)
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("Right: " if ok else "Not yet: ")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # a copy ran
    return ok, line


def test_the_worked_answer_is_right(capsys):
    ok, line = verdict(capsys, worked)
    assert ok and "all 50 digits" in line


def test_a_tensor_accuracy_is_right_too(capsys):
    def as_tensor(model, loader, device):
        return torch.tensor(worked(model, loader, device))

    assert verdict(capsys, as_tensor)[0]


def test_the_skeleton_is_not_yet(capsys):
    ok, line = verdict(capsys, lambda model, loader, device: None)
    assert not ok and "returned None" in line


def test_a_percentage_is_not_yet(capsys):
    ok, line = verdict(capsys, lambda model, loader, device: 100 * worked(model, loader, device))
    assert not ok and "a percentage" in line


def test_a_count_is_not_yet(capsys):
    def count(model, loader, device):
        return round(worked(model, loader, device) * 50)

    model, loader = example()
    if worked(model, loader, "cpu") * 50 > 1:  # a count of 0 or 1 would pass as a fraction
        ok, line = verdict(capsys, count)
        assert not ok and "more than 1" in line


def test_counting_only_the_last_batch_is_not_yet(capsys):
    def last_batch_only(model, loader, device):
        model.to(device).eval()
        with torch.no_grad():
            for images, labels in loader:
                correct = (model(images.to(device)).argmax(dim=1) == labels.to(device)).sum()
        return correct.item() / len(labels)

    ok, line = verdict(capsys, last_batch_only)
    assert not ok and "mnistlab.evaluate gives" in line


def test_code_that_raises_is_not_yet(capsys):
    def typo(model, loader, device):
        return model.too(device)

    ok, line = verdict(capsys, typo)
    assert not ok and "AttributeError" in line and "device=device(type='cpu')" in line


def test_a_loop_that_never_moves_the_model_is_not_yet(capsys):
    def unmoved(model, loader, device):
        model.eval()
        with torch.no_grad():
            right = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in loader)
        return right / len(loader.dataset)

    ok, line = verdict(capsys, unmoved)
    assert not ok and "never moved: call model.to(device)" in line


def test_a_loop_without_eval_or_no_grad_is_not_yet(capsys):
    def without_eval(model, loader, device):
        model.to(device)
        with torch.no_grad():
            right = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in loader)
        return right / len(loader.dataset)

    def with_gradients(model, loader, device):
        model.to(device).eval()
        right = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in loader)
        return right / len(loader.dataset)

    ok, line = verdict(capsys, without_eval)
    assert not ok and "training mode: call model.eval()" in line
    ok, line = verdict(capsys, with_gradients)
    assert not ok and "torch.no_grad()" in line
