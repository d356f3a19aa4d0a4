"""Verified downloads and safe extraction: the machinery under helpers.download / helpers.download_extract.

Beyond d2l's download: the sha1 is checked right after downloading (d2l checks it only on a cache hit), the HTTP
status is checked, every read has a timeout, the write is atomic (a temporary file, then a rename), and a partial or
damaged file in the cache is downloaded again. Beyond d2l's extraction: archive entries that would land outside
the target folder (zip-slip) and links inside tar files are refused before anything is written, and a finished
extraction is marked so that it is not redone.
"""
import hashlib
import http.client
import os
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .messages import LearnerError, tr

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar")


class DataUnavailableError(LearnerError, RuntimeError):
    """The data could not be had (no network, bad transfer, bad archive). The message says what to do."""


def sha1_of(path, chunk=1 << 20):
    """Hex sha1 digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def manual_steps(name, url, path, sha1):
    """What a learner can do by hand when a download fails."""
    sha = tr(" (its sha1 must be {sha1})", sha1=sha1) if sha1 else ""
    return tr("What to do:\n"
              "  1. on a machine with internet, download {url}\n"
              "     and put it at {path}{sha}, then run again; or\n"
              "  2. use the synthetic stand-in: set COURSE_DATA_MODE=standin, or call get_dataset({name!r}, "
              "mode='standin').\n"
              "     Results on the stand-in are NOT results on the real data.", url=url, path=path, sha=sha, name=name)


def fetch(url, path, sha1=None, *, name=None, timeout=30, attempts=2):
    """Download url to path (a Path) unless a file with the right sha1 is already there; return path.

    A truncated transfer or a sha1 mismatch is retried `attempts` times in all; each attempt writes a temporary
    file that is renamed into place only when complete and verified. Raises DataUnavailableError with manual steps.
    """
    name = name or path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if sha1 is None or sha1_of(path) == sha1:
            return path
        print(tr("{path} is partial or corrupt (sha1 mismatch): downloading it again.", path=path))
    problem = ""
    for attempt in range(1, attempts + 1):
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        try:
            h, size = hashlib.sha1(), 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                expected = resp.headers.get("Content-Length")
                print(tr("Downloading {url} ({mb:.1f} MB)", url=url, mb=int(expected) / 1e6) if expected
                      else tr("Downloading {url}", url=url))
                while block := resp.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    size += len(block)
            if expected is not None and size != int(expected):
                problem = tr("the transfer was cut short: {size} of {expected} bytes arrived", size=size,
                             expected=expected)
            elif sha1 is not None and h.hexdigest() != sha1:
                problem = tr("sha1 mismatch: got {got}, expected {sha1} (a wrong or damaged file)", got=h.hexdigest(),
                             sha1=sha1)
            else:
                os.replace(tmp, path)
                return path
        except urllib.error.HTTPError as e:
            raise DataUnavailableError(tr("Could not download {name!r}: the server answered HTTP {code} {reason} for "
                                          "{url}.", name=name, code=e.code, reason=e.reason, url=url) + "\n"
                                       + manual_steps(name, url, path, sha1)) from None
        except http.client.IncompleteRead as e:
            problem = tr("the transfer was cut short: {n} bytes of the last block arrived", n=len(e.partial))
        except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise DataUnavailableError(tr("Could not download {name!r} from {url}: the network is unreachable or slow "
                                          "({reason}).", name=name, url=url, reason=reason) + "\n"
                                       + manual_steps(name, url, path, sha1)) from None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        print(tr("Attempt {attempt}/{attempts} failed: {problem}.", attempt=attempt, attempts=attempts,
                 problem=problem))
    raise DataUnavailableError(tr("Could not download {name!r} from {url}: {problem}. Nothing was saved.", name=name,
                                  url=url, problem=problem) + "\n" + manual_steps(name, url, path, sha1))


def check_members(names, base):
    """Raise if any archive member would land outside `base` (zip-slip: '../x', '/etc/x', 'C:\\x')."""
    base = os.path.realpath(base)
    for member in names:
        target = os.path.realpath(os.path.join(base, member))
        if os.path.isabs(member) or (target != base and not target.startswith(base + os.sep)):
            raise DataUnavailableError(tr("Refusing to extract: archive entry {member!r} would be written outside "
                                          "{base}. The archive is malformed or malicious; delete it.", member=member,
                                          base=base))


def archive_stem(path):
    """'hotdog' for .../hotdog.zip; raises for files that are not zip or tar archives."""
    for ext in ARCHIVE_SUFFIXES:
        if path.name.endswith(ext):
            return path.name[: -len(ext)]
    raise DataUnavailableError(tr("{path} is not a zip or tar archive; only those can be extracted.", path=path))


def extract(archive, digest=None):
    """Extract a zip or tar archive next to itself, safely, once; return the folder it extracts to (its stem).

    A finished extraction is marked by '.<archive>.extracted' holding the archive's sha1 (`digest`, computed when
    not given); a missing or different marker (an interrupted extraction, a new archive) extracts again."""
    archive = Path(archive)
    base_dir, data_dir = archive.parent, archive.parent / archive_stem(archive)
    marker = base_dir / f".{archive.name}.extracted"
    digest = digest or sha1_of(archive)
    if marker.exists() and marker.read_text().strip() == digest and data_dir.exists():
        return data_dir
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                check_members(z.namelist(), base_dir)
                z.extractall(base_dir)
        else:
            with tarfile.open(archive) as t:
                check_members(t.getnames(), base_dir)
                if any(m.issym() or m.islnk() for m in t.getmembers()):
                    raise DataUnavailableError(tr("Refusing to extract {archive}: it contains links.", archive=archive))
                t.extractall(base_dir)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
        raise DataUnavailableError(tr("{archive} is not a readable archive ({e}). Delete it and run again to download "
                                      "a fresh copy.", archive=archive, e=e)) from None
    marker.write_text(digest)
    return data_dir


# Competitions that only Kaggle serves (no d2l mirror): name -> (competition slug, folder, what the learner runs).
KAGGLE_ONLY = {"leaves": ("classify-leaves", "classify-leaves",
                          "kaggle competitions download -c classify-leaves -p {root}\n"
                          "     cd {root} && unzip -q classify-leaves.zip -d classify-leaves")}


def kaggle_folder(name, root):
    """The folder of a Kaggle-only competition the learner downloaded by hand (its zip is extracted if needed)."""
    slug, folder_name, command = KAGGLE_ONLY[name]
    root = Path(root)
    folder, archive = root / folder_name, root / f"{slug}.zip"
    if not (folder / "train.csv").exists() and archive.exists():
        try:
            with zipfile.ZipFile(archive) as z:
                check_members(z.namelist(), folder)
                z.extractall(folder)
        except zipfile.BadZipFile as e:
            raise DataUnavailableError(tr("{archive} is not a readable zip ({e}). Delete it and download it again.",
                                          archive=archive, e=e)) from None
    if not (folder / "train.csv").exists():
        raise DataUnavailableError(tr(
            "The {name!r} data is not in {folder}. Kaggle serves it only to signed-in users who accepted the "
            "competition rules (kaggle.com/c/{slug}). With the kaggle CLI and an API token:\n     {command}\n"
            "or download {slug}.zip from the competition page and put it at {archive}. On Kaggle Notebooks, attach "
            "the competition (Add Input). Or use the stand-in: COURSE_DATA_MODE=standin.", name=name, folder=folder,
            slug=slug, command=command.format(root=root), archive=archive))
    return folder
