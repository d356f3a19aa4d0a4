"""helpers.py: the reusable code behind the lecture 37-40 notebooks (fine-tuning and Kaggle image classification).

One module, read top to bottom in data-flow order:

    1. devices, seeds and the notebook setup
    2. data hub: download with sha1 checks, safe extraction
    3. stand-in datasets: small synthetic sets with the real on-disk layouts
    4. reorganisation of Kaggle folders (d2l's read_csv_labels / reorg_train_valid / reorg_test)
    5. datasets, loaders and pretrained models
    5b. fast data path: decode once, augment whole batches on the device (fast_loaders)
    6. training (d2l's train_batch_ch13 / train_ch13) with checkpoints, AMP and a live plot
    7. evaluation, prediction and Kaggle submissions
    8. plotting

Names and signatures follow d2l (the `d2l` package, v1.0.3) where d2l has the function, so that lecture code
maps onto ours; each docstring says how ours differs. This module never imports d2l.

Environment variables (all optional):
    COURSE_DATA_MODE   real | standin | auto    forces the data mode everywhere (CI and tests set 'standin')
    COURSE_DATA_DIR    where datasets are downloaded and built      (default: <repo>/data)
    COURSE_OUTPUT_DIR  where figures and submissions are written   (default: <repo>/outputs)
    COURSE_HEADLESS    1 = no live plot/progress updates (set by `make test` and `make run`)
"""
from __future__ import annotations

import collections
import colorsys
import contextlib
import csv
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

REPO_DIR = Path(__file__).resolve().parent
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# Files that operating systems and tools drop into folders; never data.
STRAY_FILES = {"thumbs.db", "desktop.ini", ".ds_store"}

# Things that make this process's results NOT real results (stand-in data, random weights).
# Every place that prints or plots results shows them (see `results_tag`).
_CAVEATS: dict[str, str] = {}


def results_tag():
    """A loud prefix such as '[STAND-IN DATA: hotdog]' for every printed result; '' when all is real."""
    return "".join(f"[{c}] " for c in _CAVEATS.values())


def data_dir_root():
    """Where archives are downloaded and stand-ins built: $COURSE_DATA_DIR, else <repo>/data."""
    return Path(os.environ.get("COURSE_DATA_DIR", REPO_DIR / "data")).expanduser()


def output_dir(*parts):
    """The folder for figures, submissions and checkpoints: $COURSE_OUTPUT_DIR or <repo>/outputs, created."""
    path = Path(os.environ.get("COURSE_OUTPUT_DIR", REPO_DIR / "outputs")).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _headless():
    return os.environ.get("COURSE_HEADLESS", "") not in ("", "0") or not _in_notebook()


# =====================================================================================================================
# 1. Devices, seeds and the notebook setup
# =====================================================================================================================

def _mps_available():
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def try_gpu(i=0):
    """Device i: `cuda:i` if it exists, else Apple `mps` (i == 0 only), else `cpu`. Same as d2l.try_gpu, plus MPS."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    if i == 0 and _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def try_all_gpus():
    """All CUDA devices, else [mps], else [cpu]. Never empty (d2l's returns [] on CPU and train_ch13 then crashes)."""
    if torch.cuda.device_count():
        return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return [try_gpu(0)]


def seed_everything(seed=0):
    """Seed Python, NumPy and torch (CPU and CUDA) so that a run on the same machine repeats. Returns seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


MIN_VERSIONS = {"torch": "2.0", "torchvision": "0.15", "numpy": "1.24", "pandas": "1.5", "matplotlib": "3.6"}


def setup_notebook(chapter, seed=0, min_versions=None):
    """The shared part of every notebook's first cell.

    Checks package versions (with packaging.version), picks the device (CUDA, then MPS, then CPU, warning on CPU),
    seeds everything, sets plot defaults and prints the data mode. Returns a dict with 'device', 'devices',
    'data_mode', 'seed' and 'fig_dir' (figures of this chapter go there: <outputs>/figures/<chapter>).
    """
    import importlib
    from packaging.version import Version

    versions = {}
    for name, minimum in {**MIN_VERSIONS, **(min_versions or {})}.items():
        found = importlib.import_module(name).__version__
        versions[name] = found
        if Version(found.split("+")[0]) < Version(minimum):
            raise RuntimeError(f"{name} {found} is too old for these notebooks: {minimum} or newer is needed. "
                               f"Run `make setup` (or `pip install -U {name}`) and restart the kernel.")
    device = try_gpu()
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))
    if device.type == "cpu":
        warnings.warn("No GPU found: running on the CPU. Every cell works, but full-size training is slow. "
                      "On Colab: Runtime > Change runtime type > GPU.", stacklevel=2)
    seed_everything(seed)
    try:
        import matplotlib.pyplot as plt
        plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10})
    except ImportError:
        pass
    mode = data_mode()
    forced = " (forced by COURSE_DATA_MODE)" if os.environ.get("COURSE_DATA_MODE") else ""
    print(f"device: {device}   seed: {seed}   data mode: {mode}{forced}   data dir: {data_dir_root()}")
    if mode != "real":
        print("  'auto' uses the real data when it can be downloaded and a synthetic STAND-IN otherwise; "
              "'standin' always uses the stand-in. Stand-in numbers are never real results.")
    fig_dir = output_dir("figures", chapter)
    return {"device": device, "devices": try_all_gpus(), "data_mode": mode, "seed": seed, "fig_dir": fig_dir}


# =====================================================================================================================
# 2. Data hub: download with sha1 checks, safe extraction
# =====================================================================================================================

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
# name -> (url, sha1); the same entries as d2l's DATA_HUB.
DATA_HUB = {
    "hotdog": (DATA_URL + "hotdog.zip", "fba480ffa8aa7e0febbb511d181409f899b9baa5"),
    "cifar10_tiny": (DATA_URL + "kaggle_cifar10_tiny.zip", "2068874e4b9a9f0fb07ebe0ad2b29754449ccacd"),
    "dog_tiny": (DATA_URL + "kaggle_dog_tiny.zip", "0cb91d09b814ecdc07b50f31f8dcad3e81d6a86d"),
}


class DataUnavailableError(RuntimeError):
    """The data could not be had (no network, bad transfer, bad archive). The message says what to do."""


def sha1_of(path, chunk=1 << 20):
    """Hex sha1 digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _manual_steps(name, url, path, sha1):
    return (f"What to do:\n"
            f"  1. on a machine with internet, download {url}\n"
            f"     and put it at {path}" + (f" (its sha1 must be {sha1})" if sha1 else "") + ", then run again; or\n"
            f"  2. use the synthetic stand-in: set COURSE_DATA_MODE=standin, or call "
            f"get_dataset({name!r}, mode='standin').\n"
            f"     Results on the stand-in are NOT results on the real data.")


def download(name, cache_dir=None, *, timeout=30, attempts=2):
    """Download DATA_HUB[name] into cache_dir (default: $COURSE_DATA_DIR) and return the file's Path.

    Like d2l.download, but: the sha1 is checked right after downloading (d2l checks it only on a cache hit), the
    HTTP status is checked, there is a timeout (seconds), the write is atomic (temporary file, then rename), and a
    cached file that is partial or fails its hash is downloaded again. A truncated transfer or a hash mismatch is
    retried `attempts` times in all. Raises DataUnavailableError with instructions when nothing works.
    """
    if name not in DATA_HUB:
        raise KeyError(f"{name!r} is not in DATA_HUB; known: {sorted(DATA_HUB)}")
    url, sha1 = DATA_HUB[name]
    cache_dir = Path(cache_dir or data_dir_root())
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / url.split("/")[-1]
    if path.exists():
        if sha1 is None or sha1_of(path) == sha1:
            return path
        print(f"{path} is partial or corrupt (sha1 mismatch): downloading it again.")
    problem = ""
    for attempt in range(1, attempts + 1):
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=cache_dir)
        try:
            h, size = hashlib.sha1(), 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                expected = resp.headers.get("Content-Length")
                print(f"Downloading {url} ({int(expected) / 1e6:.1f} MB)" if expected else f"Downloading {url}")
                while block := resp.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    size += len(block)
            if expected is not None and size != int(expected):
                problem = f"the transfer was cut short: {size} of {expected} bytes arrived"
            elif sha1 is not None and h.hexdigest() != sha1:
                problem = f"sha1 mismatch: got {h.hexdigest()}, expected {sha1} (a wrong or damaged file)"
            else:
                os.replace(tmp, path)
                return path
        except urllib.error.HTTPError as e:
            raise DataUnavailableError(f"Could not download {name!r}: the server answered HTTP {e.code} {e.reason} "
                                       f"for {url}.\n" + _manual_steps(name, url, path, sha1)) from None
        except http.client.IncompleteRead as e:
            problem = f"the transfer was cut short: {len(e.partial)} bytes of the last block arrived"
        except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise DataUnavailableError(f"Could not download {name!r} from {url}: the network is unreachable or "
                                       f"slow ({reason}).\n" + _manual_steps(name, url, path, sha1)) from None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        print(f"Attempt {attempt}/{attempts} failed: {problem}.")
    raise DataUnavailableError(f"Could not download {name!r} from {url}: {problem}. Nothing was saved.\n"
                               + _manual_steps(name, url, path, sha1))


def _safe_members(names, base):
    """Raise if any archive member would land outside `base` (zip-slip: '../x', '/etc/x', 'C:\\x')."""
    base = os.path.realpath(base)
    for member in names:
        target = os.path.realpath(os.path.join(base, member))
        if os.path.isabs(member) or (target != base and not target.startswith(base + os.sep)):
            raise DataUnavailableError(f"Refusing to extract: archive entry {member!r} would be written outside "
                                       f"{base}. The archive is malformed or malicious; delete it.")


