"""Notebook 38 (Classify Leaves) executed on REAL photos laid out as the competition (a CSV of paths), in the shapes
learners meet: a rare species with one photo and species with no validation photo, no validation photo at all, a
read-only data folder, a relative LEAVES_DIR. Each runs to the end and says once what it did about its shape, or
stops at one cell with a learner's message. (The zh notebook runs the same code: tests/test_notebooks.py.)

Each execution takes ~30-60 s on 2 CPU cores (small preset, 24 photos; more under load)."""
import json
import os
import shutil
import stat
import subprocess
import sys

import pandas as pd
import pytest

import helpers

from notebook_runs import REPO, execute_notebook           # loaded by conftest.py

NB = "38_classify_leaves.ipynb"


def _leaves_copy(real_photos, tmp_path, counts=None):
    """A copy of the real-photo Classify Leaves folder; counts={species: n} relabels its 18 training photos."""
    root = tmp_path / "classify-leaves"
    shutil.copytree(real_photos["leaves"], root)
    if counts:
        train = pd.read_csv(root / "train.csv", dtype=str)
        labels = [species for species, n in counts.items() for _ in range(n)]
        assert len(labels) == len(train)
        train["label"] = labels
        train.to_csv(root / "train.csv", index=False)
    return root


def _submission_ok(run, root):
    path = run.outputs / "submissions" / "38_leaves_submission.csv"
    test = pd.read_csv(root / "test.csv", dtype=str)
    classes = sorted(set(pd.read_csv(root / "train.csv", dtype=str).label))
    submission = helpers.validate_label_submission(path, list(test.image), classes, columns=("image", "label"))
    return len(submission) == len(test)          # validate_label_submission raises on any other problem


def test_rare_species_and_species_without_validation_photo(real_photos, tmp_path, monkeypatch):
    # 10 + 7 + 1 photos: VALID_RATIO 0.1 sends 1 photo of the first species to validation, none of the others
    root = _leaves_copy(real_photos, tmp_path, {"acer_rubrum": 10, "quercus_alba": 7, "ulmus_americana": 1})
    run = execute_notebook(NB, tmp_path, monkeypatch, LEAVES_DIR=str(root))
    assert run.error is None, run.error
    assert run.text.count("species send no photo to validation") == 1
    assert "2 of 3 species" in run.text and "quercus_alba, ulmus_americana" in run.text
    assert "train 17, valid 1, test 6" in run.text
    assert "0 photos in 0 groups of duplicates" in run.text
    assert _submission_ok(run, root)


def test_no_validation_photo_at_all(real_photos, tmp_path, monkeypatch):
    root = _leaves_copy(real_photos, tmp_path)                   # 3 species x 6 photos: floor(0.6) = 0 each
    run = execute_notebook(NB, tmp_path, monkeypatch, LEAVES_DIR=str(root))
    assert run.error is None, run.error
    assert run.text.count("the validation set is empty") == 1
    assert run.text.count("the tricks cannot be compared") == 1
    assert "species send no photo to validation" not in run.text     # said once, not twice in other words
    assert _submission_ok(run, root)


def test_read_only_data_folder_and_a_relative_path(real_photos, tmp_path, monkeypatch):
    """The data folder is made read-only and the kernel runs without the root privilege that ignores file modes
    (setpriv drops CAP_DAC_OVERRIDE), as on Kaggle where /kaggle/input is read-only. LEAVES_DIR is relative to the
    repository root, as a learner writes it. A duplicate with a label conflict is planted: the notebook must drop it
    from its table, not from the folder."""
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to run a kernel that cannot write into a read-only folder")
    root = _leaves_copy(real_photos, tmp_path, {"acer_rubrum": 12, "quercus_alba": 5, "ulmus_americana": 1})
    shutil.copyfile(root / "images" / "0.jpg", root / "images" / "13.jpg")   # 0 is acer_rubrum, 13 quercus_alba
    before = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))
    for path in [*root.rglob("*"), root]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search",
            "--"]
    kernels = tmp_path / "jupyter" / "kernels" / "no-dac-override"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [*drop, sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (no CAP_DAC_OVERRIDE)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    try:
        touch = subprocess.run([*drop, "touch", str(root / "x")], capture_output=True)
        assert touch.returncode != 0 and not (root / "x").exists()      # read-only for such a process, really
        run = execute_notebook(NB, tmp_path, monkeypatch, kernel_name="no-dac-override",
                               LEAVES_DIR=os.path.relpath(root, REPO))
        assert run.error is None, run.error
        assert f"Using the real 'leaves' data in {root}" in run.text
        assert "2 training photos with conflicting labels dropped; 16 remain" in run.text
        assert "train 15, valid 1, test 6" in run.text
        assert _submission_ok(run, root)
        assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")) == before
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
