"""helpers.py: the code that lectures 37-40 teach (fine-tuning and Kaggle image classification), as a lecture layer.

Names, parameters, return types and effects on disk follow d2l's, so that the book's code runs on ours
(`import helpers as d2l`). Where d2l-en 1.0.3 and d2l-zh 2.0 differ, we follow d2l-zh, the course's edition, and
the docstring says so. Each docstring also says what ours does beyond d2l (CPU/MPS fallback, eval-mode evaluation,
checkpoints, deterministic validation picks, named errors) and when that changes a number you would compare.

Sections, in the order the notebooks meet them:

    1. devices, seeds and the notebook setup
    2. data: DATA_HUB, download, download_extract, get_dataset (real data or a loud stand-in)
    3. reorganising Kaggle folders: read_csv_labels, copyfile, reorg_train_valid, reorg_test
    4. datasets and loaders
    5. models: d2l's CIFAR ResNet-18, fine-tuning (new head, 10x head lr, freezing), frozen feature extractors
    6. training: Timer, Accumulator, train_batch_ch13, train_ch13, evaluation
    7. prediction and Kaggle submissions
    8. plots: show_images, Animator, training curves, and show_source for reading this file in a notebook

Everything a learner need not read to follow a lecture (verified downloads, stand-ins, the fast data path, progress
display, checkpoint files) lives in the package `machinery/` beside this file, one module per concern; each
function here calls into it at most once or twice. This module never imports d2l.
"""
import copy
import math
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from machinery import (accel, caveats, checkpoints, classfolders, coursecode, datahub, duplicates, fastdata, folders,
                       images, labels as label_files, messages, plots, pretrained, progress, scoring, settings,
                       standins, submissions)
from machinery import alttext, platforms
from machinery.constants import (CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, DOG_BREEDS, IMAGENET_MEAN,
                                 IMAGENET_STD)

# Names the notebooks use from the machinery, so that `helpers.X` is all a notebook needs.
REPO_DIR, data_dir_root, output_dir, data_mode = settings.REPO_DIR, settings.data_dir_root, settings.output_dir, \
    settings.data_mode
results_tag, is_standin, list_images = caveats.results_tag, standins.is_standin, folders.list_images
fast_loaders, FAST_RECIPES = fastdata.fast_loaders, fastdata.FAST_RECIPES
DataUnavailableError, SubmissionError = datahub.DataUnavailableError, submissions.SubmissionError
CheckpointError, TrainingDiverged, ImageReadError = checkpoints.CheckpointError, checkpoints.TrainingDiverged, \
    images.ImageReadError
save_checkpoint, weights_cache_path, say_case = checkpoints.save_checkpoint, pretrained.weights_cache_path, \
    pretrained.say_case
constant_predictions = scoring.constant       # (probs, classes=None, what=None) -> one sentence, or None
# What the learner reads: every printed sentence goes through tr() (the notebook's language); check cells call check()
tr, check, set_language, LearnerError, CheckFailed = messages.tr, messages.check, messages.set_language, \
    messages.LearnerError, messages.CheckFailed
figure_text = plots.figure_text    # tr() for text in a figure: English where no Chinese font can draw it


def dog_breeds():
    """The 120 Kaggle dog-breed names, sorted (Kaggle's spelling: the submission's column names)."""
    return list(DOG_BREEDS)


# =====================================================================================================================
# 1. Devices, seeds and the notebook setup
# =====================================================================================================================

def try_gpu(i=0):
    """Device i: `cuda:i` if it exists, else Apple `mps` (i == 0 only), else `cpu`. d2l.try_gpu, plus MPS."""
    return accel.device_for(i)


def try_all_gpus():
    """All CUDA devices, else [mps], else [cpu]: never empty. (d2l-zh 2.0 returns [cpu] too; d2l-en 1.0.3 returns
    [] on a CPU, and its train_ch13 then fails with an IndexError.)"""
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


MIN_VERSIONS = {"torch": "2.0", "torchvision": "0.17", "numpy": "1.24", "pandas": "1.5", "matplotlib": "3.6"}


def setup_notebook(chapter, seed=0, min_versions=None):
    """The shared part of every notebook's first cell: take the notebook's language (from its comments; see
    machinery/messages.py), check package versions, pick the device (CUDA, then MPS, then CPU), seed everything, set
    plot defaults, and say all that in one line. Returns a dict with 'device', 'devices', 'data_mode', 'seed',
    'language' and 'fig_dir' (this chapter's figures go there: <outputs>/figures/<chapter>)."""
    import importlib
    from packaging.version import Version
    set_language(messages.notebook_language())
    messages.show_learner_errors_plainly()
    alttext.install()                   # every figure shown gets alt text (its titles and axis labels)
    for name, minimum in {**MIN_VERSIONS, **(min_versions or {})}.items():
        found = importlib.import_module(name).__version__
        if Version(found.split("+")[0]) < Version(minimum):
            raise LearnerError(tr("{name} {found} is too old for these notebooks: {minimum} or newer is needed. Run "
                                  "`make setup` (or `pip install -U {name}`) and restart the kernel.",
                                  name=name, found=found, minimum=minimum))
    device, mode = try_gpu(), data_mode()
    seed_everything(seed)
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10})
    if messages.language() != "en":
        plots.cjk_font()        # the Chinese font joins rcParams now, before any figure's text is made with it
    hint = tr(" (no GPU: the small presets run on a CPU; on Colab or Kaggle, turn on a GPU)") if device.type == "cpu" \
        else ""
    print(tr("torch {torch}, device {device}{hint}; data mode '{mode}'{forced}; seed {seed}", torch=torch.__version__,
             device=device, hint=hint, mode=mode, forced=" (COURSE_DATA_MODE)" if settings.mode_forced() else "",
             seed=seed))
    return {"device": device, "devices": try_all_gpus(), "data_mode": mode, "seed": seed,
            "language": messages.language(), "fig_dir": output_dir("figures", chapter)}


