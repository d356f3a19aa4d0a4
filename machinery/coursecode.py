"""The course's own code beside ours: d2l's version of a lecture function, read from the installed d2l package at run
time (never copied into this repository), or, where d2l is not installed or does not package the function, a link
to it in d2l-zh's source on GitHub; and a few sentences saying what ours adds and why.

d2l's package holds only the functions the book marks `#@save` (train_ch13, reorg_train_valid, ...). Functions a
chapter defines for itself (the fine-tuning chapter's train_fine_tuning, the CIFAR-10 chapter's train) exist only in
the chapter's text: they are named '<chapter>:<function>' here ('kaggle-cifar10:train') and always shown as a link.

The package file is read as text and parsed (ast): d2l is never imported, so its pinned dependencies and import-time
work cannot get in the way. The installed d2l 1.0.3 is d2l-en's package; d2l-zh 2.0's functions are the same code
with Chinese comments.
"""
import ast
import html
import importlib.metadata
import importlib.util
from pathlib import Path

from . import plots
from .messages import tr

D2L_ZH = "https://github.com/d2l-ai/d2l-zh/blob/e6b18ccea71451a55fcd861d7b96fddf2587b09a/"   # master, 2023-08-17
# name -> (file in d2l-zh, line of its definition there): the #@save functions in d2l/torch.py, chapter functions
# (PyTorch tab) in the chapter's markdown
WHERE = {
    "read_csv_labels": ("d2l/torch.py", 1975),
    "copyfile": ("d2l/torch.py", 1985),
    "reorg_train_valid": ("d2l/torch.py", 1992),
    "reorg_test": ("d2l/torch.py", 2015),
    "train_batch_ch13": ("d2l/torch.py", 1514),
    "train_ch13": ("d2l/torch.py", 1534),
    "evaluate_accuracy_gpu": ("d2l/torch.py", 452),
    "evaluate_loss": ("d2l/torch.py", 355),
    "try_gpu": ("d2l/torch.py", 425),
    "try_all_gpus": ("d2l/torch.py", 433),
    "download": ("d2l/torch.py", 370),
    "download_extract": ("d2l/torch.py", 394),
    "show_images": ("d2l/torch.py", 182),
    "Timer": ("d2l/torch.py", 109),
    "Accumulator": ("d2l/torch.py", 246),
    "Animator": ("d2l/torch.py", 287),
    "Residual": ("d2l/torch.py", 515),
    "resnet18": ("d2l/torch.py", 1484),
    "fine-tuning:finetune_net": ("chapter_computer-vision/fine-tuning.md", 254),
    "fine-tuning:train_fine_tuning": ("chapter_computer-vision/fine-tuning.md", 290),
    "kaggle-cifar10:reorg_cifar10_data": ("chapter_computer-vision/kaggle-cifar10.md", 176),
    "kaggle-cifar10:get_net": ("chapter_computer-vision/kaggle-cifar10.md", 431),
    "kaggle-cifar10:train": ("chapter_computer-vision/kaggle-cifar10.md", 494),
    "kaggle-dog:reorg_dog_data": ("chapter_computer-vision/kaggle-dog.md", 87),
    "kaggle-dog:get_net": ("chapter_computer-vision/kaggle-dog.md", 298),
    "kaggle-dog:evaluate_loss": ("chapter_computer-vision/kaggle-dog.md", 351),
    "kaggle-dog:train": ("chapter_computer-vision/kaggle-dog.md", 426),
}


def link(name):
    """The GitHub address of d2l-zh's definition of `name` (a key of WHERE), or of d2l/torch.py for another name."""
    path, line = WHERE.get(name, ("d2l/torch.py", None))
    return D2L_ZH + path + ("?plain=1" if path.endswith(".md") else "") + (f"#L{line}" if line else "")


def package_file():
    """The installed d2l package's torch.py (a Path), or None when d2l is not installed."""
    try:
        spec = importlib.util.find_spec("d2l")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "torch.py"
    return path if path.is_file() else None


