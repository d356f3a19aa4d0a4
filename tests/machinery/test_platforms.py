"""machinery.platforms: Kaggle Notebooks' data found with no parameter set, .7z archives extracted once and safely
(real archives written with py7zr, extracted with the 7z tool and with py7zr), submission.csv where Kaggle's Submit
takes it, and the number of loader workers."""
import shutil
import sys
from pathlib import Path

import pytest

import helpers
from kaggle_tree import kaggle_tree, pack, snapshot, tree
from machinery import caveats, platforms, settings
from machinery.datahub import DataUnavailableError

py7zr = pytest.importorskip("py7zr")
NO_7Z = pytest.mark.skipif(platforms.seven_zip() is None, reason="the 7z tool is not installed")
ENGINES = ["py7zr", pytest.param("7z", marks=NO_7Z), pytest.param("7z alone", marks=NO_7Z)]


@pytest.fixture
def engine(request, monkeypatch):
    """'py7zr': as on a machine without the 7z tool; '7z': the tool extracts, py7zr lists; '7z alone': as on a
    machine without py7zr (Kaggle's image may lack it), the tool lists and extracts."""
    if request.param == "py7zr":
        monkeypatch.setattr(platforms, "seven_zip", lambda: None)
    if request.param == "7z alone":
        monkeypatch.setitem(sys.modules, "py7zr", None)               # `import py7zr` raises ImportError
    return request.param


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_a_7z_archive_is_extracted_once_and_a_partial_extraction_is_redone(engine, real_photos, tmp_path, capsys):
    archive = pack(tmp_path / "input" / "train.7z", real_photos["cifar"] / "train", "train")
    target = tmp_path / "work" / "train"
    assert platforms.extract_7z(archive, target) == target
    assert tree(target) == tree(real_photos["cifar"] / "train") and len(tree(target)) == 40
    assert f"with {'py7zr' if engine == 'py7zr' else platforms.seven_zip()}" in capsys.readouterr().out
    inode = (target / "1.png").stat().st_ino
    platforms.extract_7z(archive, target)                               # once: nothing is redone
    assert (target / "1.png").stat().st_ino == inode and "Extracting" not in capsys.readouterr().out
    (target.parent / ".train.from-7z").unlink()                         # an interrupted run: no marker ...
    (target / "2.png").unlink()                                         # ... and a file missing
    platforms.extract_7z(archive, target)
    assert tree(target) == tree(real_photos["cifar"] / "train") and "Extracting" in capsys.readouterr().out
    assert sorted(p.name for p in target.parent.iterdir()) == [".train.from-7z", "train"]    # no partial folder left


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_a_7z_archive_that_writes_outside_holds_links_or_is_damaged_is_refused_before_anything_is_written(
        engine, tmp_path):
    src = tmp_path / "src"
    (src / "train").mkdir(parents=True)
    (src / "train" / "1.txt").write_text("one")
    (src / "link").symlink_to(src / "train" / "1.txt")
    with py7zr.SevenZipFile(tmp_path / "slip.7z", "w") as z:
        z.write(src / "train" / "1.txt", arcname="train/1.txt")
        z.write(src / "train" / "1.txt", arcname="../outside.txt")
    with py7zr.SevenZipFile(tmp_path / "link.7z", "w") as z:
        z.write(src / "link", arcname="train/link")
    (tmp_path / "damaged.7z").write_bytes((tmp_path / "slip.7z").read_bytes()[:40])
    for name, says in [("slip.7z", "outside"), ("link.7z", "links"), ("damaged.7z", "not a readable 7z archive")]:
        work = tmp_path / f"work-{name}"
        with pytest.raises(DataUnavailableError, match=says):
            platforms.extract_7z(tmp_path / name, work / "train")
        assert not list(work.iterdir()) if work.exists() else True
    assert not (tmp_path / "outside.txt").exists()


@pytest.fixture
def on_kaggle(tmp_path, monkeypatch, no_caveats):
    """COURSE_KAGGLE_ROOT at a stand-in /kaggle, no COURSE_* folder or mode set (as on Kaggle)."""
    root = tmp_path / "kaggle"
    monkeypatch.setenv("COURSE_KAGGLE_ROOT", str(root))
    for name in ("COURSE_DATA_DIR", "COURSE_OUTPUT_DIR", "COURSE_DATA_MODE"):
        monkeypatch.delenv(name, raising=False)
    return root


