"""Where the notebooks run: Kaggle Notebooks (competition data under <kaggle root>/input, submission.csv in
<kaggle root>/working), 7z archives, and loader worker processes on Windows and macOS.

Kaggle Notebooks mount an attached competition read-only at <kaggle root>/input/<competition>/ (a dataset may sit
one or two folders deeper). `kaggle_dataset(name)` finds it for get_dataset with no parameter set; Kaggle CIFAR-10's
train.7z and test.7z are extracted once into the writable data folder (settings.data_dir_root). A submission
written on Kaggle is also copied to <kaggle root>/working/submission.csv, where the notebook's "Submit" takes it.

Worker processes: Linux starts DataLoader workers with fork; Windows and macOS with spawn, which pickles the dataset,
transforms and collate function and rebuilds them in a fresh interpreter. Anything defined in a notebook cell
(lambda, function, class) lives in the kernel's __main__, which a spawned worker cannot import, so
`default_num_workers()` loads in the main process there (0 workers), and says so once.
"""
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import caveats, datahub, settings, standins
from .messages import LearnerError, say_once, tr

# Our dataset name -> the Kaggle competition whose data a notebook runs on (its folder under <kaggle root>/input).
COMPETITIONS = {"cifar10_tiny": "cifar-10", "dog_tiny": "dog-breed-identification", "leaves": "classify-leaves"}
SEARCH_DEPTH = 3        # <input>/<name>/<a>/<b>: a dataset mounted one or two folders deeper than a competition


# --- Kaggle Notebooks: finding the competition's data -----------------------------------------------------------

def _candidates(input_dir, slug):
    """Folders under input_dir, up to SEARCH_DEPTH levels: the competition's own folder first, then the shallower."""
    found, level = [], [input_dir]
    for depth in range(SEARCH_DEPTH):
        level = sorted(Path(e.path) for d in level for e in os.scandir(d) if e.is_dir() and not e.name.startswith("."))
        found += [(depth, p) for p in level]
    return [p for _, p in sorted(found, key=lambda dp: (slug is None or slug not in dp[1].parts, dp[0]))]


def _has_cifar_archives(folder):
    return (folder / "trainLabels.csv").is_file() and all(
        (folder / part).is_dir() or (folder / f"{part}.7z").is_file() for part in ("train", "test"))


def kaggle_dataset(name):
    """On Kaggle Notebooks, the folder of dataset `name` found under <kaggle root>/input (announced), else None.
    A folder with the dataset's whole layout is used as it is (read-only); Kaggle CIFAR-10's archives (train.7z,
    test.7z, trainLabels.csv) are extracted once to <data root>/kaggle/<folder name>. None off Kaggle, and with a
    line saying what to attach when nothing there fits."""
    root = settings.kaggle_root()
    if root is None:
        return None
    slug = COMPETITIONS.get(name)
    for folder in _candidates(root / "input", slug):
        if not standins.missing_parts(name, folder):
            return standins.announce(name, folder, note=tr("Kaggle Notebooks input, read-only"))
        if name == "cifar10_tiny" and _has_cifar_archives(folder):
            return standins.announce(name, unpack_cifar10(folder), note=tr("extracted from {src}", src=folder))
    if slug:
        print(tr("Kaggle Notebooks: no {slug!r} data under {input} (attach it with Add Input > Competitions > {slug}); "
                 "looking elsewhere.", slug=slug, input=root / "input"))
    return None


def unpacked(name, folder):
    """A dataset folder given by the learner (a notebook's *_DIR parameter), or, for Kaggle CIFAR-10 as the
    competition's zip unpacks (train.7z, test.7z, trainLabels.csv), the folder its archives are extracted to, once
    (unpack_cifar10). A relative folder is taken from the repository root (standins.user_path)."""
    path = standins.user_path(folder)
    if name == "cifar10_tiny" and path.is_dir() and standins.missing_parts(name, path) and _has_cifar_archives(path):
        return unpack_cifar10(path)
    return folder


def unpack_cifar10(src):
    """Kaggle CIFAR-10 as d2l's layout in a writable folder: <data root>/kaggle/<src name>/{train, test,
    trainLabels.csv}, each part extracted from src/<part>.7z once (or linked when src already has the folder)."""
    dest = settings.data_dir_root() / "kaggle" / src.name
    dest.mkdir(parents=True, exist_ok=True)
    for part in ("train", "test"):
        if (src / part).is_dir():
            if not (dest / part).exists():
                os.symlink(src / part, dest / part, target_is_directory=True)
        else:
            extract_7z(src / f"{part}.7z", dest / part)
    for csv_name in ("trainLabels.csv", "sampleSubmission.csv"):
        if (src / csv_name).is_file():
            shutil.copyfile(src / csv_name, dest / csv_name)
    return dest


# --- 7z archives ------------------------------------------------------------------------------------------------

