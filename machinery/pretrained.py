"""torchvision's pretrained weights through the weights API, with a loud fallback to random weights offline."""
import contextlib
import io
import socket
import urllib.error
from pathlib import Path

import torch
import torchvision

from . import caveats
from .messages import LearnerError, tr


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
                            "Every result printed from now on starts with the tag {tag}.",
                            tag=f"[{tr('RANDOM WEIGHTS')}]"),
                         tr("To fix: download {url}", url=weights.url),
                         tr("and put it at {path}, then rerun this cell.", path=weights_cache_path(weights))], "!"))
    caveats.add(f"weights:{arch}", "RANDOM WEIGHTS")
    return torchvision.models.get_model(arch, weights=None), False
