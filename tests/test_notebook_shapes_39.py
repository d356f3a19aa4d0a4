"""Notebook 39 on real photos laid out as Kaggle CIFAR-10, in the shapes learners meet (issue 16): one photo per
class, a class that gets no validation photo (given as a relative KAGGLE_CIFAR10_DIR), and a read-only data folder as
on Kaggle Notebooks. Each run goes to the end, says once what it did about the shape, and never contradicts itself.

The photos are the fixture's real ones (tests/real_photo_sets.py: 40 training and 8 test images, 4 per class),
trained for one epoch (a preset injected as papermill parameters), in English (tests/test_notebooks.py checks that
the Chinese notebook runs the same code). Measured on the 2-core development machine, shared, at a load average of 8
to 14: 76, 150 and 159 s for the three runs (`pytest tests/test_notebook_shapes_39.py --durations=0`); most of it is
the kernel's start and three one-epoch ResNet-18 runs.
"""
import csv
import os
import shutil
from pathlib import Path

import pytest

import helpers
from notebook_runs import REPO, execute_notebook
from support import read_only

NOTEBOOK = "39_kaggle_cifar10.ipynb"
ONE_EPOCH = dict(BATCH_SIZE=8, EPOCHS=1, LR=1e-3, LR_PERIOD=1, LR_DECAY=0.5, VALID_RATIO=0.1, NUM_WORKERS=0)


def cifar_copy(real_photos, tmp_path, keep=None):
    """A writable copy of the real-photo CIFAR set, keeping only the training ids in `keep` (None: all 40)."""
    folder = tmp_path / "kaggle_cifar10_tiny"
    shutil.copytree(real_photos["cifar"], folder)
    if keep is not None:
        with open(folder / "trainLabels.csv", newline="") as f:
            rows = [row for row in csv.reader(f)]
        kept = [rows[0]] + [row for row in rows[1:] if int(row[0]) in keep]
        with open(folder / "trainLabels.csv", "w", newline="") as f:
            csv.writer(f).writerows(kept)
        for png in (folder / "train").iterdir():
            if int(png.stem) not in keep:
                png.unlink()
    return folder


def run(folder, tmp_path, monkeypatch):
    return execute_notebook(NOTEBOOK, tmp_path, monkeypatch, lang="en", KAGGLE_CIFAR10_DIR=str(folder),
                            PRESET="small", PRESETS={"full": ONE_EPOCH, "small": ONE_EPOCH})


def printed(run_):
    """What the notebook printed (stream outputs): the source code that show_source displays is left out."""
    return "".join("".join(o.get("text", "")) for c in run_.cells if c["cell_type"] == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def submitted(run_, folder):
    path = run_.outputs / "submissions" / "39_kaggle_cifar10" / "submission.csv"
    return helpers.validate_cifar_submission(path, Path(folder) / "test")


def test_one_photo_per_class(real_photos, tmp_path, monkeypatch):
    folder = cifar_copy(real_photos, tmp_path, keep=set(range(1, 11)))       # ids 1-10: one of each class
    result = run(folder, tmp_path, monkeypatch)
    assert result.error is None, result.error
    assert result.text.count("10 of 10 classes have a single image, which stays in train: they get no validation "
                             "image") == 1
    assert "no valid set: nothing is scored between epochs" in result.text
    assert "scored on the valid set" not in printed(result) and "valid acc" not in printed(result)   # no contradiction
    assert len(submitted(result, folder)) == 8


def test_a_class_without_a_validation_photo_given_as_a_relative_folder(real_photos, tmp_path, monkeypatch):
    folder = cifar_copy(real_photos, tmp_path, keep=set(range(1, 41)) - {11, 21, 31})   # airplane keeps id 1 only
    relative = os.path.relpath(folder, REPO)
    assert not Path(relative).is_absolute()
    result = run(relative, tmp_path, monkeypatch)
    assert result.error is None, result.error
    assert result.text.count("1 of 10 classes have a single image, which stays in train: they get no validation "
                             "image (airplane)") == 1
    assert f"in {folder.resolve()}" in result.text                          # the relative path, resolved from REPO
    assert "valid acc" in printed(result) and "valid loss" in printed(result)   # the other 9 classes are scored
    assert len(submitted(result, folder)) == 8


def test_a_read_only_data_folder(real_photos, tmp_path, monkeypatch):
    """The tree goes to the output folder, with symbolic links (root, immutable files: no hard link) or hard links
    (a user's own read-only files on the same disk); the 'three names' cell says which, and the link count agrees."""
    folder = cifar_copy(real_photos, tmp_path)
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    with read_only(folder):
        assert not os.access(folder, os.W_OK)
        result = run(folder, tmp_path, monkeypatch)
    assert result.error is None, result.error
    assert result.text.count(f"{folder} is read-only: the reorganised folders go to") == 1
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before      # nothing written there
    linked = [line for line in result.text.splitlines() if line.startswith("train_valid_test/")]
    assert len(linked) == 2 and "Error" not in printed(result)
    if all("a symbolic link to train/" in line for line in linked):
        assert "has 1 name(s) on disk" in result.text
    else:
        assert all("a hard link" in line for line in linked) and "has 3 name(s) on disk" in result.text
    assert len(submitted(result, folder)) == 8
