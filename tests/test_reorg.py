"""Reorganisation: same per-label counts as the real d2l package, plus determinism, idempotence, links, bad input."""
import collections
import os
import shutil

import pytest

import helpers
import support
from machinery import folders, standins


def _tree(root):
    """{split: {label: sorted file names}} below <root>/train_valid_test."""
    base = root / "train_valid_test"
    return {split: {label: sorted(os.listdir(base / split / label)) for label in sorted(os.listdir(base / split))}
            for split in sorted(os.listdir(base)) if (base / split).is_dir()}


def _counts(tree):
    return {split: {label: len(files) for label, files in labels.items()} for split, labels in tree.items()}


@pytest.mark.parametrize("valid_ratio", [0.1, 0.25])
def test_counts_match_d2l(cifar_standin, tmp_path, valid_ratio):
    from d2l import torch as d2l
    ours, theirs = tmp_path / "ours", tmp_path / "d2l"
    shutil.copytree(cifar_standin, ours)
    shutil.copytree(cifar_standin, theirs)
    labels = helpers.read_csv_labels(ours / "trainLabels.csv")
    assert labels == d2l.read_csv_labels(str(theirs / "trainLabels.csv"))
    n_ours = helpers.reorg_train_valid(ours, labels, valid_ratio)
    helpers.reorg_test(ours)
    n_d2l = d2l.reorg_train_valid(str(theirs), labels, valid_ratio)
    d2l.reorg_test(str(theirs))
    assert n_ours == n_d2l
    assert _counts(_tree(ours)) == _counts(_tree(theirs))
    # the same files overall in each split's union, and test is the whole test folder
    assert _tree(ours)["train_valid"] == _tree(theirs)["train_valid"]
    assert _tree(ours)["test"] == _tree(theirs)["test"]


def test_partition_is_exact_and_deterministic(cifar_copy, tmp_path):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    n_valid = helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    tree = _tree(cifar_copy)
    for label in tree["train_valid"]:
        train, valid = set(tree["train"].get(label, [])), set(tree["valid"][label])
        assert not train & valid and train | valid == set(tree["train_valid"][label])
        assert len(valid) == n_valid
        # valid takes the first files in natural (numeric) order
        in_class = sorted(train | valid, key=folders.natural_key)
        assert sorted(valid, key=folders.natural_key) == in_class[:n_valid]
    # another copy on another path gives the same split
    other = tmp_path / "other"
    shutil.copytree(cifar_copy, other, ignore=shutil.ignore_patterns("train_valid_test"))
    helpers.reorg_train_valid(other, labels, 0.1)
    assert _tree(other) == tree


def test_rerun_is_idempotent_and_new_ratio_rebuilds(cifar_copy):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    first = _tree(cifar_copy)
    marker = cifar_copy / "train_valid_test" / "train" / "cat" / "untouched.txt"
    marker.write_text("a stray file, not an image")          # proves the second call did not rebuild
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    assert marker.exists()
    marker.unlink()
    assert _tree(cifar_copy) == first
    n = helpers.reorg_train_valid(cifar_copy, labels, 0.3)  # a new ratio: rebuilt, no mix of old and new
    tree = _tree(cifar_copy)
    assert all(len(files) == n for files in tree["valid"].values())
    assert sum(map(len, tree["train"].values())) + sum(map(len, tree["valid"].values())) == len(labels)


def test_hard_links_not_copies(cifar_copy):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    helpers.reorg_test(cifar_copy)
    src = cifar_copy / "train" / "1.png"
    label = labels["1"]
    linked = cifar_copy / "train_valid_test" / "train_valid" / label / "1.png"
    assert os.stat(linked).st_ino == os.stat(src).st_ino and os.stat(src).st_nlink == 3
    assert os.stat(cifar_copy / "train_valid_test" / "test" / "unknown" / "1.png").st_ino == \
        os.stat(cifar_copy / "test" / "1.png").st_ino