def test_on_kaggle_each_competition_is_found_with_no_parameter_set(on_kaggle, real_photos, capsys):
    root = kaggle_tree(on_kaggle, real_photos)
    before = snapshot(root / "input")
    assert settings.data_dir_root() == root / "temp" / "course-data" and settings.output_dir() == root / "working"
    assert helpers.get_dataset("dog_tiny") == root / "input" / "dog-breed-identification"
    assert helpers.get_dataset("leaves") == root / "input" / "classify-leaves-data" / "classify-leaves"
    cifar = helpers.get_dataset("cifar10_tiny")
    assert cifar == root / "temp" / "course-data" / "kaggle" / "cifar-10"
    assert tree(cifar / "train") == tree(real_photos["cifar"] / "train")
    assert tree(cifar / "test") == tree(real_photos["cifar"] / "test")
    assert (cifar / "trainLabels.csv").read_bytes() == (real_photos["cifar"] / "trainLabels.csv").read_bytes()
    out = capsys.readouterr().out
    assert out.count("Kaggle Notebooks input, read-only") == 2 and "extracted from" in out
    assert helpers.get_dataset("cifar10_tiny") == cifar and "Extracting" not in capsys.readouterr().out
    assert snapshot(root / "input") == before and helpers.results_tag() == ""


def test_on_kaggle_with_nothing_attached_a_line_says_what_to_attach(on_kaggle, capsys):
    (on_kaggle / "input").mkdir(parents=True)
    assert platforms.kaggle_dataset("cifar10_tiny") is None
    assert "Add Input > Competitions > cifar-10" in capsys.readouterr().out
    assert platforms.kaggle_dataset("hotdog") is None and capsys.readouterr().out == ""   # no competition to name


def test_off_kaggle_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_KAGGLE_ROOT", str(tmp_path / "no-kaggle-here"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_OUTPUT_DIR", raising=False)
    assert settings.kaggle_root() is None and platforms.kaggle_dataset("cifar10_tiny") is None
    assert settings.data_dir_root() == settings.REPO_DIR / "data"
    assert platforms.kaggle_submission(tmp_path / "x.csv") is None


def test_on_kaggle_a_submission_is_also_written_where_submit_takes_it(on_kaggle, tmp_path, capsys):
    (on_kaggle / "input").mkdir(parents=True)
    path = helpers.write_cifar_submission(tmp_path / "sub" / "submission.csv", ["2", "1"], ["cat", "dog"])
    target = on_kaggle / "working" / "submission.csv"
    assert target.read_bytes() == path.read_bytes() == b"id,label\n1,dog\n2,cat\n"
    assert f"also at {target}" in capsys.readouterr().out
    caveats.add("data:cifar10_tiny", "STAND-IN DATA")
    helpers.write_cifar_submission(tmp_path / "sub" / "standin.csv", ["1"], ["frog"])
    assert target.read_bytes() == b"id,label\n1,dog\n2,cat\n" and "not copied" in capsys.readouterr().out


def test_a_cifar10_folder_as_the_competition_unzips_is_extracted_once_off_kaggle_too(real_photos, data_root,
                                                                                        no_caveats, capsys):
    """KAGGLE_CIFAR10_DIR pointing to the unzipped competition (train.7z, test.7z, trainLabels.csv): no 7z command to
    run by hand; the archives are extracted once under the data folder."""
    download = data_root.parent / "downloads" / "cifar-10"
    for part in ("train", "test"):
        pack(download / f"{part}.7z", real_photos["cifar"] / part, part)
    shutil.copyfile(real_photos["cifar"] / "trainLabels.csv", download / "trainLabels.csv")
    folder = helpers.get_dataset("cifar10_tiny", folder=download)
    assert folder == data_root / "kaggle" / "cifar-10" and tree(folder / "test") == tree(real_photos["cifar"] / "test")
    assert capsys.readouterr().out.count("Extracting") == 2
    assert helpers.get_dataset("cifar10_tiny", folder=download) == folder and "Extracting" not in capsys.readouterr().out
