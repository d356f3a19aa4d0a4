"""machinery.folders: natural order, links with their fallbacks, where the tree lives, rebuild manifests."""
import errno
import os


from machinery import folders


def test_natural_order_and_stray_files(tmp_path):
    for name in ("10.png", "2.png", "1.jpg", ".DS_Store", "Thumbs.db", "notes.txt", "a.b.PNG", ".hidden.png"):
        (tmp_path / name).write_text("x")
    assert folders.list_images(tmp_path) == ["1.jpg", "2.png", "10.png", "a.b.PNG"]


def _fail(code):
    def f(*args):
        raise OSError(code, os.strerror(code))
    return f


def test_link_then_symlink_then_copy(tmp_path, monkeypatch):
    src = tmp_path / "a.png"
    src.write_bytes(b"pixels")
    assert folders.link_or_copy(src, tmp_path / "hard.png") == "link"
    assert os.stat(tmp_path / "hard.png").st_ino == os.stat(src).st_ino
    monkeypatch.setattr(os, "link", _fail(errno.EXDEV))            # another filesystem: no hard links
    assert folders.link_or_copy(src, tmp_path / "soft.png") == "symlink"
    assert os.path.islink(tmp_path / "soft.png") and (tmp_path / "soft.png").read_bytes() == b"pixels"
    monkeypatch.setattr(os, "symlink", _fail(errno.EPERM))         # no symlinks either (some Windows setups)
    assert folders.link_or_copy(src, tmp_path / "copy.png") == "copy"
    assert not os.path.islink(tmp_path / "copy.png") and (tmp_path / "copy.png").read_bytes() == b"pixels"


def test_write_tree_says_once_when_links_were_impossible(tmp_path, monkeypatch, capsys):
    (tmp_path / "src").mkdir()
    for k in range(3):
        (tmp_path / "src" / f"{k}.png").write_bytes(b"x")
    monkeypatch.setattr(os, "link", _fail(errno.EXDEV))
    plan = [(f"{k}.png", "train", "a") for k in range(3)]
    assert folders.write_tree(tmp_path, tmp_path / "src", plan, ["train"], {"v": 1}, ".m.json")
    out = capsys.readouterr().out
    assert out.count("hard links were not possible") == 1 and "3 symbolic link(s)" in out
    assert not folders.write_tree(tmp_path, tmp_path / "src", plan, ["train"], {"v": 1}, ".m.json")


def test_listing_fingerprint_sees_a_replaced_file(tmp_path):
    (tmp_path / "1.png").write_bytes(b"old")
    before = folders.listing_fingerprint(tmp_path, {"1.png": "cat"})
    (tmp_path / "1.png").unlink()
    (tmp_path / "1.png").write_bytes(b"new content")                # same name, other image
    assert folders.listing_fingerprint(tmp_path, {"1.png": "cat"}) != before


def test_a_read_only_data_folder_gets_its_tree_in_the_output_folder(cifar_copy, tmp_path, monkeypatch, capsys):
    """Kaggle Notebooks mount the competition read-only under /kaggle/input. (These tests run as root, which may
    write anywhere, so the read-only mount is simulated through os.access, which tree_root asks.)"""
    import helpers
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.path.realpath(p) == os.path.realpath(cifar_copy)
                        else real_access(p, mode))
    n = helpers.reorg_kaggle_data(cifar_copy, "trainLabels.csv", 0.1)
    root = folders.tree_root(cifar_copy)
    assert str(root).startswith(str(tmp_path / "out")) and not (cifar_copy / "train_valid_test").exists()
    assert capsys.readouterr().out.count("read-only") == 1
    counts = helpers.split_counts(cifar_copy)
    assert set(counts["valid"].values()) == {n} and sum(counts["train_valid"].values()) == 200
    datasets, _ = helpers.reorganised_loaders(cifar_copy, None, None, 16, num_workers=0)
    assert len(datasets["train_valid"]) == 200 and len(datasets["test"]) == 7


def test_on_kaggle_a_read_only_tree_goes_to_the_temporary_data_folder_not_working(cifar_copy, tmp_path, monkeypatch):
    """On Kaggle Notebooks /kaggle/working is saved with the notebook's output: some 20,000 links for the dogs do not
    belong there. The tree of a read-only folder goes under <kaggle root>/temp/course-data instead."""
    kaggle = tmp_path / "kaggle"
    (kaggle / "input").mkdir(parents=True)
    for name in ("COURSE_OUTPUT_DIR", "COURSE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_KAGGLE_ROOT", str(kaggle))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.path.realpath(p) == os.path.realpath(cifar_copy)
                        else real_access(p, mode))
    root = folders.tree_root(cifar_copy)
    assert root.is_relative_to(kaggle / "temp" / "course-data" / "reorganised")
    assert not root.is_relative_to(kaggle / "working")
