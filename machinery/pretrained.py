"""torchvision's pretrained weights through the weights API, with a loud fallback to random weights offline."""
import contextlib
import io
import socket
import urllib.error
from pathlib import Path

import torch
import torchvision

from . import caveats


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
            print(f"Downloading the {arch} weights ({weights.url}) ...")
        with contextlib.redirect_stderr(io.StringIO()):       # torch.hub's progress bar: pink stderr in a notebook
            model = torchvision.models.get_model(arch, weights=weights)
        caveats.drop(f"weights:{arch}")
        print(f"Loaded pretrained {arch} weights {weights} from {weights_cache_path(weights)}")
        return model, True
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
    except (RuntimeError, ValueError, EOFError) as e:      # a damaged cache file fails with any of these
        if "HTTP" not in str(e) and "hash" not in str(e).lower():
            raise RuntimeError(f"Could not read the weights file {weights_cache_path(weights)} ({e}). It is "
                               f"probably damaged: delete it and run again.") from e
        reason = e
    print(caveats.boxed([f"RANDOM WEIGHTS: the pretrained {arch} weights could not be downloaded.",
                         f"Why: {reason}",
                         "The model starts from random numbers: it shows the code path, not transfer learning.",
                         f"To fix: download {weights.url}", f"and put it at {weights_cache_path(weights)}, "
                         f"then rerun this cell."], "!"))
    caveats.add(f"weights:{arch}", f"RANDOM WEIGHTS instead of ImageNet: {arch}")
    return torchvision.models.get_model(arch, weights=None), False
