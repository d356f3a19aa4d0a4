"""Notebook 37 on real photos in the shapes learners' hot-dog sets come in (issue 16): other folder names, file names
with spaces, one photo per class, a class with no test photo, a read-only folder, a relative HOTDOG_DIR, a last
batch of one photo. Each shape either runs to the end, saying once what it did about the shape, or stops at the
first cell that cannot go on, with one learner message (no traceback, no later cell run).

The photos are the 18 real ones of tests/real_photo_sets.py; the weights cannot be downloaded (the kernel's proxy is
a closed port and its torch cache is empty), so every run is "real photos, random weights". One epoch per run and one
configuration per exercise keep a run to a kernel start and a few seconds of training. Last, the lecture's DATA_HUB line
for hotdog, which the notebook shows and runs, is checked against the installed d2l package."""
import json
import os
import shutil
from pathlib import Path

import pytest

from notebook_runs import NOTEBOOKS, REPO, execute_notebook
from support import read_only

NAME = "37_fine_tuning.ipynb"
QUICK = {"small": dict(IMAGE_SIZE=32, CROP_SCALE=[0.8, 1.0], BATCH_SIZE=16, EPOCHS=1, LR=1e-4, SCRATCH_LR=1e-3,
                       WEIGHT_DECAY=1e-3, LR_SWEEP=[1e-4], FREEZE=["body"], WORKERS=0, THREADS=1)}


def code_cell(cell_id):
    """Index among the code cells of notebook 37 of the cell with this id (the same in both languages)."""
    cells = json.loads((NOTEBOOKS / "en" / NAME).read_text(encoding="utf-8"))["cells"]
    return [c["id"] for c in cells if c["cell_type"] == "code"].index(cell_id)


def rename_classes(root, names):
    for split in ("train", "test"):
        for old, new in zip(("hotdog", "not-hotdog"), names):
            (root / split / old).rename(root / split / new)


def spaces_in_names(root):
    """Every photo renamed as real downloads name them: 'chilidog (1).png', '热狗 (2).jpg', ..."""
    for k, photo in enumerate(sorted(root.rglob("*.*"))):
        stem = "热狗" if k % 5 == 0 else "chilidog" if photo.parent.name == "hotdog" else "green salad"
        photo.rename(photo.with_name(f"{stem} ({k}){photo.suffix}"))


def one_photo_per_class(root):
    for folder in [d for split in ("train", "test") for d in (root / split).iterdir()]:
        for photo in sorted(folder.iterdir())[1:]:
            photo.unlink()


def seventeen_training_photos(root):
    """17 training photos in batches of 16: the last batch holds one."""
    for k, photo in enumerate(sorted((root / "train" / "hotdog").iterdir())[:5]):
        shutil.copyfile(photo, photo.with_name(f"copy{k}{photo.suffix}"))


def both(*changes):
    return lambda root: [change(root) for change in changes]


# Shapes that need no stop are combined in fewer runs (a kernel start is most of a run's time): each run's own
# sentences must each be said exactly once.
SHAPES = {    # shapes: (what is done to the real-photo copy, sentences said exactly once)
    "hot_dog_not_hot_dog+spaces_in_file_names": (both(lambda r: rename_classes(r, ("hot_dog", "not_hot_dog")),
                                                      spaces_in_names), ["'hot_dog' holds the hot dogs, class 0."]),
    "hotdog_nothotdog+one_photo_per_class": (both(lambda r: rename_classes(r, ("hotdog", "nothotdog")),
                                                  one_photo_per_class),
                                             ["'hotdog' holds the hot dogs, class 0.",
                                              "Training photos per class {'hotdog': 1, 'nothotdog': 1}"]),
    "hot_dogs_sorted_second+no_test_photo_of_a_class": (both(lambda r: rename_classes(r, ("hotdogs", "food")),
                                                             lambda r: shutil.rmtree(r / "test" / "hotdogs")),
                                                        ["'hotdogs' holds the hot dogs, class 1.",
                                                         "test/ has no photo of 'hotdogs': every test accuracy below "
                                                         "scores 'food' photos only."]),
    "last_batch_of_one_photo": (seventeen_training_photos, []),
}


@pytest.fixture
def offline_kernel(tmp_path, closed_port):
    """The kernel's environment: an empty torch cache and every download refused (so no weights, as offline)."""
    proxy = f"http://127.0.0.1:{closed_port}"
    return {"TORCH_HOME": tmp_path / "torch", "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy,
            "https_proxy": proxy, "NO_PROXY": None, "no_proxy": None}


