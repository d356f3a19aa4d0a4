"""machinery.classfolders: which class folder holds the hot dogs, whatever a hot-dog set calls it, and what each split
holds; on real photos laid out as the hotdog set, read by the same ImageFolder the notebook uses."""
import shutil

import pytest

import helpers
from machinery import classfolders, messages


@pytest.mark.parametrize("classes, hotdog", [
    (["hotdog", "not-hotdog"], 0),                 # d2l's hotdog.zip
    (["hot_dog", "not_hot_dog"], 0),
    (["hotdog", "nothotdog"], 0),
    (["Hot Dog", "Not Hot Dog"], 0),
    (["food", "hotdogs"], 1),                      # sorted order puts the hot dogs second
    (["non-hotdog", "Hot-Dog"], 1),
])
def test_the_hot_dog_folder_is_found_by_name_never_by_its_negation(classes, hotdog):
    assert classfolders.find_hotdog(classes) == hotdog


@pytest.mark.parametrize("classes", [["food", "other"], ["hotdog", "hot_dog"], ["hotdog_pictures", "rest"]])
def test_no_or_two_hot_dog_folders_stop_with_what_to_rename(classes):
    with pytest.raises(messages.LearnerError, match="Rename the hot-dog folder to 'hotdog'") as err:
        classfolders.find_hotdog(classes)
    assert str(classes) in str(err.value)


def layout(real_photos, tmp_path, names=("hotdog", "not-hotdog"), test_names=None):
    """A copy of the real-photo hotdog set with its class folders renamed (train/ as names, test/ as test_names)."""
    root = tmp_path / "hotdog"
    for split, new in (("train", names), ("test", test_names or names)):
        for old, name in zip(("hotdog", "not-hotdog"), new):
            shutil.copytree(real_photos["hotdog"] / split / old, root / split / name)
    return root


def folders(root):
    train = helpers.image_folder(root / "train")
    return train, helpers.image_folder(root / "test", classes=train.classes)


def test_d2l_folders_pass_with_only_the_few_photos_said(real_photos, tmp_path, capsys):
    assert helpers.hotdog_class(*folders(layout(real_photos, tmp_path))) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "{'hotdog': 6, 'not-hotdog': 6}" in out      # 6 real photos per class


def test_other_names_are_said_once_and_the_hot_dogs_may_be_class_1(real_photos, tmp_path, capsys):
    root = layout(real_photos, tmp_path, names=("hotdogs", "food"))              # sorted: food, hotdogs
    train, test = folders(root)
    assert train.classes == ["food", "hotdogs"] and helpers.hotdog_class(train, test) == 1
    assert all(train.classes[t] == "hotdogs" for p, t in train.samples if "/hotdogs/" in p)
    out = capsys.readouterr().out
    assert out.count("'hotdogs' holds the hot dogs, class 1") == 1


def test_the_same_sentence_in_chinese(real_photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    helpers.hotdog_class(*folders(layout(real_photos, tmp_path, names=("hot_dog", "not_hot_dog"))))
    assert "'hot_dog' 装的是热狗，是第 0 类" in capsys.readouterr().out


def test_a_class_with_no_test_photo_is_scored_on_the_other_only(real_photos, tmp_path, capsys):
    root = layout(real_photos, tmp_path)
    shutil.rmtree(root / "test" / "hotdog")
    train, test = folders(root)
    assert sorted(set(test.targets)) == [1]                   # not-hotdog keeps its number 1
    assert helpers.hotdog_class(train, test) == 0
    assert capsys.readouterr().out.count("test/ has no photo of 'hotdog': every test accuracy below scores "
                                         "'not-hotdog' photos only.") == 1


def test_folders_that_cannot_make_the_task_stop_with_one_learner_message(real_photos, tmp_path):
    root = layout(real_photos, tmp_path)
    shutil.copytree(root / "train" / "hotdog", root / "train" / "pizza")
    with pytest.raises(messages.LearnerError, match="train/ holds 3 class folder"):
        helpers.hotdog_class(*folders(root))
    shutil.rmtree(root / "train" / "pizza")
    for sub in (root / "test").iterdir():
        for photo in sub.iterdir():
            photo.unlink()
    with pytest.raises(messages.LearnerError, match="test/ holds no photo"):
        helpers.hotdog_class(*folders(root))
    train = helpers.image_folder(root / "train")
    with pytest.raises(messages.LearnerError, match="classes=train_imgs.classes"):
        helpers.hotdog_class(train, helpers.image_folder(layout(real_photos, tmp_path / "b", ("x", "y")) / "test"))