def download_extract(name, folder=None, cache_dir=None):
    """Download and extract a zip/tar archive; return the extracted folder (d2l.download_extract's contract).

    Beyond d2l: entries that would escape the target folder are refused before anything is written, and a complete
    extraction (marked by a small '.<archive>.extracted' file holding the archive's sha1) is not redone.
    """
    fname = download(name, cache_dir)
    base_dir = fname.parent
    stem = fname.name
    for ext in (".tar.gz", ".tgz", ".zip", ".tar"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    else:
        raise DataUnavailableError(f"{fname} is not a zip or tar archive; only those can be extracted.")
    data_dir = base_dir / stem
    marker = base_dir / f".{fname.name}.extracted"
    digest = DATA_HUB[name][1] or sha1_of(fname)
    if not (marker.exists() and marker.read_text().strip() == digest and data_dir.exists()):
        try:
            if fname.name.endswith(".zip"):
                with zipfile.ZipFile(fname) as archive:
                    _safe_members(archive.namelist(), base_dir)
                    archive.extractall(base_dir)
            else:
                with tarfile.open(fname) as archive:
                    _safe_members(archive.getnames(), base_dir)
                    if any(m.issym() or m.islnk() for m in archive.getmembers()):
                        raise DataUnavailableError(f"Refusing to extract {fname}: it contains links.")
                    archive.extractall(base_dir)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
            raise DataUnavailableError(f"{fname} is not a readable archive ({e}). Delete it and run again to "
                                       f"download a fresh copy.") from None
        marker.write_text(digest)
    return base_dir / folder if folder else data_dir


# =====================================================================================================================
# 3. Stand-in datasets: small synthetic sets with exactly the real on-disk layouts
# =====================================================================================================================

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _reference_file(name):
    for candidate in (REPO_DIR.parent / "shared" / "reference" / name, REPO_DIR / "shared" / "reference" / name):
        if candidate.exists():
            return candidate
    return None


def dog_breeds():
    """The 120 Kaggle dog-breed names, sorted (Kaggle's spelling)."""
    return sorted(DOG_BREEDS)


DOG_BREEDS = """affenpinscher afghan_hound african_hunting_dog airedale american_staffordshire_terrier appenzeller
australian_terrier basenji basset beagle bedlington_terrier bernese_mountain_dog black-and-tan_coonhound
blenheim_spaniel bloodhound bluetick border_collie border_terrier borzoi boston_bull bouvier_des_flandres boxer
brabancon_griffon briard brittany_spaniel bull_mastiff cairn cardigan chesapeake_bay_retriever chihuahua chow
clumber cocker_spaniel collie curly-coated_retriever dandie_dinmont dhole dingo doberman english_foxhound
english_setter english_springer entlebucher eskimo_dog flat-coated_retriever french_bulldog german_shepherd
german_short-haired_pointer giant_schnauzer golden_retriever gordon_setter great_dane great_pyrenees
greater_swiss_mountain_dog groenendael ibizan_hound irish_setter irish_terrier irish_water_spaniel irish_wolfhound
italian_greyhound japanese_spaniel keeshond kelpie kerry_blue_terrier komondor kuvasz labrador_retriever
lakeland_terrier leonberg lhasa malamute malinois maltese_dog mexican_hairless miniature_pinscher miniature_poodle
miniature_schnauzer newfoundland norfolk_terrier norwegian_elkhound norwich_terrier old_english_sheepdog otterhound
papillon pekinese pembroke pomeranian pug redbone rhodesian_ridgeback rottweiler saint_bernard saluki samoyed
schipperke scotch_terrier scottish_deerhound sealyham_terrier shetland_sheepdog shih-tzu siberian_husky silky_terrier
soft-coated_wheaten_terrier staffordshire_bullterrier standard_poodle standard_schnauzer sussex_spaniel
tibetan_mastiff tibetan_terrier toy_poodle toy_terrier vizsla walker_hound weimaraner welsh_springer_spaniel
west_highland_white_terrier whippet wire-haired_fox_terrier yorkshire_terrier""".split()

# Where each dataset's archive extracts to, relative to the data root.
EXTRACTED_FOLDER = {"hotdog": "hotdog", "cifar10_tiny": "kaggle_cifar10_tiny", "dog_tiny": "kaggle_dog_tiny",
                    "leaves": "classify-leaves"}
# Competitions that only Kaggle serves (no d2l mirror): name -> (competition slug, what the learner runs).
KAGGLE_ONLY = {"leaves": ("classify-leaves", "kaggle competitions download -c classify-leaves -p {root}\n"
                                             "     cd {root} && unzip -q classify-leaves.zip -d classify-leaves")}
STANDIN_MARKER = "STANDIN_README.txt"


def synthetic_image(rng, class_index, num_classes, height, width):
    """One (height, width, 3) uint8 image whose class shows as a hue, a stripe angle and a blob.

    The signal survives flips, crops, resizing and brightness jitter, so that a small net learns it in seconds.
    Classes differ by hue (12 steps) and, past 12 classes, by saturation and stripe angle.
    """
    hue = (class_index % 12) / 12 + rng.normal(0, 0.012)
    sat = 0.75 if (class_index // 12) % 2 == 0 else 0.45
    angle = math.pi * ((class_index // 24) % 5) / 5
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    phase = rng.uniform(0, 2 * math.pi)
    freq = 6 if (class_index // 120) % 2 == 0 else 11                   # classes past 120 (leaves): finer stripes
    stripes = 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(angle) + yy * math.sin(angle)) + phase)
    value = 0.55 + 0.3 * stripes
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7) * width / max(height, width), rng.uniform(0.15, 0.3)
    blob = ((yy - cy) ** 2 + (xx - cx) ** 2 * 0.5) < r**2       # an elongated blob ("the object")
    value = np.where(blob, 0.95, value)
    pure = np.array(colorsys.hsv_to_rgb(hue % 1.0, 1.0, 1.0))         # the hue at full saturation and value
    sat_map = np.where(blob, sat * 0.6, sat)[..., None]
    rgb = value[..., None] * ((1 - sat_map) + sat_map * pure)          # HSV -> RGB for one hue
    rgb += rng.normal(0, 0.06, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _save_image(array, path):
    from PIL import Image
    img = Image.fromarray(array)
    if path.suffix == ".jpg":
        img.save(path, quality=90)
    else:
        img.save(path)


def _random_size(rng, size):
    if isinstance(size, int):
        return size, size
    lo, hi = size
    return int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))


STANDIN_DEFAULTS = {
    # hotdog: the real set has 1,000 + 1,000 train and 400 + 400 test images of varying size.
    "hotdog": {"n_train": 120, "n_test": 40, "size": (96, 320)},
    # cifar10_tiny: 1,000 train images (ids 1..1000) and 5 test images, all 32x32 PNG.
    "cifar10_tiny": {"n_train": 1000, "n_test": 5, "size": 32},
    # dog_tiny: about 1,000 train JPEGs over 120 breeds and 10 test images, a few hundred pixels a side.
    "dog_tiny": {"n_train": 1000, "n_test": 10, "size": (200, 500)},
    # leaves (Classify Leaves): 18,353 train and 8,800 test 224x224 JPEGs in one images/ folder, 176 species.
    "leaves": {"n_train": 1000, "n_test": 100, "size": 224, "num_classes": 40},
}


def make_standin(name, root, n_train=None, n_test=None, size=None, num_classes=None, seed=0):
    """Write a synthetic stand-in for dataset `name` under `root` and return its folder (the real layout).

    hotdog:        <root>/hotdog/{train,test}/{hotdog,not-hotdog}/<n>.png        (n_train, n_test are PER CLASS)
    cifar10_tiny:  <root>/kaggle_cifar10_tiny/{train/<id>.png, test/<id>.png, trainLabels.csv}   (ids from 1)
    dog_tiny:      <root>/kaggle_dog_tiny/{train/<hexid>.jpg, test/<hexid>.jpg, labels.csv}       (id,breed)
    leaves:        <root>/classify-leaves/{images/<n>.jpg, train.csv (image,label), test.csv (image)}, with a
                   long-tailed class distribution (every class has at least 2 training images)

    size is an int (square) or a (min, max) range of side lengths in pixels. num_classes limits the classes used
    (dog_tiny: the first breeds in sorted order). A file STANDIN_README.txt in the folder says loudly what it is.
    """
    if name not in STANDIN_DEFAULTS:
        raise KeyError(f"No stand-in for {name!r}; known: {sorted(STANDIN_DEFAULTS)}")
    spec = {**STANDIN_DEFAULTS[name]}
    spec.update({k: v for k, v in dict(n_train=n_train, n_test=n_test, size=size, num_classes=num_classes).items()
                 if v is not None})
    rng = np.random.default_rng(seed)
    out = Path(root) / EXTRACTED_FOLDER[name]
    if out.exists():
        shutil.rmtree(out)
    if name == "leaves":
        _make_leaves_standin(out, spec, rng)
        return _write_standin_marker(out, name, spec, seed)
    (out / "train").mkdir(parents=True)
    (out / "test").mkdir()

    if name == "hotdog":
        classes = ["hotdog", "not-hotdog"]
        for split, n in (("train", spec["n_train"]), ("test", spec["n_test"])):
            for c, cls in enumerate(classes):
                (out / split / cls).mkdir()
                for k in range(n):
                    # hot dogs are red-orange (hue 0); other food takes any hue but that one
                    h, w = _random_size(rng, spec["size"])
                    idx = 0 if cls == "hotdog" else int(rng.integers(3, 10))
                    _save_image(synthetic_image(rng, idx, 12, h, w), out / split / cls / f"{k}.png")
    else:
        if name == "cifar10_tiny":
            classes, labels_csv, header, ext = CIFAR10_CLASSES, "trainLabels.csv", ("id", "label"), ".png"
            train_ids = [str(i) for i in range(1, spec["n_train"] + 1)]
            test_ids = [str(i) for i in range(1, spec["n_test"] + 1)]
        else:
            classes, labels_csv, header, ext = dog_breeds(), "labels.csv", ("id", "breed"), ".jpg"
            hexid = lambda: "".join(rng.choice(list("0123456789abcdef"), 32))  # noqa: E731
            train_ids = [hexid() for _ in range(spec["n_train"])]
            test_ids = [hexid() for _ in range(spec["n_test"])]
        classes = classes[: spec.get("num_classes") or len(classes)]
        # every class appears at least once when there are enough images, like the real samples
        train_labels = [classes[i % len(classes)] for i in range(len(train_ids))]
        rng.shuffle(train_labels)
        for split, ids, labels in (("train", train_ids, train_labels),
                                   ("test", test_ids, rng.choice(classes, len(test_ids)))):
            for id_, label in zip(ids, labels):
                h, w = _random_size(rng, spec["size"])
                img = synthetic_image(rng, classes.index(label), len(classes), h, w)
                _save_image(img, out / split / f"{id_}{ext}")
        with open(out / labels_csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(zip(train_ids, train_labels))
    return _write_standin_marker(out, name, spec, seed)


def _write_standin_marker(out, name, spec, seed):
    (out / STANDIN_MARKER).write_text(
        f"STAND-IN DATA. This folder is a SYNTHETIC replacement for the {name!r} dataset, made by "
        f"helpers.make_standin\nwith {json.dumps(spec)}, seed {seed}. It has the real layout, but its images are "
        f"coloured stripes:\nnumbers measured on it say nothing about the real dataset.\n")
    return out


def _make_leaves_standin(out, spec, rng):
    """Classify Leaves layout: one images/ folder numbered train first, then test; CSVs of relative paths."""
    num_classes = spec["num_classes"]
    if spec["n_train"] < 2 * num_classes:
        raise ValueError(f"n_train={spec['n_train']} is too small: every one of {num_classes} classes needs 2 images")
    classes = [f"species_{k:03d}" for k in range(num_classes)]
    # long tail: 2 images per class, the rest shared out with Zipf-like weights
    weights = 1 / np.arange(1, num_classes + 1) ** 0.8
    counts = 2 + rng.multinomial(spec["n_train"] - 2 * num_classes, weights / weights.sum())
    train_labels = [c for c, n in zip(classes, counts) for _ in range(n)]
    rng.shuffle(train_labels)
    (out / "images").mkdir(parents=True)
    rows = []
    for n, label in enumerate([*train_labels, *rng.choice(classes, spec["n_test"])]):
        h, w = _random_size(rng, spec["size"])
        _save_image(synthetic_image(rng, classes.index(label), num_classes, h, w), out / "images" / f"{n}.jpg")
        rows.append((f"images/{n}.jpg", label))
    with open(out / "train.csv", "w", newline="") as f:
        csv.writer(f).writerows([("image", "label"), *rows[: len(train_labels)]])
    with open(out / "test.csv", "w", newline="") as f:
        csv.writer(f).writerows([("image",), *[(image,) for image, _ in rows[len(train_labels):]]])


def is_standin(data_dir, tag=None):
    """True when data_dir (or a folder above it, up to 3 levels) is a stand-in made by make_standin.

    tag: a dataset name. When it is given and the folder is a stand-in, every later results_tag() carries
    'STAND-IN DATA: <tag>', as after get_dataset. This covers a stand-in reached through a path (such as a
    notebook's KAGGLE_*_DIR), which would otherwise pass as real data."""
    p = Path(data_dir).resolve()
    found = any((q / STANDIN_MARKER).exists() for q in [p, *list(p.parents)[:3]])
    if found and tag:
        _CAVEATS[f"data:{tag}"] = f"STAND-IN DATA: {tag}"
    return found


def data_mode(mode=None):
    """The data mode in force: $COURSE_DATA_MODE if set (it wins, so CI can force it), else `mode`, else 'auto'."""
    chosen = os.environ.get("COURSE_DATA_MODE") or mode or "auto"
    if chosen not in ("real", "standin", "auto"):
        raise ValueError(f"data mode must be 'real', 'standin' or 'auto', not {chosen!r} "
                         f"(check COURSE_DATA_MODE)")
    return chosen


def standin_banner(name, reason):
    """The boxed warning printed whenever a stand-in replaces dataset `name`; `reason` says why."""
    lines = [f"STAND-IN DATA: {name!r} is SYNTHETIC, generated on this machine.",
             "Every number, plot and submission below describes the stand-in, NOT the real dataset.",
             *textwrap.wrap(f"Why: {reason}", 86),
             "For real data: set COURSE_DATA_MODE=real (or auto) on a machine that can download it."]
    return _boxed(lines, "#")


def _boxed(lines, char):
    width = max(map(len, lines)) + 4
    return "\n".join([char * width, *[f"{char} {line.ljust(width - 4)} {char}" for line in lines], char * width])


def _kaggle_download(name, root):
    """The folder of a Kaggle-only competition the learner downloaded by hand (its zip is extracted if needed)."""
    slug, command = KAGGLE_ONLY[name]
    folder, archive = root / EXTRACTED_FOLDER[name], root / f"{slug}.zip"
    if not (folder / "train.csv").exists() and archive.exists():
        with zipfile.ZipFile(archive) as z:
            _safe_members(z.namelist(), folder)
            z.extractall(folder)
    if not (folder / "train.csv").exists():
        raise DataUnavailableError(
            f"The {name!r} data is not in {folder}. Kaggle serves it only to signed-in users who accepted the "
            f"competition rules (kaggle.com/c/{slug}). With the kaggle CLI and an API token:\n"
            f"     {command.format(root=root)}\n"
            f"or download {slug}.zip from the competition page and put it at {archive}. Or use the stand-in: "
            f"COURSE_DATA_MODE=standin.")
    return folder


def get_dataset(name, mode=None, data_root=None, **standin_kwargs):
    """Return the folder of dataset `name`: the real d2l data or a stand-in, by mode.

    mode: 'real' downloads (or uses the cache) and raises if it cannot; 'standin' builds the stand-in (cached under
    <data_root>/standin/, rebuilt when standin_kwargs change); 'auto' (default) uses the real data when it is cached
    or reachable and otherwise the stand-in, with a loud banner. $COURSE_DATA_MODE overrides `mode`.
    standin_kwargs go to make_standin (n_train, n_test, size, num_classes, seed).
    'leaves' is not on d2l's hub: its real data is the Kaggle download, looked for in <data_root>/classify-leaves/
    or <data_root>/classify-leaves.zip (the error explains the kaggle CLI route).
    """
    mode = data_mode(mode)
    root = Path(data_root or data_dir_root())
    if mode in ("real", "auto"):
        try:
            folder = _kaggle_download(name, root) if name in KAGGLE_ONLY else download_extract(name, cache_dir=root)
            _CAVEATS.pop(f"data:{name}", None)
            print(f"Using the real {name!r} data in {folder}")
            return folder
        except DataUnavailableError as e:
            if mode == "real":
                raise
            reason = str(e).splitlines()[0]
    else:
        reason = "the stand-in was asked for (mode 'standin'" + \
                 (", forced by COURSE_DATA_MODE)." if os.environ.get("COURSE_DATA_MODE") else ").")
    key = hashlib.sha1(json.dumps(standin_kwargs, sort_keys=True, default=str).encode()).hexdigest()[:8]
    parent = root / "standin" / f"{name}-{key}"
    folder = parent / EXTRACTED_FOLDER[name]
    if not (folder / STANDIN_MARKER).exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))  # build aside, then rename: never half-built
        try:
            make_standin(name, tmp, **standin_kwargs)
            if parent.exists():
                shutil.rmtree(parent)
            parent.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    is_standin(folder, tag=name)                  # tags every later result line as stand-in
    print(standin_banner(name, reason))
    print(f"Stand-in folder: {folder}")
    return folder