def test_copyfile_copies_as_d2l_and_replaces_a_linked_target(cifar_copy):
    """d2l.copyfile copies; ours too. A target that is a hard link of the source (our trees are links) is replaced
    instead of failing with shutil.SameFileError."""
    src = cifar_copy / "train" / "1.png"
    helpers.copyfile(str(src), str(cifar_copy / "copied"))
    copied = cifar_copy / "copied" / "1.png"
    assert copied.read_bytes() == src.read_bytes() and os.stat(copied).st_ino != os.stat(src).st_ino
    os.remove(copied)
    os.link(src, copied)
    helpers.copyfile(str(src), str(cifar_copy / "copied"))
    assert copied.read_bytes() == src.read_bytes() and os.stat(copied).st_ino != os.stat(src).st_ino


def test_ids_with_dots_and_stray_files(cifar_copy):
    train = cifar_copy / "train"
    (train / "1.png").rename(train / "img.v2.final.png")
    for stray in (".DS_Store", "Thumbs.db", "notes.txt", "desktop.ini"):
        (train / stray).write_text("junk")
    (cifar_copy / "test" / ".DS_Store").write_text("junk")
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    labels["img.v2.final"] = labels.pop("1")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    helpers.reorg_test(cifar_copy)
    tree = _tree(cifar_copy)
    assert "img.v2.final.png" in tree["train_valid"][labels["img.v2.final"]]
    assert sum(map(len, tree["train_valid"].values())) == len(labels)
    assert ".DS_Store" not in tree["test"]["unknown"] and len(tree["test"]["unknown"]) == 7


def test_image_without_label_names_it(cifar_copy):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    del labels["5"]
    with pytest.raises(ValueError, match=r"have no label: \['5.png'\]"):
        helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    assert not (cifar_copy / "train_valid_test").exists()    # nothing half-built


def test_label_without_image_names_it(cifar_copy):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    (cifar_copy / "train" / "9.png").unlink()
    with pytest.raises(ValueError, match=r"have no image .*\['9'\]"):
        helpers.reorg_train_valid(cifar_copy, labels, 0.1)


def test_a_class_with_a_single_image_keeps_it_for_training(cifar_copy, capsys):
    """d2l would send the only image of a class to valid, leaving train without the class (ImageFolder then numbers
    train's classes differently from valid's). Ours keeps it in train and says so."""
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    lonely = next(i for i, l in labels.items() if l == "cat")
    for i in [i for i, l in labels.items() if l == "cat" and i != lonely]:
        labels[i] = "dog"
    n = helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    assert n == 1                                              # d2l's count: max(1, floor(1 * 0.1))
    assert "have a single image" in capsys.readouterr().out
    tree = _tree(cifar_copy)
    assert tree["train"]["cat"] == [f"{lonely}.png"] and "cat" not in tree["valid"]
    assert all(len(v) == 1 for k, v in tree["valid"].items())
    assert sorted(tree["train"]) == sorted(tree["train_valid"])          # train has every class


