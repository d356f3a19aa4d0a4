"""The shared modules speak the notebook's language (issue 17, item 3): in a Chinese notebook the stand-in and
random-weights banners, the data lines, and the errors meant for learners (submissions, images, data folders,
weights files) are Chinese, with no English sentence (tests/english.py), and those errors are LearnerErrors that
keep their old base classes. The English texts are tested where each module is (test_data.py, test_finetune.py,
machinery/test_submissions.py, test_real_photos.py)."""
import pytest
import torch
import torchvision

import helpers
from english import english_sentences
from machinery import caveats, images, messages, pretrained, standins, submissions


@pytest.fixture
def zh(monkeypatch):
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.setitem(messages._chosen, "language", "zh")
    monkeypatch.setattr(caveats, "_CAVEATS", {})


def no_english(text):
    found = [(line, english_sentences(line)) for line in text.splitlines() if english_sentences(line)]
    assert not found, found
    return True


@pytest.mark.parametrize("error, old_base", [(submissions.SubmissionError, ValueError),
                                             (images.ImageReadError, OSError),
                                             (images.ImageDataError, ValueError),
                                             (standins.DataFolderError, FileNotFoundError),
                                             (pretrained.WeightsFileError, RuntimeError)])
def test_learner_errors_are_learner_errors_and_keep_their_old_base(error, old_base):
    assert issubclass(error, messages.LearnerError) and issubclass(error, old_base)


def test_a_stand_in_says_so_in_chinese(zh, data_root, hub, capsys):
    folder = helpers.get_dataset("cifar10_tiny", mode="standin", n_train=20, n_test=2)
    out = capsys.readouterr().out
    assert "替身数据：'cifar10_tiny' 是在本机上生成的合成数据" in out and "[替身数据] 标记" in out
    assert f"替身数据所在的文件夹：{folder}" in out and no_english(out)
    assert helpers.results_tag() == "[替身数据] "
    standins.announce("cifar10_tiny", folder)
    assert no_english(capsys.readouterr().out)


def test_real_data_is_announced_in_chinese(zh, tmp_path, capsys):
    folder = standins.make_standin("hotdog", tmp_path, n_train=2, n_test=1, size=24)
    (folder / standins.STANDIN_MARKER).unlink()                  # these files now pass for the real photos
    standins.announce("hotdog", folder, note=messages.tr("an extracted folder; no archive to verify it with"))
    out = capsys.readouterr().out
    assert out.startswith(f"使用真实的 'hotdog' 数据：{folder}（一个已解压的文件夹") and no_english(out)


def test_a_wrong_data_folder_is_explained_in_chinese(zh, tmp_path):
    with pytest.raises(standins.DataFolderError) as err:
        standins.user_folder("hotdog", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "不存在" in str(err.value) and no_english(str(err.value))


def test_a_submission_error_lists_every_problem_in_chinese(zh, tmp_path):
    path = tmp_path / "submission.csv"
    path.write_text("id,label\n1,cat\n1,cat\n3,unicorn\n", encoding="utf-8")
    with pytest.raises(helpers.SubmissionError) as err:
        helpers.validate_label_submission(path, ["1", "2", "3"], ["cat", "dog"])
    message = str(err.value)
    assert message.startswith(f"{path} 不是有效的提交文件：")
    assert "1 个重复的 id：['1']" in message and "缺少 1 个测试 id：['2']" in message
    assert "不属于这 2 个类别的标签：['unicorn']" in message and no_english(message)
    path.write_bytes(b"id,label\n1,\xff\xfe\n")                  # not UTF-8: pandas' own words, quoted
    with pytest.raises(helpers.SubmissionError) as err:
        helpers.validate_label_submission(path, ["1"], ["cat"])
    assert "系统的原话：“UnicodeDecodeError" in str(err.value) and no_english(str(err.value))


def test_an_unreadable_image_is_named_in_chinese(zh, tmp_path, real_photos):
    photo = next(p for p in (real_photos["hotdog"] / "train").rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    cut = tmp_path / f"cut{photo.suffix}"
    cut.write_bytes(photo.read_bytes()[:200])
    with pytest.raises(helpers.ImageReadError) as err:
        images.load_rgb(cut)
    assert str(err.value).startswith(f"{cut}：无法读取这张图像") and no_english(str(err.value))


def test_images_of_different_sizes_are_explained_in_chinese(zh):
    with pytest.raises(images.ImageDataError) as err:
        images.collate([(torch.zeros(3, 32, 32), 0), (torch.zeros(3, 32, 48), 1)])
    assert "一个批量里的图像大小不同" in str(err.value) and "(3, 32, 48)" in str(err.value)
    assert no_english(str(err.value))


def test_the_random_weights_banner_is_chinese(zh, tmp_path, monkeypatch, closed_port, capsys):
    """torch's real downloader, pointed at a port where nothing listens: a refused connection, as offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real_download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: real_download(
        f"http://127.0.0.1:{closed_port}/{url.split('/')[-1]}", dst, *a, **k))
    model, is_pretrained = pretrained.load("resnet18")
    out = capsys.readouterr().out
    assert not is_pretrained and isinstance(model, torchvision.models.ResNet)
    assert "随机权重：无法下载 resnet18 的预训练权重。" in out and "系统的原话：“" in out and no_english(out)
    assert helpers.results_tag() == "[随机权重] "


def test_a_damaged_weights_file_is_explained_in_chinese(zh, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    path = pretrained.weights_cache_path(weights)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage\n")
    with pytest.raises(pretrained.WeightsFileError) as err:
        pretrained.load("resnet18")
    assert str(path) in str(err.value) and "请删除它" in str(err.value) and no_english(str(err.value))
