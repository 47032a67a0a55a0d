"""mnistlab: the companion package of a PyTorch teaching series on MNIST.

One small module per idea, each named after it:

* `data`: MNIST (torchvision, or an offline sample of real digits), splits;
  `loaders`: batches (`make_loader`, `TensorLoader`); `idx`: MNIST's file format, read
  and checked; `checks`: what the networks and training functions check first, with
  errors that say the fix
* `models`: every network of the series, by name
* `training`: `train_one_epoch`, `evaluate`, `fit`, `predict`; `early_stopping`: when
  to stop, and the best epoch's weights
* `plotting`: pixel values, image grids, curves, confusion matrix
* `metrics`: how sure an accuracy is (intervals for a finite test set)
* `digits`: your own digit, drawn or photographed, prepared like MNIST's (notebooks 08a and 08b);
  `drawing`: the drawing pad, digits drawn from stored strokes, random distortions;
  `cli`: the command line, `python -m mnistlab predict IMAGE.png` reads one from a file
* `checkpoint`: saving a model and loading it back (`load_checkpoint`, `load_model`)
* `exercises`: the checks behind the notebooks' "Your turn" cells and open exercises
* `device`, `seed`, `summary`: the helpers around them

Importing it has no side effects: no downloads, no seeding, no matplotlib settings.
"""

from . import exercises
from .checkpoint import (
    CheckpointError,
    checkpoint_dir,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from .data import (
    MNIST_MEAN,
    MNIST_STD,
    MNIST_TRANSFORM,
    MNISTFilesCorrupt,
    MNISTSample,
    MNISTUnavailable,
    default_root,
    denormalize,
    load_mnist,
    take,
    torchvision_mnist,
    train_val_split,
)
from .device import describe_device, get_device, model_device
from .digits import BlankImageError, DigitImageError, preprocess, to_batch
from .drawing import STROKE_DIGITS, DrawingPad, draw_strokes, random_distort
from .early_stopping import EarlyStopping
from .loaders import TensorLoader, dataset_to_tensors, make_loader
from .metrics import (
    accuracy_interval,
    accuracy_margin,
    differ,
    format_accuracy,
    mean_interval,
    paired_difference,
)
from .models import (
    BNCNN,
    CNN,
    MLP,
    MODELS,
    DeepCNN,
    LeNet,
    build_model,
    count_parameters,
)
from .plotting import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_digit_pixels,
    plot_history,
    plot_probabilities,
    show_images,
    show_misclassified,
)
from .seed import seed_everything
from .summary import summary
from .training import (
    TrainingDiverged,
    evaluate,
    fit,
    predict,
    predict_loader,
    train_one_epoch,
)

__version__ = "0.1.0"
