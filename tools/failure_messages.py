"""tools/failure_messages.py: print, in English and Chinese, what a learner sees in each storage, concurrency and
label case of issue 18, produced for real (run as root: small tmpfs filesystems, a user without override rights):

    sudo PYTHONPATH=$PWD:$PWD/tests .venv/bin/python tools/failure_messages.py

Each case is also a test (tests/machinery/test_storage.py, test_checkpoints.py, test_fastdata.py, tests/test_reorg.py);
this only shows the messages side by side."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import torch
from torch import nn

import helpers
import support                                                      # tests/support.py
from machinery import fastdata, messages, standins, storage

TRAIN = r"""
import sys, torch
from torch import nn
import helpers
net = nn.Sequential(nn.Flatten(), nn.Linear(192, 10))
data = [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))] * 4
try:
    helpers.train_ch13(net, data, None, nn.CrossEntropyLoss(reduction="none"),
                       torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9), 2, [torch.device("cpu")],
                       checkpoint=sys.argv[1], plot=False)
except helpers.LearnerError as e:
    print(type(e).__name__ + ":", e)
"""


def train(checkpoint, net, loader=None, epochs=2):
    loader = loader or [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))] * 4
    helpers.train_ch13(net, loader, None, nn.CrossEntropyLoss(reduction="none"),
                       torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), epochs, [torch.device("cpu")],
                       checkpoint=checkpoint, plot=False)


def caught(fn):
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            fn()
        return "\n".join(f"UserWarning: {w.message}" for w in seen) or "(no message)"
    except helpers.LearnerError as e:
        return f"{type(e).__name__}: {e}"


def case(title, fn):
    print(f"\n=== {title}")
    for lang in ("en", "zh"):
        os.environ["COURSE_LANG"] = lang
        messages.set_language(lang)
        print(f"--- {lang}\n{fn(lang)}")


def main():
    base = Path(tempfile.mkdtemp(prefix="failure-messages-"))
    os.chmod(base, 0o755)
    cifar = standins.make_standin("cifar10_tiny", base / "standin", n_train=200, n_test=7)   # as tests/conftest.py

    def read_only_checkpoint(lang):
        folder = base / f"read-only-{lang}"
        folder.mkdir()
        os.chmod(folder, 0o555)
        done = support.run_unprivileged(TRAIN, folder / "ckpt" / "run.pt", env={"COURSE_LANG": lang})
        return done.stdout.strip() or done.stderr.strip()[-800:]

    def no_room(lang):
        with support.small_filesystem(base / f"disk1-{lang}", "1m") as disk:
            big = nn.Sequential(nn.Flatten(), nn.Linear(192, 5000), nn.Linear(5000, 10))
            return caught(lambda: train(disk / "run.pt", big))

    def drive(lang):
        os.environ["COURSE_COLAB_DRIVE"] = str(base / "content" / "drive")
        try:
            return caught(lambda: train(base / "content" / "drive" / "MyDrive" / "d2l" / "run.pt",
                                        nn.Sequential(nn.Flatten(), nn.Linear(192, 10))))
        finally:
            del os.environ["COURSE_COLAB_DRIVE"]

    def full_at_save(lang):
        with support.small_filesystem(base / f"disk2-{lang}", "8m") as disk:
            data = [(torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,)))] * 4

            def loader():                                           # another program fills the disk in epoch 2
                for i, batch in enumerate(data):
                    if (disk / "run.pt").exists() and i == 1:
                        with open(disk / "filler", "wb") as f:
                            f.write(bytes(shutil.disk_usage(disk).free - 2 ** 20))
                    yield batch

            class Loader:
                def __len__(self):
                    return 4

                def __iter__(self):
                    return loader()
            net = nn.Sequential(nn.Flatten(), nn.Linear(192, 1024), nn.ReLU(), nn.Linear(1024, 10))
            text = caught(lambda: train(disk / "run.pt", net, Loader(), epochs=3))
            return text + f"\n(left on the disk: {sorted(p.name for p in disk.iterdir())})"

    def no_room_for_copies(lang):
        with support.small_filesystem(base / f"disk3-{lang}", "2560k") as disk:
            data = disk / "kaggle_cifar10_tiny"
            shutil.copytree(cifar, data)
            labels = helpers.read_csv_labels(data / "trainLabels.csv")
            return caught(lambda: helpers.reorg_train_valid(data, labels, 0.1, link=False))

    def concurrent(lang):
        data = base / f"concurrent-{lang}"
        shutil.copytree(cifar, data)
        out = storage.check_writable(data / "train_valid_test", "test")
        code = (f"import helpers\nhelpers.reorg_kaggle_data({str(data)!r}, 'trainLabels.csv', 0.1)\n"
                "print(sorted(p.name for p in helpers.reorganised_dir(" + repr(str(data)) + ").iterdir()))")
        with storage.locked(out / ".lock", "the first notebook"):
            child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "COURSE_LANG": lang, "COURSE_HEADLESS": "1"})
            first = child.stdout.readline().strip()
            time.sleep(1)
        rest = child.communicate(timeout=300)[0].strip()
        return f"{first}\n(after the first finished:) {rest}"

    def cache_no_room(lang):
        with support.small_filesystem(base / f"disk4-{lang}", "2m") as disk:
            data = disk / "kaggle_cifar10_tiny"
            shutil.copytree(cifar, data)
            helpers.reorg_kaggle_data(data, "trainLabels.csv", 0.1)
            fastdata._FAST_CACHE.clear()
            return caught(lambda: fastdata.image_folder_cache(data / "train_valid_test" / "train", store="disk"))

    def near_duplicates(lang):
        data = standins.make_standin("dog_tiny", base / f"dogs-{lang}", n_train=12, n_test=2, num_classes=3, size=24)
        rows = (data / "labels.csv").read_text().splitlines()
        first_breed = rows[1].split(",")[1]
        rows[1] = rows[1].replace("," + first_breed, "," + first_breed.title() + " ")
        (data / "labels.csv").write_text("\n".join(rows) + "\n")
        return caught(lambda: helpers.reorg_kaggle_data(data, "labels.csv", 0.1))

    case("a checkpoint folder the learner cannot write (as user 'nobody')", read_only_checkpoint)
    case("no room for one checkpoint (a real 1 MiB filesystem)", no_room)
    case("a checkpoint under /content/drive while Drive is not mounted", drive)
    case("the disk fills up during epoch 2; the save of epoch 2 fails (a real 8 MiB filesystem)", full_at_save)
    case("no room for d2l-style copies of the tree (a real 2.5 MiB filesystem)", no_room_for_copies)
    case("two notebooks reorganise one folder at once: the second waits", concurrent)
    case("no room for the decode cache (a real 2 MiB filesystem)", cache_no_room)
    case("labels equal but for case or spaces ('Affenpinscher ' beside 'affenpinscher')", near_duplicates)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
