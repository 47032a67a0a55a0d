"""Saving a trained model to a file and loading it back, on any machine.

Introduced in notebook 05.
"""

from pathlib import Path

import torch


def save_checkpoint(path, model, optimizer=None, history=None, **metadata):
    """Save the model's weights (its `state_dict`) and what is needed to use them again.

    Args:
        path: file to write, conventionally ending in `.pt`.
        model: the network; its `state_dict()` is saved, plus its name if it was made
            with `build_model`.
        optimizer: optionally saved too, to resume training later.
        history: the dict returned by `fit`, optionally.
        **metadata: anything else worth keeping (epochs, test accuracy, ...).
    """
    checkpoint = {
        "model_state": model.state_dict(),
        "model_name": getattr(model, "name", None),
        "torch_version": str(torch.__version__),
        "metadata": metadata,
    }
    if optimizer is not None:
        checkpoint["optimizer_state"] = optimizer.state_dict()
    if history is not None:
        checkpoint["history"] = history
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def load_checkpoint(path, model=None, optimizer=None, map_location=None):
    """Load a file written by `save_checkpoint`; fill `model` (and `optimizer`) with it.

    Tensors are mapped onto `map_location`, by default the device of `model`'s
    weights (or the CPU without a model), so a checkpoint saved on a GPU loads on a
    laptop with no GPU.

    Returns the checkpoint dict ("model_state", "model_name", "metadata", ...).
    """
    if map_location is None:
        map_location = next(model.parameters()).device if model is not None else "cpu"
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise RuntimeError(
            f"{path} could not be read as a checkpoint ({type(err).__name__}: {err}). "
            f"It may be truncated or from another program; save it again with "
            f"mnistlab.save_checkpoint."
        ) from err
    if model is not None:
        model.load_state_dict(checkpoint["model_state"])
    if optimizer is not None and "optimizer_state" in checkpoint:
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    return checkpoint
