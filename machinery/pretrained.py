"""torchvision's pretrained weights through the weights API, with a loud fallback to random weights offline, and
what a run with them can show.

Random weights in place of ImageNet's are a caveat of the model that holds them (and of its copies, such as
build_finetune_net's), not of every result: a net trained from scratch claims no ImageNet weights, so its results
must not say 'RANDOM WEIGHTS instead of ImageNet'. load() marks the model it returns; results printed inside
`reporting_on(net)` carry the caveat only when net holds a marked module; results printed outside any such block
(a table that mixes runs, say) carry it whenever it exists."""
import contextlib
import io
import socket
import urllib.error
from pathlib import Path

import torch
import torchvision

from . import caveats, standins
from .messages import LearnerError, tr

RANDOM_MARK = "random_instead_of_pretrained"    # attribute of a module that load() gave random weights: the arch
_REPORTING = []                                  # the models whose results are being printed, innermost last


class WeightsFileError(LearnerError, RuntimeError):
    """A weights file in the torch hub cache that cannot be read (a cut download, say); the message names it."""


def weights_cache_path(weights):
    """Where torchvision looks for a weights file before downloading it: <torch hub dir>/checkpoints/<file>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.split("/")[-1]


def load(arch="resnet18", weights="IMAGENET1K_V1"):
    """torchvision.models.get_model(arch, weights=weights); returns (model, is_pretrained).

    When the weights cannot be downloaded (no internet), prints a boxed RANDOM WEIGHTS banner that says where to put
    the file, tags every later result line, and returns the same architecture with random weights. A weights file
    already in the torch hub cache is used without any download; a damaged one raises with 'delete it'."""
    weights = torchvision.models.get_model_weights(arch)[weights] if isinstance(weights, str) else weights
    try:
        if not weights_cache_path(weights).exists():
            print(tr("Downloading the {arch} weights ({url}) ...", arch=arch, url=weights.url))
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            model = torchvision.models.get_model(arch, weights=weights)     # torch.hub's own English lines: hidden
        caveats.drop(f"weights:{arch}")
        print(tr("Loaded pretrained {arch} weights {weights} from {path}", arch=arch, weights=weights,
                 path=weights_cache_path(weights)))
        return model, True
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
    except (RuntimeError, ValueError, EOFError) as e:      # a damaged cache file fails with any of these
        if "HTTP" not in str(e) and "hash" not in str(e).lower():
            raise WeightsFileError(tr("Could not read the weights file {path} ({error}). It is probably damaged: "
                                      "delete it and run again.", path=weights_cache_path(weights), error=e)) from e
        reason = e
    print(caveats.boxed([tr("RANDOM WEIGHTS: the pretrained {arch} weights could not be downloaded.", arch=arch),
                         tr("Why: the download failed (the system says: {error}).", error=reason),
                         tr("The model starts from random numbers: it shows the code path, not transfer learning. "
                            "Every result of this model (and of its copies) starts with the tag {tag}.",
                            tag=f"[{tr('RANDOM WEIGHTS')}]"),
                         tr("To fix: download {url}", url=weights.url),
                         tr("and put it at {path}, then rerun this cell.", path=weights_cache_path(weights))], "!"))
    caveats.add(f"weights:{arch}", "RANDOM WEIGHTS", applies=lambda: _concerns(arch))
    model = torchvision.models.get_model(arch, weights=None)
    setattr(model, RANDOM_MARK, arch)            # deepcopy (build_finetune_net) and wrappers keep it
    return model, False


def holds_random_weights(net, arch=None):
    """True when net, or a module inside it, is a model that load() returned with random weights (of arch, if given)."""
    marks = {getattr(m, RANDOM_MARK, None) for m in net.modules()} - {None}
    return bool(marks) if arch is None else arch in marks


def _concerns(arch):
    return not _REPORTING or holds_random_weights(_REPORTING[-1], arch)


@contextlib.contextmanager
def reporting_on(net):
    """Inside this block the results printed are net's (helpers.run_experiment trains in one): the random-weights
    caveat of an arch tags them only if net holds that arch's random weights."""
    _REPORTING.append(net)
    try:
        yield net
    finally:
        _REPORTING.pop()


def say_case(data_dir, is_pretrained):
    """Print, in the notebook's language, which of four cases this run is (real photos or a stand-in, ImageNet or
    random weights) and what its numbers can show. Notebooks 37, 38 and 40 call it after loading the weights."""
    print({
        (True, True): tr("This run: real photos and ImageNet weights. Its numbers are real results, to compare "
                         "with d2l's."),
        (True, False): tr("This run: real photos, but RANDOM weights (no ImageNet weights file). The "
                          "'pretrained' model is random numbers and nothing is transferred from ImageNet: the "
                          "numbers cannot show what pretraining brings."),
        (False, False): tr("This run: STAND-IN images (synthetic) and RANDOM weights (no ImageNet weights file). "
                           "It shows that every cell runs, not the lecture's lesson."),
        (False, True): tr("This run: STAND-IN images (synthetic) with ImageNet weights: ImageNet's features on "
                          "synthetic pictures, nothing to compare with d2l's figures."),
    }[(not standins.is_standin(data_dir), bool(is_pretrained))])