def test_read_csv_labels_bad_rows(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,label\n1, cat \n2,dog\n\n3,cat\n")
    assert helpers.read_csv_labels(good) == {"1": "cat", "2": "dog", "3": "cat"}
    short = tmp_path / "short.csv"
    short.write_text("id,label\n1,cat\n2\n")
    with pytest.raises(ValueError, match="line 3"):
        helpers.read_csv_labels(short)
    clash = tmp_path / "clash.csv"
    clash.write_text("id,label\n1,cat\n1,dog\n")
    with pytest.raises(ValueError, match="appears twice"):
        helpers.read_csv_labels(clash)


def test_split_counts_and_reorg_kaggle_data(cifar_copy):
    n = helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    counts = helpers.split_counts(cifar_copy)
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    assert counts["train_valid"] == dict(sorted(collections.Counter(labels.values()).items()))
    assert set(counts["valid"].values()) == {n} and counts["test"] == {"unknown": 7}


def test_ids_with_extensions_get_a_hint(cifar_copy):
    labels = {f"{k}.png": v for k, v in helpers.read_csv_labels(cifar_copy / "trainLabels.csv").items()}
    with pytest.raises(ValueError, match="WITHOUT extension"):
        helpers.reorg_train_valid(cifar_copy, labels, 0.1)


# --- splits are checked, not assumed --------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5])
def test_reorganisation_validates_valid_ratio(cifar_copy, ratio):
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    with pytest.raises(ValueError, match="valid_ratio must be"):
        helpers.reorg_train_valid(cifar_copy, labels, ratio)
    assert not (cifar_copy / "train_valid_test").exists()


def test_an_empty_train_folder_with_a_header_only_csv_says_so(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    (tmp_path / "trainLabels.csv").write_text("id,label\n")
    with pytest.raises(ValueError, match="no images and the label file no rows"):
        helpers.reorg_kaggle_data(tmp_path, "trainLabels.csv", 0.1)


@pytest.mark.parametrize("link", [True, False])
def test_a_replaced_image_rebuilds_the_tree(cifar_copy, link):
    """Links see an image rewritten in place by themselves; a file replaced by another (a new inode) or a copied
    tree needs a rebuild, which the manifest's fingerprint triggers."""
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=link)
    placed = cifar_copy / "train_valid_test" / "train_valid" / labels["5"] / "5.png"
    src = cifar_copy / "train" / "5.png"
    new = (cifar_copy / "train" / "6.png").read_bytes()
    src.unlink()
    src.write_bytes(new)                                                 # the same name, another image
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=link)
    assert placed.read_bytes() == new
    newer = (cifar_copy / "train" / "7.png").read_bytes()
    with open(src, "r+b") as f:                                          # rewritten in place (same inode)
        f.write(newer)
        f.truncate()
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=link)
    assert placed.read_bytes() == newer


def test_one_image_per_class_gives_a_usable_split(tmp_path):
    """The dogs layout with one photo per breed: d2l sends every photo to valid and leaves train empty."""
    data = standins.make_standin("dog_tiny", tmp_path, n_train=120, n_test=3, size=24)
    n = helpers.reorg_kaggle_data(data, "labels.csv", 0.1)
    counts = helpers.split_counts(data)
    assert n == 1 and len(counts["train"]) == 120 and counts.get("valid", {}) == {}
    datasets, _ = helpers.reorganised_loaders(data, None, None, 8, num_workers=0)
    assert datasets["train"].classes == datasets["valid"].classes == helpers.dog_breeds()
    assert len(datasets["valid"]) == 0 and len(datasets["train"]) == 120


def test_loaders_number_every_split_by_one_class_list(cifar_copy):
    helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    root = cifar_copy / "train_valid_test"
    shutil.rmtree(root / "valid" / "airplane")                 # valid lacks a class: indices must not shift
    datasets, _ = helpers.reorganised_loaders(cifar_copy, None, None, 8, num_workers=0)
    assert datasets["valid"].class_to_idx == datasets["train"].class_to_idx == datasets["train_valid"].class_to_idx
    for path, target in datasets["valid"].samples:
        assert datasets["valid"].classes[target] == os.path.basename(os.path.dirname(path))
    (root / "valid" / "unicorn").mkdir()                         # a class the model could never predict
    shutil.copy(root / "train_valid" / "cat" / os.listdir(root / "train_valid" / "cat")[0], root / "valid" / "unicorn")
    with pytest.raises(ValueError, match=r"unicorn"):
        helpers.reorganised_loaders(cifar_copy, None, None, 8, num_workers=0)


# --- UTF-8 whatever the locale ---------------------------------------------------------------------------------------

