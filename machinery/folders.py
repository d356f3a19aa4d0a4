"""Files and folders for the reorganisation of Kaggle data: image listings in natural order, links instead of
copies, where the reorganised tree lives (a writable place, also when the data folder is read-only), and
manifests that say whether a tree is up to date with the files it was built from."""
import collections
import errno
import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import settings, storage
from .constants import IMAGE_EXTENSIONS, STRAY_FILES
from .messages import say_once, tr

TREE = "train_valid_test"
_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(name):
    """Sort key under which '2.png' comes before '10.png'."""
    return [int(t) if t.isdigit() else t for t in _DIGIT_RUNS.split(name)]


_SUFFIXES = {ext.lstrip(".") for ext in IMAGE_EXTENSIONS}


def _is_image(name):
    base, dot, suffix = name.rpartition(".")
    return bool(dot and base) and suffix.lower() in _SUFFIXES and not name.startswith(".") \
        and name.lower() not in STRAY_FILES


def list_images(folder):
    """Image file names in folder, naturally sorted; stray files (.DS_Store, Thumbs.db, non-images) are skipped."""
    names = [n for n in os.listdir(folder) if _is_image(n)]
    stems = [n.rpartition(".")[0] for n in names]
    if all(stem.isdigit() for stem in stems):          # Kaggle CIFAR-10's ids: the same order, 3x faster
        return [n for _, n in sorted(zip((int(stem) for stem in stems), names))]
    return sorted(names, key=natural_key)


def listing_fingerprint(folder, label_of, stats=True):
    """sha1 over the files of `folder` named in label_of ({file name: label}): names, labels and either (stats=True)
    byte size and modification time, which change when a file is rewritten in place, or (stats=False) inode numbers,
    which scandir gives without a stat call per file and which change when a file is replaced by another under the
    same name. A tree of hard links needs only the latter: it sees in-place rewrites itself."""
    h = hashlib.sha1(b"stats" if stats else b"inodes")
    if stats:
        ident = {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder) if e.name in label_of}
    else:
        ident = {e.name: e.inode() for e in os.scandir(folder) if e.name in label_of}
    h.update("\n".join(f"{n},{label},{ident[n]}" for n, label in label_of.items()).encode())
    return h.hexdigest()


def tree_root(data_dir):
    """Where the reorganised tree of data_dir lives: <data_dir>/train_valid_test, as in d2l. When data_dir is
    read-only, the tree goes to <base>/reorganised/<folder name>-<hash>/train_valid_test instead, and a line says so
    once. <base>: on Kaggle Notebooks (which mount competition data read-only under /kaggle/input) the data folder,
    settings.data_dir_root() (<kaggle root>/temp/course-data: writable, not saved with the notebook's output, which
    would otherwise hold some 20,000 links for the dogs); elsewhere the output folder, settings.output_dir()."""
    data_dir = Path(data_dir).resolve()
    inside = data_dir / TREE
    if os.access(inside, os.W_OK) if inside.exists() else os.access(data_dir, os.W_OK):
        return inside
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:8]
    base = settings.data_dir_root() if settings.kaggle_root() else settings.output_dir()
    outside = base / "reorganised" / f"{data_dir.name}-{digest}" / TREE
    say_once(("tree", str(data_dir)), tr("{data_dir} is read-only: the reorganised folders go to {outside}",
                                         data_dir=data_dir, outside=outside))
    return outside


def link_or_copy(src, dst):
    """Put file src at dst without copying its bytes where possible: a hard link; across filesystems (where hard
    links cannot go) a symbolic link; where neither works, a copy. Returns 'link', 'symlink' or 'copy'."""
    try:
        os.link(src, dst)
        return "link"
    except OSError as e:
        if e.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            try:
                os.symlink(os.path.abspath(src), dst)
                return "symlink"
            except OSError:
                pass
        shutil.copy2(src, dst)
        return "copy"


def link_all(jobs, workers=4, link=True):
    """Put each (source file, target folder) of `jobs` into its folder, in a tree that was just emptied, with
    link_or_copy (link=False: always a copy, shutil.copy2); each folder is made once and no target is looked up
    first, so that 100,000 entries cost little more than the link calls. Folders are filled by `workers` threads
    (link() releases the GIL; different folders do not contend): about 1.8x faster than one thread on 2 cores.
    Returns a Counter of the modes used."""
    by_folder = collections.defaultdict(list)
    for src, folder in jobs:
        by_folder[folder].append(src)

    def fill(folder):
        os.makedirs(folder, exist_ok=True)
        prefix = os.path.join(folder, "")
        if not link:
            for src in by_folder[folder]:
                shutil.copy2(src, prefix + os.path.basename(src))
            return collections.Counter(copy=len(by_folder[folder]))
        return collections.Counter(link_or_copy(src, prefix + os.path.basename(src)) for src in by_folder[folder])

    if len(by_folder) < 2 or workers < 2:
        return sum(map(fill, by_folder), collections.Counter())
    with ThreadPoolExecutor(min(workers, len(by_folder))) as pool:
        return sum(pool.map(fill, list(by_folder)), collections.Counter())


def split_classes(root):
    """The class list of a reorganised tree (train_valid's class folders, sorted), or None before there is one."""
    folder = Path(root) / "train_valid"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else None