def _members(archive):
    """(names, has_links) of a 7z archive's entries, read with py7zr, or with the 7z tool when py7zr is missing."""
    def unreadable(why):
        return datahub.DataUnavailableError(tr("{archive} is not a readable 7z archive ({why}). Delete it and "
                                               "download it again.", archive=archive, why=why))
    try:
        import py7zr
    except ImportError:
        if seven_zip() is None:
            raise LearnerError(tr("Extracting {archive} needs py7zr or the 7z tool: pip install py7zr",
                                  archive=archive)) from None
        out = subprocess.run([seven_zip(), "l", "-slt", "-ba", str(archive)], capture_output=True, text=True)
        if out.returncode:
            raise unreadable(out.stderr.strip()[:200])
        lines = out.stdout.splitlines()
        return ([line[7:] for line in lines if line.startswith("Path = ")],
                any(line.startswith("Attributes = ") and " l" in line for line in lines))
    try:
        with py7zr.SevenZipFile(archive, "r") as z:
            entries = z.list()
    except (py7zr.Bad7zFile, EOFError, OSError) as e:
        raise unreadable(e) from None
    return [f.filename for f in entries], any(f.is_symlink for f in entries)


def seven_zip():
    """The 7z command-line tool (7z, 7zz or 7za) when one is installed, else None."""
    return next((tool for tool in ("7z", "7zz", "7za") if shutil.which(tool)), None)


def extract_7z(archive, target):
    """Extract a 7z archive so that `target` holds its contents (its single top folder, when it has one, becomes
    `target`), once. Safe: entries that would land outside, and links, are refused before anything is written; the
    extraction goes to a temporary folder renamed into place only when complete, and a marker next to `target`
    records which archive (path, size, modification time) it came from. A target without a matching marker (an
    interrupted run, a new archive) is deleted and extracted again. Uses the 7z tool when present (faster), else
    py7zr. Returns target."""
    archive, target = Path(archive), Path(target)
    stat = archive.stat()
    identity = f"{archive.resolve()} {stat.st_size} {stat.st_mtime_ns}"
    marker = target.parent / f".{target.name}.from-7z"
    if target.is_dir() and marker.is_file() and marker.read_text(encoding="utf-8") == identity:
        return target
    names, has_links = _members(archive)
    target.parent.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    if target.exists():
        shutil.rmtree(target)                    # a partial or outdated extraction is never trusted
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        datahub.check_members(names, tmp)
        if has_links:
            raise datahub.DataUnavailableError(tr("Refusing to extract {archive}: it contains links.",
                                                  archive=archive))
        tool, start = seven_zip(), time.perf_counter()
        print(tr("Extracting {archive} ({mb:.0f} MB, {n:,} entries) to {target}, once; this can take minutes.",
                 archive=archive, mb=stat.st_size / 1e6, n=len(names), target=target))
        if tool:
            done = subprocess.run([tool, "x", "-y", "-bd", f"-o{tmp}", str(archive)], capture_output=True, text=True)
            if done.returncode:
                raise datahub.DataUnavailableError(tr("{tool} could not extract {archive}: {why}", tool=tool,
                                                      archive=archive, why=done.stderr.strip()[-300:]))
        else:
            import py7zr
            with py7zr.SevenZipFile(archive, "r") as z:
                z.extractall(tmp)
        entries = list(tmp.iterdir())
        inner = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
        os.replace(inner, target)
        marker.write_text(identity, encoding="utf-8")
        print(tr("  done in {s:.0f} s with {how}.", s=time.perf_counter() - start, how=tool or "py7zr"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# --- Kaggle Notebooks: submission.csv -----------------------------------------------------------------------------

def kaggle_submission(path):
    """On Kaggle Notebooks, copy the submission at `path` to <kaggle root>/working/submission.csv (where the
    notebook's "Submit" takes it from) and say so in one line; not a submission made from stand-in data. Returns
    the copy's path, or None (off Kaggle, or a stand-in)."""
    root = settings.kaggle_root()
    if root is None:
        return None
    target = root / "working" / "submission.csv"
    if "STAND-IN DATA" in caveats.tags():
        print(tr("Kaggle Notebooks: this submission comes from STAND-IN data, so it is not copied to {target}.",
                 target=target))
        return None
    if Path(path).resolve() != target.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    print(tr("Kaggle Notebooks: the submission is also at {target}, where Submit takes it from.", target=target))
    return target


# --- Loader worker processes ------------------------------------------------------------------------------------

def start_method():
    """How this process starts worker processes: 'fork' (Linux), 'spawn' (Windows, macOS) or 'forkserver'."""
    return multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]


def default_num_workers():
    """DataLoader worker processes: one per core beyond the main one, at most 4 (Colab has 2 cores). 0 (load in
    the main process) where workers start with spawn or forkserver (Windows, macOS) and the main program is a
    notebook or an interactive session: a spawned worker cannot import what a notebook cell defines."""
    workers = min(4, max(0, (os.cpu_count() or 1) - 1))
    interactive = not hasattr(sys.modules.get("__main__"), "__file__")
    if workers and start_method() != "fork" and interactive:
        say_once("workers", tr("Data loading runs in the main process (num_workers=0): on this system DataLoader "
                               "workers start with '{method}', and such a worker cannot use what a notebook cell "
                               "defines.", method=start_method()))
        return 0
    return workers