# =====================================================================================================================
# 4. Reorganisation of Kaggle folders into train / valid / train_valid / test
# =====================================================================================================================

def read_csv_labels(fname):
    """Read a Kaggle label file (header row, then `id,label`) into {id: label}. Same as d2l.read_csv_labels, plus:
    surrounding blanks are stripped, and a malformed or duplicate row raises a ValueError naming the line."""
    labels = {}
    with open(fname, newline="") as f:
        rows = csv.reader(f)
        next(rows, None)
        for lineno, row in enumerate(rows, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(f"{fname}, line {lineno}: expected 'id,label', got {row!r}")
            name, label = row[0].strip(), row[1].strip()
            if name in labels and labels[name] != label:
                raise ValueError(f"{fname}, line {lineno}: id {name!r} appears twice with different labels "
                                 f"({labels[name]!r} and {label!r})")
            labels[name] = label
    return labels


_DIGIT_RUNS = re.compile(r"(\d+)")


def _natural_key(name):
    """'2.png' sorts before '10.png'."""
    return [int(t) if t.isdigit() else t for t in _DIGIT_RUNS.split(name)]


def list_images(folder):
    """Image file names in folder, naturally sorted; stray files (.DS_Store, Thumbs.db, non-images) are skipped."""
    return sorted((n for n in os.listdir(folder)
                   if n.lower() not in STRAY_FILES and not n.startswith(".")
                   and os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS), key=_natural_key)


def _link_or_copy(src, dst):
    """A hard link src -> dst where the filesystem allows (no bytes copied), else a copy. Returns 'link' or 'copy'."""
    try:
        os.link(src, dst)
        return "link"
    except OSError:
        shutil.copy2(src, dst)
        return "copy"


def copyfile(filename, target_dir):
    """Put `filename` into target_dir: a hard link where the filesystem allows (no bytes copied), else a copy.
    (d2l.copyfile always copies.) Returns 'link' or 'copy'."""
    os.makedirs(target_dir, exist_ok=True)
    dst = os.path.join(target_dir, os.path.basename(filename))
    if os.path.lexists(dst):
        os.remove(dst)
    return _link_or_copy(filename, dst)


def _link_all(jobs, workers=4):
    """Put each (source file, target folder) of `jobs` into its folder, into a tree that was just emptied: a hard link
    where possible, else a copy (as `copyfile`), but each folder is made once and no target is looked up first, so
    that 100,000 entries cost little more than the link calls. The folders are filled by `workers` threads, one
    folder at a time each (link() releases the GIL; different folders do not contend in the file system): about 1.8x
    faster than one thread on 2 cores. Returns the number of copies made."""
    by_folder = collections.defaultdict(list)
    for src, folder in jobs:
        by_folder[folder].append(src)

    def fill(folder):
        os.makedirs(folder, exist_ok=True)
        prefix = os.path.join(folder, "")
        return sum(_link_or_copy(src, prefix + os.path.basename(src)) == "copy" for src in by_folder[folder])

    if len(by_folder) < 2 or workers < 2:
        return sum(fill(folder) for folder in by_folder)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(min(workers, len(by_folder))) as pool:
        return sum(pool.map(fill, list(by_folder)))


def _rebuild(folders, manifest, params):
    """Return True if `folders` must be (re)built for `params`; if so, remove what is there now."""
    if manifest.exists() and all(f.exists() for f in folders):
        try:
            if json.loads(manifest.read_text()) == params:
                return False
        except ValueError:
            pass
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
    if manifest.exists():
        manifest.unlink()
    return True


def reorg_train_valid(data_dir, labels, valid_ratio):
    """Sort <data_dir>/train/* into <data_dir>/train_valid_test/{train,valid,train_valid}/<label>/. Returns the
    number of validation images per label, n_valid = max(1, floor(valid_ratio * size of the smallest class)).

    Same per-label counts as d2l.reorg_train_valid, but:
      - deterministic: each class's first n_valid images in natural file-name order go to valid;
      - idempotent: a second call with the same inputs does nothing; a different valid_ratio rebuilds the tree;
      - hard links instead of copies where possible (see `copyfile`);
      - ids may contain dots ('a.b.png' has id 'a.b'); stray files such as .DS_Store are ignored;
      - an image without a label, or a label without an image, raises ValueError naming the files;
      - a class left with no training image warns.
    """
    data_dir = Path(data_dir)
    files = list_images(data_dir / "train")
    stem = {f: os.path.splitext(f)[0] for f in files}      # Path(f).stem, without a Path object per file
    ids = {stem[f]: f for f in files}
    unlabelled = [f for f in files if stem[f] not in labels]
    missing = sorted(set(labels) - set(ids), key=_natural_key)
    if unlabelled or missing:
        msg = []
        if unlabelled:
            msg.append(f"{len(unlabelled)} image(s) in {data_dir / 'train'} have no label: {unlabelled[:10]}")
        if missing:
            msg.append(f"{len(missing)} labelled id(s) have no image in {data_dir / 'train'}: {missing[:10]}")
        if any(Path(k).suffix.lower() in IMAGE_EXTENSIONS for k in list(labels)[:100]):
            msg.append("the label ids look like file names with extensions; ids are file names WITHOUT extension")
        raise ValueError("; ".join(msg) + ". Fix the label file or the folder (a partial unzip?) and run again.")
    counts = collections.Counter(labels[stem[f]] for f in files)
    n_valid_per_label = max(1, math.floor(min(counts.values()) * valid_ratio))
    starved = sorted(label for label, n in counts.items() if n <= n_valid_per_label)
    if starved:
        warnings.warn(f"{len(starved)} class(es) keep no training image after the split (valid takes "
                      f"{n_valid_per_label} per class): {starved[:10]}. ImageFolder would then number the classes of train "
                      f"and valid differently. Lower valid_ratio or add images.",
                      stacklevel=2)
    out = data_dir / "train_valid_test"
    params = {"valid_ratio": valid_ratio, "files": hashlib.sha1("\n".join(
        f"{f},{labels[stem[f]]}" for f in files).encode()).hexdigest()}
    folders = [out / "train", out / "valid", out / "train_valid"]
    if _rebuild(folders, out / ".reorg_train_valid.json", params):
        taken, jobs, train_dir = collections.Counter(), [], os.path.join(data_dir, "train", "")
        target = {(split, label): os.path.join(out, split, label) for label in counts
                  for split in ("train", "valid", "train_valid")}
        for f in files:
            label, src = labels[stem[f]], train_dir + f
            split = "valid" if taken[label] < n_valid_per_label else "train"
            taken[label] += split == "valid"
            jobs += [(src, target["train_valid", label]), (src, target[split, label])]
        _link_all(jobs)
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        (out / ".reorg_train_valid.json").write_text(json.dumps(params))
    return n_valid_per_label


def reorg_test(data_dir):
    """Put <data_dir>/test/* into <data_dir>/train_valid_test/test/unknown/ (one class folder, for ImageFolder).
    Like d2l.reorg_test, but with links, stray files ignored, and idempotent."""
    data_dir = Path(data_dir)
    files = list_images(data_dir / "test")
    out = data_dir / "train_valid_test"
    params = {"files": hashlib.sha1("\n".join(files).encode()).hexdigest()}
    if _rebuild([out / "test"], out / ".reorg_test.json", params):
        _link_all((os.path.join(data_dir, "test", f), os.path.join(out, "test", "unknown")) for f in files)
        (out / "test" / "unknown").mkdir(parents=True, exist_ok=True)
        (out / ".reorg_test.json").write_text(json.dumps(params))


def reorg_kaggle_data(data_dir, labels_file, valid_ratio):
    """d2l's reorg_cifar10_data / reorg_dog_data in one: read the labels, split train, collect test.
    Returns n_valid_per_label."""
    labels = read_csv_labels(Path(data_dir) / labels_file)
    n_valid = reorg_train_valid(data_dir, labels, valid_ratio)
    reorg_test(data_dir)
    return n_valid


def split_counts(data_dir):
    """{split: {label: n_images}} for a reorganised <data_dir>/train_valid_test tree (for tables and asserts)."""
    root = Path(data_dir) / "train_valid_test"
    return {split: {label: len(list_images(root / split / label))
                    for label in sorted(os.listdir(root / split)) if (root / split / label).is_dir()}
            for split in ("train", "valid", "train_valid", "test") if (root / split).exists()}


# =====================================================================================================================
# 5. Datasets, loaders and pretrained models
# =====================================================================================================================

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)


def default_num_workers():
    """Loader worker processes: one per core beyond the main one, at most 4 (Colab has 2 cores)."""
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def reorganised_loaders(data_dir, train_tf, test_tf, batch_size, num_workers=None, folder="train_valid_test"):
    """ImageFolder datasets and loaders over <data_dir>/train_valid_test/{train,valid,train_valid,test}.

    Returns (datasets, loaders), two dicts keyed by split. Training splits shuffle and drop the last partial batch
    (as d2l does); valid and test keep every image in file order (d2l drops valid's last batch).
    """
    root = Path(data_dir) / folder
    num_workers = default_num_workers() if num_workers is None else num_workers
    datasets, loaders = {}, {}
    for split in ("train", "valid", "train_valid", "test"):
        if not (root / split).exists():
            continue
        train = split in ("train", "train_valid")
        datasets[split] = torchvision.datasets.ImageFolder(root / split, transform=train_tf if train else test_tf)
        loaders[split] = torch.utils.data.DataLoader(
            datasets[split], batch_size, shuffle=train, drop_last=train and len(datasets[split]) > batch_size,
            num_workers=num_workers, persistent_workers=num_workers > 0, pin_memory=torch.cuda.is_available())
    return datasets, loaders


