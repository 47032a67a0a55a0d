"""Early stopping: watch the validation loss, remember the best epoch, stop when it stalls.

Training longer first lowers the validation loss, then raises it again as the network
starts to memorise its training digits (overfitting). `EarlyStopping` notices when the
loss has not improved for `patience` epochs in a row, and can keep the weights of the
best epoch to put back at the end. `mnistlab.fit(patience=..., restore_best=...)` uses it.

Introduced in notebook 07b.
"""

import copy
import math


class EarlyStopping:
    """Track the validation loss epoch by epoch: the best epoch, and when to stop.

    Args:
        patience: stop once the loss has not improved for this many epochs in a row
            (None: never stop early).
        keep_weights: keep a copy of the best epoch's weights in memory, for `restore`.
    """

    def __init__(self, patience=None, keep_weights=False):
        self.patience = patience
        self.keep_weights = keep_weights
        self.best_loss = math.inf
        self.best_epoch = None
        self.best_weights = None
        self.epochs_without_improvement = 0

    def update(self, epoch, loss, model):
        """Record one epoch's validation loss; return True when training should stop."""
        if loss < self.best_loss:  # a NaN loss is never the best
            self.best_loss, self.best_epoch = loss, epoch
            self.epochs_without_improvement = 0
            if self.keep_weights:  # a copy in memory, not a file
                self.best_weights = copy.deepcopy(model.state_dict())
        else:
            self.epochs_without_improvement += 1
        return self.patience is not None and self.epochs_without_improvement >= self.patience

    def restore(self, model):
        """Load the best epoch's weights into `model`; return False when none were kept."""
        if self.best_weights is None:
            return False
        model.load_state_dict(self.best_weights)
        return True
