"""Notebook 40 (Kaggle dog breeds) on REAL photos in the shapes a learner's data comes in (issue 16).

The photos are the 22 real photographs of tests/real_photo_sets.py, reused and shrunk (to at most 160 pixels a side,
to keep the runs short), laid out as Kaggle's dog competition: train/<32 hex>.jpg, test/<32 hex>.jpg and labels.csv
with the columns id,breed over Kaggle's 120 breeds. Labels are arbitrary. Each run executes the English notebook
with papermill, as a learner's Run All would (random weights: no ImageNet weights offline), with a short preset.

  - one photo per breed (120 photos), in a READ-ONLY folder, given as a RELATIVE KAGGLE_DOG_DIR: no validation set;
    the notebook says so once and runs to the end, the reorganised tree in the output folder;
  - two photos per breed but one breed with a single photo, and VALID_RATIO = 0: d2l's rule still sends one photo
    per breed to valid, the single photo stays in train; said once, runs to the end.

Each must end with a valid submission, say what it did once, never contradict itself and never fail a check cell.
"""
import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import helpers
import notebook_runs
import real_photo_sets as rp                    # loaded by conftest.py
from support import read_only
from machinery.constants import DOG_BREEDS

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "40_kaggle_dog.ipynb"
# a short run: the shapes are the point, not the training (the small preset at 32 px with one epoch)
SHORT = dict(PRESETS={"small": dict(IMAGE_SIZE=32, BATCH_SIZE=32, EPOCHS=1, LR=1e-4, LR_PERIOD=2, LR_DECAY=0.9)},
             PRESET="small", CACHE_EPOCHS=2)


def dog_photos(root, per_breed, n_test=4, side=160):
    """A Kaggle dog folder of real photos: per_breed[k] photos for breed k (Kaggle's 120, sorted), n_test test photos.
    The 22 photographs are used in turn, as RGB JPEGs at most `side` pixels a side. Returns the folder."""
    out = Path(root) / "dog-breed-identification"
    (out / "train").mkdir(parents=True)
    (out / "test").mkdir()
    photos = [rp._open(name).convert("RGB") for name in rp.PHOTOS]
    for img in photos:
        img.thumbnail((side, side))
    rows, k = [], 0
    for breed, n in zip(DOG_BREEDS, per_breed):
        for j in range(n):
            id_ = hashlib.md5(f"{breed}/{j}".encode()).hexdigest()
            photos[k % len(photos)].save(out / "train" / f"{id_}.jpg", quality=90)
            rows.append((id_, breed))
            k += 1
    for j in range(n_test):
        photos[(k + j) % len(photos)].save(out / "test" / f"{hashlib.md5(f'test/{j}'.encode()).hexdigest()}.jpg")
    pd.DataFrame(rows, columns=["id", "breed"]).to_csv(out / "labels.csv", index=False)
    return out


def printed_once(text, sentence):
    return text.count(sentence) == 1


def submission_of(run, data_dir):
    path = run.outputs / "submissions" / "40_dog_submission.csv"
    return helpers.validate_dog_submission(path, data_dir / "test", helpers.dog_breeds())


def test_one_photo_per_breed_read_only_relative_folder(tmp_path, monkeypatch):
    data_dir = dog_photos(tmp_path, [1] * 120)
    relative = os.path.relpath(data_dir, REPO)
    assert not Path(relative).is_absolute()
    with read_only(data_dir):
        run = notebook_runs.execute_notebook(NOTEBOOK, tmp_path, monkeypatch, KAGGLE_DOG_DIR=relative, **SHORT)
    assert run.error is None, run.error
    text = run.text
    assert printed_once(text, "No validation set: the epochs below are scored on nothing"), text
    assert "validation photos per breed: 0 for 120 breed(s)" in text
    assert "validation photo(s) per breed" not in text            # the old line that contradicted the split
    assert "is read-only: the reorganised folders go to" in text and not (data_dir / "train_valid_test").exists()
    assert "Using the real 'dog_tiny' data in" in text and "STAND-IN" not in text
    assert "random weights: the BatchNorm statistics were measured on the 120 training photos" in text
    assert "Kaggle's log loss on valid" not in text                # nothing to score, and nothing pretends to
    assert len(submission_of(run, data_dir)) == 4


def test_a_breed_without_a_validation_photo_and_valid_ratio_zero(tmp_path, monkeypatch):
    data_dir = dog_photos(tmp_path, [1] + [2] * 119)
    run = notebook_runs.execute_notebook(NOTEBOOK, tmp_path, monkeypatch, KAGGLE_DOG_DIR=str(data_dir),
                                         VALID_RATIO=0.0, **SHORT)
    assert run.error is None, run.error
    text = run.text
    assert printed_once(text, "validation photos per breed: 1 for 119 breed(s), 0 for 1 breed(s)"), text
    assert "1 of 120 classes have a single image" in text           # reorg_train_valid names it, once
    assert "No validation set" not in text
    assert "valid loss" in text and "Kaggle's log loss on valid" in text
    assert len(submission_of(run, data_dir)) == 4


def test_a_sample_without_every_breed_stops_at_the_data_check_with_what_to_do(real_photos, tmp_path, monkeypatch):
    """tests/real_photo_sets.py's dog folder labels its 16 photos with 4 breeds: the submission needs all 120, so the
    notebook stops at its first check cell, in a learner's words, before reorganising anything."""
    data_dir = tmp_path / "dogs"
    shutil.copytree(real_photos["dog"], data_dir)
    run = notebook_runs.execute_notebook(NOTEBOOK, tmp_path, monkeypatch, KAGGLE_DOG_DIR=str(data_dir), **SHORT)
    assert run.error is not None and run.error.ename == "CheckFailed", run.error
    assert "labels.csv has photos of 4 of Kaggle's 120 breeds" in run.error.evalue
    assert "give every breed at least one labelled photo (missing: affenpinscher, afghan_hound" in run.error.evalue
    assert "Traceback" not in run.error.shown and "AssertionError" not in run.error.shown
    assert not (data_dir / "train_valid_test").exists()
