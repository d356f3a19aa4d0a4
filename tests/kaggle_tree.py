"""A stand-in Kaggle Notebooks tree for tests (COURSE_KAGGLE_ROOT points at it): competition data in a read-only
input/, built from the real-photo fixture, with Kaggle CIFAR-10 packed as real .7z archives (py7zr)."""
import shutil
import stat
from pathlib import Path

import py7zr


def pack(archive, folder, arcname):
    """A real 7z archive of `folder`, its entries under `arcname/` (as Kaggle's train.7z holds train/<id>.png)."""
    Path(archive).parent.mkdir(parents=True, exist_ok=True)
    with py7zr.SevenZipFile(archive, "w") as z:
        z.writeall(folder, arcname=arcname)
    return archive


def tree(folder):
    """{relative path: bytes} of every file under folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def snapshot(folder):
    """Names, sizes and modification times under folder: what a read-only input must keep."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*"))}


def read_only(folder):
    """chmod a-w on folder and everything in it. Tests run as root, which ignores these bits: the tests also compare
    a snapshot of the folder before and after (`snapshot`)."""
    for p in [*Path(folder).rglob("*"), Path(folder)]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def kaggle_tree(root, real_photos):
    """A stand-in /kaggle: input/ holds Kaggle CIFAR-10 as the competition serves it (train.7z, test.7z,
    trainLabels.csv, sampleSubmission.csv), the dog competition unpacked, and Classify Leaves as a dataset mounted one
    folder deeper; input/ is read-only, working/ is empty."""
    cifar, dogs = root / "input" / "cifar-10", root / "input" / "dog-breed-identification"
    cifar.mkdir(parents=True)
    for part in ("train", "test"):
        pack(cifar / f"{part}.7z", real_photos["cifar"] / part, part)
    shutil.copyfile(real_photos["cifar"] / "trainLabels.csv", cifar / "trainLabels.csv")
    test_ids = sorted(int(p.stem) for p in (real_photos["cifar"] / "test").iterdir())
    (cifar / "sampleSubmission.csv").write_text("id,label\n" + "".join(f"{i},cat\n" for i in test_ids))
    shutil.copytree(real_photos["dog"], dogs)
    shutil.copytree(real_photos["leaves"], root / "input" / "classify-leaves-data" / "classify-leaves")
    (root / "working").mkdir()
    read_only(root / "input")
    return root
