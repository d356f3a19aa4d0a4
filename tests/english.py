"""Finding English sentences in what a Chinese notebook prints (tests/test_notebook_language.py, and the shared
modules' tests).

A Chinese notebook may print English words, as d2l-zh's own notebooks do: numeric log lines ("loss 0.512, train acc
0.812, valid acc 0.790", "5.3 examples/sec on cpu"), paths and URLs, class and breed names, code identifiers,
acronyms and names (GPU, ResNet, Kaggle), numbers and units, and table columns. What it must not print is an English
sentence: a run of English words a learner has to read as English ("3 epochs, 32-pixel images", "the final run
started from run 1's initial weights"). Text quoted in Chinese quotation marks (“…”, 「…」) is a quotation (the
system's own error message, say), not ours.

    english_sentences(text) -> the English runs found, [] when there is none

How a line is read: quotations, URLs, paths, identifiers (anything with _ . / \\ = ( ) [ ] or digits inside a word),
short quoted strings ('hotdog'), class names and d2l's log vocabulary are removed; Chinese characters, two or more
spaces (a table's columns) and line ends separate runs. A run is an English sentence when it has at least three
words left, or two with a function word among them ("of training", "from scratch").
"""
import re

from machinery.constants import CIFAR10_CLASSES, DOG_BREEDS

# d2l-zh's log lines and table headers keep these English words (d2l-zh prints "loss 0.5, train acc 0.8, test acc").
LOG_WORDS = {"loss", "acc", "train", "valid", "test", "lr", "epoch", "epochs", "s", "ms", "px", "img", "sec",
             "examples", "min", "h", "x", "e", "nan", "inf", "true", "false", "none", "dtype", "float", "int",
             "object", "hotdog", "not-hotdog", "unknown", "total", "torch", "cpu", "cuda", "mps", "id", "label",
             "image", "breed", "species"}
NAMES = {c.lower() for c in [*CIFAR10_CLASSES, *DOG_BREEDS]}
# Lower-case function words: two words with one of these are already a sentence ("of training", "from scratch").
FUNCTION_WORDS = set("""a an the of to in on at for from with by as is are was were be been being not no and or
but if so than then this that these those it its per into onto over under each every all any only also have has had
do does did can could will would should must may might here there when where which what who how why because while
before after until since""".split())

_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|‘[^’]*’")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\\S*")
_SHORT_STRING = re.compile(r"'[^'\s]*'|\"[^\"\s]*\"")
_D2L_SPEED = re.compile(r"examples/sec on [^;(\n]*")
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_SEPARATOR = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+| {2,}|\t+|\n+")


def _is_code(token):
    """A token that is a path, an identifier, a number, a version or a call: not a word to read as English."""
    core = token.strip(",;:!?()[]{}<>'\"")
    return (any(c in core for c in "_./\\=()[]{}<>@#$%^&*+|~`") or re.search(r"\w\(", token) is not None
            or re.search(r"[A-Za-z]\d|\d[A-Za-z]", core) is not None or not re.search(r"[A-Za-z]", core))


def _exempt(word):
    """Acronyms (GPU, TTA), names with inner capitals (ImageNet, ResNet, JupyterLab), single capitals (model A),
    d2l's log vocabulary and the class names."""
    return (word.isupper() or re.search(r"[a-z][A-Z]", word) is not None or word.lower() in LOG_WORDS
            or word.lower() in NAMES or re.fullmatch(r"[A-Z]", word) is not None)


def _is_sentence(words):
    counted = [w for w in words if not _exempt(w)]
    return len(counted) >= 3 or (len(counted) >= 2 and any(w in FUNCTION_WORDS for w in counted))


def english_sentences(text):
    """The English sentences (as runs of words) in `text`; [] when there is none."""
    for removed in (_QUOTED, _D2L_SPEED, _WINDOWS_PATH, _URL, _SHORT_STRING):   # each left as one code token
        text = removed.sub("_", text)
    found = []
    for run in _SEPARATOR.split(text):
        words = []
        for token in _TOKEN.findall(run):
            if _is_code(token):
                continue
            words += _WORD.findall(token)
        if _is_sentence(words):
            found.append(" ".join(words))
    return found