def package_source(name):
    """(source code, 'd2l <version>') of the top-level function or class `name` in the installed d2l.torch, or None
    (d2l not installed, a chapter function, or a name the package lacks)."""
    path = package_file()
    if path is None or ":" in name:
        return None
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            lines = text.splitlines()[(node.decorator_list[0] if node.decorator_list else node).lineno - 1:
                                      node.end_lineno]
            try:
                version = importlib.metadata.version("d2l")
            except importlib.metadata.PackageNotFoundError:
                version = "?"
            return "\n".join(lines), f"d2l {version}"
    return None


def notes(name):
    """What our function `name` adds to d2l's, and why: a few sentences in the notebook's language (None when there
    are none kept here; a notebook may pass its own)."""
    kept = {
        "read_csv_labels": lambda: [
            tr("The same result as d2l's: a dict {{id: label}} from the rows after the header."),
            tr("Added: the file is read as UTF-8 whatever the computer's language settings, blanks around the cells are "
               "stripped, and a malformed row, or an id listed twice with two labels, is named by its line number.")],
        "reorg_train_valid": lambda: [
            tr("The same split as d2l's: n_valid_per_label comes from the smallest class, and every image goes to "
               "train_valid and to valid or train."),
            tr("Changed: valid gets the first images of each class in file-number order (d2l takes the order "
               "os.listdir gives, which differs between machines), and a class of one image keeps it in train."),
            tr("Added: hard links instead of copies (no extra disk), nothing redone when the files are unchanged, a "
               "read-only data folder gets its tree elsewhere (on Kaggle in /kaggle/temp, else the output folder), and "
               "a missing label or image is named.")],
        "reorg_test": lambda: [
            tr("The same as d2l's: every test image goes into test/unknown, one class folder that ImageFolder can "
               "read."),
            tr("Added: links instead of copies, stray files (.DS_Store) skipped, nothing redone when the test files "
               "are unchanged.")],
        "train_batch_ch13": lambda: [
            tr("The same steps as d2l's: the batch to devices[0], train mode, zero the gradients, forward, backward "
               "on the summed loss, one optimiser step; it returns the summed loss and the number correct."),
            tr("Added: amp runs the forward pass in mixed precision on a GPU (fp16 with a GradScaler), channels_last "
               "stores the images in the layout GPUs prefer; on a CPU both stay off.")],
        "train_ch13": lambda: [
            tr("The loop is d2l's: train_batch_ch13 on every batch, then the test set (here: the validation set) "
               "scored once per epoch, and the closing lines."),
            tr("Added for this course's chapters: the scheduler steps once per epoch (d2l's CIFAR-10 and dog "
               "chapters write the whole loop again for that), and the validation loss is recorded beside the "
               "accuracy in one pass (the dog competition is scored on log loss)."),
            tr("Added for your runs: checkpoint= saves every epoch and a rerun resumes (Colab disconnects), a loss "
               "that turns NaN stops the run at once, and constant predictions are said in one sentence."),
            tr("Changed: one device is never wrapped in nn.DataParallel (d2l wraps even a CPU; ours does on two or "
               "more GPUs, as d2l's), fewer than five batches work (d2l divides by num_batches // 5), and images/s "
               "counts data loading. progress.Board does what d2l's Animator does.")],
        # notebook 40 (Kaggle dog breeds): ours beside the chapter's reorg_dog_data and get_net
        "reorg_kaggle_data": lambda: [
            tr("The same three steps as d2l's reorg_dog_data: read_csv_labels, reorg_train_valid, reorg_test; one "
               "function for both competitions, the label file's name a parameter, n_valid_per_label returned."),
            tr("What reorg_train_valid and reorg_test add comes along: links instead of copies, nothing redone when "
               "the files are unchanged, a read-only data folder gets its tree elsewhere (on Kaggle in /kaggle/temp, "
               "else the output folder).")],
        "FrozenBackboneNet": lambda: [
            tr("d2l's get_net puts the pretrained ResNet-34 and the output network in one nn.Sequential and sets "
               "requires_grad=False on the ResNet's parameters: its weights cannot change."),
            tr("Added: the backbone stays in eval mode whatever train() is called with, so its BatchNorm layers keep "
               "ImageNet's statistics in training, validation and prediction alike (d2l's run in training mode "
               "throughout), and the frozen part runs without building a graph (less memory)."),
            tr("The backbone and the head are arguments, so the same class serves the 1000 scores and the 512-d "
               "features.")],
        # notebook 37 (fine-tuning): ours beside the chapter's inline target model and train_fine_tuning
        "build_finetune_net": lambda: [
            tr("The same target model as d2l's: the pretrained ResNet-18 with its fc replaced by a new Linear(512, 2) "
               "with a Xavier-uniform weight."),
            tr("Changed: d2l loads a second pretrained copy and replaces its fc; ours copies the source model and "
               "leaves it as it is, so every exercise starts from the same source without a new download."),
            tr("Added: seed draws the same new output layer every time, so configurations can be compared, and "
               "reuse_rows starts chosen outputs from rows of the old output layer (ImageNet's hot dog, row 934).")],
        "finetune_optimizer": lambda: [
            tr("The same optimiser as d2l's train_fine_tuning with param_group=True: SGD with weight decay, the new "
               "output layer at 10 times the body's learning rate."),
            tr("Changed: the output layer's parameters are picked by identity, not by the names fc.weight and "
               "fc.bias, so a head of any name works; frozen parameters are left out (d2l hands them over too, "
               "which PyTorch tolerates, as they get no gradient), and a fully frozen body leaves one group.")],
    }
    return kept[name]() if name in kept else None


