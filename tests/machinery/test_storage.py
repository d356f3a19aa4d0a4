"""machinery.storage: the one check made before the work (a writable folder, room, Google Drive mounted), tried on
a real read-only folder as a user without override rights, a real small filesystem and a real mount point; training
must stop before its first batch."""
import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

import helpers
import support
from machinery import storage

# A training run in a child process; it prints the error's class and the number of batches trained, then the message.
TRAIN_CHILD = r"""
import sys, torch
from torch import nn
import helpers
batches = []
class Loader:
    def __len__(self):
        return 4
    def __iter__(self):
        for b in range(4):
            batches.append(b)
            yield torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
net = nn.Sequential(nn.Flatten(), nn.Linear(192, 10))
trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
try:
    helpers.train_ch13(net, Loader(), None, nn.CrossEntropyLoss(reduction="none"), trainer, 2, [torch.device("cpu")],
                       checkpoint=sys.argv[1], plot=False)
except helpers.LearnerError as e:
    print(type(e).__name__, len(batches))
    print(e)
    sys.exit(3)
print("trained", len(batches))
"""


class CountingLoader:
    """Four batches of random 8x8 images per epoch; .batches counts the batches handed out."""

    def __init__(self):
        self.batches = 0

    def __len__(self):
        return 4

    def __iter__(self):
        for _ in range(4):
            self.batches += 1
            yield torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))


def _train(checkpoint, net=None, epochs=2):
    net = net or nn.Sequential(nn.Flatten(), nn.Linear(192, 10))
    loader = CountingLoader()
    trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    try:
        helpers.train_ch13(net, loader, None, nn.CrossEntropyLoss(reduction="none"), trainer, epochs,
                           [torch.device("cpu")], checkpoint=checkpoint, plot=False)
    finally:
        _train.batches = loader.batches


@pytest.fixture
def shared_dir():
    """A folder that the unprivileged user may enter (pytest's tmp_path is private to root)."""
    path = support.world_readable_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_read_only_checkpoint_folder_stops_training_before_the_first_batch(shared_dir, lang):
    """As a user without override rights (root ignores permission bits: the child drops to 'nobody')."""
    read_only = shared_dir / "read-only"
    read_only.mkdir()
    os.chmod(read_only, 0o555)
    done = support.run_unprivileged(TRAIN_CHILD, read_only / "ckpt" / "run.pt", env={"COURSE_LANG": lang})
    assert done.returncode == 3, done.stdout + done.stderr
    first, message = done.stdout.split("\n", 1)
    assert first == "StorageError 0"                                   # not one batch trained
    assert str(read_only / "ckpt") in message and "run.pt" in message and "Permission denied" in message
    assert ("folder you can write to" if lang == "en" else "请选择一个可以写入的目录") in message
    assert not (read_only / "ckpt").exists()
    writable = shared_dir / "writable"                                  # the same user trains where it may write
    writable.mkdir()
    os.chmod(writable, 0o777)
    done = support.run_unprivileged(TRAIN_CHILD, writable / "ckpt" / "run.pt")
    assert done.stdout.strip().splitlines()[-1] == "trained 8", done.stdout + done.stderr
    assert torch.load(writable / "ckpt" / "run.pt", weights_only=False)["epoch"] == 2


def test_a_read_only_output_folder_is_refused_when_it_is_asked_for(shared_dir):
    read_only = shared_dir / "outputs"
    read_only.mkdir()
    os.chmod(read_only, 0o555)
    code = ("import helpers\ntry:\n    helpers.output_dir('submissions')\nexcept helpers.LearnerError as e:\n"
            "    print(type(e).__name__, e)")
    done = support.run_unprivileged(code, env={"COURSE_OUTPUT_DIR": str(read_only)})
    assert done.stdout.startswith("StorageError Cannot write figures, checkpoints and submissions in "
                                  f"{read_only / 'submissions'} (Permission denied)"), done.stdout + done.stderr


def test_check_writable_creates_the_folder_and_leaves_nothing_behind(tmp_path):
    folder = storage.check_writable(tmp_path / "a" / "b", "the test files", need_bytes=1000, need_files=3)
    assert folder == tmp_path / "a" / "b" and folder.is_dir() and list(folder.iterdir()) == []


