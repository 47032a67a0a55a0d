"""Saving a trained model to a file and loading it back, on any machine.

What `save_checkpoint` saves, `load_checkpoint` loads: the file holds only tensors,
numbers, strings, lists and dicts (NumPy numbers are converted on the way in), so it
loads with `torch.load(..., weights_only=True)`, which runs no code from the file.
`load_checkpoint` also reads the files other code writes: a bare `state_dict` saved the
tutorial way (`torch.save(model.state_dict(), path)`), PyTorch's "general checkpoint"
(`{"model_state_dict": ..., "optimizer_state_dict": ...}`), and, when you say you trust
the file, a whole pickled model. Before changing any weight it checks that the file
fits the model, so a mismatch leaves the model as it was.

Introduced in notebook 05b.
"""

import importlib
import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checks import check_not_a_class
from .data import default_root
from .device import model_device
from .models import MODELS, build_model

CHECKPOINT_DIR_ENV = "MNISTLAB_CHECKPOINT_DIR"  # overrides where checkpoint_dir() points


def checkpoint_dir():
    """Return the folder for saved models, outside the notebooks (see below for where).

    It is `$MNISTLAB_CHECKPOINT_DIR` when that is set, else `default_root() / "checkpoints"`:
    next to the downloaded MNIST (by default `~/.cache/mnistlab/checkpoints`),
    outside the notebooks' folder, so checkpoints neither clutter the notebooks nor end
    up in git. The folder is created by `save_checkpoint` when it first saves there.
    Use it as `save_checkpoint(checkpoint_dir() / "cnn.pt", model)`.
    """
    if os.environ.get(CHECKPOINT_DIR_ENV):
        return Path(os.environ[CHECKPOINT_DIR_ENV]).expanduser()
    return default_root() / "checkpoints"


# --- saving -------------------------------------------------------------------------------


def _plain(value, where):
    """Return `value` with NumPy numbers and arrays turned into Python numbers and tensors.

    Raises TypeError, naming `where` (e.g. "metadata['best_epoch']"), for anything that
    `torch.load(weights_only=True)` could not read back.
    """
    if isinstance(value, np.generic):
        return value.item()  # np.int64(3) -> 3, np.float32(0.5) -> 0.5
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{where} is a NumPy array of Python objects: store numbers instead")
        return torch.from_numpy(value.copy())
    if value is None or isinstance(
        value, (bool, int, float, complex, str, bytes, torch.Tensor, torch.device, torch.dtype)
    ):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {key: _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    raise TypeError(
        f"{where} is a {type(value).__name__}, which a checkpoint cannot hold safely: save "
        f"numbers, strings, lists, dicts or tensors (for example float(x), str(x) or x.tolist())"
    )


def _state_of(model):
    """The `state_dict` to save: from a model, or a state_dict passed directly."""
    if isinstance(model, nn.Module):
        return model.state_dict()
    if isinstance(model, Mapping) and all(isinstance(v, torch.Tensor) for v in model.values()):
        return dict(model)
    check_not_a_class(model, "model", "pass the trained network itself")
    raise TypeError(
        f"model must be the trained network (an nn.Module) or its state_dict(), got "
        f"{type(model).__name__}"
    )


def save_checkpoint(path, model, optimizer=None, history=None, **metadata):
    """Save the model's weights (its `state_dict`) and what is needed to use them again.

    Args:
        path: file to write, conventionally ending in `.pt`; its folder is created.
            `checkpoint_dir() / "name.pt"` keeps checkpoints out of the notebooks' folder.
        model: the network; its `state_dict()` is saved, plus its name if it was made
            with `build_model` and its class name.
        optimizer: optionally saved too, to resume training later.
        history: the dict returned by `fit`, optionally.
        **metadata: anything else worth keeping (epochs, test accuracy, ...): numbers,
            strings, lists, dicts, tensors. NumPy numbers are converted to Python ones.

    The file is written under a temporary name, read back, and only then renamed, so a
    failed save (a full disk) never destroys an earlier checkpoint of the same name.
    Returns the path written.
    """
    if isinstance(path, nn.Module):
        raise TypeError(
            "the first argument of save_checkpoint is the file, then the model: "
            "save_checkpoint('model.pt', model)"
        )
    checkpoint = {
        "model_state": _state_of(model),
        "model_name": getattr(model, "name", None),
        "model_class": type(model).__name__ if isinstance(model, nn.Module) else None,
        "torch_version": str(torch.__version__),
        "metadata": _plain(metadata, "metadata"),
    }
    if optimizer is not None:
        checkpoint["optimizer_state"] = optimizer.state_dict()
        checkpoint["optimizer_class"] = type(optimizer).__name__
    if history is not None:
        checkpoint["history"] = _plain(history, "history")
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(
            f"path {path} is a folder: give a file name inside it, e.g. {path / 'model.pt'}"
        )
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, partial)
        torch.load(partial, map_location="cpu", weights_only=True)  # what saves, loads
        os.replace(partial, path)
    except OSError as err:
        if partial.parent.is_dir():
            partial.unlink(missing_ok=True)
        raise type(err)(
            err.errno,
            f"could not save the checkpoint to {path}: {err.strerror or err}. The model is still "
            f"in memory, so nothing is lost: save to a folder you can write to "
            f"(mnistlab.checkpoint_dir() / 'model.pt') or free some disk space",
        ) from err
    return path


