"""Before writing: can this folder take what a run will write there? One check, made before the work that writes
(training, reorganising, decoding), for every place a run writes to: the checkpoint's folder, the reorganised tree,
the fast path's decode cache, the output folder. It fails with one error, StorageError, that names the folder, what
was to be written there, and what to do, in the notebook's language. Also here: a lock that one process holds while
it builds something that others may be building at the same moment (two notebooks on one data folder)."""
import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from .messages import LearnerError, tr

MARGIN = 1.1                    # ask for 10% more room than estimated, and 1 MiB more
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class StorageError(LearnerError, OSError):
    """A folder a run must write to is not writable, has no room, or is on a Google Drive that is not mounted. The
    message names the folder, what was to be written and what to do; it is raised before the work starts."""


def drive_root():
    """Where Google Drive is mounted on Colab: $COURSE_COLAB_DRIVE, default /content/drive."""
    return Path(os.environ.get("COURSE_COLAB_DRIVE", "/content/drive"))


def size_text(n):
    """A byte count for people: '512 B', '3.4 MB', '1.2 GB' (powers of 1000, as disks are sold)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def _on_unmounted_drive(folder):
    root = drive_root().absolute()
    return (folder == root or root in folder.parents) and not os.path.ismount(root)


def check_writable(folder, what, need_bytes=0, need_files=0):
    """Make sure `folder` can take `what` (words for the learner, already translated: 'the checkpoint run.pt')
    before the work that writes it starts; return the folder (a Path), created if missing.

    Raises StorageError when: the folder is under the Google Drive root (drive_root()) while Drive is not mounted
    there (Colab would create a local folder that vanishes with the session); the folder cannot be created or a
    file cannot be written in it (tried for real: permissions, read-only mounts); or it has less free space than
    need_bytes (bytes, estimated by the caller) plus a margin, or fewer free inodes than need_files."""
    folder = Path(folder).expanduser().absolute()
    if _on_unmounted_drive(folder):
        raise StorageError(tr(
            "{folder} is on Google Drive, but Drive is not mounted at {root}: {what} would go to a local folder that "
            "disappears when this Colab session ends. Mount Drive first, then run this cell again:\n"
            "    from google.colab import drive; drive.mount('{root}')", folder=folder, root=drive_root(), what=what))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StorageError(tr(
            "Cannot write {what} in {folder} ({error}). Choose a folder you can write to (or make this one "
            "writable), then run this cell again.", what=what, folder=folder, error=e.strerror or e)) from None
    free = shutil.disk_usage(folder).free
    need = int(need_bytes * MARGIN) + 2 ** 20 if need_bytes else 0
    if need > free:
        raise StorageError(tr(
            "Not enough free space for {what} in {folder}: {free} free, about {need} needed. Free some space (old "
            "checkpoints, outputs, data you no longer need) or choose a folder on another disk, then run this cell "
            "again.", what=what, folder=folder, free=size_text(free), need=size_text(need)))
    stats = os.statvfs(folder) if need_files and hasattr(os, "statvfs") else None
    if stats is not None and stats.f_files and need_files > stats.f_favail:
        raise StorageError(tr(
            "Not enough free file entries (inodes) for {what} in {folder}: {free} left, {need} needed. Delete files "
            "you no longer need or choose a folder on another disk, then run this cell again.",
            what=what, folder=folder, free=stats.f_favail, need=need_files))
    return folder


def write_json(path, obj):
    """Write obj as JSON to path (a Path) atomically: to <path>.<pid>.tmp, then renamed over path, so that a reader
    sees the old file or the new one, never a part (two processes never share a partial file)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def disk_full(error, folder, need_bytes):
    """True when `error`, raised while writing need_bytes into folder, means the disk is full: ENOSPC or EDQUOT, or
    any error (torch.save reports a full disk as 'unexpected pos') with less free space left than was needed."""
    if isinstance(error, OSError) and error.errno in DISK_FULL:
        return True
    try:
        return shutil.disk_usage(folder).free < need_bytes
    except OSError:
        return False


@contextlib.contextmanager
def locked(lock_file, waiting):
    """Hold an exclusive lock on lock_file (created if missing) for the `with` block, across processes (filelock:
    fcntl/msvcrt locks, released by the system even when the holder is killed). When another process holds it,
    print `waiting` (already translated) once and wait for it."""
    import filelock                     # here, not at import: only a build takes a lock (~17 ms of `import helpers`)
    lock = filelock.FileLock(str(lock_file))
    try:
        lock.acquire(timeout=0.5)
    except filelock.Timeout:
        print(waiting, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