def choose_preset(presets, choice, data_dir, device):
    """The hyperparameters a notebook runs with, as a namespace (hp.EPOCHS, ...), and one line saying which and why.
    presets: {'full': {...}, 'small': {...}}; choice: 'full', 'small' or 'auto'. 'auto' takes 'small' when the data
    in data_dir is a stand-in (also one reached by fallback, offline) or when there is no GPU, else 'full'."""
    from types import SimpleNamespace
    standin, cpu = is_standin(data_dir), torch.device(device).type == "cpu"
    chosen = choice if choice != "auto" else "small" if standin or cpu else "full"
    why = "as asked" if choice != "auto" else "the data is a stand-in" if standin else "there is no GPU" if cpu \
        else "real data and a GPU"
    print(tr("preset '{chosen}' ({why}):", chosen=chosen, why=tr(why)) + "\n  "
          + ", ".join(f"{k} {v}" for k, v in presets[chosen].items()))
    return SimpleNamespace(**presets[chosen])


# =====================================================================================================================
# 2. Data: d2l's DATA_HUB and download_extract, and the choice between real data and a stand-in
# =====================================================================================================================

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
# name -> (url, sha1), as d2l's DATA_HUB; the book adds its entries the same way: DATA_HUB[name] = (url, sha1).
DATA_HUB = {
    "hotdog": (DATA_URL + "hotdog.zip", "fba480ffa8aa7e0febbb511d181409f899b9baa5"),
    "cifar10_tiny": (DATA_URL + "kaggle_cifar10_tiny.zip", "2068874e4b9a9f0fb07ebe0ad2b29754449ccacd"),
    "dog_tiny": (DATA_URL + "kaggle_dog_tiny.zip", "0cb91d09b814ecdc07b50f31f8dcad3e81d6a86d"),
}


def download(name, cache_dir=None, sha1_hash=None, *, timeout=30, attempts=2):
    """Download DATA_HUB[name] into cache_dir and return the local file name (a str).

    d2l-zh's download(name, cache_dir); d2l-en 1.0.3's form download(url, folder, sha1_hash) works too (a first
    argument starting with http:// or https:// is a URL). cache_dir defaults to $COURSE_DATA_DIR or <repo>/data
    (d2l: '../data'). Beyond d2l (machinery.datahub.fetch): the sha1 is checked right after downloading, HTTP
    errors and time-outs (seconds) are reported with what to do, writes are atomic, bad transfers are retried.
    """
    if name.startswith(("http://", "https://")):
        url, sha1 = name, sha1_hash
    elif name in DATA_HUB:
        url, sha1 = DATA_HUB[name]
    else:
        raise KeyError(f"{name!r} is not in DATA_HUB; known: {sorted(DATA_HUB)}")
    path = Path(cache_dir or data_dir_root()) / url.split("/")[-1]
    return str(datahub.fetch(url, path, sha1, name=name, timeout=timeout, attempts=attempts))


def download_extract(name, folder=None, *, cache_dir=None):
    """Download DATA_HUB[name] (a zip or tar archive), extract it next to itself and return the extracted folder
    (a str): <cache_dir>/<archive name without extension>, or <cache_dir>/<folder> when folder is given. Same as
    d2l's, plus: unsafe entries (paths leaving the folder, links) are refused, and a finished extraction is not
    redone."""
    archive = Path(download(name, cache_dir))
    data_dir = datahub.extract(archive, DATA_HUB[name][1] if name in DATA_HUB else None)
    return str(archive.parent / folder if folder else data_dir)


def get_dataset(name, mode=None, data_root=None, *, folder=None, **standin_kwargs):
    """The folder (a Path) of dataset `name` ('hotdog', 'cifar10_tiny', 'dog_tiny' or 'leaves'), and a line that
    says which data it is.

    folder: an already extracted folder with the dataset's layout (a full Kaggle download, say); a relative path
    is taken from the repository root. Otherwise, by mode ($COURSE_DATA_MODE overrides `mode`):
      'real'    download and extract d2l's archive (Classify Leaves: the Kaggle zip you downloaded), else fail
                with instructions. An extracted folder already in the data root is used if the archive is not;
      'standin' a small synthetic stand-in with the same layout (machinery.standins), built once and announced
                with a loud banner; every result printed afterwards carries [STAND-IN DATA];
      'auto'    the real data when it is cached, extracted or downloadable, else the stand-in, saying why.
    standin_kwargs go to the stand-in builder (n_train, n_test, size, num_classes, seed).
    """
    mode, root = data_mode(mode), Path(data_root or data_dir_root())
    if folder is not None:              # Kaggle CIFAR-10's train.7z and test.7z are extracted once
        return standins.user_folder(name, platforms.unpacked(name, folder))
    if mode != "standin" and (attached := platforms.kaggle_dataset(name)) is not None:
        return attached                 # Kaggle Notebooks: the competition attached under /kaggle/input
    if mode != "standin":
        try:
            path = datahub.kaggle_folder(name, root) if name in datahub.KAGGLE_ONLY else \
                Path(download_extract(name, cache_dir=root))
            return standins.announce(name, path)
        except DataUnavailableError as e:
            extracted = standins.extracted_folder(name, root)
            if extracted is not None:
                return standins.announce(name, extracted, note=tr("an extracted folder; no archive to verify it with"))
            if mode == "real":
                raise
            why = str(e) if name in datahub.KAGGLE_ONLY else str(e).splitlines()[0]   # Kaggle: keep the commands
            return standins.standin_folder(name, root, why, **standin_kwargs)
    return standins.standin_folder(name, root, **standin_kwargs)


# =====================================================================================================================
# 3. Reorganising Kaggle folders into train / valid / train_valid / test (d2l's lecture 39 functions)
# =====================================================================================================================