# --- loading ------------------------------------------------------------------------------

_NUMPY_GLOBALS = {  # what NumPy numbers and arrays need to be rebuilt: data, never code
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.ndarray", "numpy.dtype",
}


def _numpy_globals(path):
    """The NumPy constructors `path` needs, as (object, name) pairs; None if it needs others."""
    find = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if find is None or not hasattr(torch.serialization, "safe_globals"):
        return None  # an older PyTorch: only a trusted load can read NumPy values
    try:
        names = find(path)
    except Exception:  # not even a readable PyTorch file
        return None
    if not names or not all(
        n in _NUMPY_GLOBALS or (n.startswith("numpy.dtypes.") and n.endswith("DType"))
        for n in names
    ):
        return None
    pairs = []
    with warnings.catch_warnings():  # numpy.core is a deprecated alias of numpy._core
        warnings.simplefilter("ignore")
        for name in names:
            module, _, attribute = name.rpartition(".")
            pairs.append((getattr(importlib.import_module(module), attribute), name))
    dtypes = getattr(np, "dtypes", None)  # the class of each dtype (np.dtype("int64") & co.)
    pairs += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")] if dtypes else []
    return pairs


class CheckpointError(ValueError):
    """A file that cannot be read as a checkpoint: the message names it, what is wrong, the fix.

    `path`, `problem` and `fix` are kept as attributes, so a caller that knows a better fix
    (the command line, for its own default model) can say that one instead.
    """

    def __init__(self, path, problem, fix):
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"checkpoint {str(path)!r} {problem}. Fix: {fix}.")


RESAVE = (
    "if the trained model is still in memory, save it again with "
    "mnistlab.save_checkpoint(path, model); otherwise copy the file again from where it came "
    "from, or train the model again"
)


def _check_file(path):
    """Raise a clear error unless `path` is an existing, non-empty file."""
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.pt*"))
        raise IsADirectoryError(
            f"checkpoint {str(path)!r} is a folder, not a checkpoint file"
            + (f": it holds {', '.join(found[:5])}; pass one of them" if found else
               ": pass the .pt file inside it")
        )
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint at {str(path)!r}: check the name, or run the code that saves it "
            f"first (a relative path starts in the current folder, {Path.cwd()})"
        )
    if path.stat().st_size == 0:
        raise CheckpointError(path, "is empty (0 bytes): the save that wrote it was interrupted "
                              "before any data", RESAVE)


def _damage(path, err):
    """Say what a file that torch.load could not read looks like: cut off, text, or foreign."""
    with open(path, "rb") as f:
        start = f.read(64)
    size = path.stat().st_size
    if start.startswith(b"PK\x03\x04") or start.startswith(b"\x80"):  # torch.save's formats
        said = str(err).split(". ")[0].splitlines()[0][:100] if str(err) else "-"
        problem = (f"is damaged or cut off ({size:,} bytes; PyTorch says {type(err).__name__}: "
                   f"{said}): a save or a copy was interrupted")
    elif _looks_like_text(start):
        problem = (f"is a text file (it starts with {start.decode()[:20]!r}), not a PyTorch "
                   f"checkpoint")
    else:
        problem = f"is not a PyTorch file (it does not start like one: {start[:8]!r})"
    return CheckpointError(path, problem, RESAVE)


def _looks_like_text(start):
    """True when these bytes read as printable text (letters, digits, spaces, line breaks)."""
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError:  # a multi-byte character cut at the end counts as not text
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _read(path, map_location, trusted):
    """torch.load with weights_only=True (or False when trusted), with errors that say why."""
    try:
        return torch.load(path, map_location=map_location, weights_only=not trusted)
    except pickle.UnpicklingError as err:
        numpy_globals = None if trusted else _numpy_globals(path)
        if numpy_globals is not None:  # NumPy numbers from an older save: safe to rebuild
            with torch.serialization.safe_globals(numpy_globals):
                return torch.load(path, map_location=map_location, weights_only=True)
        if trusted or "Unsupported global" not in str(err):
            raise _damage(path, err) from err
        raise CheckpointError(
            path, "holds Python objects besides tensors and numbers (a whole model saved with "
            "torch.save(model), or another program's checkpoint), and reading it runs code "
            "stored in the file",
            "if you made the file or trust where it comes from, load it with "
            "load_checkpoint(path, model, trusted=True)",
        ) from err
    except PermissionError:
        raise  # its message names the file and the reason already
    except Exception as err:  # torch raises OSError, RuntimeError, EOFError ... for a damaged file
        raise _damage(path, err) from err


