"""What a learner reads, in the notebook's language: the message catalogue, learner errors and check cells.

Every sentence printed for a learner is written in English in the code and passed through `tr()`:

    print(tr("{n} validation photo(s) per breed", n=n_valid))

In a Chinese notebook `tr()` returns the sentence's translation from the catalogue `ZH` (machinery/messages_zh.py),
with the same {fields} filled in; in an English one it returns the English. There is no `if lang == ...` anywhere:
the language picks the catalogue. A sentence missing from the catalogue comes out in English, and
tests/test_messages.py fails on it.

The language is the notebook's own. The Chinese and English notebooks run the same code, so the code cannot say
which language it is in; their comments can, and do (a Chinese notebook's comments are Chinese). `setup_notebook`
reads the comments of the cells run so far (IPython's input history, which Jupyter, Colab, Kaggle, papermill and
nbval all keep) and calls `set_language`. COURSE_LANG=en|zh overrides it; `set_language('zh')` sets it by hand.

A `LearnerError` is an error written for a learner: what is wrong and what to do. In a notebook it shows as that
message alone, in red, without a traceback; the cell still fails, so Run All (and papermill) stop there, once.
Check cells use `check(condition, message)`, which raises `CheckFailed`, a LearnerError, instead of a bare assert.
"""
import io
import os
import re
import tokenize

from machinery.messages_zh import ZH

LANGUAGES = ("en", "zh")
_chosen = {"language": None}
_CJK = re.compile(r"[\u3400-\u9fff]")


def language():
    """'en' or 'zh': $COURSE_LANG if set, else what set_language chose, else 'en'."""
    lang = os.environ.get("COURSE_LANG") or _chosen["language"] or "en"
    if lang not in LANGUAGES:
        raise ValueError(f"COURSE_LANG must be one of {LANGUAGES}, not {lang!r}")
    return lang


def set_language(lang):
    """Make tr() speak `lang` ('en' or 'zh') from now on. Returns it."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
    _chosen["language"] = lang
    return lang


def tr(msgid, **fields):
    """The sentence `msgid` (English, with {fields}) in the current language, its fields filled in.
    Braces meant literally are doubled, as in str.format."""
    text = ZH.get(msgid, msgid) if language() == "zh" else msgid
    return text.format(**fields)


def comment_text(code):
    """The comments of a piece of Python code, joined (IPython magics and broken code tolerated)."""
    try:
        return " ".join(t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                        if t.type == tokenize.COMMENT)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(line.split("#", 1)[1] for line in code.splitlines() if "#" in line)


def language_of_code(cells):
    """'zh' when the comments of these code cells hold Chinese (at least 4 CJK characters), else 'en'. The English
    notebooks' comments hold none (tests/test_messages.py), so a few English comments in a Chinese notebook (or the
    cell papermill injects) do not change its language."""
    comments = " ".join(comment_text(c) for c in cells)
    return "zh" if len(_CJK.findall(comments)) >= 4 else "en"


def notebook_language():
    """The language of the notebook being run, from the comments of the cells it has run so far; 'en' outside a
    notebook or when no cell has comments."""
    try:
        from IPython import get_ipython
    except ImportError:
        return "en"
    shell = get_ipython()
    return language_of_code(shell.user_ns.get("_ih", [])) if shell is not None else "en"


_TOLD = set()           # keys of the messages said once in this process


def say_once(key, message):
    """Print message (already translated) the first time `key` comes up in this process; later calls say nothing."""
    if key not in _TOLD:
        _TOLD.add(key)
        print(message)


class LearnerError(Exception):
    """An error written for a learner: its message says what is wrong and what to do, in the notebook's language.
    In a notebook it is shown as the message alone (see show_learner_errors_plainly)."""


class CheckFailed(LearnerError, AssertionError):
    """A check cell found that this run is not what the notebook expects."""


def check(condition, msgid, **fields):
    """A check cell's assert, in a learner's words: raise CheckFailed(tr(msgid, **fields)) when condition is false."""
    if not condition:
        raise CheckFailed(tr(msgid, **fields))


def show_learner_errors_plainly():
    """In an IPython kernel, show a LearnerError as its message alone, in red, instead of a traceback. The cell still
    counts as failed (Run All, papermill and nbval stop or fail there). No-op outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(self, etype, value, tb, tb_offset=None):
        heading = tr("The notebook stopped here ({name}):", name=etype.__name__)
        stb = [f"\x1b[1;31m{heading}\x1b[0m", *str(value).splitlines()]
        self._showtraceback(etype, value, stb)      # IPython discards the returned list: show it ourselves
        return stb

    shell.set_custom_exc((LearnerError,), handler)
    return True