def read_csv_labels(fname):
    """Read a Kaggle label file (a header row, then `id,label` rows) into a dict {id: label}, as d2l does; read as
    UTF-8, and a malformed row, or an id listed twice with two labels, raises ValueError naming its line."""
    labels = {}
    for lineno, (name, label) in label_files.csv_rows(fname, ncols=2):
        if labels.get(name, label) != label:
            raise ValueError(f"{fname}, line {lineno}: id {name!r} appears twice with different labels "
                             f"({labels[name]!r} and {label!r})")
        labels[name] = label
    return labels


def copyfile(filename, target_dir):
    """Copy a file into target_dir, creating it if needed (d2l.copyfile). Unlike shutil.copy, a file already at the
    target that is a hard link of the source (our reorganised trees are made of links) is replaced, not an error."""
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, os.path.basename(filename))
    if os.path.lexists(target):
        os.remove(target)
    shutil.copy(filename, target)


def reorg_train_valid(data_dir, labels, valid_ratio, *, link=True):
    """Split the validation set out of <data_dir>/train, as d2l does: every image goes to
    train_valid_test/train_valid/<label>/, and to valid/<label>/ (the first n_valid_per_label of its class) or to
    train/<label>/. Returns n_valid_per_label. Files are hard-linked, not copied (link=False: copies; neither lets
    d2l's own reorganisation run over this tree: delete it first); a class of one image keeps it in train."""
    if not 0 <= valid_ratio < 1:
        raise ValueError(f"valid_ratio must be at least 0 and below 1 (a share of each class), not {valid_ratio!r}")
    src = Path(data_dir) / "train"
    by_label = label_files.group_by_label(list_images(src), labels, src)  # {label: files in file-number order}
    n = min(len(files) for files in by_label.values())                     # the smallest class's size
    n_valid_per_label = max(1, math.floor(n * valid_ratio))
    plan = []                                                              # (file, split, label)
    for label, files in by_label.items():
        n_valid = min(n_valid_per_label, len(files) - 1)                   # keep at least one image for training
        for k, f in enumerate(files):
            plan += [(f, "train_valid", label), (f, "valid" if k < n_valid else "train", label)]
    _say_classes_without_valid(by_label)
    folders.write_tree(data_dir, src, plan, ["train", "valid", "train_valid"], {"valid_ratio": valid_ratio},
                       ".reorg_train_valid.json", link)                   # nothing redone if the files are unchanged
    return n_valid_per_label


def _say_classes_without_valid(by_label):
    """One line naming the classes of a single image, which stay in train and get no validation image."""
    single = [label for label, files in by_label.items() if len(files) == 1]
    if single:
        print(tr("{n} of {total} classes have a single image, which stays in train: they get no validation image "
                 "({names})", n=len(single), total=len(by_label),
                 names=", ".join(single[:5]) + (", ..." if len(single) > 5 else "")))


def reorg_test(data_dir, *, link=True):
    """Put <data_dir>/test/* into train_valid_test/test/unknown/, one class folder, so that ImageFolder can read the
    unlabelled test images (d2l.reorg_test). Links instead of copies (link=False: copies)."""
    src = Path(data_dir) / "test"
    plan = [(f, "test", "unknown") for f in list_images(src)]           # stray files (.DS_Store) are skipped
    folders.write_tree(data_dir, src, plan, ["test"], {}, ".reorg_test.json", link)


def how_linked(path, source):
    """One sentence saying how `path`, in a reorganised tree, holds the image file `source`: a hard link (the same file
    on disk under another name), a symbolic link (a small file pointing at it: where hard links are impossible, as
    from a read-only data folder) or a copy (its own bytes)."""
    path, source = Path(path), Path(source)
    name, original = path.relative_to(path.parents[3]), f"{source.parent.name}/{source.name}"
    if path.is_symlink():
        return tr("{name}: a symbolic link to {source}", name=name, source=original)
    if os.path.samefile(path, source):
        return tr("{name}: a hard link, the same file on disk as {source}", name=name, source=original)
    return tr("{name}: a copy of {source} (its own bytes on disk)", name=name, source=original)


def reorg_kaggle_data(data_dir, labels_file, valid_ratio, *, link=True):
    """d2l's reorg_cifar10_data / reorg_dog_data in one: read the labels, split train, collect test.
    Returns n_valid_per_label."""
    labels = read_csv_labels(Path(data_dir) / labels_file)
    n_valid = reorg_train_valid(data_dir, labels, valid_ratio, link=link)
    reorg_test(data_dir, link=link)
    return n_valid


def reorganised_dir(data_dir):
    """The folder of the reorganised tree: <data_dir>/train_valid_test, as in d2l, or, when data_dir is read-only
    (Kaggle Notebooks), the writable place where reorg_train_valid put it instead."""
    return folders.tree_root(data_dir)


def split_counts(data_dir):
    """{split: {label: number of images}} of a reorganised tree (for tables and checks)."""
    root = reorganised_dir(data_dir)
    return {split: {label: len(list_images(root / split / label))
                    for label in sorted(os.listdir(root / split)) if (root / split / label).is_dir()}
            for split in ("train", "valid", "train_valid", "test") if (root / split).exists()}


# =====================================================================================================================
# 4. Datasets and loaders
# =====================================================================================================================

def default_num_workers():
    """Loader worker processes: one per core beyond the main one, at most 4 (Colab has 2 cores); 0 in a notebook
    on Windows and macOS, whose spawned workers cannot import what a notebook cell defines (machinery.platforms)."""
    return platforms.default_num_workers()


def image_folder(root, transform=None, classes=None):
    """torchvision's ImageFolder over <root>/<class>/<image>, but an unreadable image raises an error naming its
    file, 16-bit images are scaled instead of clipped, and `classes` (a list) fixes the class numbering
    (machinery.images.CheckedImageFolder)."""
    return images.CheckedImageFolder(root, transform, classes)


def hotdog_class(train_imgs, test_imgs):
    """The class index of the hot dogs (d2l's 'hotdog' is 0; 'hot_dog', 'Hot Dog', 'hotdogs' are recognised, and
    the other class may be called anything), for train and test ImageFolders numbered alike. Says once what is
    unusual (other folder names, a class with no test photo, very few photos); a folder that cannot make the task
    raises LearnerError saying what to do (machinery.classfolders)."""
    return classfolders.hotdog_class(train_imgs, test_imgs)