def _as_checkpoint(loaded, path):
    """Turn whatever the file held into mnistlab's checkpoint dict."""
    if isinstance(loaded, nn.Module):  # torch.save(model): a whole pickled model (trusted)
        loaded = {"model_state": loaded.state_dict(), "model_name": getattr(loaded, "name", None),
                  "model_class": type(loaded).__name__}
    if not isinstance(loaded, Mapping):
        raise CheckpointError(
            path, f"holds a {type(loaded).__name__}, not model weights",
            "save a model with mnistlab.save_checkpoint(path, model)",
        )
    if "model_state" in loaded:  # mnistlab's own
        checkpoint = dict(loaded)
    elif "model_state_dict" in loaded or "state_dict" in loaded:  # other programs' habits
        key = "model_state_dict" if "model_state_dict" in loaded else "state_dict"
        checkpoint = {"model_state": loaded[key]}
        if "optimizer_state_dict" in loaded:
            checkpoint["optimizer_state"] = loaded["optimizer_state_dict"]
        rest = {k: v for k, v in loaded.items() if k not in (key, "optimizer_state_dict")}
        checkpoint["metadata"] = rest
    elif loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        checkpoint = {"model_state": dict(loaded)}  # torch.save(model.state_dict(), path)
    else:
        raise CheckpointError(
            path, f"holds a dict with keys {sorted(map(str, loaded))[:8]}, but no model weights "
            f"(no 'model_state', 'model_state_dict' or 'state_dict')",
            "it was saved by another program: check what it saved, or save a model with "
            "mnistlab.save_checkpoint(path, model)",
        )
    checkpoint.setdefault("model_name", None)
    checkpoint.setdefault("metadata", {})
    for key in ("metadata", "history"):
        if key in checkpoint:
            checkpoint[key] = _plain_loaded(checkpoint[key])
    return checkpoint


def _plain_loaded(value):
    """Like `_plain`, for values read back: NumPy numbers become Python ones, others stay."""
    try:
        return _plain(value, "value")
    except TypeError:
        return value


def _describe_stored(checkpoint):
    name, cls = checkpoint.get("model_name"), checkpoint.get("model_class")
    if name:
        return f"the model {name!r}" + (f" (a {cls})" if cls else "")
    return f"a {cls}" if cls else "weights of a model whose name was not saved"


def _fitting_state(model, state, checkpoint, path):
    """Return `state` ready for `model.load_state_dict`, or raise before touching any weight."""
    wanted = model.state_dict()
    keys = set(state)
    for prefix in ("module.", "model.", "_orig_mod."):  # DataParallel, Lightning, torch.compile
        if keys and all(k.startswith(prefix) for k in keys) and not all(
            k.startswith(prefix) for k in wanted
        ):
            state = {k[len(prefix):]: v for k, v in state.items()}
            keys = set(state)
    optional = {k for k in wanted if k.endswith("num_batches_tracked")}  # older BatchNorm
    missing = sorted(set(wanted) - keys - optional)
    unexpected = sorted(keys - set(wanted))
    resized = sorted(
        f"{k}: file {tuple(state[k].shape)}, model {tuple(wanted[k].shape)}"
        for k in keys & set(wanted)
        if tuple(state[k].shape) != tuple(wanted[k].shape)
    )
    if not (missing or unexpected or resized):
        return state
    yours = getattr(model, "name", None)
    yours = f"{yours!r} (a {type(model).__name__})" if yours else f"a {type(model).__name__}"
    name = checkpoint.get("model_name")
    fix = (f"build that model first, model = mnistlab.build_model({name!r}), then load"
           if name else "build the same network that was saved, then load")
    details = "; ".join(
        f"{label} {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
        for label, items in (("missing", missing), ("unexpected", unexpected),
                             ("different shapes", resized))
        if items
    )
    raise ValueError(
        f"{path} holds {_describe_stored(checkpoint)}, which does not fit the model passed, "
        f"{yours} ({details}). The model was left unchanged: {fix}."
    )