class CsvImageDataset(torch.utils.data.Dataset):
    """Images listed in a CSV of relative paths (Classify Leaves: `image,label` rows such as images/0.jpg,acer_rubrum).

    root: the folder the paths are relative to; table: a CSV path or a pandas DataFrame; classes: the label set
    (default: the sorted labels of this table) so that valid and test share the training set's numbering. Without
    a label column (a test.csv) every target is -1. Item i is (transform(PIL image), class index).
    Checked up front, with the offending rows named: missing image files, labels not in `classes`, and an image
    listed twice with different labels (ValueError); exact duplicate rows are dropped with a warning.
    """

    def __init__(self, root, table, transform=None, classes=None, image_col="image", label_col="label"):
        import pandas as pd
        self.root, self.transform = Path(root), transform
        df = pd.read_csv(table, dtype=str, keep_default_na=False) if not isinstance(table, pd.DataFrame) else table
        if image_col not in df.columns:
            raise ValueError(f"no {image_col!r} column in the table (columns: {list(df.columns)})")
        has_labels = label_col in df.columns
        cols = [image_col, label_col] if has_labels else [image_col]
        dupes = df.duplicated(subset=cols)
        if dupes.any():
            warnings.warn(f"{int(dupes.sum())} duplicate row(s) dropped, e.g. {df[dupes][image_col].iloc[0]!r}",
                          stacklevel=2)
            df = df[~dupes]
        clash = df[df.duplicated(subset=[image_col], keep=False)]
        if len(clash):
            raise ValueError(f"{clash[image_col].nunique()} image(s) listed with different labels, e.g. "
                             f"{clash[image_col].iloc[0]!r}: {sorted(clash[clash[image_col] == clash[image_col].iloc[0]][label_col])}")
        missing = [p for p in df[image_col] if not (self.root / p).is_file()]
        if missing:
            raise ValueError(f"{len(missing)} image file(s) listed in the table are missing under {self.root}: "
                             f"{missing[:10]}")
        self.images = list(df[image_col])
        if has_labels:
            self.classes = list(classes) if classes is not None else sorted(set(df[label_col]))
            index = {c: i for i, c in enumerate(self.classes)}
            unknown = sorted(set(df[label_col]) - set(index))
            if unknown:
                raise ValueError(f"{len(unknown)} label(s) are not among the {len(self.classes)} known classes: "
                                 f"{unknown[:10]}")
            self.targets = [index[label] for label in df[label_col]]
        else:
            self.classes = list(classes) if classes is not None else []
            self.targets = [-1] * len(self.images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image
        with Image.open(self.root / self.images[i]) as img:
            img = img.convert("RGB")
        return (self.transform(img) if self.transform else img), self.targets[i]


def stratified_split(targets, valid_ratio, seed=0):
    """Split example indices into (train, valid) lists, class by class: each class sends floor(n * valid_ratio) of
    its n examples to valid, but always keeps at least one in train (so every class is learnable). Deterministic
    for a seed; both lists are sorted."""
    rng = np.random.default_rng(seed)
    by_class = collections.defaultdict(list)
    for i, t in enumerate(targets):
        by_class[t].append(i)
    train, valid = [], []
    for t in sorted(by_class):
        idx = rng.permutation(by_class[t]).tolist()
        k = min(math.floor(len(idx) * valid_ratio), len(idx) - 1)
        valid += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(valid)


class FrozenBackboneNet(nn.Module):
    """A frozen pretrained feature extractor followed by a trainable head: X -> head(backbone(X)).

    backbone: any module mapping (B, C, H, W) images to (B, D) features, e.g. a torchvision ResNet (D = 1000 logits,
    d2l's choice) or one whose fc is nn.Identity() (D = 512 pooled features); head: a module mapping (B, D) to
    (B, num_classes). The backbone's parameters get requires_grad=False and the backbone STAYS in eval mode: this
    module's train() switches only the head. So its BatchNorm layers normalise with their stored ImageNet
    statistics and never update them, and Dropout (if any) stays off; the backbone runs under torch.no_grad().

    d2l's dog chapter (`get_net`) freezes with requires_grad=False only and never calls eval() on the backbone:
    train_ch13's net.train() then puts its BatchNorm layers into training mode, features depend on the other images
    of the batch, and the running statistics drift away from ImageNet's during training, validation and prediction.
    """

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode=True):
        super().train(mode)
        self.backbone.eval()        # whatever mode the whole net is put in, the frozen part stays in eval
        return self

    def forward(self, X):
        with torch.no_grad():       # no graph through the frozen part: less memory, same head gradients
            features = self.backbone(X)
        return self.head(features)


def extract_features(backbone, data_iter, device=None):
    """Run `backbone` once over every batch of data_iter, in eval mode without gradients; return (features, labels):
    (N, D) float32 and (N,) int64 tensors on the CPU, in the loader's order (pairs stay together even if it shuffles).

    Used to cache a frozen backbone's outputs so that a head trains on tensors instead of re-decoding, re-augmenting
    and re-running the backbone every epoch (no d2l counterpart). A loader with a random transform yields one
    augmented view per image per call. The backbone's previous train/eval mode is restored.
    """
    device = torch.device(device) if device is not None else next(iter(backbone.parameters())).device
    backbone.to(device)
    was_training = backbone.training
    backbone.eval()
    features, labels = [], []
    with torch.no_grad():
        for X, y in data_iter:
            out = backbone(_to_device(X, device))
            features.append(out.float().flatten(1).cpu())
            labels.append(torch.as_tensor(y).cpu())
    backbone.train(was_training)
    if not features:
        raise ValueError("the loader yielded no batch: nothing to extract")
    return torch.cat(features), torch.cat(labels).long()


def weights_cache_path(weights):
    """Where torchvision looks for a weights file before downloading it: <torch hub dir>/checkpoints/<file>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.split("/")[-1]


def pretrained_model(arch="resnet18", weights="IMAGENET1K_V1"):
    """torchvision.models.<arch>(weights=<weights>) through the current weights API. Returns (model, is_pretrained).

    When the weights cannot be downloaded (no internet), says so loudly, explains where to place the file, and
    returns the same architecture with RANDOM weights (is_pretrained=False); every printed result is then tagged.
    A weights file already in the torch hub cache is used without any download.
    """
    weights = torchvision.models.get_model_weights(arch)[weights] if isinstance(weights, str) else weights
    try:
        model = torchvision.models.get_model(arch, weights=weights)
        _CAVEATS.pop(f"weights:{arch}", None)
        print(f"Loaded pretrained {arch} weights {weights} from {weights_cache_path(weights)}")
        return model, True
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
    except (RuntimeError, ValueError, EOFError) as e:      # a damaged cache file fails with any of these
        if "HTTP" not in str(e) and "hash" not in str(e).lower():
            raise RuntimeError(f"Could not read the weights file {weights_cache_path(weights)} ({e}). It is "
                               f"probably damaged: delete it and run again.") from e
        reason = e
    path = weights_cache_path(weights)
    lines = [f"RANDOM WEIGHTS: the pretrained {arch} weights could not be downloaded.",
             *textwrap.wrap(f"Why: {reason}", 86),
             "The model starts from random numbers: it shows the code path, not transfer learning.",
             f"To fix: download {weights.url}", f"and put it at {path}, then rerun this cell."]
    print(_boxed(lines, "!"))
    _CAVEATS[f"weights:{arch}"] = f"RANDOM WEIGHTS instead of ImageNet: {arch}"
    return torchvision.models.get_model(arch, weights=None), False


def build_finetune_net(pretrained, num_classes, reuse_rows=None, seed=None, head="fc"):
    """The target model of fine-tuning: a deep copy of `pretrained` whose output layer `head` (an nn.Linear) is
    replaced by a new Linear(in_features, num_classes) with a Xavier-uniform weight (bias: PyTorch's default init).

    d2l builds this inline (`finetune_net.fc = nn.Linear(512, 2); nn.init.xavier_uniform_(...)`); here `pretrained`
    itself is never modified, so one downloaded model can seed many experiments.
    reuse_rows: {new class index: source class index}. Those rows of the new weight and bias are copied from the
    pretrained head, e.g. {0: 934} starts the 'hotdog' logit from ImageNet's class 934 ('hotdog'); the other rows
    keep their random init. seed: seeds torch before the new head is drawn (same seed, same head).
    """
    import copy
    net = copy.deepcopy(pretrained)
    old = getattr(net, head)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"net.{head} is a {type(old).__name__}, not an nn.Linear: pass the name of the output layer")
    if seed is not None:
        torch.manual_seed(seed)
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    nn.init.xavier_uniform_(new.weight)
    for new_row, old_row in (reuse_rows or {}).items():
        if not (0 <= new_row < num_classes and 0 <= old_row < old.out_features):
            raise IndexError(f"reuse_rows {new_row}: {old_row} is out of range (the new head has {num_classes} rows, "
                             f"the pretrained one {old.out_features})")
        with torch.no_grad():
            new.weight[new_row] = old.weight[old_row]
            if new.bias is not None:
                new.bias[new_row] = old.bias[old_row]
    setattr(net, head, new.to(old.weight.device))
    return net


def freeze_layers(net, upto=None, head="fc"):
    """Freeze (requires_grad=False) the net's top-level children in order, from the first one up to and including
    `upto`; return the names of the frozen parameters.

    upto: None freezes nothing; a child's name such as 'layer2' freezes the stem (conv1, bn1) and layer1-layer2 of a
    ResNet; 'body' freezes every child except `head`. The head is never frozen (d2l's exercise code freezes it too,
    and then backward() fails because no parameter needs a gradient): asking for it raises ValueError.
    Only parameters are frozen: BatchNorm running statistics are buffers and still follow the data in train mode.
    """
    names = [name for name, _ in net.named_children()]
    if head not in names:
        raise ValueError(f"the net has no child {head!r}; its children are {names}")
    if upto is None:
        return []
    if upto == head:
        raise ValueError(f"freezing up to the head {head!r} would leave nothing to train; freeze the body only "
                         f"(upto='body' or one of {names[:names.index(head)]})")
    if upto == "body":
        chosen = [n for n in names if n != head]
    elif upto in names:
        chosen = names[: names.index(upto) + 1]
        if head in chosen:
            raise ValueError(f"{upto!r} comes after the head {head!r}: freezing it would freeze the head too")
    else:
        raise ValueError(f"upto must be None, 'body' or one of the children {names}, not {upto!r}")
    frozen = []
    for child in chosen:
        for pname, p in getattr(net, child).named_parameters():
            p.requires_grad_(False)
            frozen.append(f"{child}.{pname}")
    return frozen


def count_parameters(net, trainable_only=True):
    """Number of scalar parameters of net (only those with requires_grad by default). ResNet-18: 11,689,512."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


class Residual(nn.Module):
    """d2l's residual block: 3x3 conv-BN-ReLU, 3x3 conv-BN, plus the input (through a 1x1 conv when
    use_1x1conv, needed when the shape changes), then ReLU. (B, in_channels, H, W) -> (B, num_channels, H/s, W/s).

    d2l-zh's Residual(input_channels, num_channels, use_1x1conv, strides); d2l-en 1.0.3 builds the same block from
    lazy layers and drops input_channels. As in d2l (and unlike torchvision), the convolutions have biases and the
    1x1 shortcut has no BatchNorm. Attribute names match d2l's, so d2l state_dicts load into it.
    """

    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = torch.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        return torch.relu(Y + (self.conv3(X) if self.conv3 is not None else X))


def resnet18_cifar(num_classes=10, in_channels=3):
    """ResNet-18 for small (32x32) images: d2l.resnet18(num_classes, in_channels), layer for layer.

    Stem: 3x3 conv, stride 1, 64 channels + BN + ReLU, and NO max-pool (ImageNet's ResNet-18 uses a 7x7 stride-2
    conv and a stride-2 max-pool, shrinking 32x32 to 8x8 before the first block). Then four stages of two Residual
    blocks (64, 128, 256, 512 channels; stages 2-4 halve the size), global average pooling and Linear(512,
    num_classes). (B, in_channels, 32, 32) -> (B, num_classes) logits; the feature maps go 32 -> 32, 16, 8, 4.
    Same module names as d2l (0, 1, 2, resnet_block1..4, global_avg_pool, fc), so d2l's state_dict loads into it.
    About 11.2 M parameters.
    """
    def resnet_block(cin, cout, num_residuals, first_block=False):
        return nn.Sequential(*[Residual(cin, cout, use_1x1conv=True, strides=2) if i == 0 and not first_block
                               else Residual(cout, cout) for i in range(num_residuals)])

    net = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1), nn.BatchNorm2d(64), nn.ReLU())
    net.add_module("resnet_block1", resnet_block(64, 64, 2, first_block=True))
    net.add_module("resnet_block2", resnet_block(64, 128, 2))
    net.add_module("resnet_block3", resnet_block(128, 256, 2))
    net.add_module("resnet_block4", resnet_block(256, 512, 2))
    net.add_module("global_avg_pool", nn.AdaptiveAvgPool2d((1, 1)))
    net.add_module("fc", nn.Sequential(nn.Flatten(), nn.Linear(512, num_classes)))
    return net


# =====================================================================================================================
# 5b. Fast data path: decode every image once, then crop, flip and normalise whole batches on the training device
# =====================================================================================================================
# d2l's loaders decode and augment each image with PIL on the CPU in every epoch (num_workers=0). With 2 CPU cores
# (Colab) the GPU then waits on the CPU. Here a folder is decoded ONCE into a uint8 tensor (N, 3, H, W), kept on the
# device, and each batch is augmented there with different random parameters for every image (torchvision.transforms.v2
# applied to a batch would use one crop and one flip for the whole batch). `fast_loaders` is the one-flag switch: same
# split names as `reorganised_loaders`; the ImageFolder path stays the default for teaching.

FAST_CACHE_VERSION = 1
_FAST_CACHE: dict = {}   # (folder, size tag) -> (fingerprint, CachedImageFolder): decoded sets reused in this process