def reorganised_loaders(data_dir, train_tf, test_tf, batch_size, num_workers=None):
    """ImageFolder datasets and DataLoaders over the reorganised splits train, valid, train_valid and test.
    Returns (datasets, loaders), two dicts keyed by split.

    Training splits shuffle and drop the last partial batch (as d2l's); valid and test keep every image, in file
    order (d2l drops valid's last batch, so some validation images are never scored). Every labelled split
    numbers its classes by train_valid's class list (ImageFolder alone would number each folder by what it holds),
    an unreadable image raises an error naming its file, and images of different sizes in one batch an error that
    says what to do.
    """
    root = reorganised_dir(data_dir)
    workers = default_num_workers() if num_workers is None else num_workers
    classes = folders.split_classes(root)
    datasets, loaders = {}, {}
    for split in ("train", "valid", "train_valid", "test"):
        if (root / split).is_dir():
            train = split in ("train", "train_valid")
            datasets[split] = ds = images.CheckedImageFolder(root / split, train_tf if train else test_tf,
                                                             classes if split != "test" else None)
            loaders[split] = torch.utils.data.DataLoader(
                ds, batch_size, shuffle=train, drop_last=train and len(ds) > batch_size, num_workers=workers,
                persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(), collate_fn=images.collate)
    if "train" in datasets and "valid" in datasets:
        _refuse_train_valid_overlap(datasets["train"], datasets["valid"], root)
    return datasets, loaders


def _refuse_train_valid_overlap(train, valid, root):
    """LearnerError when an image is in both train and valid (the same file name in the same class): validation
    would score images the net trains on. d2l's own reorg_train_valid, run over a tree of ours made of copies, adds
    its validation picks to ours and its training picks to our train, which puts images in both."""
    both = {(Path(p).parent.name, Path(p).name) for p, _ in train.samples} & \
        {(Path(p).parent.name, Path(p).name) for p, _ in valid.samples}
    if both:
        example = "/".join(sorted(both)[0])
        raise LearnerError(tr("{n} images are in both train and valid (for example {example}), so validation would "
                              "score images the net trains on. Was d2l's reorg_train_valid run over this tree? Delete "
                              "{root} and run reorg_train_valid again.", n=len(both), example=example, root=root))