def _caption(text):
    return f'<div style="font-size:12px; color:#555; margin:2px 0">{text}</div>'


def _theirs(name):
    """(html, plain text) of d2l's `name`: its code from the installed package, else a link."""
    found = package_source(name)
    short = name.split(":")[-1]
    if found is not None:
        code, version = found
        caption = tr("The course's: d2l.{name} ({version}, read from the installed package)", name=short,
                     version=version)
        return _caption(html.escape(caption)) + plots.code_html(code), f"# {caption}\n{code}"
    url = link(name)
    if ":" in name:
        why = tr("d2l's {name} is defined in the chapter {chapter} only (the d2l package does not hold it): read it "
                 "in d2l-zh's source", name=short, chapter=name.split(":")[0])
    else:
        why = tr("d2l is not installed here: read d2l's {name} in d2l-zh's source", name=short)
    return _caption(f'{html.escape(why)}: <a href="{url}" target="_blank">{html.escape(url)}</a>'), f"# {why}: {url}"


def render(ours, theirs, sentences):
    """(html, plain text) of our code (a list of (name, source)) beside d2l's (a list of names), and the sentences
    under the two. The columns sit side by side where the page is wide enough for both without wrapping a line (d2l's
    lines are at most 80 characters, ours 120), ours below d2l's elsewhere; a line is never wrapped."""
    left = [_theirs(name) for name in theirs]
    caption = tr("Ours: {names} (helpers.py, the code that runs here)", names=", ".join(n for n, _ in ours))
    right_code = "\n\n".join(code for _, code in ours)
    parts = (['<div style="flex:0 1 auto; min-width:0; max-width:100%">' + "".join(h for h, _ in left) + "</div>"]
             if left else []) + ['<div style="flex:1 1 880px; min-width:0; max-width:100%">' +
                                 _caption(html.escape(caption)) + plots.code_html(right_code) + "</div>"]
    page = '<div style="display:flex; flex-wrap:wrap; gap:14px; align-items:flex-start">' + "".join(parts) + "</div>"
    text = [t for _, t in left] + [f"# {caption}\n{right_code}" if left else right_code]
    if sentences:
        page += '<ul style="margin:6px 0 0 0; font-size:13px">' + \
            "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>"
        text.append("\n".join(f"- {s}" for s in sentences))
    return page, "\n\n".join(text)