# Recipes for `fast_loaders` / `augment_batch` / `eval_batch`. size: output side (pixels); cache_size: side the images
# are decoded to (None: keep the files' size); crop 'resized' = RandomResizedCrop(size, scale, ratio), 'pad' =
# RandomCrop(size, padding); flip: probability per image; jitter: ColorJitter(brightness, contrast, saturation) or None;
# eval_crop: the test transform's centre square as a fraction of the shorter side (default 1: the whole image).
FAST_RECIPES = {
    # d2l's Kaggle CIFAR-10 transform: Resize(40), RandomResizedCrop(32, scale=(0.64, 1), ratio=(1, 1)), flip. The
    # Resize(40) does not change the crops: their side is sqrt(U(0.64, 1)) of the image's side either way.
    "cifar10": dict(size=32, cache_size=None, crop="resized", scale=(0.64, 1.0), ratio=(1.0, 1.0), padding=0, flip=0.5,
                    jitter=None, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    # airbench's CIFAR-10 recipe: pad by 4 pixels, crop 32x32 at a random offset, flip
    "cifar10_pad": dict(size=32, cache_size=None, crop="pad", scale=None, ratio=None, padding=4, flip=0.5,
                        jitter=None, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    # d2l's dog / ImageNet transform: RandomResizedCrop(224), flip, ColorJitter(0.4, 0.4, 0.4). Images are decoded
    # to 256 x 256 (aspect not kept, original sizes remembered) so crops are drawn over the WHOLE original image;
    # eval_crop 224/256 is the test transform Resize(256) + CenterCrop(224).
    "imagenet": dict(size=224, cache_size=256, crop="resized", scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), padding=0,
                     flip=0.5, jitter=(0.4, 0.4, 0.4), eval_crop=224 / 256, mean=IMAGENET_MEAN, std=IMAGENET_STD),
}


def folder_fingerprint(samples):
    """sha1 over (relative path, byte size, mtime in ns) of every file in `samples` [(path, class index)]: it changes
    when an image is added, removed, renamed, moved to another class folder or rewritten."""
    h = hashlib.sha1(f"v{FAST_CACHE_VERSION}".encode())
    for path, target in samples:
        st = os.stat(path)
        h.update(f"{Path(path).parent.name}/{Path(path).name},{target},{st.st_size},{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class CachedImageFolder(torch.utils.data.Dataset):
    """A decoded ImageFolder: images (N, 3, H, W) uint8, targets (N,) int64, sizes (N, 2) int64 (each file's own
    height and width before resizing), and ImageFolder's classes, class_to_idx and samples [(path, class index)] in
    ImageFolder's order. Item i is (images[i], int target)."""

    def __init__(self, root, images, targets, classes, samples, sizes):
        self.root, self.images, self.targets, self.sizes = Path(root), images, targets, sizes
        self.classes, self.class_to_idx = list(classes), {c: i for i, c in enumerate(classes)}
        self.samples = self.imgs = [(str(p), int(t)) for p, t in samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.images[i], int(self.targets[i])


def _decode(path, size):
    """One image file -> ((3, H, W) uint8 array, (height, width) of the file); size None: as is; (H, W): resized to
    exactly H x W (PIL's antialiased bilinear, aspect not kept)."""
    from PIL import Image
    with Image.open(path) as img:
        img = img.convert("RGB")
        original = (img.height, img.width)
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.BILINEAR)
        return np.asarray(img).transpose(2, 0, 1), original


def image_folder_cache(folder, size=None, store="disk", memmap=False, workers=None):
    """Decode the ImageFolder-style `folder` (<folder>/<class>/<image>) once; return a CachedImageFolder.

    size: None (every image must already share one size), an int S or (H, W): every image resized to S x S (H x W)
    WITHOUT keeping its aspect ratio; its own size is kept in `.sizes`, so that augment_batch / eval_batch draw crops
    in the original geometry over the whole image (a centre square would lose the sides of every landscape photo).
    Classes, labels and order are ImageFolder's.
    store='disk' also writes the decoded set as <parent>/.<folder name>.fastcache/<size>.npy (+ .json) NEXT TO the
    folder (not inside it: ImageFolder would take the folder for a class) and reuses it across processes; 'memory'
    keeps it in this process only. Either way the cache is rebuilt when `folder_fingerprint` changes (an image added,
    removed, renamed or rewritten). memmap=True reads the .npy lazily (sets larger than RAM); otherwise it is loaded
    into RAM.
    Decoding runs on `workers` threads (default: one per core; PIL releases the GIL while decoding).
    Cost: N x 3 x H x W bytes (50,000 CIFAR images: 154 MB; 10,000 dogs at 256: 2 GB).
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
    if store not in ("disk", "memory"):
        raise ValueError(f"store must be 'disk' or 'memory', not {store!r}")
    folder = Path(folder)
    size = (size, size) if isinstance(size, int) else size
    classes, class_to_idx = find_classes(folder)
    samples = make_dataset(folder, class_to_idx, extensions=IMG_EXTENSIONS)
    if not samples:
        raise ValueError(f"no images in the class folders of {folder}")
    fingerprint = folder_fingerprint(samples)
    tag = "asis" if size is None else f"{size[0]}x{size[1]}"
    key = (str(folder.resolve()), tag)
    if key in _FAST_CACHE and _FAST_CACHE[key][0] == fingerprint:
        return _FAST_CACHE[key][1]
    cache_dir = folder.parent / f".{folder.name}.fastcache"
    npy, meta = cache_dir / f"{tag}.npy", cache_dir / f"{tag}.json"
    targets = torch.tensor([t for _, t in samples], dtype=torch.int64)
    images = None
    if store == "disk" and meta.exists() and npy.exists():
        try:
            info = json.loads(meta.read_text())
            if info.get("fingerprint") == fingerprint:
                images = torch.from_numpy(np.load(npy, mmap_mode="c" if memmap else None))
                sizes = torch.tensor(info["sizes"], dtype=torch.int64)
        except (ValueError, OSError, KeyError):
            images = None           # a damaged cache is simply rebuilt
    if images is None:
        paths = [p for p, _ in samples]
        first, _ = _decode(paths[0], size)
        array = np.empty((len(paths), *first.shape), dtype=np.uint8)
        sizes = torch.empty(len(paths), 2, dtype=torch.int64)
        from concurrent.futures import ThreadPoolExecutor

        def fill(i):
            img, (sizes[i, 0], sizes[i, 1]) = _decode(paths[i], size)
            if img.shape != first.shape:
                raise ValueError(f"{paths[i]} is {img.shape[2]}x{img.shape[1]}, {paths[0]} is "
                                 f"{first.shape[2]}x{first.shape[1]}: pass size= to resize them to one size")
            array[i] = img
        with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
            list(pool.map(fill, range(len(paths))))
        images = torch.from_numpy(array)
        if store == "disk":
            try:                    # write aside, then rename: a crash never leaves a half-written cache
                cache_dir.mkdir(exist_ok=True)
                with open(npy.with_suffix(".tmp"), "wb") as f:
                    np.save(f, array)
                os.replace(npy.with_suffix(".tmp"), npy)
                meta.write_text(json.dumps({"fingerprint": fingerprint, "shape": list(array.shape),
                                            "classes": classes, "size": tag, "sizes": sizes.tolist()}))
            except OSError as e:
                warnings.warn(f"could not write the decode cache in {cache_dir} ({e}); keeping it in memory only",
                              stacklevel=2)
    dataset = CachedImageFolder(folder, images, targets, classes, samples, sizes)
    _FAST_CACHE[key] = (fingerprint, dataset)
    return dataset


def resized_crop_params(n, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), device=None, trials=10):
    """Crop boxes for n images at once, drawn as torchvision's RandomResizedCrop.get_params draws one: area fraction
    ~ U(scale), log aspect ratio ~ U(log ratio), integer sides, up to `trials` draws, else the centre crop.
    height, width: ints, or (n,) tensors (one size per image). Returns (top, left, h, w): four (n,) float tensors,
    in pixels of each image."""
    H = torch.as_tensor(height, dtype=torch.float32, device=device).expand(n)
    W = torch.as_tensor(width, dtype=torch.float32, device=device).expand(n)
    target = (H * W)[:, None] * torch.empty(n, trials, device=device).uniform_(*scale)
    log_r = torch.empty(n, trials, device=device).uniform_(math.log(ratio[0]), math.log(ratio[1]))
    w = torch.sqrt(target * torch.exp(log_r)).round()
    h = torch.sqrt(target / torch.exp(log_r)).round()
    ok = (w > 0) & (w <= W[:, None]) & (h > 0) & (h <= H[:, None])
    first = ok.float().argmax(dim=1, keepdim=True)         # the first trial that fits, as torchvision takes it
    w, h = w.gather(1, first).squeeze(1), h.gather(1, first).squeeze(1)
    # no trial fitted: the whole image, cut to the nearest allowed aspect ratio (torchvision's fallback)
    in_ratio = W / H
    fw = torch.where(in_ratio > max(ratio), (H * max(ratio)).round(), W)
    fh = torch.where(in_ratio < min(ratio), (W / min(ratio)).round(), H)
    fits = ok.any(dim=1)
    w, h = torch.where(fits, w, fw), torch.where(fits, h, fh)
    top = torch.where(fits, (torch.rand(n, device=device) * (H - h + 1)).floor(), ((H - h) / 2).floor())
    left = torch.where(fits, (torch.rand(n, device=device) * (W - w + 1)).floor(), ((W - w) / 2).floor())
    return top, left, h, w


def crop_resize_batch(images, boxes, size, flip=None, method="auto", float_out=True, index=None):
    """Cut box b out of images[b] and resample it to size x size, every image with its own box and flip.

    images: (B, C, H, W) uint8 or float; boxes: (top, left, h, w) (B,) tensors in pixels; flip: optional (B,) bool
    mask of images to mirror left-right. Returns (B, C, size, size) float32 in the input's units (0..255 for uint8).
    method 'grid': ONE bilinear grid_sample over the batch; the grid is an axis-aligned affine map per image, built
    by broadcasting (cheaper than F.affine_grid); boxes may have fractional pixels; no antialiasing when a box is
    shrunk (rare in RandomResizedCrop, which mostly enlarges). With align_corners=False a whole-image box at the
    image's own size returns the image unchanged. method 'resize': torch's vectorised uint8 bilinear resize, image by
    image (boxes rounded to whole pixels, antialiased like PIL); for outputs of 64 pixels and more it is 2-5x faster
    than a float grid_sample on a CPU (for 32x32 the per-image calls cost more than they save). 'auto': 'resize'
    for uint8 images on a CPU with size >= 64, else 'grid'. float_out=False keeps the uint8 result of 'resize' (the
    next step converts it on the fly). index: optional (B,) indices into `images` (then a whole stored set): box b is
    cut from images[index[b]]; 'resize' then reads the crops straight from the store instead of first gathering
    B whole images (about 12% of the CPU time of a 224x224 batch).
    """
    if method == "auto":
        method = "resize" if images.device.type == "cpu" and images.dtype == torch.uint8 and size >= 64 else "grid"
    if index is not None and method != "resize":
        images, index = images[index.to(images.device)], None
    B = len(index) if index is not None else images.shape[0]
    _, C, H, W = images.shape
    if method == "resize":
        out = torch.empty(B, C, size, size, dtype=torch.float32 if float_out else images.dtype)
        mirror = flip.tolist() if flip is not None else [False] * B
        source = index.tolist() if index is not None else range(B)
        for b, (t, l, hh, ww) in enumerate(zip(*(v.round().long().clamp(min=0).tolist() for v in boxes))):
            t, l, i = min(t, H - 1), min(l, W - 1), source[b]
            crop = images[i:i + 1, :, t:t + max(1, min(hh, H - t)), l:l + max(1, min(ww, W - l))]
            resized = nn.functional.interpolate(crop, size=(size, size), mode="bilinear", antialias=True,
                                                align_corners=False)[0]
            out[b] = resized.flip(2) if mirror[b] else resized
        return out
    top, left, h, w = (t.to(images.device, torch.float32) for t in boxes)
    pos = (torch.arange(size, device=images.device, dtype=torch.float32) + 0.5) / size      # output pixel centres
    # sample positions in grid_sample's [-1, 1] coordinates, kept inside the box's outer pixel centres (crop first,
    # then resize: the box's edge pixels are repeated, never its neighbours blended in)
    gy = ((2 * top[:, None] + 2 * pos * h[:, None]) / H - 1).clamp(min=((2 * top + 1) / H - 1)[:, None],
                                                                    max=((2 * (top + h) - 1) / H - 1)[:, None])
    gx = ((2 * left[:, None] + 2 * pos * w[:, None]) / W - 1).clamp(min=((2 * left + 1) / W - 1)[:, None],
                                                                     max=((2 * (left + w) - 1) / W - 1)[:, None])
    if flip is not None:
        gx = torch.where(flip.to(images.device)[:, None], gx.flip(1), gx)
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)    # (B, size, size, 2)
    return nn.functional.grid_sample(images.float().contiguous(), grid, mode="bilinear", padding_mode="border",
                                     align_corners=False)


def pad_crop_batch(images, size, padding, flip=None, fill=0):
    """RandomCrop(size, padding) for a whole batch with one random offset per image, plus an optional flip mask.
    images: (B, C, H, W), any dtype; the padding is constant `fill` (torchvision's default). Returns (B, C, size, size)
    in the input dtype; the offsets are the second output: (top, left), two (B,) long tensors."""
    B, C, H, W = images.shape
    padded = nn.functional.pad(images, (padding,) * 4, value=fill) if padding else images
    top = torch.randint(0, padded.shape[2] - size + 1, (B,), device=images.device)
    left = torch.randint(0, padded.shape[3] - size + 1, (B,), device=images.device)
    rows = top[:, None] + torch.arange(size, device=images.device)
    cols = left[:, None] + torch.arange(size, device=images.device)
    if flip is not None:
        cols = torch.where(flip.to(images.device)[:, None], cols.flip(1), cols)
    batch = torch.arange(B, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]             # (B, size, size, C)
    return out.permute(0, 3, 1, 2), (top, left)


def color_jitter_batch(x, brightness=0.4, contrast=0.4, saturation=0.4, mean=None, std=None, chunk_bytes="auto"):
    """ColorJitter(brightness, contrast, saturation) with its own factors and its own order of the steps for every
    image, as torchvision draws them (each factor ~ U(max(0, 1 - v), 1 + v)), clamped to 0..255 after every step as
    torchvision does. x: (B, 3, H, W) in 0..255 units (uint8 or float; not modified) -> float32 in the same units, or
    normalised as by `normalize_batch` when mean and std are given.
    Every step blends the image with something: black (brightness), its mean gray (contrast) or each pixel's gray
    (saturation). One round does one step per image, each image its own, with in-place ops on one float copy (large
    fresh tensors are slow on a CPU: each new page is faulted in).
    chunk_bytes: on a CPU the rounds run over groups of images of about this many float bytes ('auto': 16 MB), so
    that a group stays in the cache for all its rounds: 2x faster for 224x224 batches than whole-batch passes
    through memory. None: the whole batch at once (the default on GPUs). The result does not depend on it (up to
    float rounding, ~1e-6).
    """
    B, C, H, W = x.shape
    dev = x.device
    steps = torch.tensor([k for k, v in enumerate((brightness, contrast, saturation)) if v], device=dev)
    ranges = torch.tensor([[max(0.0, 1 - v), 1 + v] for v in (brightness, contrast, saturation)], device=dev)
    factors = ranges[:, 0] + (ranges[:, 1] - ranges[:, 0]) * torch.rand(B, 3, device=dev)
    order = steps[torch.rand(B, len(steps), device=dev).argsort(dim=1)]   # a random order of the steps per image
    if chunk_bytes == "auto":
        chunk_bytes = 16 * 2 ** 20 if dev.type == "cpu" else None
    per_chunk = B if chunk_bytes is None else max(1, int(chunk_bytes) // (4 * C * H * W))
    out = torch.empty(B, C, H * W, device=dev)
    if mean is not None:
        scale = 1 / (255 * torch.tensor(std, device=dev, dtype=torch.float32))[None, :, None]
        shift = -torch.tensor(mean, device=dev, dtype=torch.float32)[None, :, None] * 255 * scale
    luma = torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 1, 3)
    gray_buffer = torch.empty(min(per_chunk, B), 1, H * W, device=dev)
    for i in range(0, B, per_chunk):
        o, n = out[i:i + per_chunk], min(per_chunk, B - i)
        o.copy_(x[i:i + n].reshape(n, C, H * W))
        to_gray, gray = luma.expand(n, 1, 3), gray_buffer[:n]
        for r in range(len(steps)):
            step = order[i:i + n, r, None, None]
            f = factors[i:i + n].gather(1, order[i:i + n, r:r + 1])[:, :, None]
            torch.bmm(to_gray, o, out=gray)                                # each pixel's gray, as it is now
            # blend towards black (brightness), the mean gray (contrast) or each pixel's gray (saturation):
            # o = f * o + (1 - f) * target, i.e. lerp(o, target, 1 - f), in place
            mean_gray = gray.mean(dim=2, keepdim=True)
            target = gray.mul_(step == 2).add_(mean_gray * (step == 1))   # in place: fresh tensors are slow on a CPU
            o.lerp_(target, 1 - f).clamp_(0, 255)
        if mean is not None:
            o.mul_(scale).add_(shift)
    return out.view(B, C, H, W)


def normalize_batch(x, mean, std):
    """(x / 255 - mean) / std per channel, as ToTensor() + Normalize(mean, std); x (B, 3, H, W) in 0..255 units."""
    scale = 1 / (torch.tensor(std, device=x.device, dtype=torch.float32).view(1, -1, 1, 1) * 255)
    shift = -torch.tensor(mean, device=x.device, dtype=torch.float32).view(1, -1, 1, 1) * 255 * scale
    return torch.addcmul(shift, x, scale)                     # one pass over the batch (uint8 converts on the fly)


def _to_cache_pixels(boxes, sizes, H, W):
    """Boxes drawn in each image's original pixels -> pixels of its H x W cached copy."""
    if sizes is None:
        return boxes
    sy, sx = H / sizes[:, 0].float(), W / sizes[:, 1].float()
    top, left, h, w = boxes
    return top * sy, left * sx, h * sy, w * sx


def augment_batch(images, size, crop="resized", scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), padding=4, flip=0.5,
                  jitter=None, mean=IMAGENET_MEAN, std=IMAGENET_STD, sizes=None, index=None, **unused):
    """The training transform of a whole batch, with fresh random parameters for EVERY image.

    images: (B, 3, H, W) uint8 on any device. crop='resized': RandomResizedCrop(size, scale, ratio); 'pad':
    RandomCrop(size, padding); None: no crop. flip: probability that an image is mirrored. jitter: (brightness,
    contrast, saturation) as in ColorJitter, or None. Then normalisation. Returns (B, 3, size, size) float32.
    sizes: (B, 2) original (height, width) of resized images (CachedImageFolder.sizes): crops are then drawn in that
    geometry, as the PIL transform would draw them on the file. Recipe keys that do not apply here are ignored.
    index: optional (B,) indices: the batch is images[index] (images is then a whole stored set; see crop_resize_batch).
    """
    if index is not None and crop != "resized":
        images, index = images[index.to(images.device)], None
    B = len(index) if index is not None else images.shape[0]
    H, W = images.shape[2:]
    mirror = torch.rand(B, device=images.device) < flip if flip else None
    if crop == "resized":
        sizes = sizes.to(images.device) if sizes is not None else None
        boxes = resized_crop_params(B, sizes[:, 0] if sizes is not None else H, sizes[:, 1] if sizes is not None
                                    else W, scale, ratio, images.device)
        x = crop_resize_batch(images, _to_cache_pixels(boxes, sizes, H, W), size, mirror, float_out=False,
                              index=index)
    elif crop == "pad":
        x = pad_crop_batch(images, size, padding, mirror)[0]
    elif crop is None:
        x = torch.where(mirror[:, None, None, None], images.flip(3), images) if mirror is not None else images
    else:
        raise ValueError(f"crop must be 'resized', 'pad' or None, not {crop!r}")
    if jitter:
        return color_jitter_batch(x, *jitter, mean=mean, std=std)
    return normalize_batch(x, mean, std)


def eval_batch(images, size, mean=IMAGENET_MEAN, std=IMAGENET_STD, eval_crop=1.0, sizes=None, **unused):
    """The test transform of a batch: Resize(round(size / eval_crop)) + CenterCrop(size), i.e. the centre square of
    eval_crop x the shorter side, resampled to size x size, then normalisation. images (B, 3, H, W) uint8 ->
    (B, 3, size, size) float32; sizes: original sizes as in augment_batch. Images that are size x size already (and
    eval_crop 1) are only normalised, exactly as ToTensor() + Normalize() would do it."""
    B, _, H, W = images.shape
    if sizes is None and eval_crop == 1 and H == W == size:
        return normalize_batch(images, mean, std)
    hw = sizes.to(images.device).float() if sizes is not None else \
        torch.tensor([[H, W]], dtype=torch.float32, device=images.device).expand(B, 2)
    side = hw.min(dim=1).values * eval_crop
    boxes = ((hw[:, 0] - side) / 2, (hw[:, 1] - side) / 2, side, side)
    # 'grid': the centre box is rarely whole pixels, and a test transform should not move by rounding
    return normalize_batch(crop_resize_batch(images, _to_cache_pixels(boxes, sizes, H, W), size, method="grid"),
                           mean, std)


_MALLOC_TUNED = []


def keep_freed_cpu_memory(max_block_bytes=1 << 30):
    """Make glibc's malloc keep freed blocks of up to max_block_bytes for reuse instead of handing each one back to the
    operating system. Returns True when applied (Linux with glibc; once per process), False elsewhere (no effect).

    Why: a batch of 128 ImageNet-sized float images is 77 MB. glibc serves blocks over 32 MB with a fresh mmap and
    unmaps them on free, so every batch pays ~19,000 page faults and the kernel zeroes 77 MB: on a 2-core CPU that
    was about half of the fast path's augmentation time (0.46 -> 0.34 ms per 224x224 image, see `make bench`).
    Cost: the process keeps its peak heap (it reuses it, it does not grow). FastLoader calls this on the CPU.
    """
    if _MALLOC_TUNED:
        return _MALLOC_TUNED[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import ctypes.util
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, int(max_block_bytes))) and \
                bool(libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1))
        except (OSError, AttributeError):       # not glibc (musl has no mallopt): leave the allocator alone
            ok = False
    _MALLOC_TUNED.append(ok)
    return ok