class CsvImageDataset(torch.utils.data.Dataset):
    """Images listed in a CSV of relative paths (Classify Leaves: rows such as `images/0.jpg,acer_rubrum`).

    root: the folder the paths are relative to; table: a CSV path or a pandas DataFrame; classes: the label set
    (default: the sorted labels of this table), so that valid and test share the training set's numbering. Without
    a label column (a test.csv) every target is -1. Item i is (transform(PIL image), class index). The table is
    checked before training starts (machinery.labels.check_image_table): missing files, unknown labels and images
    listed with two labels raise ValueError naming the rows; exact duplicate rows are dropped with a warning.
    """

    def __init__(self, root, table, transform=None, classes=None, image_col="image", label_col="label"):
        import pandas as pd
        import warnings
        self.root, self.transform = Path(root), transform
        df = table if isinstance(table, pd.DataFrame) else \
            pd.read_csv(table, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        df, found, dropped = label_files.check_image_table(df, self.root, image_col, label_col, classes)
        if dropped:
            warnings.warn(f"{dropped} duplicate row(s) dropped from the table", stacklevel=2)
        self.images, self.classes = list(df[image_col]), found or []
        index = {c: i for i, c in enumerate(self.classes)}
        self.targets = [index[lb] for lb in df[label_col]] if label_col in df.columns else [-1] * len(self.images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = images.load_rgb(self.root / self.images[i])
        return (self.transform(img) if self.transform else img), self.targets[i]


def find_duplicates(root, train_table, test_table=None, max_distance=4, min_correlation=0.99):
    """Duplicate and near-duplicate photos among the rows of image tables (train.csv, and test.csv if given), and
    label conflicts among them. Returns a DataFrame with one row per photo that has a duplicate: group, image,
    label (None for a test photo), kind ('exact': byte-identical files; 'near': a re-saved or slightly changed copy),
    conflict (True when the group's training photos carry two or more labels). Not in d2l (lecture 43's data
    cleaning); how near is near, and why two tests: machinery/duplicates.py."""
    import pandas as pd
    tables = [train_table] + ([test_table] if test_table is not None else [])
    images = [p for t in tables for p in t["image"]]
    labels = list(train_table["label"]) + [None] * (len(images) - len(train_table))
    groups = duplicates.duplicate_groups(root, images, labels, max_distance, min_correlation)
    rows = [{"group": k, "image": image, "label": label, "kind": "exact" if g["exact"] else "near",
             "conflict": g["conflict"]} for k, g in enumerate(groups) for image, label in zip(g["images"], g["labels"])]
    return pd.DataFrame(rows, columns=["group", "image", "label", "kind", "conflict"]).astype(
        {"group": int, "conflict": bool})


def stratified_split(targets, valid_ratio, seed=0):
    """Split example indices into (train, valid) lists, class by class: each class sends floor(n * valid_ratio) of
    its n examples to valid, but always keeps at least one in train (so every class is learnable). Deterministic
    for a seed; both lists are sorted."""
    rng = np.random.default_rng(seed)
    by_class = {}
    for i, t in enumerate(targets):
        by_class.setdefault(t, []).append(i)
    train, valid = [], []
    for t in sorted(by_class):
        idx = rng.permutation(by_class[t]).tolist()
        k = min(math.floor(len(idx) * valid_ratio), len(idx) - 1)
        valid += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(valid)


# =====================================================================================================================
# 5. Models: d2l's CIFAR ResNet-18, fine-tuning a pretrained net, frozen feature extractors
# =====================================================================================================================

class Residual(nn.Module):
    """d2l's residual block: 3x3 conv-BN-ReLU, 3x3 conv-BN, plus the input (through a 1x1 conv when use_1x1conv,
    needed when the shape changes), then ReLU. (B, input_channels, H, W) -> (B, num_channels, H/s, W/s).

    d2l-zh's Residual(input_channels, num_channels, use_1x1conv, strides); d2l-en 1.0.3 builds the same block from
    lazy layers and drops input_channels. As in d2l (and unlike torchvision) the convolutions have biases and the
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


def resnet18(num_classes, in_channels=1):
    """d2l's ResNet-18 for small images (d2l.resnet18; in_channels defaults to 1 as in d2l: pass 3 for colour).

    Stem: 3x3 conv, stride 1, 64 channels + BN + ReLU, and NO max-pool (ImageNet's ResNet-18 uses a 7x7 stride-2
    conv and a stride-2 max-pool, which shrink 32x32 to 8x8 before the first block). Then four stages of two
    Residual blocks (64, 128, 256, 512 channels; stages 2-4 halve the size), global average pooling and
    Linear(512, num_classes). (B, in_channels, 32, 32) -> (B, num_classes) logits; the feature maps go 32, 32, 16,
    8, 4. Module names as d2l's (0, 1, 2, resnet_block1..4, global_avg_pool, fc). About 11.2 M parameters.
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


def resnet18_cifar(num_classes=10, in_channels=3):
    """resnet18 with the defaults of Kaggle CIFAR-10: 10 classes, 3 colour channels."""
    return resnet18(num_classes, in_channels)


def pretrained_model(arch="resnet18", weights="IMAGENET1K_V1"):
    """torchvision.models.<arch> with pretrained `weights`, through the weights API; returns (model, is_pretrained).
    Offline it prints a loud RANDOM WEIGHTS banner saying where to put the weights file, tags every later result,
    and returns the same architecture with random weights (machinery.pretrained)."""
    return pretrained.load(arch, weights)


def build_finetune_net(pretrained_net, num_classes, reuse_rows=None, seed=None, head="fc"):
    """The target model: a copy of pretrained_net (which is left as it is) whose output layer `head` is replaced by a
    new nn.Linear(in_features, num_classes) with a Xavier-uniform weight. seed: seeds the new layer (same seed, same
    layer). reuse_rows {new row: old row}: those rows start from the old layer's weights and bias ({0: 934} starts
    class 0 from ImageNet's hot dog); a row out of range raises IndexError."""
    net = copy.deepcopy(pretrained_net)
    old = getattr(net, head)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"net.{head} is a {type(old).__name__}, not an nn.Linear: pass the name of the output layer")
    if seed is not None:
        torch.manual_seed(seed)
    new = nn.Linear(old.in_features, num_classes)
    nn.init.xavier_uniform_(new.weight)
    with torch.no_grad():
        for new_row, old_row in (reuse_rows or {}).items():
            new.weight[new_row], new.bias[new_row] = old.weight[old_row], old.bias[old_row]
    setattr(net, head, new.to(old.weight.device))
    return net


def finetune_optimizer(net, lr, head_lr_mult=10, weight_decay=1e-3, head="fc", optimizer=torch.optim.SGD, **kwargs):
    """The fine-tuning optimiser: two parameter groups, 'body' at lr and 'head' at head_lr_mult * lr (the pretrained
    body should move little, the new head has everything to learn). Only parameters with requires_grad are handed
    over, so frozen layers (freeze_layers) stay out. kwargs go to the optimiser (e.g. momentum=0.9)."""
    head_ids = {id(p) for p in getattr(net, head).parameters()}
    body = [p for p in net.parameters() if p.requires_grad and id(p) not in head_ids]
    head_params = [p for p in getattr(net, head).parameters() if p.requires_grad]
    if not head_params:
        raise ValueError(f"the head {head!r} has no trainable parameter: unfreeze it (requires_grad=True)")
    groups = ([{"params": body, "lr": lr, "name": "body"}] if body else []) + \
             [{"params": head_params, "lr": lr * head_lr_mult, "name": "head"}]
    return optimizer(groups, lr=lr, weight_decay=weight_decay, **kwargs)


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
    if upto == head or (upto in names and names.index(upto) >= names.index(head)):
        raise ValueError(f"freezing up to {upto!r} would freeze the head {head!r} and leave nothing to train; "
                         f"freeze the body only (upto='body' or one of {names[:names.index(head)]})")
    if upto != "body" and upto not in names:
        raise ValueError(f"upto must be None, 'body' or one of the children {names}, not {upto!r}")
    chosen = [n for n in names if n != head] if upto == "body" else names[: names.index(upto) + 1]
    frozen = []
    for child in chosen:
        for pname, p in getattr(net, child).named_parameters():
            p.requires_grad_(False)
            frozen.append(f"{child}.{pname}")
    return frozen


def count_parameters(net, trainable_only=True):
    """Number of scalar parameters of net (only those with requires_grad by default). ResNet-18: 11,689,512."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


class FrozenBackboneNet(nn.Module):
    """A frozen pretrained feature extractor followed by a trainable head: X -> head(backbone(X)).

    backbone: a module mapping (B, C, H, W) images to (B, D) features, e.g. a torchvision ResNet (D = 1000 logits,
    d2l's dog chapter) or one whose fc is nn.Identity() (D = 512 pooled features); head: (B, D) -> (B, classes).
    The backbone's parameters get requires_grad=False AND the backbone stays in eval mode whatever train() is
    called with, so its BatchNorm layers normalise with their stored ImageNet statistics and never update them.
    d2l's dog chapter sets requires_grad=False only, and its own train function never switches modes: torchvision
    builds the net in training mode, so its BatchNorm layers normalise with batch statistics and overwrite the stored
    ones in training, validation and prediction (any net.train(), train_ch13's included, does the same).
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
        if self.backbone.training:  # put back in train mode from outside (a shared module, extract_features)
            self.backbone.eval()
        with torch.no_grad():       # no graph through the frozen part: less memory, same head gradients
            features = self.backbone(X)
        return self.head(features)


def extract_features(backbone, data_iter, device=None):
    """Run `backbone` once over every batch of data_iter, in eval mode without gradients; return (features, labels):
    (N, D) float32 and (N,) int64 tensors on the CPU, in the loader's order. Used to cache a frozen backbone's
    outputs, so that a head trains on tensors instead of re-running the backbone every epoch (no d2l counterpart).
    A loader with a random transform yields one augmented view per image per call. The previous mode is restored.
    """
    device = torch.device(device) if device is not None else next(iter(backbone.parameters())).device
    was_training = backbone.to(device).training
    backbone.eval()
    features, labels = [], []
    with torch.no_grad():
        for X, y in data_iter:
            features.append(backbone(accel.to_device(X, device)).float().flatten(1).cpu())
            labels.append(torch.as_tensor(y).cpu())
    backbone.train(was_training)
    if not features:
        raise ValueError("the loader yielded no batch: nothing to extract")
    return torch.cat(features), torch.cat(labels).long()


# =====================================================================================================================
# 6. Training: d2l's Timer, Accumulator, train_batch_ch13 and train_ch13, and evaluation
# =====================================================================================================================

class Timer:
    """Record running times (d2l.Timer): start(), stop() -> seconds since start, avg(), sum(), cumsum()
    (elapsed() reads the running time without recording it)."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.perf_counter()

    def stop(self):
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def elapsed(self):
        """Seconds since start(), without recording them."""
        return time.perf_counter() - self.tik

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Sums over n variables (d2l.Accumulator): add(*values) adds float(value) to each; acc[i] reads sum i."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """Number of correct predictions (a float, as d2l.accuracy): y_hat (B, classes) scores or (B,) labels."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return float((y_hat.type(y.dtype) == y).sum())


def train_batch_ch13(net, X, y, loss, trainer, devices, *, amp=False, scaler=None, channels_last=False):
    """Train on one minibatch X (B, C, H, W) with labels y (B,), as d2l does; return (sum of the per-example losses,
    a 0-dim tensor; number of correct predictions, a float). The SUM of loss(net(X), y) is back-propagated, hence
    d2l's small learning rates. amp ('auto', True, False) and scaler: mixed precision on a GPU; channels_last: the
    memory layout GPUs prefer."""
    device = accel.first_device(devices)
    X, y = accel.to_device(X, device, channels_last), y.to(device)
    net.train()
    trainer.zero_grad()
    with accel.autocast(device, amp):
        pred = net(X)
        l = loss(pred, y)
    l_sum = l.sum() if l.dim() else l * y.shape[0]
    backward = l_sum if l.dim() else l
    if scaler is not None:
        scaler.scale(backward).backward()
        scaler.step(trainer)
        scaler.update()
    else:
        backward.backward()
        trainer.step()
    return l_sum.detach(), accuracy(pred, y)


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Accuracy (fraction correct, a float) of net over every batch of data_iter, in eval mode (d2l's function).
    Unlike d2l's, the net's previous train/eval mode is restored afterwards, and an empty data_iter gives nan."""
    device = device or next(iter(net.parameters())).device
    was_training = net.training
    net.eval()
    metric = Accumulator(2)                                # correct predictions, examples
    with torch.no_grad():
        for X, y in data_iter:
            X, y = accel.to_device(X, device), y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    net.train(was_training)
    return metric[0] / metric[1] if metric[1] else float("nan")         # nan: no example to score


def evaluate_loss(net, data_iter, loss=None, *, device=None):
    """Mean per-example loss (a float) of net over data_iter, in eval mode without gradients: the d2l package's
    evaluate_loss(net, data_iter, loss). (d2l's dog chapter defines its own evaluate_loss(data_iter, net, devices)
    inline.) loss defaults to cross-entropy; the batches go to the net's device; the net's mode is restored."""
    loss = loss or nn.CrossEntropyLoss(reduction="none")
    device = device or next(iter(net.parameters())).device
    was_training = net.training
    net.eval()
    metric = Accumulator(2)                                # sum of losses, examples
    with torch.no_grad():
        for X, y in data_iter:
            l = loss(net(accel.to_device(X, device)), y.to(device))
            metric.add(l.sum() if l.dim() else l * y.numel(), y.numel())
    net.train(was_training)
    return metric[0] / max(metric[1], 1)


def train_ch13(net, train_iter, test_iter, loss, trainer, num_epochs, devices=None, *, scheduler=None, amp=False,
               channels_last="auto", checkpoint=None, plot=True, title=None, eval_label="test acc"):
    """Train net with train_batch_ch13 for num_epochs, scoring test_iter after every epoch, as d2l's; return the
    history, per-epoch lists: epoch, train_loss, train_acc, test_acc and valid_loss (test_iter's accuracy and mean
    loss; nan when test_iter is None), lr, lrs, time_s, img_per_s. devices: 2+ GPUs train through nn.DataParallel,
    as d2l's. scheduler: stepped once per epoch. checkpoint: a file saved every epoch; a rerun resumes from it.
    amp, channels_last: GPU speed switches. eval_label names test_iter in the lines and plot ('valid acc')."""
    devices = [torch.device(d) for d in (devices or try_all_gpus())]
    model, scaler, channels_last = accel.prepare(net, devices, amp, channels_last)  # nn.DataParallel on 2+ GPUs
    run = checkpoints.Run(checkpoint, net, trainer, scheduler, scaler, devices[0])   # resumes from the file if any
    board = progress.Board(run, trainer, num_epochs, train_iter, test_iter, devices, title, eval_label, plot)
    for epoch in range(run.epochs_done, num_epochs):
        metric, timer = Accumulator(3), Timer()         # sum of training losses, correct predictions, examples
        for i, (features, labels) in enumerate(train_iter):
            l, acc = train_batch_ch13(model, features, labels, loss, trainer, devices, amp=amp, scaler=scaler,
                                      channels_last=channels_last)
            metric.add(l, acc, labels.shape[0])
            board.batch(epoch, i, metric, timer)        # the live line; a loss that became NaN stops the run
        if scheduler is not None:
            scheduler.step()
        test_acc, test_loss, spread = scoring.evaluate(model, test_iter, loss, devices[0])   # one pass, eval mode
        board.epoch(epoch, metric, test_acc, test_loss, spread)     # history, line and plot (d2l: animator.add)
        run.save(epoch + 1)                             # the checkpoint: a rerun resumes after this epoch
    return board.done(net, test_iter)                   # closing lines; a word if the predictions are constant


def run_experiment(config, net, trainer, train_iter, test_iter, num_epochs, loss=None, devices=None, seed=None,
                   eval_start=False, columns=None, **train_kwargs):
    """Train one configuration with train_ch13 and return (row, history), the row being one line of a results
    table: {'config', **columns, 'test acc at start' (with eval_start=True: before any training), 'test acc',
    'train acc', 'train loss' (last epoch), 'time/epoch (s)' (data loading included), 'trainable params'}.
    seed: seeded just before training, so that every configuration sees the same batches in the same order.
    loss defaults to d2l's CrossEntropyLoss(reduction='none'); train_kwargs go to train_ch13 (plot=False unless
    given)."""
    devices = devices or try_all_gpus()
    row = {"config": config, **(columns or {})}
    if eval_start:
        row["test acc at start"] = evaluate_accuracy_gpu(net.to(devices[0]), test_iter, devices[0])
    if seed is not None:
        seed_everything(seed)
    train_kwargs.setdefault("plot", False)
    train_kwargs.setdefault("title", str(config))
    with pretrained.reporting_on(net):      # a net from scratch claims no ImageNet weights: no RANDOM WEIGHTS tag
        history = train_ch13(net, train_iter, test_iter, loss or nn.CrossEntropyLoss(reduction="none"), trainer,
                             num_epochs, devices, **train_kwargs)
    row.update({"test acc": history["test_acc"][-1], "train acc": history["train_acc"][-1],
                "train loss": history["train_loss"][-1], "time/epoch (s)": float(np.mean(history["time_s"])),
                "trainable params": count_parameters(net)})
    return row, history


# =====================================================================================================================
# 7. Prediction and Kaggle submissions
# =====================================================================================================================

def predict(net, data_iter, device=None, tta_flip=False, return_labels=False, *, classes=None):
    """Class probabilities (N, num_classes), float32 on the CPU, for every image of data_iter, in eval mode.
    tta_flip=True averages the softmax of each image and of its mirror image (test-time augmentation). With
    return_labels=True also returns the (N,) labels the loader yielded. The net's previous mode is restored.
    Predictions that are constant (every image the same probabilities, or the same class) are said in one sentence
    (machinery.scoring; classes names the predicted classes in it). The results go into one tensor allocated up
    front, so that predicting 300,000 images does not fragment a CPU's memory batch by batch."""
    device = device or next(iter(net.parameters())).device
    was_training = net.training
    net.eval()
    probs, labels = accel.Collector(data_iter), accel.Collector(data_iter)
    with torch.no_grad():
        for X, y in data_iter:
            X = accel.to_device(X, device)
            p = torch.softmax(net(X).float(), dim=1)
            if tta_flip:
                p = (p + torch.softmax(net(torch.flip(X, dims=[3])).float(), dim=1)) / 2
            probs.add(p)
            labels.add(torch.as_tensor(y))
    net.train(was_training)
    probs = probs.result()
    scoring.say_if_constant(probs, net, data_iter, classes or scoring.class_names(data_iter, probs.shape[-1]))
    return (probs, labels.result()) if return_labels else probs


def multiclass_log_loss(probs, labels, eps=1e-15):
    """Kaggle's multi-class log loss: -mean(log p[i, y_i]) after clipping p to [eps, 1 - eps] and renormalising
    each row. probs: (N, C) array-like of probabilities; labels: (N,) class indices. Lower is better; a uniform
    guess over C classes scores ln C."""
    p = np.clip(np.asarray(probs, dtype=np.float64), eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    labels = np.asarray(labels)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def kaggle_test_ids(test_dir):
    """Kaggle ids of the images in a test folder (file names without extension), naturally sorted."""
    return [os.path.splitext(f)[0] for f in list_images(test_dir)]


def write_label_submission(path, ids, labels, columns=("id", "label")):
    """Write a 'one label per image' submission (CIFAR-10: id,label; leaves: image,label) as UTF-8 CSV, one row per
    id, ids in natural (numeric) order; ids and labels are paired by position. Returns the path."""
    import pandas as pd
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels: each id needs exactly one prediction")
    order = sorted(range(len(ids)), key=lambda k: folders.natural_key(str(ids[k])))
    df = pd.DataFrame({columns[0]: [str(ids[k]) for k in order], columns[1]: [labels[k] for k in order]})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8")
    print(results_tag() + tr("wrote {n} rows to {path}", n=len(df), path=path))
    platforms.kaggle_submission(path)   # on Kaggle Notebooks, also <kaggle root>/working/submission.csv
    return Path(path)


def write_cifar_submission(path, ids, labels):
    """Kaggle CIFAR-10's submission.csv: `id,label` with class names, ids in numeric order."""
    return write_label_submission(path, ids, labels, ("id", "label"))


def write_dog_submission(path, ids, probs, breeds):
    """Dog-breed submission.csv: `id`, then one probability column per breed in sorted order (UTF-8).
    probs: (N, len(breeds)) rows of probabilities in the order of `breeds` (ImageFolder's sorted classes)."""
    import pandas as pd
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(ids), len(breeds)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(ids)}, {len(breeds)})")
    order = np.argsort(breeds)
    df = pd.DataFrame(probs[:, order], columns=[breeds[i] for i in order])
    df.insert(0, "id", [str(i) for i in ids])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8")
    print(results_tag() + tr("wrote {n} rows x {breeds} breeds to {path}", n=len(df), breeds=len(breeds), path=path))
    platforms.kaggle_submission(path)   # on Kaggle Notebooks, also <kaggle root>/working/submission.csv
    return Path(path)


def validate_label_submission(path, expected_ids, classes, columns=("id", "label")):
    """Check a label submission before uploading it: exact columns, one row per expected id (no missing, extra or
    duplicate ids), ids in natural order, no empty cell, every label in `classes`. Returns the DataFrame; raises
    SubmissionError listing every problem (machinery.submissions)."""
    return submissions.validate_labels(path, expected_ids, classes, columns)


def validate_cifar_submission(path, test_dir, classes=CIFAR10_CLASSES):
    """validate_label_submission against the images in test_dir and the 10 CIFAR classes."""
    return submissions.validate_labels(path, kaggle_test_ids(test_dir), classes, ("id", "label"))


def validate_dog_submission(path, test_dir, breeds, atol=1e-4):
    """Check a dog submission: columns id + sorted(breeds), one row per test image, every cell a number in [0, 1],
    every row summing to 1 (within atol). Returns the DataFrame; raises SubmissionError listing every problem."""
    return submissions.validate_probabilities(path, kaggle_test_ids(test_dir), breeds, atol)


# =====================================================================================================================
# 8. Plots, and the source code of this file in a notebook
# =====================================================================================================================

def save_fig(name, fig=None, folder=None, dpi=100):
    """Save a figure as <folder>/<name>.png (default folder: <outputs>/figures). Returns the path."""
    import matplotlib.pyplot as plt
    fig = fig or plt.gcf()
    folder = Path(folder) if folder else output_dir("figures")
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png", dpi=dpi, bbox_inches="tight")
    return folder / f"{name}.png"


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5, *, mean=None, std=None):
    """Show images in a grid (d2l.show_images); returns the flat array of axes. Images may be CHW or HWC tensors,
    arrays or PIL images; mean/std undo a normalisation for display. Unlike d2l's, a 1x1 grid works, titles wrap
    instead of overlapping, and results from a stand-in or random weights carry the red caveat tag."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    axes = axes.flatten()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(plots.to_image(imgs[i], mean, std))
            if titles is not None and i < len(titles):      # wrapped to the panel's width, never cut
                ax.set_title(plots.wrap(titles[i], scale), fontsize=8)
    plots.title_with_caveats(fig, None, fontsize=8)
    fig.tight_layout()
    return axes


class Animator:
    """Plot data points as they arrive (d2l.Animator: the same arguments; add(x, y) adds one point per line).
    The figure is replaced in place in a notebook, instead of piling up copies as d2l's does under nbval or
    papermill, and more than four lines get distinct styles (d2l silently drops the fifth)."""

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        import matplotlib.pyplot as plt
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        self.axes, self.legend, self.fmts = axes.flatten(), legend or [], fmts
        self.config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim, xscale=xscale, yscale=yscale)
        self.X, self.Y, self.live = None, None, progress.LiveFigure() if settings.in_notebook() else None

    def add(self, x, y):
        y = list(y) if hasattr(y, "__len__") else [y]
        x = list(x) if hasattr(x, "__len__") else [x] * len(y)
        self.X, self.Y = self.X or [[] for _ in y], self.Y or [[] for _ in y]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(float(b))
        ax = self.axes[0]
        ax.cla()
        for i, (xs, ys) in enumerate(zip(self.X, self.Y)):
            ax.plot(xs, ys, self.fmts[i] if i < len(self.fmts) else "-", marker="." if len(xs) < 3 else None)
        ax.set(**{k: v for k, v in self.config.items() if v is not None and not (k == "xlim" and v[0] == v[1])})
        if self.legend:
            ax.legend(self.legend, fontsize=8)
        ax.grid(True)
        if self.live is not None:
            self.live.show(self.fig)


def caveat_title(fig, title):
    """Title a figure, with the [STAND-IN DATA] / [RANDOM WEIGHTS] tag in red on a line of its own above the title
    when the results are not real (nothing extra otherwise)."""
    plots.title_with_caveats(fig, title)


def plot_history(history, title=None, eval_label="test acc"):
    """The training curves of a train_ch13 history, loss and accuracy on separate axes, plus the learning rate
    when it changed. Returns the figure (machinery.plots.history_figure)."""
    return plots.history_figure(history, title, eval_label)


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) int64 counts; row = true class, column = predicted class."""
    return plots.confusion_matrix(y_true, y_pred, num_classes)


def plot_confusion_matrix(y_true, y_pred, classes, normalize=True, ax=None):
    """Plot the confusion matrix (rows: true class; normalised per row by default). Returns the figure."""
    return plots.confusion_figure(y_true, y_pred, classes, normalize, ax)


def show_source(*functions, d2l=None, notes=None):
    """Show the source of our functions (or classes) in a notebook, read from their one definition in this file (what
    a notebook shows is what runs), beside the course's own version, with a few sentences on what ours adds.

    d2l: the name, or a list of names, of the course's version: a function of the d2l package ('train_ch13'), read at
    run time from the installed package, or a function only a chapter defines ('kaggle-cifar10:train'), shown as a
    link to d2l-zh's source, as is everything when d2l is not installed (machinery.coursecode). Default: d2l's
    functions of the same names, where there are any; d2l=False: ours alone. notes: the sentences under the two, in
    the notebook's language (default: those machinery/coursecode.py keeps for these functions)."""
    import inspect
    from IPython.display import display
    names = [f.__name__ for f in functions]
    theirs = [n for n in names if n in coursecode.WHERE] if d2l is None else [d2l] if isinstance(d2l, str) else \
        list(d2l or [])
    notes = [s for n in names for s in coursecode.notes(n) or []] if notes is None else list(notes)
    page, text = coursecode.render([(n, inspect.getsource(f).rstrip()) for n, f in zip(names, functions)], theirs,
                                   notes)
    display({"text/html": page, "text/plain": text}, raw=True)
