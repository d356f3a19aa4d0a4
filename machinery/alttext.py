"""Alternative text for the figures a notebook shows, for readers who cannot see them (and for nbconvert, which
otherwise warns "Alternative text is missing" and fills in "No description has been provided for this image").

`install()` runs in setup_notebook: in a Jupyter kernel with matplotlib's inline backend, every figure output then
carries the metadata {"image/png": {"alt": ...}}, built from the figure's own words (its titles, axis labels and
texts, e.g. "Figure: fine-tuned vs from scratch; epoch / train loss"). The .ipynb keeps it; `make run`'s HTML
export writes it into <img alt="..."> (tools/nbconvert_templates/course/index.html.j2).
"""
from .messages import tr

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
LIMIT = 300             # characters of alt text


def describe(fig):
    """The alt text of a matplotlib figure: its texts, panel titles and axis labels, in order, each once."""
    words = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        words += [ax.get_title(loc) for loc in ("left", "center", "right")]
        if ax.get_xlabel() or ax.get_ylabel():
            words.append(f"{ax.get_xlabel()} / {ax.get_ylabel()}".strip(" /"))
    seen = []
    for word in (" ".join(w.split()) for w in words):
        if word and word not in seen:
            seen.append(word)
    if not seen:
        return tr("Figure with {n} panel(s) and no titles", n=len(fig.axes))
    text = tr("Figure: {what}", what="; ".join(seen))
    return text if len(text) <= LIMIT else text[:LIMIT - 3] + "..."


def install():
    """Make every matplotlib figure shown in this IPython kernel carry alt text. Returns True when installed (an
    IPython kernel with matplotlib's inline backend), else False (a plain script, another backend)."""
    try:
        from IPython import get_ipython
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or matplotlib.get_backend() != INLINE_BACKEND:
        return False
    import matplotlib_inline.backend_inline  # noqa: F401  (importing it registers its figure formatters)
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        png = formatter.lookup_by_type(Figure)
    except KeyError:
        return False
    if getattr(png, "adds_alt_text", False):
        return True

    def png_with_alt(fig, *args, **kwargs):
        data = png(fig, *args, **kwargs)
        if data is None:
            return None
        data, metadata = data if isinstance(data, tuple) else (data, {})
        return data, {**(metadata or {}), "alt": describe(fig)}

    png_with_alt.adds_alt_text = True
    formatter.for_type(Figure, png_with_alt)
    return True