def test_no_room_for_one_checkpoint_stops_training_before_the_first_batch(tmp_path):
    """A real 1 MiB filesystem; the net's checkpoint (weights + momentum) needs about 12 MB."""
    with support.small_filesystem(tmp_path / "disk", "1m") as disk:
        big = nn.Sequential(nn.Flatten(), nn.Linear(192, 5000), nn.Linear(5000, 10))   # 1.0 M parameters, 4 MB
        with pytest.raises(storage.StorageError) as err:
            _train(disk / "run.pt", big)
        assert _train.batches == 0
        message = str(err.value)
        assert message.startswith(f"Not enough free space for the checkpoint run.pt in {disk}: 1.0 MB free, about ")
        needed = float(re.search(r"about ([\d.]+) MB needed", message).group(1))
        assert needed >= 12.2 and "another disk" in message                 # weights + two optimiser buffers
        assert list(disk.iterdir()) == []


@contextlib.contextmanager
def _mount_point(tmp_path):
    """A real mount point to stand for a mounted Drive: a small tmpfs (as root), else /dev/shm when it is one."""
    if os.geteuid() != 0 and os.path.ismount("/dev/shm") and os.access("/dev/shm", os.W_OK):
        folder = Path(tempfile.mkdtemp(dir="/dev/shm"))
        try:
            yield Path("/dev/shm"), folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        with support.small_filesystem(tmp_path / "drive", "16m") as drive:
            yield drive, drive / "MyDrive"


def test_a_checkpoint_on_google_drive_needs_drive_mounted(tmp_path, monkeypatch):
    """Colab: /content/drive/... before drive.mount() would be a local folder that vanishes with the session."""
    drive = tmp_path / "content" / "drive"
    monkeypatch.setenv("COURSE_COLAB_DRIVE", str(drive))
    ckpt = drive / "MyDrive" / "d2l" / "run.pt"
    with pytest.raises(storage.StorageError) as err:
        _train(ckpt)
    assert _train.batches == 0 and not drive.exists()                 # no local folder was made
    message = str(err.value)
    assert f"{ckpt.parent} is on Google Drive, but Drive is not mounted at {drive}" in message
    assert f"from google.colab import drive; drive.mount('{drive}')" in message
    with _mount_point(tmp_path) as (root, folder):                    # mounted: the run trains and saves
        monkeypatch.setenv("COURSE_COLAB_DRIVE", str(root))
        _train(folder / "d2l" / "run.pt")
        assert _train.batches == 8 and torch.load(folder / "d2l" / "run.pt", weights_only=False)["epoch"] == 2


def test_messages_speak_the_notebooks_language(tmp_path, monkeypatch):
    """In a Chinese notebook: Chinese, and no English sentence (tests/english.py), for each check's message."""
    from english import english_sentences
    monkeypatch.setenv("COURSE_LANG", "zh")
    monkeypatch.setenv("COURSE_COLAB_DRIVE", str(tmp_path / "drive"))
    (tmp_path / "a_file").write_text("not a folder")
    cases = [(tmp_path / "drive" / "x", 0, "Drive 没有挂载到"),
             (tmp_path / "a_file" / "x", 0, "无法在 .* 中写入检查点 run.pt"),
             (tmp_path / "x", shutil.disk_usage(tmp_path).free, "中没有足够的空间存放检查点 run.pt：剩余 .*，大约需要 .*")]
    for folder, need, pattern in cases:
        with pytest.raises(storage.StorageError, match=pattern) as err:
            storage.check_writable(folder, "检查点 run.pt", need_bytes=need)
        prose = [line for line in str(err.value).splitlines() if not line.startswith("    ")]   # not the code line
        assert english_sentences("\n".join(prose)) == [], str(err.value)


def test_size_text():
    assert [storage.size_text(n) for n in (0, 999, 1500, 2_500_000, 3_200_000_000)] == \
        ["0 B", "999 B", "1.5 kB", "2.5 MB", "3.2 GB"]