class FastLoader:
    """airbench-style loader: a whole split sits on `device` as uint8; each batch is gathered and transformed there.

    images (N, 3, H, W) uint8, labels (N,) int64, sizes: optional (N, 2) original sizes (CachedImageFolder.sizes);
    recipe: a FAST_RECIPES entry (or a dict with its keys).
    train=True: a new shuffle every epoch, the last partial batch dropped (as d2l's training loaders), augment_batch;
    train=False: file order, every image, eval_batch. Yields (X (B, 3, size, size) float32, y (B,) int64) on device.
    on_device=False keeps the images in host memory (pinned for CUDA) and copies each batch over: for sets larger than
    the device's memory. `dataset` is kept for its classes and samples (e.g. to read test ids).
    """

    def __init__(self, images, labels, batch_size, recipe, train=True, device=None, shuffle=None, drop_last=None,
                 dataset=None, sizes=None, on_device=True):
        self.device = torch.device(device) if device is not None else try_gpu()
        if self.device.type == "cpu":
            keep_freed_cpu_memory()             # batches are tens of MB: reuse their memory (see the docstring)
        if on_device:
            self.images = images.to(self.device)
        else:
            self.images = images.pin_memory() if self.device.type == "cuda" else images
        if self.device.type == "cpu" and train and recipe.get("crop") == "resized" and recipe["size"] >= 64:
            # torch's uint8 resize (crop_resize_batch on a CPU) is ~1.6x faster on channels-last images
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.sizes = sizes.to(self.device) if sizes is not None else None
        self.labels = torch.as_tensor(labels, dtype=torch.int64).to(self.device)
        self.batch_size, self.recipe, self.train, self.dataset = batch_size, dict(recipe), train, dataset
        self.shuffle = train if shuffle is None else shuffle
        self.drop_last = (train and len(self.labels) > batch_size) if drop_last is None else drop_last

    def __len__(self):
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, device=self.device) if self.shuffle else torch.arange(n, device=self.device)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            sizes = self.sizes[idx] if self.sizes is not None else None
            if self.train and self.images.device == self.device and self.recipe.get("crop") == "resized":
                X = augment_batch(self.images, **{**self.recipe, "sizes": sizes}, index=idx)   # crops read in place
            else:
                images = self.images[idx.to(self.images.device)].to(self.device, non_blocking=True)
                X = (augment_batch if self.train else eval_batch)(images, **{**self.recipe, "sizes": sizes})
            yield X, self.labels[idx]


