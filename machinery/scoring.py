"""Scoring a network on a labelled set, and noticing a network whose predictions are constant.

`evaluate` scores a loader in one pass, in eval mode: the accuracy (d2l's evaluate_accuracy_gpu), the mean loss
per example with the training loss function (what d2l's dog chapter tracks, since Kaggle scores log loss), and the
spread of the predictions. A network that collapsed (every image gets the same probabilities, e.g. all 1/120, a
loss of ln 120) or that predicts one class for every image scores a number that looks like a result; `constant`
says so in one sentence. train_ch13 says it at the end of training on its validation set, and predict on whatever
it predicted; the same sentence about the same net and loader is said once.
"""
import math

import torch

from . import accel
from .messages import tr

PROBABILITY_TOLERANCE = 1e-3    # every class's probability varies less than this across the images: constant
MIN_IMAGES_FOR_ONE_CLASS = 5    # fewer images all predicted as one class can happen by chance


class Spread:
    """What constant-prediction detection needs from a run of predictions, accumulated batch by batch: the number
    of images, each class's smallest and largest probability, and how often each class was the prediction."""

    def __init__(self):
        self.n, self.low, self.high, self.counts = 0, None, None, None

    def add(self, probs):
        """probs: (B, C) probabilities (rows sum to 1)."""
        probs = probs.detach().float()
        if probs.dim() != 2 or not len(probs):
            return
        low, high = probs.min(0).values.cpu(), probs.max(0).values.cpu()
        counts = torch.bincount(probs.argmax(1).cpu(), minlength=probs.shape[1])
        if self.n == 0:
            self.low, self.high, self.counts = low, high, counts
        else:
            self.low, self.high = torch.minimum(self.low, low), torch.maximum(self.high, high)
            self.counts = self.counts + counts
        self.n += len(probs)


def verdict(spread):
    """('same probabilities', n), ('one class', k, n) or None for a Spread (see constant). Identical probabilities
    that put at least half on one class (a net sure of one class for every image) count as 'one class' when there
    are enough images: that says more than 'the same probabilities'."""
    if spread.n < 2:
        return None
    identical = float((spread.high - spread.low).max()) < PROBABILITY_TOLERANCE
    top = int(spread.counts.argmax())
    one_class = spread.n >= MIN_IMAGES_FOR_ONE_CLASS and int(spread.counts[top]) == spread.n
    if one_class and (not identical or float(spread.low[top]) >= 0.5):
        return "one class", top, spread.n
    return ("same probabilities", spread.n) if identical else None


def _spread_of(predictions):
    if torch.is_tensor(predictions):
        spread = Spread()
        spread.add(predictions)
        return spread
    return predictions


def constant(predictions, classes=None, what=None):
    """One sentence when the predictions (a Spread, or an (N, C) tensor of probabilities) are constant, else None:
    every image gets the same probabilities (within PROBABILITY_TOLERANCE; needs 2 images), or every image the same
    predicted class (needs MIN_IMAGES_FOR_ONE_CLASS images). classes: the names of the C classes (else 'class k');
    what: what the images are, in the notebook's language (default: tr('images'))."""
    found = verdict(_spread_of(predictions))
    what = what or tr("images")
    if found is None:
        return None
    if found[0] == "same probabilities":
        return tr("Constant predictions: all {n} {what} get the same probabilities (within {tol}), so the net ignores "
                  "its input and every score it gets is a guess; try a smaller learning rate or weight decay, more "
                  "epochs, or check the data.", n=found[1], what=what, tol=PROBABILITY_TOLERANCE)
    _, top, n = found
    name = repr(classes[top]) if classes is not None and top < len(classes) else tr("class {k}", k=top)
    return tr("Constant predictions: the net predicts {name} for all {n} {what}, so it does not tell them apart yet; "
              "train longer, or check the learning rate and the data.", name=name, n=n, what=what)


_SAID = {}      # (id(net), id(data_iter)) -> the last verdict said about them


def say_if_constant(predictions, net, data_iter, classes=None, what=None):
    """Print constant(predictions, classes, what) when there is something to say, unless the same was already
    said about this net and this loader (train_ch13 says it, then a notebook predicts on the same validation set).
    Returns the sentence or None."""
    spread = _spread_of(predictions)
    sentence, found, key = constant(spread, classes, what), verdict(spread), (id(net), id(data_iter))
    if sentence is not None and _SAID.get(key) != found:
        print(sentence)
    _SAID[key] = found
    return sentence


def class_names(data_iter, num_classes):
    """The class names of a loader's dataset when they number num_classes (a test set's single 'unknown' folder
    does not name the predicted classes), else None."""
    classes = getattr(getattr(data_iter, "dataset", None), "classes", None)
    return list(classes) if classes is not None and len(classes) == num_classes else None


def evaluate(net, data_iter, loss, device):
    """Score net on every batch of data_iter in one pass, in eval mode without gradients (the net's mode is
    restored). Returns (accuracy, mean loss per example, Spread of the softmax probabilities); (nan, nan, empty
    Spread) when data_iter is None or yields nothing. loss: the training loss, per example (reduction='none') or
    mean-reduced."""
    spread = Spread()
    if data_iter is None:
        return math.nan, math.nan, spread
    was_training = net.training
    net.eval()
    correct, loss_sum, n = 0.0, 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = accel.to_device(X, device), y.to(device)
            logits = net(X)
            l = loss(logits, y)
            loss_sum += float(l.sum() if l.dim() else l * y.numel())
            correct += float((logits.argmax(1).type(y.dtype) == y).sum())
            n += y.numel()
            spread.add(torch.softmax(logits.float(), dim=1))
    net.train(was_training)
    return (correct / n, loss_sum / n, spread) if n else (math.nan, math.nan, spread)
