"""Section 2 of helpers (data): d2l's download / download_extract / DATA_HUB against a real HTTP server on 127.0.0.1,
and get_dataset's choice between real data and a stand-in."""
import shutil
import hashlib
import os
import socket
from pathlib import Path

import pytest

import helpers
import support
from machinery import caveats, standins

REPO = Path(__file__).resolve().parents[1]




def _sha1(data):
    return hashlib.sha1(data).hexdigest()


def _register(hub, server, name, body, sha1=None, behaviour="ok"):
    server.serve(f"/{name}.zip", body, behaviour)
    hub[name] = (f"{server.url}/{name}.zip", sha1 or _sha1(body))


# ----------------------------------------------------------------------------------------------------------- download

def test_download_good_file_is_verified_and_cached(http_server, hub, tmp_path):
    body = support.zip_bytes({"toy/a.txt": "hello"})
    _register(hub, http_server, "toy", body)
    path = helpers.download("toy", tmp_path)
    assert path == str(tmp_path / "toy.zip") and Path(path).read_bytes() == body     # d2l returns a str
    assert helpers.download("toy", tmp_path) == path       # a cache hit: no second request
    assert http_server.hits["/toy.zip"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["toy.zip"]   # no temporary files left behind


def test_download_sha1_mismatch_saves_nothing(http_server, hub, tmp_path):
    _register(hub, http_server, "toy", b"not the file you want", sha1="0" * 40)
    with pytest.raises(helpers.DataUnavailableError, match="sha1 mismatch") as err:
        helpers.download("toy", tmp_path)
    assert "What to do" in str(err.value) and str(tmp_path / "toy.zip") in str(err.value)
    assert http_server.hits["/toy.zip"] == 2                  # retried once
    assert list(tmp_path.iterdir()) == []


def test_download_truncated_transfer_saves_nothing(http_server, hub, tmp_path):
    body = os.urandom(50_000)
    _register(hub, http_server, "toy", body, behaviour="truncate")
    with pytest.raises(helpers.DataUnavailableError, match="cut short"):
        helpers.download("toy", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_replaces_a_partial_cached_file(http_server, hub, tmp_path):
    body = os.urandom(20_000)
    _register(hub, http_server, "toy", body)
    (tmp_path / "toy.zip").write_bytes(body[:5000])           # an earlier, interrupted download
    path = helpers.download("toy", tmp_path)
    assert Path(path).read_bytes() == body and http_server.hits["/toy.zip"] == 1


def test_download_http_error_is_clear(http_server, hub, tmp_path):
    hub["toy"] = (f"{http_server.url}/missing.zip", "0" * 40)
    with pytest.raises(helpers.DataUnavailableError, match="HTTP 404"):
        helpers.download("toy", tmp_path)


def test_download_unreachable_host_says_what_to_do(hub, tmp_path, closed_port):
    hub["toy"] = (f"http://127.0.0.1:{closed_port}/toy.zip", "0" * 40)
    with pytest.raises(helpers.DataUnavailableError) as err:
        helpers.download("toy", tmp_path)
    msg = str(err.value)
    assert "unreachable" in msg and "COURSE_DATA_MODE=standin" in msg and str(tmp_path / "toy.zip") in msg
    assert list(tmp_path.iterdir()) == []


def test_download_silent_server_times_out(hub, tmp_path):
    with socket.socket() as listener:                          # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        hub["toy"] = (f"http://127.0.0.1:{listener.getsockname()[1]}/toy.zip", "0" * 40)
        with pytest.raises(helpers.DataUnavailableError, match="unreachable or slow"):
            helpers.download("toy", tmp_path, timeout=0.5)


def test_download_unknown_name():
    with pytest.raises(KeyError, match="not in DATA_HUB"):
        helpers.download("no-such-dataset")


def test_data_hub_holds_d2l_entries():
    from d2l import torch as d2l
    for name, d2l_name in (("hotdog", "hotdog"), ("cifar10_tiny", "cifar10_tiny"), ("dog_tiny", "dog_tiny")):
        assert helpers.DATA_HUB[name] == d2l.DATA_HUB[d2l_name]
    reference = REPO.parent / "shared" / "reference" / "d2l-chapters.md"
    if reference.exists():                                              # the team's collected facts agree too
        text = reference.read_text()
        for url, sha1 in helpers.DATA_HUB.values():
            assert url.split("/")[-1] in text and sha1 in text




def test_download_takes_d2l_en_s_url_form(http_server, tmp_path):
    """d2l-en 1.0.3 calls download(url, folder, sha1_hash); d2l-zh (the course's edition) download(name, cache_dir)."""
    body = support.zip_bytes({"toy/a.txt": "hello"})
    http_server.serve("/toy.zip", body)
    path = helpers.download(f"{http_server.url}/toy.zip", str(tmp_path), _sha1(body))
    assert path == str(tmp_path / "toy.zip") and Path(path).read_bytes() == body
    with pytest.raises(helpers.DataUnavailableError, match="sha1 mismatch"):
        helpers.download(f"{http_server.url}/toy.zip", str(tmp_path / "other"), "0" * 40)


# ----------------------------------------------------------------------------------------------------------- extract

def test_download_extract_extracts_once(http_server, hub, tmp_path):
    _register(hub, http_server, "toy", support.zip_bytes({"toy/train/a.txt": "1", "toy/b.txt": "2"}))
    folder = helpers.download_extract("toy", cache_dir=tmp_path)
    assert folder == str(tmp_path / "toy")                            # d2l returns a str: data_dir + '/train' works
    folder = Path(folder)
    assert (folder / "train" / "a.txt").read_text() == "1"
    (folder / "b.txt").write_text("changed by the learner")
    helpers.download_extract("toy", cache_dir=tmp_path)       # complete extraction: not redone
    assert (folder / "b.txt").read_text() == "changed by the learner"
    # d2l semantics: `folder` names a folder inside the cache dir
    assert helpers.download_extract("toy", folder="toy", cache_dir=tmp_path) == str(folder)


def test_download_extract_redoes_an_interrupted_extraction(http_server, hub, tmp_path):
    _register(hub, http_server, "toy", support.zip_bytes({"toy/a.txt": "1", "toy/b.txt": "2"}))
    folder = Path(helpers.download_extract("toy", cache_dir=tmp_path))
    (folder / "b.txt").unlink()
    (tmp_path / ".toy.zip.extracted").unlink()                # as if the first extraction had been killed
    helpers.download_extract("toy", cache_dir=tmp_path)
    assert (folder / "b.txt").read_text() == "2"


# ----------------------------------------------------------------------------------------------------------- modes

def test_get_dataset_standin_is_loud(data_root, hub, capsys):
    folder = helpers.get_dataset("cifar10_tiny", mode="standin", n_train=20, n_test=2)
    out = capsys.readouterr().out
    assert "STAND-IN DATA" in out and "NOT the real dataset" in out
    assert helpers.is_standin(folder) and helpers.is_standin(folder / "train")
    assert helpers.results_tag() == "[STAND-IN DATA] "
    assert helpers.get_dataset("cifar10_tiny", mode="standin", n_train=20, n_test=2) == folder   # cached
    other = helpers.get_dataset("cifar10_tiny", mode="standin", n_train=10, n_test=2)
    assert other != folder and len(list((other / "train").iterdir())) == 10


def test_a_standin_reached_by_path_is_tagged(tmp_path, monkeypatch):
    """A notebook's KAGGLE_*_DIR may point at a stand-in folder: is_standin(..., tag=) tags the results then."""
    monkeypatch.setattr(caveats, "_CAVEATS", {})
    standins.make_standin("cifar10_tiny", tmp_path / "fake", n_train=20, n_test=2)
    folder = next(p.parent for p in (tmp_path / "fake").rglob("trainLabels.csv"))
    real = tmp_path / "real"
    (real / "train").mkdir(parents=True)
    assert not helpers.is_standin(real, tag="cifar10_tiny") and helpers.results_tag() == ""
    assert helpers.is_standin(folder, tag="cifar10_tiny")
    assert helpers.results_tag() == "[STAND-IN DATA] "


def test_env_var_forces_the_mode(data_root, hub, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_MODE", "standin")
    folder = helpers.get_dataset("cifar10_tiny", mode="real", n_train=10, n_test=2)
    assert helpers.is_standin(folder) and "COURSE_DATA_MODE" in capsys.readouterr().out
    monkeypatch.setenv("COURSE_DATA_MODE", "bogus")
    with pytest.raises(ValueError, match="COURSE_DATA_MODE"):
        helpers.data_mode()


def test_real_mode_raises_when_offline(data_root, hub, closed_port, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MODE", raising=False)
    hub["cifar10_tiny"] = (f"http://127.0.0.1:{closed_port}/kaggle_cifar10_tiny.zip", "0" * 40)
    with pytest.raises(helpers.DataUnavailableError):
        helpers.get_dataset("cifar10_tiny", mode="real")


def test_auto_mode_falls_back_loudly(data_root, hub, closed_port, monkeypatch, capsys):
    monkeypatch.delenv("COURSE_DATA_MODE", raising=False)
    hub["cifar10_tiny"] = (f"http://127.0.0.1:{closed_port}/kaggle_cifar10_tiny.zip", "0" * 40)
    folder = helpers.get_dataset("cifar10_tiny", mode="auto", n_train=10, n_test=2)
    out = capsys.readouterr().out
    assert helpers.is_standin(folder) and "STAND-IN DATA" in out and "Could not download" in out


def test_auto_mode_uses_real_data_when_reachable(data_root, hub, http_server, tmp_path, monkeypatch, capsys):
    """The whole real path: a real-layout zip served over HTTP, downloaded, verified, extracted and used."""
    monkeypatch.delenv("COURSE_DATA_MODE", raising=False)
    src = standins.make_standin("hotdog", tmp_path / "src", n_train=2, n_test=1, size=32)
    files = {f"hotdog/{p.relative_to(src)}": p.read_bytes() for p in src.rglob("*.png")}
    _register(hub, http_server, "hotdog", support.zip_bytes(files))
    folder = helpers.get_dataset("hotdog", mode="auto")
    assert folder == data_root / "hotdog" and not helpers.is_standin(folder)
    assert len(list((folder / "train" / "hotdog").iterdir())) == 2
    assert helpers.results_tag() == "" and "Using the real" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------------- folders

def test_get_dataset_takes_an_extracted_folder_relative_to_the_repository(tmp_path, no_caveats, capsys):
    """Every chapter accepts an already extracted folder (hotdog included); a relative path is taken from the
    repository root wherever the kernel runs, and an error shows the resolved path."""
    src = standins.make_standin("hotdog", tmp_path, n_train=2, n_test=1, size=24)
    (src / standins.STANDIN_MARKER).unlink()                  # pretend these are the real photos
    relative = os.path.relpath(src, REPO)
    assert helpers.get_dataset("hotdog", folder=relative) == src
    assert "Using the real 'hotdog' data" in capsys.readouterr().out and helpers.results_tag() == ""
    shutil.rmtree(src / "test")
    with pytest.raises(FileNotFoundError) as err:
        helpers.get_dataset("hotdog", folder=relative)
    assert str(src) in str(err.value) and "['test']" in str(err.value) and "repository root" in str(err.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        helpers.get_dataset("cifar10_tiny", folder="no/such/folder")


def test_auto_mode_uses_an_extracted_folder_when_the_archive_cannot_be_had(data_root, hub, closed_port, monkeypatch,
                                                                           no_caveats, capsys):
    monkeypatch.delenv("COURSE_DATA_MODE", raising=False)
    hub["hotdog"] = (f"http://127.0.0.1:{closed_port}/hotdog.zip", "0" * 40)       # offline
    src = standins.make_standin("hotdog", data_root, n_train=2, n_test=1, size=24)    # unzipped by hand
    (src / standins.STANDIN_MARKER).unlink()
    folder = helpers.get_dataset("hotdog", mode="auto")
    out = capsys.readouterr().out
    assert folder == data_root / "hotdog" and "Using the real 'hotdog' data" in out and "extracted folder" in out
    assert helpers.results_tag() == ""
    shutil.rmtree(folder / "train" / "hotdog")                  # an incomplete folder is not taken for the data
    assert helpers.is_standin(helpers.get_dataset("hotdog", mode="auto", n_train=2, n_test=1, size=24))