def fast_loaders(data_dir, batch_size, recipe="cifar10", device=None, folder="train_valid_test", store="disk",
                 on_device=True, **overrides):
    """The fast counterpart of `reorganised_loaders`: (datasets, loaders) keyed by the same splits (train, valid,
    train_valid, test), from <data_dir>/<folder>/<split>, with FastLoaders on `device` (default: try_gpu()).

    recipe: a FAST_RECIPES name or dict; overrides replace its keys (e.g. scale=(0.5, 1)). Each split is decoded once
    (image_folder_cache, at recipe['cache_size']) and stored next to it (store='disk'), so later runs start fast.
    Switch in a notebook: `datasets, loaders = helpers.fast_loaders(data_dir, batch_size) if FAST_DATA else
    helpers.reorganised_loaders(data_dir, train_tf, test_tf, batch_size)`.
    Memory: every split is held as uint8 on the device (N x 3 x H x W bytes each; train_valid repeats train + valid);
    on_device=False keeps them in host memory and copies batch by batch.
    """
    recipe = {**(FAST_RECIPES[recipe] if isinstance(recipe, str) else recipe), **overrides}
    root = Path(data_dir) / folder
    datasets, loaders = {}, {}
    for split in ("train", "valid", "train_valid", "test"):
        if not (root / split).exists():
            continue
        datasets[split] = ds = image_folder_cache(root / split, recipe.get("cache_size"), store=store)
        loaders[split] = FastLoader(ds.images, ds.targets, batch_size, recipe, train=split in ("train", "train_valid"),
                                    device=device, dataset=ds, sizes=ds.sizes if recipe.get("cache_size") else None,
                                    on_device=on_device)
    return datasets, loaders


# =====================================================================================================================
# 6. Training: d2l's train_batch_ch13 / train_ch13, with checkpoints, AMP, channels_last and a live plot
# =====================================================================================================================

def _amp_settings(device, amp):
    """(enabled, dtype) for autocast. 'auto': bf16 on CUDA GPUs that support it, fp16 on older ones, off elsewhere
    (on CPU bf16 autocast is slower than fp32 unless the CPU has AMX)."""
    if amp == "auto":
        amp = device.type == "cuda"
    if not amp:
        return False, None
    if device.type == "cuda":
        return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return True, torch.bfloat16


def _to_device(X, device, channels_last=False):
    if isinstance(X, (list, tuple)):
        return [_to_device(x, device, channels_last) for x in X]
    X = X.to(device, non_blocking=True)
    return X.contiguous(memory_format=torch.channels_last) if channels_last and X.dim() == 4 else X


def _train_step(net, X, y, loss, trainer, device, amp=(False, None), scaler=None, channels_last=False):
    """One optimiser step; returns (loss sum, number correct, batch size) as tensors (no GPU sync)."""
    X, y = _to_device(X, device, channels_last), y.to(device, non_blocking=True)
    trainer.zero_grad(set_to_none=True)
    with torch.autocast(device.type, dtype=amp[1], enabled=amp[0]):
        pred = net(X)
        l = loss(pred, y)
    # d2l's semantics: a per-example loss (reduction='none') whose SUM is back-propagated
    l_sum = l.sum() if l.dim() else l * y.shape[0]
    if scaler is not None:
        scaler.scale(l_sum if l.dim() else l).backward()
        scaler.step(trainer)
        scaler.update()
    else:
        (l_sum if l.dim() else l).backward()
        trainer.step()
    return l_sum.detach().float(), (pred.argmax(dim=1) == y).sum(), y.shape[0]


def train_batch_ch13(net, X, y, loss, trainer, devices, amp=False, channels_last=False):
    """Train on one minibatch; return (sum of per-example losses, number of correct predictions), as d2l does.

    X: (B, C, H, W) images (or a list of tensors), y: (B,) class indices. Back-propagates loss(net(X), y).sum():
    keep loss = nn.CrossEntropyLoss(reduction='none') so that d2l's learning rates carry over unchanged (a
    mean-reduced loss divides the gradient by the batch size; it still works here but needs lr x batch).
    """
    device = devices[0] if isinstance(devices, (list, tuple)) else devices
    net.train()
    amp_cfg = _amp_settings(torch.device(device), amp)
    l_sum, correct, _ = _train_step(net, X, y, loss, trainer, torch.device(device), amp_cfg, None, channels_last)
    return l_sum.item(), correct.item()


def _lrs(trainer):
    return [group["lr"] for group in trainer.param_groups]


def _test_acc_text(history):
    """'test acc 0.812, ' for the status lines, or 'no test set, ' when train_ch13 ran without one (history NaN)."""
    acc = history["test_acc"][-1]
    return "no test set, " if math.isnan(acc) else f"test acc {acc:.3f}, "


class _Reporter:
    """Progress text and a live plot. In a notebook frontend (JupyterLab, Colab, VS Code) both are updated in place
    through display handles, at most once a second; headless (COURSE_HEADLESS=1, or not in a kernel) it prints one
    line per epoch and, in a kernel, draws the plot once at the end, so nbval/papermill outputs stay small."""

    def __init__(self, num_epochs, num_batches, plot, title):
        self.num_epochs, self.num_batches, self.plot, self.title = num_epochs, num_batches, plot, title
        self.live = not _headless()
        self.last = 0.0
        self.text_handle = self.fig_handle = None
        if self.live:
            from IPython.display import display
            self.text_handle = display({"text/plain": "starting..."}, raw=True, display_id=True)

    def batch(self, epoch, i, loss, acc, ips):
        if self.live and time.time() - self.last > 1.0:
            self.last = time.time()
            done = int(20 * (i + 1) / max(self.num_batches, 1))
            self.text_handle.update({"text/plain": f"epoch {epoch + 1}/{self.num_epochs} [{'#' * done:<20}] batch "
                                     f"{i + 1}/{self.num_batches}  loss {loss:.3f}  train acc {acc:.3f}  "
                                     f"{ips:.0f} img/s"}, raw=True)

    def epoch(self, history):
        e = len(history["epoch"])
        line = (f"{results_tag()}epoch {history['epoch'][-1]}/{self.num_epochs}: loss {history['train_loss'][-1]:.3f}, "
                f"train acc {history['train_acc'][-1]:.3f}, {_test_acc_text(history)}"
                f"lr {history['lr'][-1]:.3g}, {history['time_s'][-1]:.1f} s, {history['img_per_s'][-1]:.0f} img/s")
        if not self.live:
            print(line)
            return
        self.text_handle.update({"text/plain": line}, raw=True)
        if self.plot and e > 0:
            self._draw(history, final=False)

    def _draw(self, history, final):
        import matplotlib.pyplot as plt
        from IPython.display import display
        fig = plot_history(history, title=self.title)
        plt.close(fig)
        if self.fig_handle is None:
            self.fig_handle = display(fig, display_id=True)
        else:
            self.fig_handle.update(fig)
        return fig

    def done(self, history):
        if self.plot and _in_notebook() and len(history["epoch"]):
            if not self.live or self.fig_handle is None:
                self._draw(history, final=True)


def _rng_state():
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available()
            else [], "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state):
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(path, **state):
    """torch.save to a temporary file, then rename: an interrupted save never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Accuracy (fraction correct) of net over every batch of data_iter, in eval mode. d2l's name; unlike d2l's,
    the net's previous train/eval mode is restored afterwards. Pair it with a loader that drops no batch."""
    device = device or next(iter(net.parameters())).device
    was_training = net.training
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = _to_device(X, device), y.to(device)
            correct += (net(X).argmax(dim=1) == y).sum().item()
            total += y.numel()
    net.train(was_training)
    return correct / max(total, 1)


