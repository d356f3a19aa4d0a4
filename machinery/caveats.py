"""Honesty labels. Things that make this process's results NOT real results (stand-in data, random weights) are
recorded here, and every place that prints or plots results puts `results_tag()` in front of them.

The tag is short ('[STAND-IN DATA] ', in a Chinese notebook '[替身数据] ') so that a result line still fits on
one line; the long explanation is in the boxed banner printed when the caveat starts, and in `explained()`."""
import unicodedata

from .messages import tr

_CAVEATS: dict[str, str] = {}
_APPLIES = {}       # key -> a function: does this caveat concern the results printed now? (absent: always)

# The explanation of each tag, for explained() (tags not listed here have none).
EXPLANATIONS = {
    "STAND-IN DATA": "the data is a synthetic stand-in: the numbers say nothing about the real dataset",
    "RANDOM WEIGHTS": "the pretrained weights could not be loaded: the model started from random weights",
}


def tags():
    """The tags in force, in English (the catalogue's msgids), each once, in the order they were added; a caveat
    added with `applies` counts only while applies() is true."""
    return list(dict.fromkeys(tag for key, tag in _CAVEATS.items() if _APPLIES.get(key, lambda: True)()))


def results_tag():
    """A loud prefix such as '[STAND-IN DATA] ' (zh '[替身数据] ') for every printed result; '' when all is real."""
    return "".join(f"[{tr(tag)}] " for tag in tags())


def explained():
    """One line per tag in force saying what it means: '[STAND-IN DATA] = the data is a synthetic stand-in: ...'."""
    return [f"[{tr(tag)}] = {tr(EXPLANATIONS[tag])}" if tag in EXPLANATIONS else f"[{tr(tag)}]" for tag in tags()]


def add(key, tag, applies=None):
    """Record a caveat. key: what it is about (e.g. 'data:hotdog', 'weights:resnet18'); tag: the short English tag
    every later result carries ('STAND-IN DATA', 'RANDOM WEIGHTS'), translated when printed. applies: None (every
    result), or a function telling whether the caveat concerns the results printed now (machinery.pretrained:
    random weights tag only the results of a model that holds them, not those of a net trained from scratch)."""
    _CAVEATS[key] = tag
    if applies is None:
        _APPLIES.pop(key, None)
    else:
        _APPLIES[key] = applies


def drop(key):
    """Forget a caveat (the real thing was loaded after all)."""
    _CAVEATS.pop(key, None)
    _APPLIES.pop(key, None)


def columns(text):
    """Columns `text` takes in a terminal or a notebook's monospace output: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_NO_LINE_START = set("，。、；：！？）》」』】,.;:!?)")


def wrap(text, width):
    """Lines of at most `width` columns (a word longer than that keeps its own line). Breaks at spaces, and
    between Chinese characters, which need no space; never puts Chinese closing punctuation at a line's start."""
    if columns(text) <= width:
        return [text]
    pieces, word = [], ""
    for c in text:                                      # words, spaces and single wide characters
        if c == " " or unicodedata.east_asian_width(c) in "WF":
            pieces += [word, c] if word else [c]
            word = ""
        else:
            word += c
    pieces += [word] if word else []
    lines, line = [], ""
    for piece in pieces:
        fits = columns(line + piece) <= width or not line.strip() or piece in _NO_LINE_START
        if fits:
            line += piece
        elif piece != " ":
            lines.append(line.rstrip())
            line = piece
    return [*lines, line.rstrip()]


def boxed(lines, char="#", width=86):
    """The lines framed above and below by a rule of `char`, each line started with `char`, long lines wrapped:
    the form of every loud warning. No right-hand border: Chinese characters are not exactly two columns wide in
    a browser's monospace font, so a right border would be ragged."""
    out = []
    for line in lines:
        for sub in str(line).split("\n"):
            indent = "  " if sub.startswith(" ") else ""
            parts = wrap(sub.strip(), width - len(indent)) if sub.strip() else [""]
            out += [parts[0] if not sub.startswith(" ") else sub[:len(sub) - len(sub.lstrip())] + parts[0],
                    *[indent + p for p in parts[1:]]]
    rule = char * (min(max(map(columns, out)), width) + 4)
    return "\n".join([rule, *[f"{char} {line}".rstrip() for line in out], rule])

