"""machinery.caveats: short tags in the notebook's language (a result line stays one line), and boxed banners that
wrap Chinese by its width."""
import pytest

from machinery import caveats, messages


@pytest.fixture
def language(monkeypatch):
    """set(lang): the language tr() speaks for this test (COURSE_LANG removed)."""
    monkeypatch.delenv("COURSE_LANG", raising=False)
    return lambda lang: monkeypatch.setitem(messages._chosen, "language", lang)


def test_a_tag_is_short_said_once_and_in_the_notebooks_language(no_caveats, language):
    caveats.add("data:hotdog", "STAND-IN DATA")
    caveats.add("data:leaves", "STAND-IN DATA")                  # two stand-ins: one tag
    caveats.add("weights:resnet18", "RANDOM WEIGHTS")
    language("en")
    assert caveats.results_tag() == "[STAND-IN DATA] [RANDOM WEIGHTS] "        # 33 columns (issue 17: 70)
    assert caveats.explained()[0].startswith("[STAND-IN DATA] = the data is a synthetic stand-in")
    language("zh")
    assert caveats.results_tag() == "[替身数据] [随机权重] "
    assert caveats.columns(caveats.results_tag()) == 22
    assert caveats.explained() == ["[替身数据] = 数据是合成的替身数据：这些数字不能说明真实数据集上的任何结果",
                                   "[随机权重] = 没能加载预训练权重：模型是从随机权重开始训练的"]
    caveats.drop("data:hotdog")
    assert caveats.results_tag() == "[替身数据] [随机权重] "        # the leaves stand-in is still there
    caveats.drop("data:leaves")
    caveats.drop("weights:resnet18")
    assert caveats.results_tag() == "" and caveats.explained() == []


CHINESE = ("替身数据：'hotdog' 是在本机上生成的合成数据，不是真实数据集。下面的每个数字、每张图和每个提交文件描述的都是替身"
           "数据，而不是真实数据集。从现在起，打印的每个结果前面都带有 [替身数据] 标记。")


def test_a_banner_wraps_chinese_by_its_width_and_loses_nothing():
    box = caveats.boxed([CHINESE], "#", width=40).split("\n")
    assert box[0] == box[-1] and set(box[0]) == {"#"}
    lines = [line[2:] for line in box[1:-1]]
    assert len(lines) > 1 and all(line.startswith("# ") or not line for line in box[1:-1])
    assert all(caveats.columns(line) <= 42 for line in lines)      # 40, or 42 with a comma kept at the line's end
    assert not any(line[0] in "，。、；：！？）" for line in lines)
    assert "".join(lines).replace(" ", "") == CHINESE.replace(" ", "")


def test_a_banner_keeps_english_words_whole_and_indented_commands_indented():
    box = caveats.boxed(["Every number, plot and submission below describes the stand-in, NOT the real dataset.",
                         "Download it:\n  kaggle competitions download -c classify-leaves"], "!", width=40)
    lines = box.split("\n")[1:-1]
    words = " ".join(line[2:] for line in lines).split()
    assert words == ("Every number, plot and submission below describes the stand-in, NOT the real dataset. "
                     "Download it: kaggle competitions download -c classify-leaves").split()
    assert "!   kaggle competitions download -c" in lines[-2] or "!   kaggle competitions download -c" in lines[-1]
    assert all(caveats.columns(line) <= 42 for line in lines)
