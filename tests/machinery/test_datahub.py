"""machinery.datahub: safe extraction (zip-slip, links in tar files, corrupt archives) and Kaggle-only data."""
import hashlib
import tarfile

import pytest

import helpers
import support
from machinery import datahub




def _register(hub, server, name, body, sha1=None, behaviour="ok"):
    server.serve(f"/{name}.zip", body, behaviour)
    hub[name] = (f"{server.url}/{name}.zip", sha1 or hashlib.sha1(body).hexdigest())


@pytest.mark.parametrize("evil", ["../evil.txt", "toy/../../evil.txt", "/tmp/evil-abs.txt"])
def test_download_extract_refuses_zip_slip(http_server, hub, tmp_path, evil):
    _register(hub, http_server, "toy", support.zip_bytes({"toy/ok.txt": "fine", evil: "pwned"}))
    cache = tmp_path / "cache"
    with pytest.raises(helpers.DataUnavailableError, match="outside"):
        helpers.download_extract("toy", cache_dir=cache)
    assert not (tmp_path / "evil.txt").exists() and not (cache / "toy").exists()


def test_download_extract_corrupt_archive(http_server, hub, tmp_path):
    _register(hub, http_server, "toy", b"PK\x03\x04 this is not really a zip")
    with pytest.raises(helpers.DataUnavailableError, match="not a readable archive"):
        helpers.download_extract("toy", cache_dir=tmp_path)
    assert (tmp_path / "toy.zip").exists()                    # nothing deleted behind the learner's back




def test_extract_refuses_links_in_tar_files(tmp_path):
    archive = tmp_path / "toy.tar"
    with tarfile.open(archive, "w") as t:
        info = tarfile.TarInfo("toy/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(info)
    with pytest.raises(datahub.DataUnavailableError, match="links"):
        datahub.extract(archive)
    assert not (tmp_path / "toy").exists()


def test_extract_rejects_files_that_are_not_archives(tmp_path):
    (tmp_path / "toy.txt").write_text("hello")
    with pytest.raises(datahub.DataUnavailableError, match="not a zip or tar"):
        datahub.extract(tmp_path / "toy.txt")
