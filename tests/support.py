"""Small building blocks shared by several test files (tests/conftest.py loads this module, so `import support`
works under pytest's importlib import mode too)."""
import contextlib
import io
import subprocess
import zipfile
from pathlib import Path

from torch import nn
from torchvision import transforms as T

import helpers


def small_cnn(num_classes=10):
    """A CNN small enough to train in seconds on 32x32 images, with BatchNorm and Dropout (both use the RNG state)."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.1), nn.Linear(32, num_classes))


def cifar_loaders(data_dir, batch_size=32, augment=True):
    """Reorganise a CIFAR stand-in (valid_ratio 0.2) and return (datasets, loaders) of reorganised_loaders."""
    norm = [T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)]
    train_tf = T.Compose(([T.RandomHorizontalFlip()] if augment else []) + norm)
    helpers.reorg_kaggle_data(data_dir, "trainLabels.csv", 0.2)
    return helpers.reorganised_loaders(data_dir, train_tf, T.Compose(norm), batch_size, num_workers=0)


def zip_bytes(files):
    """The bytes of a zip archive holding {name: str or bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@contextlib.contextmanager
def small_filesystem(path, size):
    """A real filesystem of `size` (tmpfs size syntax: '2m') mounted at path for the `with` block, unmounted after.
    Skips the test when mounting is not permitted (it needs root, or CAP_SYS_ADMIN)."""
    import pytest
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no `mount` command here: a small real filesystem cannot be made")
    if done.returncode != 0:
        pytest.skip(f"mounting a {size} tmpfs is not permitted here ({done.stderr.strip()}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def remount(path, size):
    """Give the small filesystem at path a new size (a learner freeing space)."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, capture_output=True, timeout=30)


def run_unprivileged(code, *args, env=None, timeout=300):
    """Run `code` (Python, with helpers importable) in a subprocess as a user without override rights: as root
    (which ignores permission bits) through `setpriv` as the user 'nobody', with no capabilities left; otherwise as
    the current user. Returns the CompletedProcess (text)."""
    import os
    import shutil
    import sys
    import pytest
    prefix = []
    if os.geteuid() == 0:
        import pwd
        nobody = pwd.getpwnam("nobody")
        if not shutil.which("setpriv"):
            pytest.skip("running as root without `setpriv`: cannot drop to a user without override rights")
        prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                  "--inh-caps=-all"]
    env = {**os.environ, "PYTHONPATH": str(helpers.REPO_DIR), "COURSE_HEADLESS": "1", "MPLCONFIGDIR": "/tmp",
           "HOME": "/tmp", "OMP_NUM_THREADS": "1", **(env or {})}
    check = "import os, sys\nassert os.geteuid() != 0, 'still root'\n"
    return subprocess.run([*prefix, sys.executable, "-c", check + code, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def world_readable_tmpdir():
    """A fresh folder that any user can enter and read (pytest's tmp_path is private to its owner)."""
    import os
    import tempfile
    path = tempfile.mkdtemp(prefix="course-test-")
    os.chmod(path, 0o755)
    return Path(path)


@contextlib.contextmanager
def read_only(folder):
    """folder and everything in it made read-only for real for the `with` block, as Kaggle mounts /kaggle/input: for
    an ordinary user by permissions (a-w), for root (which ignores permission bits, and CI runs as root) by the
    immutable attribute (chattr -R +i), which also refuses hard links to its files. Undone afterwards. Skips where
    neither holds."""
    import os
    import shutil
    import pytest
    folder = Path(folder)
    if os.geteuid() != 0:
        paths = [folder, *folder.rglob("*")]
        for p in paths:
            p.chmod(p.stat().st_mode & ~0o222)
        undo = lambda: [p.chmod(p.stat().st_mode | 0o200) for p in paths]                      # noqa: E731
    else:
        done = subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True) if shutil.which("chattr") \
            else None
        if done is None or done.returncode or os.access(folder, os.W_OK):
            if done is not None:
                subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
            pytest.skip("cannot make a folder read-only for root here (no chattr, or a filesystem without it)")
        undo = lambda: subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)       # noqa: E731
    try:
        yield folder
    finally:
        undo()