def _read_manifest(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def plan_folders(plan):
    """{(split, label): [file names]} that a plan [(file, split, label)] puts in place."""
    expected = collections.defaultdict(list)
    for f, split, label in plan:
        expected[split, label].append(f)
    return expected


def tree_complete(out, splits, expected):
    """True when the splits of the tree at `out` hold exactly what `expected` ({(split, label): file names}) says:
    every class folder and every file present, and no other class folder or image (stray files are ignored)."""
    for split in splits:
        try:
            labels = {e.name for e in os.scandir(out / split) if e.is_dir()}
        except OSError:
            return False
        if labels != {label for s, label in expected if s == split}:
            return False
    for (split, label), names in expected.items():
        try:
            present = set(os.listdir(out / split / label))
        except OSError:
            return False
        if not present.issuperset(names) or (len(present) > len(names) and
                                              any(_is_image(n) for n in present.difference(names))):
            return False
    return True


def room_needed(src, plan, mode):
    """(bytes, inodes) that a tree of `plan` takes, for the mode link_or_copy will use: directory entries for hard
    links (about 64 bytes each), a block and an inode per symbolic link, the files' own blocks for copies (4 KiB
    blocks). src: the source folder, ending with a separator."""
    n_folders = len({(split, label) for _, split, label in plan}) + 4
    if mode == "link":
        return 64 * len(plan) + 4096 * n_folders, n_folders
    if mode == "symlink":
        return 4096 * (len(plan) + n_folders), len(plan) + n_folders
    size = {f: os.stat(src + f).st_size for f in {f for f, _, _ in plan}}
    return sum(-(-size[f] // 4096) * 4096 for f, _, _ in plan) + 4096 * n_folders, len(plan) + n_folders


def _build_aside(out, src, plan, splits, link):
    """Build `splits` of the plan in <out>/.building, then move each split into place with one rename; return the
    Counter of link modes. The old splits (no longer trusted) and a build left by a killed process go first. The
    room is checked first (storage.check_writable, with room_needed); a disk that fills up anyway removes what was
    built and raises StorageError."""
    stage, need = out / ".building", 0
    for old in [stage, *(out / split for split in splits)]:
        if old.exists():
            shutil.rmtree(old)
    stage.mkdir()
    try:
        mode = "copy" if not link else link_or_copy(src + plan[0][0], stage / ".probe") if plan else "link"
        (stage / ".probe").unlink(missing_ok=True)
        need, files = room_needed(src, plan, mode)
        storage.check_writable(out, tr("the reorganised folders"), need, files)
        target = {key: os.path.join(stage, *key) for key in plan_folders(plan)}
        modes = link_all(((src + f, target[split, label]) for f, split, label in plan), link=link)
        for split in splits:
            (stage / split).mkdir(exist_ok=True)
            os.replace(stage / split, out / split)
    except BaseException as e:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, storage.StorageError) and storage.disk_full(e, out, need):
            raise storage.StorageError(tr(
                "The disk filled up while reorganising {src} into {out} ({free} free, about {need} needed). What was "
                "built was removed: no half-built folder will be used. Free some space, then run this cell again.",
                src=src.rstrip(os.sep), out=out, free=storage.size_text(shutil.disk_usage(out).free),
                need=storage.size_text(need))) from None
        raise
    stage.rmdir()
    return modes


def write_tree(data_dir, src, plan, splits, params, manifest, link=True):
    """Build the part `splits` of the reorganised tree of data_dir (at tree_root(data_dir)): every (file, split,
    label) of `plan` becomes <tree>/<split>/<label>/<file>, linked from <src>/<file> (link=False: copied).

    Nothing happens when the tree's manifest says it was built from the same `params` and the same source files
    (names, labels and a fingerprint of each file: inode numbers for a tree of links; size and mtime when it holds
    copies, which go stale on an in-place rewrite) AND the tree holds exactly the plan's files (tree_complete).
    Otherwise the splits are rebuilt aside and moved into place (_build_aside), and the manifest, removed first, is
    written last. Two processes on one folder take turns (a lock file, <tree>/.lock; the second waits, says so,
    then finds the tree built); a process killed mid-way leaves nothing that is trusted. Returns True if it built."""
    out = storage.check_writable(tree_root(data_dir), tr("the reorganised folders"))
    waiting = tr("Another notebook or process is reorganising into {out}; waiting until it has finished.", out=out)
    with storage.locked(out / ".lock", waiting):
        built = _read_manifest(out / manifest) or {}
        label_of = {f: label for f, _, label in plan}
        params = {**params, "link": link,
                  "files": listing_fingerprint(src, label_of, stats=not link or built.get("copies", False))}
        if {k: v for k, v in built.items() if k != "copies"} == json.loads(json.dumps(params)) and \
                tree_complete(out, splits, plan_folders(plan)):
            return False
        (out / manifest).unlink(missing_ok=True)                 # from here on, nothing trusts these splits
        modes = _build_aside(out, os.path.join(src, ""), plan, splits, link)
        storage.write_json(out / manifest, {**params, "copies": bool(modes.get("copy"))})
    if link and (modes.get("symlink") or modes.get("copy")):
        used = {"symlink": tr("{n} symbolic link(s)", n=modes["symlink"]), "copy": tr("{n} copied file(s)",
                                                                                      n=modes["copy"])}
        say_once(("modes", str(out)), tr("{out}: hard links were not possible here; used {used}.", out=out,
                                         used=", ".join(used[m] for m in ("symlink", "copy") if modes.get(m))))
    return True
