"""The two pipelines' training loops, and the settings the fast path is timed in.

* the **tutorial pipeline (torchvision + DataLoader)** (`tutorial_steps`): every digit goes
  through PIL, ToTensor and Normalize in a `DataLoader`, every epoch, and the loop reads
  `loss.item()` after every step, which makes the CPU wait for the device each time;
* the **mnistlab fast path** (`fast_path_steps`): batches are slices of one normalised
  tensor already on the device (`mnistlab.TensorLoader`), and the loop never waits for
  the device. It is the loop `mnistlab.fit` runs, without fit's bookkeeping (whose cost
  `overhead.py` measures), so that the layout and precision settings can be added to it.

Both train in float32 in PyTorch's default (NCHW) layout unless a `Setting` says otherwise.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from mnistlab.loaders import TensorLoader
from mnistlab.models import MODELS, build_model

from .timing import synchronize, take_batches

BATCH_SIZE = 100  # the tutorials' batch size: both pipelines use it
LEARNING_RATE = 1e-3  # Adam's default; the speed does not depend on it
CNN_MODELS = tuple(name for name in MODELS if not name.startswith("mlp"))

TUTORIAL = "tutorial pipeline (torchvision + DataLoader)"
FAST_PATH = "mnistlab fast path"


def tutorial_steps(model, loader, optimizer, batches, device):
    """Train for `batches` batches as MNIST tutorials do; return the number of images used."""
    model.train()
    running_loss, images = 0.0, 0
    for x, y in take_batches(loader, batches):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # the tutorials' habit: the CPU waits for the device here
        images += len(y)
    return images


def dataloader_steps(loader, batches):
    """Only draw `batches` batches from a DataLoader, without training; return the image count.

    This is what the tutorial pipeline's data preparation costs, whatever the model.
    """
    return sum(len(y) for _, y in take_batches(loader, batches))


def tutorial_run(name, train_set, device, batch_size=BATCH_SIZE):
    """A fresh model, Adam and a DataLoader over `train_set`; return run(batches) -> images."""
    model = build_model(name, seed=0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)  # as tutorials write it

    def run(batches):
        return tutorial_steps(model, loader, optimizer, batches, device)

    run.model = model
    return run


@dataclass(frozen=True)
class Setting:
    """One way to run the fast path: layout, precision, compilation.

    Args:
        channels_last: store activations as (N, H, W, C), which convolutions prefer.
        precision: None for float32, or "bf16" / "fp16" for mixed precision
            (`torch.autocast`; float16 adds a gradient scaler).
        compile: run the model through `torch.compile` (CUDA only here).
    """

    channels_last: bool = False
    precision: str = None
    compile: bool = False

    @property
    def name(self):
        parts = (["channels-last"] if self.channels_last else []) + [self.precision or ""]
        parts += ["compile"] if self.compile else []
        return "+".join(part for part in parts if part) or "float32"


def precision_for(device):
    """The mixed precision worth timing: bfloat16, or float16 on GPUs without bfloat16."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "fp16"
    return "bf16"


def settings_for(device, model_name, compile_models=True):
    """The fast path's settings to time for one model, the float32 baseline first.

    Each of the next ones changes one thing from it (layout for CNNs, precision); then
    all that apply together, and on CUDA that again through `torch.compile`.
    """
    device = torch.device(device)
    precision = precision_for(device)
    is_cnn = model_name in CNN_MODELS
    settings = [Setting()]
    if is_cnn:
        settings.append(Setting(channels_last=True))
    if device.type in ("cpu", "cuda"):
        settings.append(Setting(precision=precision))
        if is_cnn:
            settings.append(Setting(channels_last=True, precision=precision))
    if device.type == "cuda" and compile_models:
        settings.append(Setting(channels_last=is_cnn, precision=precision, compile=True))
    return settings


def fast_path_steps(model, loader, optimizer, batches, setting=None, scaler=None):
    """Train for `batches` batches from a TensorLoader in `setting`; return the images used.

    `setting` defaults to float32 in the default layout; the model must already be in the
    setting's layout (see `fast_path_run`).
    """
    setting = setting or Setting()
    model.train()
    device_type = loader.device.type
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(setting.precision)
    images = 0
    for x, y in take_batches(loader, batches):
        if setting.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(x), y)
        if scaler is not None:  # float16 gradients can underflow to zero without it
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        images += len(y)
    synchronize(loader.device)
    return images


def fast_path_run(name, images, targets, device, setting=None, batch_size=BATCH_SIZE):
    """A fresh model in `setting`, Adam and a TensorLoader; return run(batches) -> images."""
    setting = setting or Setting()
    model = build_model(name, seed=0).to(device)
    if setting.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = TensorLoader(
        images, targets, batch_size=batch_size, shuffle=True, device=device, seed=0,
        drop_last=True,
    )
    scaler = None
    if setting.precision == "fp16":
        scaler = torch.amp.GradScaler(torch.device(device).type)
    trained = torch.compile(model) if setting.compile else model

    def run(batches):
        return fast_path_steps(trained, loader, optimizer, batches, setting, scaler)

    run.model = model
    return run