def train_ch13(net, train_iter, test_iter, loss, trainer, num_epochs, devices=None, *, scheduler=None,
               amp=False, channels_last="auto", checkpoint=None, plot=True, title=None):
    """Train net for num_epochs; return the per-epoch history. d2l's train_ch13 signature and loss semantics.

    net, trainer (an optimiser) and loss (per-example, reduction='none'; its sum is back-propagated, as in d2l) as in
    d2l. test_iter may be None (final training on train+valid). Differences from d2l:
      - devices defaults to try_all_gpus() and works on CPU, one GPU (no DataParallel wrapper) or several GPUs;
      - no ZeroDivisionError with fewer than 5 batches;
      - scheduler: an optional LR scheduler stepped once per epoch (StepLR etc.);
      - amp: False, True or 'auto' (bf16, or fp16 with a GradScaler, on CUDA only); channels_last: 'auto' = CUDA;
      - checkpoint: a file path; state is saved after every epoch, and a rerun with the same arguments resumes
        from it and ends with the same weights as an uninterrupted run (same seed, CPU);
      - the images/s figure includes data loading (d2l leaves it out).
    Returns a dict of lists, one entry per epoch: epoch, train_loss (mean per example), train_acc, test_acc (nan
    without test_iter), lr (first parameter group, used during the epoch), lrs (all groups), time_s (wall time
    including data loading), img_per_s.
    """
    devices = devices or try_all_gpus()
    devices = [torch.device(d) for d in devices]
    device = devices[0]
    net.to(device)
    amp_cfg = _amp_settings(device, amp)
    use_channels_last = device.type == "cuda" if channels_last == "auto" else bool(channels_last)
    if use_channels_last:
        net.to(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler("cuda") if amp_cfg[0] and amp_cfg[1] == torch.float16 else None
    model = nn.DataParallel(net, device_ids=devices) if len(devices) > 1 and device.type == "cuda" else net

    history = {k: [] for k in ("epoch", "train_loss", "train_acc", "test_acc", "lr", "lrs", "time_s", "img_per_s")}
    start_epoch = 0
    if checkpoint and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        try:
            net.load_state_dict(state["model"])
            trainer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise RuntimeError(f"The checkpoint {checkpoint} does not fit this net/optimiser ({e}). Delete it to "
                               f"start afresh, or pass another checkpoint path.") from None
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history, start_epoch = state["history"], state["epoch"]
        _set_rng_state(state["rng"])
        print(f"Resuming from {checkpoint}: {start_epoch} of {num_epochs} epochs already done.")

    num_batches = len(train_iter)
    reporter = _Reporter(num_epochs, num_batches, plot, title)
    for epoch in range(start_epoch, num_epochs):
        net.train()
        lrs = _lrs(trainer)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        n = 0
        t0 = time.perf_counter()
        for i, (X, y) in enumerate(train_iter):
            l_sum, c, b = _train_step(model, X, y, loss, trainer, device, amp_cfg, scaler, use_channels_last)
            loss_sum += l_sum
            correct += c
            n += b
            if reporter.live:
                reporter.batch(epoch, i, loss_sum.item() / n, correct.item() / n, n / (time.perf_counter() - t0))
        if scheduler is not None:
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - t0
        test_acc = evaluate_accuracy_gpu(model, test_iter, device) if test_iter is not None else float("nan")
        for key, value in (("epoch", epoch + 1), ("train_loss", loss_sum.item() / max(n, 1)),
                           ("train_acc", correct.item() / max(n, 1)), ("test_acc", test_acc), ("lr", lrs[0]),
                           ("lrs", lrs), ("time_s", elapsed), ("img_per_s", n / elapsed if elapsed else 0.0)):
            history[key].append(value)
        reporter.epoch(history)
        if checkpoint:
            save_checkpoint(checkpoint, epoch=epoch + 1, model=net.state_dict(), optimizer=trainer.state_dict(),
                            scheduler=scheduler.state_dict() if scheduler is not None else None,
                            scaler=scaler.state_dict() if scaler is not None else None,
                            history=history, rng=_rng_state())
    reporter.done(history)
    if history["epoch"]:
        total_time = sum(history["time_s"])
        print(f"{results_tag()}loss {history['train_loss'][-1]:.3f}, train acc {history['train_acc'][-1]:.3f}, "
              f"{_test_acc_text(history).rstrip(', ')}")
        print(f"{sum(n for n in history['img_per_s']) / len(history['img_per_s']):.1f} examples/sec on "
              f"{', '.join(map(str, devices))} (data loading included); {total_time:.1f} s of training")
    return history


def finetune_optimizer(net, lr, head_lr_mult=10, weight_decay=1e-3, head="fc", optimizer=torch.optim.SGD, **kwargs):
    """The fine-tuning optimiser: two parameter groups, named 'body' (lr) and 'head' (head_lr_mult * lr).

    d2l's `train_fine_tuning(..., param_group=True)` with SGD(lr=5e-5, weight_decay=1e-3) and head lr 10x. Only
    parameters with requires_grad are handed over, so frozen layers (see freeze_layers) are left out; when the whole
    body is frozen there is only the 'head' group. kwargs go to the optimiser (e.g. momentum=0.9).
    """
    head_params = list(getattr(net, head).parameters())
    head_ids = {id(p) for p in head_params}
    body = [p for p in net.parameters() if p.requires_grad and id(p) not in head_ids]
    head_params = [p for p in head_params if p.requires_grad]
    if not head_params:
        raise ValueError(f"the head {head!r} has no trainable parameter: unfreeze it (requires_grad=True)")
    groups = ([{"params": body, "lr": lr, "name": "body"}] if body else []) + \
             [{"params": head_params, "lr": lr * head_lr_mult, "name": "head"}]
    return optimizer(groups, lr=lr, weight_decay=weight_decay, **kwargs)


def run_experiment(config, net, trainer, train_iter, test_iter, num_epochs, loss=None, devices=None, seed=None,
                   eval_start=False, columns=None, **train_kwargs):
    """Train one configuration with train_ch13 and return (row, history): the row is one line of a results table.

    row = {'config': config, **columns, 'test acc at start' (only with eval_start=True: accuracy before any
    training), 'test acc', 'train acc', 'train loss' (last epoch), 'time/epoch (s)' (mean wall time per epoch,
    data loading included), 'trainable params' (count_parameters)}. seed: seeded just before training, so that
    every configuration sees the same batches in the same order. loss defaults to d2l's
    CrossEntropyLoss(reduction='none'); train_kwargs go to train_ch13 (plot=False unless given).
    """
    devices = devices or try_all_gpus()
    loss = loss or nn.CrossEntropyLoss(reduction="none")
    row = {"config": config, **(columns or {})}
    if eval_start:
        net.to(devices[0])
        row["test acc at start"] = evaluate_accuracy_gpu(net, test_iter, devices[0])
    if seed is not None:
        seed_everything(seed)
    train_kwargs.setdefault("plot", False)
    train_kwargs.setdefault("title", str(config))
    history = train_ch13(net, train_iter, test_iter, loss, trainer, num_epochs, devices, **train_kwargs)
    row.update({"test acc": history["test_acc"][-1], "train acc": history["train_acc"][-1],
                "train loss": history["train_loss"][-1],
                "time/epoch (s)": sum(history["time_s"]) / len(history["time_s"]),
                "trainable params": count_parameters(net)})
    return row, history


# =====================================================================================================================
# 7. Evaluation, prediction and Kaggle submissions
# =====================================================================================================================

def evaluate_loss(data_iter, net, devices, loss=None):
    """Mean per-example loss over data_iter in eval mode (d2l's dog-chapter evaluate_loss, with the loss passed in;
    default cross-entropy). The net's previous mode is restored."""
    loss = loss or nn.CrossEntropyLoss(reduction="none")
    device = devices[0] if isinstance(devices, (list, tuple)) else devices
    was_training = net.training
    net.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = _to_device(X, device), y.to(device)
            total += loss(net(X), y).sum().item()
            n += y.numel()
    net.train(was_training)
    return total / max(n, 1)


def predict(net, data_iter, device=None, tta_flip=False, return_labels=False):
    """Class probabilities (N, num_classes), float32 on the CPU, for every image of data_iter, in eval mode.

    tta_flip=True averages the softmax of each image and of its horizontal mirror (test-time augmentation).
    With return_labels=True also returns the (N,) labels the loader yielded (on the CPU). The net's mode is restored.
    """
    device = device or next(iter(net.parameters())).device
    was_training = net.training
    net.eval()
    probs, labels = [], []
    with torch.no_grad():
        for X, y in data_iter:
            X = _to_device(X, device)
            p = torch.softmax(net(X).float(), dim=1)
            if tta_flip:
                p = (p + torch.softmax(net(torch.flip(X, dims=[3])).float(), dim=1)) / 2
            probs.append(p.cpu())
            labels.append(y.cpu() if torch.is_tensor(y) else y)     # a FastLoader yields labels on the device
    net.train(was_training)
    probs = torch.cat(probs) if probs else torch.empty(0)
    return (probs, torch.cat(labels)) if return_labels else probs


def multiclass_log_loss(probs, labels, eps=1e-15):
    """Kaggle's multi-class log loss: -mean(log p[i, y_i]) after clipping p to [eps, 1 - eps] and renormalising
    each row. probs: (N, C) array-like of probabilities; labels: (N,) class indices. Lower is better."""
    p = np.clip(np.asarray(probs, dtype=np.float64), eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    labels = np.asarray(labels)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


class SubmissionError(ValueError):
    """A submission file that Kaggle would reject or mis-score; the message lists every problem found."""


def kaggle_test_ids(test_dir):
    """Kaggle ids of the images in a test folder (file names without extension), naturally sorted."""
    return [Path(f).stem for f in list_images(test_dir)]


def write_label_submission(path, ids, labels, columns=("id", "label")):
    """Write a Kaggle 'one label per image' submission (CIFAR-10: id,label; leaves: image,label), one row per id,
    ids in natural (numeric) order. ids and labels are paired by position. Returns the path."""
    import pandas as pd
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels: each id needs exactly one prediction")
    df = pd.DataFrame({columns[0]: [str(i) for i in ids], columns[1]: list(labels)})
    df = df.iloc[sorted(range(len(df)), key=lambda k: _natural_key(df.iloc[k, 0]))]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    print(f"{results_tag()}wrote {len(df)} rows to {path}")
    return Path(path)


def validate_label_submission(path, expected_ids, classes, columns=("id", "label")):
    """Check a label submission: exact columns, one row per expected id (no missing, extra or duplicate ids), ids
    in natural order, no empty cells, every label in `classes`. Returns the DataFrame; raises SubmissionError."""
    import pandas as pd
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    if list(df.columns) != list(columns):
        problems.append(f"columns are {list(df.columns)}, expected {list(columns)}")
    else:
        got, expected = list(df[columns[0]]), [str(i) for i in expected_ids]
        if len(got) != len(expected):
            problems.append(f"{len(got)} rows, expected {len(expected)} (one per test image)")
        dupes = sorted({i for i in got if got.count(i) > 1}) if len(got) < 200_000 else \
            sorted(df[columns[0]][df[columns[0]].duplicated()].unique())
        if dupes:
            problems.append(f"duplicate ids: {dupes[:10]}")
        missing, extra = set(expected) - set(got), set(got) - set(expected)
        if missing:
            problems.append(f"{len(missing)} test ids missing: {sorted(missing, key=_natural_key)[:10]}")
        if extra:
            problems.append(f"{len(extra)} ids not in the test folder: {sorted(extra, key=_natural_key)[:10]}")
        if got != sorted(got, key=_natural_key):
            problems.append("ids are not in numeric order")
        empty = (df == "").any(axis=1).sum()
        if empty:
            problems.append(f"{empty} rows have an empty cell")
        unknown = sorted(set(df[columns[1]]) - set(classes) - {""})
        if unknown:
            problems.append(f"labels not among the {len(classes)} classes: {unknown[:10]}")
    if problems:
        raise SubmissionError(f"{path} is not a valid submission:\n  - " + "\n  - ".join(problems))
    return df


def write_cifar_submission(path, ids, labels):
    """CIFAR-10 submission.csv: `id,label` with class names, ids numeric-sorted."""
    return write_label_submission(path, ids, labels, ("id", "label"))


def validate_cifar_submission(path, test_dir, classes=CIFAR10_CLASSES):
    """validate_label_submission against the images in test_dir and the 10 CIFAR classes."""
    return validate_label_submission(path, kaggle_test_ids(test_dir), classes, ("id", "label"))


def write_dog_submission(path, ids, probs, breeds):
    """Dog-breed submission.csv: `id` then one probability column per breed, breeds in sorted order.
    probs: (N, len(breeds)) rows of probabilities in the order of `breeds` (ImageFolder's sorted classes)."""
    import pandas as pd
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(ids), len(breeds)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(ids)}, {len(breeds)})")
    order = np.argsort(breeds)
    df = pd.DataFrame(probs[:, order], columns=[breeds[i] for i in order])
    df.insert(0, "id", [str(i) for i in ids])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    print(f"{results_tag()}wrote {len(df)} rows x {len(breeds)} breeds to {path}")
    return Path(path)


def validate_dog_submission(path, test_dir, breeds, atol=1e-4):
    """Check a dog submission: columns id + sorted(breeds), one row per test image, no NaN, probabilities in
    [0, 1] and each row summing to 1 (within atol). Returns the DataFrame; raises SubmissionError."""
    import pandas as pd
    df = pd.read_csv(path, dtype={"id": str})
    problems = []
    expected_cols = ["id", *sorted(breeds)]
    if list(df.columns) != expected_cols:
        missing = sorted(set(expected_cols) - set(df.columns))
        problems.append(f"columns differ from 'id' + the {len(breeds)} sorted breeds"
                        + (f" (missing: {missing[:5]})" if missing else " (order or extra columns)"))
    else:
        expected = kaggle_test_ids(test_dir)
        got = list(df["id"])
        if len(got) != len(expected) or set(got) != set(expected):
            problems.append(f"ids do not match the {len(expected)} images in {test_dir} "
                            f"({len(got)} rows; missing {sorted(set(expected) - set(got))[:5]}, "
                            f"extra {sorted(set(got) - set(expected))[:5]})")
        values = df[expected_cols[1:]].to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            problems.append(f"{int(np.isnan(values).any(axis=1).sum())} rows contain NaN")
        elif (values < 0).any() or (values > 1).any():
            problems.append("probabilities outside [0, 1]")
        else:
            bad = np.abs(values.sum(axis=1) - 1) > atol
            if bad.any():
                problems.append(f"{int(bad.sum())} rows do not sum to 1 (e.g. row {int(np.argmax(bad))})")
    if problems:
        raise SubmissionError(f"{path} is not a valid submission:\n  - " + "\n  - ".join(problems))
    return df


# =====================================================================================================================
# 8. Plotting
# =====================================================================================================================

def save_fig(name, fig=None, folder=None, dpi=100):
    """Save a figure as <folder>/<name>.png (default folder: <outputs>/figures). Returns the path."""
    import matplotlib.pyplot as plt
    fig = fig or plt.gcf()
    folder = Path(folder) if folder else output_dir("figures")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def to_image(img, mean=None, std=None):
    """A displayable (H, W, C) float array in [0, 1] from a CHW/HWC tensor or array (undoing mean/std
    normalisation if given), or a PIL image."""
    if hasattr(img, "convert"):  # PIL
        return np.asarray(img.convert("RGB"))
    t = torch.as_tensor(np.asarray(img) if not torch.is_tensor(img) else img).detach().cpu().float()
    if t.dim() == 3 and t.shape[0] in (1, 3) and t.shape[-1] not in (1, 3):
        t = t.permute(1, 2, 0)
    if mean is not None:
        t = t * torch.tensor(std) + torch.tensor(mean)
    if t.max() > 1.5:
        t = t / 255
    return t.clamp(0, 1).numpy().squeeze()


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5, mean=None, std=None):
    """Show a grid of images (tensors CHW or HWC, arrays or PIL images); returns the (num_rows * num_cols) axes.
    d2l.show_images, but a 1x1 grid works and normalised tensors can be shown with mean/std."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    axes = axes.flatten()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(to_image(imgs[i], mean, std))
            if titles is not None and i < len(titles):
                ax.set_title(str(titles[i]), fontsize=8)
    tag = results_tag()
    if tag:   # above the top row, clear of the image titles
        fig.text(0.5, 1.0, tag.strip(), color="red", fontsize=8, ha="center", va="bottom")
    return axes


def plot_history(history, title=None, ax=None):
    """Loss and accuracies per epoch (left) and the learning rate (right). Returns the figure."""
    import matplotlib.pyplot as plt
    if ax is None:
        fig, (ax, ax_lr) = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    else:
        fig, ax_lr = ax.figure, None
    epochs = history["epoch"]
    ax.plot(epochs, history["train_loss"], "-", label="train loss")
    ax.plot(epochs, history["train_acc"], "--", label="train acc")
    if any(not math.isnan(a) for a in history["test_acc"]):
        ax.plot(epochs, history["test_acc"], "-.", label="test acc")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    if ax_lr is not None:
        ax_lr.plot(epochs, history["lr"], "o-", color="tab:purple")
        ax_lr.set_xlabel("epoch")
        ax_lr.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax_lr.set_ylabel("learning rate")
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    tag = results_tag()
    fig.suptitle((tag + (title or "")).strip(), color="red" if tag else "black", fontsize=9)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) int64 counts; row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def plot_confusion_matrix(y_true, y_pred, classes, normalize=True, ax=None):
    """Plot the confusion matrix (rows: true class, normalised per row by default). Returns the figure."""
    import matplotlib.pyplot as plt
    cm = confusion_matrix(y_true, y_pred, len(classes))
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    if ax is None:
        size = max(4, 0.45 * len(classes))
        fig, ax = plt.subplots(figsize=(size, size))
    fig = ax.figure
    ax.imshow(shown, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    if len(classes) <= 12:
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]), ha="center", va="center",
                        fontsize=7, color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set_title((results_tag() + "confusion matrix").strip(), fontsize=9)
    return fig