def photos(real_photos, tmp_path, change=None):
    root = tmp_path / "my hotdogs"                       # a space in the folder's own name too
    shutil.copytree(real_photos["hotdog"], root)
    if change:
        change(root)
    return root


def counts(root):
    return {split: sum(1 for p in (root / split).rglob("*") if p.is_file()) for split in ("train", "test")}


def assert_ran_to_the_end(run, root, once):
    assert run.error is None, run.error
    assert run.ran(code_cell("c37-43"))                 # the last code cell
    n = counts(root)
    assert f"train: {n['train']} images, test: {n['test']} images" in run.text
    assert run.text.count("This run: real photos, but RANDOM weights") == 1 and "STAND-IN" not in run.text
    for sentence in once:
        assert run.text.count(sentence) == 1, sentence
    if not any(s.startswith("Training photos per class") for s in once):
        assert run.text.count("Training photos per class") == 1          # 6 real photos per class: said once
    assert "Traceback" not in run.text


@pytest.mark.parametrize("shape", SHAPES)
def test_notebook_37_on_real_photos(shape, real_photos, tmp_path, monkeypatch, offline_kernel):
    change, once = SHAPES[shape]
    root = photos(real_photos, tmp_path, change)
    run = execute_notebook(NAME, tmp_path, monkeypatch, env=offline_kernel, HOTDOG_DIR=str(root), PRESET="small",
                           PRESETS=QUICK)
    assert_ran_to_the_end(run, root, once)


def test_notebook_37_on_a_read_only_folder_given_as_a_relative_path(real_photos, tmp_path, monkeypatch,
                                                                   offline_kernel):
    """d2l's folder names, read-only (Kaggle mounts data so) and given relative to the repository root, wherever the
    kernel runs (here notebooks/en): notebook 37 only reads its photos, so it runs as on a writable folder, and
    nothing is written there."""
    root = photos(real_photos, tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with read_only(root):
        with pytest.raises(PermissionError):
            (root / "train" / "probe.txt").write_text("x")
        run = execute_notebook(NAME, tmp_path, monkeypatch, env=offline_kernel, HOTDOG_DIR=os.path.relpath(root, REPO),
                               PRESET="small", PRESETS=QUICK)
    assert_ran_to_the_end(run, root, [f"Using the real 'hotdog' data in {root}"])
    assert "The class folders are" not in run.text and "test/ has no photo" not in run.text
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.parametrize("shape, change, cell, error, says", [
    ("no_hot_dog_folder", lambda r: rename_classes(r, ("food", "other")), "c37-08c", "LearnerError",
     "Rename the hot-dog folder to 'hotdog'"),
    ("no_test_photo", lambda r: [p.unlink() for p in (r / "test").rglob("*.*")], "c37-08c", "LearnerError",
     "test/ holds no photo"),
    ("train_and_val_but_no_test", lambda r: (r / "test").rename(r / "val"), "c37-08", "DataFolderError",
     "It has val/: if that holds the held-out photos, rename it to test/."),      # as some public hot-dog sets
])
def test_notebook_37_stops_once_with_what_to_do(shape, change, cell, error, says, real_photos, tmp_path, monkeypatch,
                                                offline_kernel):
    root = photos(real_photos, tmp_path, change)
    run = execute_notebook(NAME, tmp_path, monkeypatch, env=offline_kernel, HOTDOG_DIR=str(root), PRESET="small",
                           PRESETS=QUICK)
    stop = code_cell(cell)
    assert run.error is not None and run.error.code_cell == stop and run.error.ename == error
    assert says in run.error.shown and "Traceback" not in run.error.shown and "File " not in run.error.shown
    assert not run.ran(stop + 1)                         # no cascade: nothing after it ran


def test_the_lectures_data_hub_line_is_in_notebook_37_and_is_d2ls():
    """The DATA_HUB line the lecture and the book type, in sight in both languages and real: executed against the
    installed d2l package it registers exactly d2l's own entry, and helpers holds the same one."""
    d2l = pytest.importorskip("d2l.torch")
    import helpers
    for lang in ("zh", "en"):
        code = [c for c in json.loads((NOTEBOOKS / lang / NAME).read_text(encoding="utf-8"))["cells"]
                if c["cell_type"] == "code" and c["id"] == "c37-08"][0]
        line = next(l for l in "".join(code["source"]).splitlines() if l.startswith("d2l.DATA_HUB['hotdog']"))
        hub = {}
        exec(line, {"d2l": type("d2l", (), {"DATA_HUB": hub, "DATA_URL": d2l.DATA_URL})})
        assert hub["hotdog"] == d2l.DATA_HUB["hotdog"] == helpers.DATA_HUB["hotdog"]