def _check_optimizer_fits(optimizer, checkpoint, path):
    """Raise before loading anything when the saved optimizer state cannot fit `optimizer`."""
    saved = checkpoint["optimizer_state"]
    saved_class = checkpoint.get("optimizer_class")
    if saved_class and saved_class != type(optimizer).__name__:
        raise ValueError(
            f"{path} holds the state of a {saved_class} optimizer, but optimizer is a "
            f"{type(optimizer).__name__}: create a {saved_class}(model.parameters(), ...) to "
            f"resume, or leave optimizer out to load the weights only"
        )
    saved_sizes = [len(group["params"]) for group in saved.get("param_groups", [])]
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if saved_sizes != sizes:
        raise ValueError(
            f"{path} holds an optimizer for parameter groups of sizes {saved_sizes}, but optimizer "
            f"has {sizes}: create it for the same model as when saving, or leave optimizer out"
        )


def load_checkpoint(path, model=None, optimizer=None, map_location=None, trusted=False):
    """Load a saved model: fill `model` (and `optimizer`) with it and return its contents.

    Reads files written by `save_checkpoint`, bare state_dicts (`torch.save(
    model.state_dict(), path)`), and PyTorch's general checkpoints (`"model_state_dict"`).
    Tensors are mapped onto `map_location`, by default the device of `model`'s weights
    (or the CPU without a model), so a checkpoint saved on a GPU loads on a laptop.
    Nothing is changed unless the whole file fits: a file of another network raises an
    error naming the network stored in it, and the model keeps its weights.

    Args:
        path: the file.
        model: the network to fill; it must be built like the one saved.
        optimizer: optionally filled too, to resume training.
        map_location: where to put the tensors (default: see above).
        trusted: False (default) reads only tensors and numbers, so the file can run no
            code. True allows any pickled Python object (a whole model saved with
            `torch.save(model)`): only for files you made or trust.

    Returns the checkpoint dict ("model_state", "model_name", "metadata", ...).
    Raises FileNotFoundError or IsADirectoryError for a wrong path, `CheckpointError`
    (naming the file, what is wrong and the fix) for an empty, cut-off, foreign or
    untrusted file, and ValueError when the file does not fit `model` or `optimizer`.
    """
    if isinstance(path, nn.Module):
        raise TypeError(
            "the first argument of load_checkpoint is the file, then the model: "
            "load_checkpoint('model.pt', model)"
        )
    check_not_a_class(model, "model", "build the network first, e.g. model = "
                      "mnistlab.build_model('cnn'), then load_checkpoint(path, model)")
    path = Path(path).expanduser()
    _check_file(path)
    if map_location is None:
        map_location = model_device(model) if model is not None else "cpu"
    checkpoint = _as_checkpoint(_read(path, map_location, trusted), path)
    if model is not None:
        state = _fitting_state(model, checkpoint["model_state"], checkpoint, path)
        if optimizer is not None and "optimizer_state" in checkpoint:
            _check_optimizer_fits(optimizer, checkpoint, path)
        model.load_state_dict(state, strict=False)  # every key was checked above
    if optimizer is not None and "optimizer_state" in checkpoint:
        if model is None:
            _check_optimizer_fits(optimizer, checkpoint, path)
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    return checkpoint


def load_model(path, map_location="cpu", trusted=False):
    """Rebuild the network saved in a file and load its weights; return `(model, checkpoint)`.

    Unlike `load_checkpoint`, no model is passed: the network is built by the name that
    `save_checkpoint` stores in the file (`build_model(name)`). A file without a name (a
    bare `state_dict`, saved the tutorial way) is tried against every network of the
    series, and the one it fits is used. The model is returned in evaluation mode.

    Args:
        path: the file.
        map_location: where to put the tensors (default the CPU).
        trusted: see `load_checkpoint`.

    Raises `CheckpointError` when the file is damaged or holds weights that fit none of
    mnistlab's networks (the message names the file and the fix).
    """
    path = Path(path).expanduser()
    checkpoint = load_checkpoint(path, map_location=map_location, trusted=trusted)
    saved_name = checkpoint.get("model_name")
    names = [saved_name] if saved_name in MODELS else list(MODELS)
    for name in names:
        model = build_model(name)
        try:
            state = _fitting_state(model, checkpoint["model_state"], checkpoint, path)
        except ValueError:
            continue
        model.load_state_dict(state, strict=False)  # every key was checked above
        checkpoint["model_name"] = name
        return model.to(map_location).eval(), checkpoint
    raise CheckpointError(
        path, f"holds {_describe_stored(checkpoint)}, and those weights fit none of "
        f"mnistlab's networks ({', '.join(MODELS)})",
        "build the network that was saved yourself and fill it with "
        "mnistlab.load_checkpoint(path, model)",
    )
