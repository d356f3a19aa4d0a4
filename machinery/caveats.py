"""Honesty labels. Things that make this process's results NOT real results (stand-in data, random weights) are
recorded here, and every place that prints or plots results puts `results_tag()` in front of them."""
import textwrap

_CAVEATS: dict[str, str] = {}


def results_tag():
    """A loud prefix such as '[STAND-IN DATA: hotdog] ' for every printed result; '' when all is real."""
    return "".join(f"[{c}] " for c in _CAVEATS.values())


def add(key, text):
    """Record a caveat (key: e.g. 'data:hotdog'; text: what every result line will carry)."""
    _CAVEATS[key] = text


def drop(key):
    """Forget a caveat (the real thing was loaded after all)."""
    _CAVEATS.pop(key, None)


def boxed(lines, char="#", width=86):
    """The lines in a box of `char`, long lines wrapped: the form of every loud warning."""
    lines = [part for line in lines for sub in str(line).split("\n")
             for part in (textwrap.wrap(sub, width, break_on_hyphens=False, subsequent_indent="  "
                                        if sub.startswith(" ") else "") or [""])]
    inner = max(map(len, lines)) + 4
    return "\n".join([char * inner, *[f"{char} {line.ljust(inner - 4)} {char}" for line in lines], char * inner])