def test_label_files_are_utf8_whatever_the_locale(tmp_path):
    """Non-ASCII labels, a byte-order mark (Excel's 'CSV UTF-8'), read by a Python whose locale is plain ASCII."""
    import subprocess
    import sys
    path = tmp_path / "labels.csv"
    path.write_bytes("\ufeffid,label\n1,Ahorn-Blätter\n2,银杏\n".encode("utf-8"))
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import helpers; "
            "print(json.dumps(helpers.read_csv_labels(sys.argv[2])))")
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "ascii:backslashreplace"}
    out = subprocess.run([sys.executable, "-c", code, str(helpers.REPO_DIR), str(path)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    assert json.loads(out.stdout) == {"1": "Ahorn-Blätter", "2": "银杏"}
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("id,label\n1,Ahorn-Bl\xe4tter\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        helpers.read_csv_labels(bad)


def test_how_linked_names_hard_links_copies_and_symbolic_links(cifar_copy):
    """Notebook 39's 'three names' cell: the sentence matches how the tree holds the file in each of the three cases
    (hard links by default, copies with link=False, symbolic links where hard links are impossible)."""
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    src = cifar_copy / "train" / "1.png"
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    tree = helpers.reorganised_dir(cifar_copy)
    linked = tree / "train_valid" / labels["1"] / "1.png"
    assert helpers.how_linked(linked, src) == \
        f"train_valid_test/train_valid/{labels['1']}/1.png: a hard link, the same file on disk as train/1.png"
    assert src.stat().st_nlink == 3
    helpers.reorg_train_valid(cifar_copy, labels, 0.1, link=False)
    assert helpers.how_linked(linked, src).endswith("a copy of train/1.png (its own bytes on disk)")
    assert src.stat().st_nlink == 1
    linked.unlink()
    linked.symlink_to(src)
    assert helpers.how_linked(linked, src).endswith("a symbolic link to train/1.png")


# --- safe when two notebooks reorganise one folder, when a kernel is killed mid-way, when the disk is full -----------

def _benchmark(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, helpers.REPO_DIR / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_reorganising_one_folder_both_end_with_the_complete_tree():
    """Real processes started together on one folder, a handful of times (benchmarks/reorg_race.py runs 50 and
    prints the figures). Before the lock, 50 tries of that script: a process failed in every try, 34 trees were
    left incomplete, and a later run kept one of them as current."""
    summary = _benchmark("reorg_race").main(["--tries", "3"])
    assert summary["tries_with_a_failed_process"] == 0 and summary["errors"] == {}
    assert summary["calls_that_returned_without_the_complete_tree"] == 0
    assert summary["incomplete_trees_after_both"] == 0 and summary["broken_trees_kept_by_a_later_run"] == 0


CHILD = r"""
import os, sys, time
import helpers
real_link, done = os.link, []
def slow_link(src, dst):                       # pause (to be killed) after 50 files, as a kernel restarted mid-way
    real_link(src, dst)
    done.append(dst)
    if len(done) == 50 and sys.argv[2]:
        open(sys.argv[2], "w").close()
        time.sleep(120)
os.link = slow_link
helpers.reorg_kaggle_data(sys.argv[1], "trainLabels.csv", 0.1)
print("done")
"""


def _child(data, ready=""):
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(helpers.REPO_DIR), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(ready)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(path, proc, seconds=120):
    import time
    deadline = time.time() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_reorganisation_killed_mid_way_leaves_nothing_that_is_trusted(cifar_copy, tmp_path):
    import signal
    reference = tmp_path / "reference"
    shutil.copytree(cifar_copy, reference)
    helpers.reorg_kaggle_data(reference, "trainLabels.csv", 0.1)
    helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    helpers.reorg_train_valid(cifar_copy, helpers.read_csv_labels(cifar_copy / "trainLabels.csv"), 0.3)   # built
    ready = tmp_path / "ready"
    proc = _child(cifar_copy, ready)                  # valid_ratio 0.1 again: a rebuild, killed after 50 links
    _wait_for(ready, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    tree = cifar_copy / "train_valid_test"
    # nothing in place that a loader could take for the tree, and no manifest that says it is current
    assert not any((tree / split).exists() for split in ("train", "valid", "train_valid"))
    assert not (tree / ".reorg_train_valid.json").exists() and (tree / ".building").is_dir()
    helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)                     # a later run rebuilds
    assert _tree(cifar_copy) == _tree(reference) and not (tree / ".building").exists()


def test_a_second_process_waits_for_the_first_and_finds_the_tree_built(cifar_copy, capsys):
    from machinery import storage
    out = storage.check_writable(cifar_copy / "train_valid_test", "test")
    with storage.locked(out / ".lock", "the test holds the lock"):              # the first process, mid-way
        proc = _child(cifar_copy)
        line = proc.stdout.readline()
        assert line.startswith(f"Another notebook or process is reorganising into {out}; waiting"), line
        assert proc.poll() is None and not (out / ".reorg_train_valid.json").exists()
    assert proc.communicate(timeout=300)[0].strip().endswith("done")
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    assert sum(map(len, _tree(cifar_copy)["train_valid"].values())) == len(labels)


def test_a_tree_with_a_missing_file_or_an_extra_class_is_rebuilt_despite_its_manifest(cifar_copy):
    """The manifest alone is not trusted: every file of the plan must be in place, and nothing else."""
    labels = helpers.read_csv_labels(cifar_copy / "trainLabels.csv")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    complete = _tree(cifar_copy)
    root = cifar_copy / "train_valid_test"
    victim = next((root / "train" / "cat").iterdir())
    victim.unlink()                                                          # a file lost (a sync cut short)
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    assert _tree(cifar_copy) == complete
    (root / "valid" / "unicorn").mkdir()                                     # a class nobody asked for
    shutil.copy(cifar_copy / "train" / "1.png", root / "valid" / "unicorn")
    helpers.reorg_train_valid(cifar_copy, labels, 0.1)
    assert _tree(cifar_copy) == complete


def test_copies_that_do_not_fit_are_refused_before_anything_is_written(cifar_standin, tmp_path):
    """A real 2.5 MiB filesystem holding the data (0.9 MB in 4 KiB blocks): d2l-style copies need 1.7 MB more."""
    from machinery import storage
    with support.small_filesystem(tmp_path / "disk", "2560k") as disk:
        data = disk / "kaggle_cifar10_tiny"
        shutil.copytree(cifar_standin, data)
        labels = helpers.read_csv_labels(data / "trainLabels.csv")
        with pytest.raises(storage.StorageError) as err:
            helpers.reorg_train_valid(data, labels, 0.1, link=False)
        assert str(err.value).startswith(f"Not enough free space for the reorganised folders in "
                                         f"{data / 'train_valid_test'}: ")
        assert os.listdir(data / "train_valid_test") == [".lock"]             # nothing built, nothing trusted
        assert helpers.reorg_train_valid(data, labels, 0.1) == 2             # hard links fit: no bytes copied


def test_a_disk_that_fills_up_while_copying_leaves_nothing_half_built(cifar_standin, tmp_path, monkeypatch):
    """The check before copying passes, then the disk fills up (as when another program writes meanwhile: the
    check is switched off here to get there). What was copied is removed, and a later run builds the whole tree."""
    from machinery import folders, storage
    with support.small_filesystem(tmp_path / "disk", "1536k") as disk:
        data = disk / "kaggle_cifar10_tiny"
        shutil.copytree(cifar_standin, data)
        free_before = shutil.disk_usage(disk).free
        labels = helpers.read_csv_labels(data / "trainLabels.csv")
        check = storage.check_writable
        monkeypatch.setattr(folders.storage, "check_writable", lambda folder, what, *need: check(folder, what))
        with pytest.raises(storage.StorageError) as err:
            helpers.reorg_train_valid(data, labels, 0.1, link=False)
        assert str(err.value).startswith(f"The disk filled up while reorganising {data / 'train'} into "
                                         f"{data / 'train_valid_test'} (")
        assert "no half-built folder will be used" in str(err.value)
        assert os.listdir(data / "train_valid_test") == [".lock"] and shutil.disk_usage(disk).free == free_before
        support.remount(disk, "8m")                                           # the learner makes room
        monkeypatch.undo()
        assert helpers.reorg_train_valid(data, labels, 0.1, link=False) == 2
        assert sum(map(len, _tree(data)["train_valid"].values())) == len(labels)


# --- labels that differ only in case, spaces, underscores or hyphens -------------------------------------------------

def test_labels_that_differ_only_in_case_or_spaces_are_refused_in_one_message(tmp_path, monkeypatch):
    """A hand-made labels.csv holding 'beagle' and 'Beagle ' (and 'PUG'): d2l would make extra class folders and the
    net would learn more breeds than there are. Refused before anything is built, every spelling named."""
    from machinery import labels as label_files
    data = standins.make_standin("dog_tiny", tmp_path, n_train=12, n_test=2, num_classes=3, size=24)
    rows = (data / "labels.csv").read_text().splitlines()
    breeds = sorted({r.split(",")[1] for r in rows[1:]})                   # affenpinscher, afghan_hound, ...
    first = {b: next(r.split(",")[0] for r in rows[1:] if r.endswith("," + b)) for b in breeds}
    edited = [r.replace(f",{breeds[0]}", f",{breeds[0].title()} ") if r.startswith(first[breeds[0]]) else
              r.replace(f",{breeds[1]}", f",{breeds[1].upper()}") if r.startswith(first[breeds[1]]) else r
              for r in rows]
    (data / "labels.csv").write_text("\n".join(edited) + "\n")
    counts = collections.Counter(r.split(",")[1] for r in rows[1:])
    with pytest.raises(label_files.NearDuplicateLabels) as err:
        helpers.reorg_kaggle_data(data, "labels.csv", 0.1)
    message = str(err.value)
    assert f"(5 classes instead of 3;" in message
    assert (f"{breeds[0].title()!r} \u00d71 (id {first[breeds[0]]!r}), {breeds[0]!r} \u00d7{counts[breeds[0]] - 1}"
            in message)
    assert f"{breeds[1].upper()!r} \u00d71 (id {first[breeds[1]]!r}), {breeds[1]!r}" in message
    assert not (data / "train_valid_test").exists()                          # nothing built
    monkeypatch.setenv("COURSE_LANG", "zh")
    with pytest.raises(label_files.NearDuplicateLabels, match="只在大小写、空格、下划线或连字符上不同.*5 个类别，而不是 3 个") as err:
        helpers.reorg_kaggle_data(data, "labels.csv", 0.1)
    from english import english_sentences
    assert english_sentences(str(err.value)) == [], str(err.value)


def test_labels_that_differ_only_in_underscores_hyphens_or_spaces_are_refused(tmp_path):
    """'golden retriever' typed by hand beside the competition's 'golden_retriever' (and 'golden-retriever'): one
    breed, three spellings, refused in one message like a difference in case."""
    from machinery import labels as label_files
    labels = {"1": "golden_retriever", "2": "golden retriever", "3": "golden-retriever", "4": "pug", "5": "pug"}
    with pytest.raises(label_files.NearDuplicateLabels) as err:
        label_files.refuse_near_duplicates(labels, tmp_path)
    message = str(err.value)
    assert "(4 classes instead of 2;" in message
    assert "'golden retriever' \u00d71 (id '2'), 'golden-retriever' \u00d71 (id '3'), 'golden_retriever' \u00d71 (id '1')" \
        in message
    label_files.refuse_near_duplicates({"1": "black-and-tan_coonhound", "2": "bull_mastiff"}, tmp_path)   # distinct


def test_the_competitions_own_labels_are_unchanged(real_photos):
    """Competition label files are lowercase: the check changes nothing for them (the real-photo layouts, and every
    class name of CIFAR-10 and the 120 dog breeds)."""
    import pandas as pd
    from machinery import labels as label_files
    for names in (helpers.CIFAR10_CLASSES, helpers.dog_breeds()):
        label_files.refuse_near_duplicates(dict(enumerate(names)), "the competition")
    for name, csv_name in (("cifar", "trainLabels.csv"), ("dog", "labels.csv")):
        labels = helpers.read_csv_labels(real_photos[name] / csv_name)
        label_files.refuse_near_duplicates(labels, name)
        assert len({label_files.label_key(v) for v in labels.values()}) == len(set(labels.values()))   # none merge
    leaves = real_photos["leaves"]
    train = helpers.CsvImageDataset(leaves, leaves / "train.csv")
    assert train.classes == sorted(set(pd.read_csv(leaves / "train.csv").label))
