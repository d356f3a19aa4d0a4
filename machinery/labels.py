"""Label files and tables: reading them as UTF-8 whatever the locale, and checking them against the image files
before anything is built from them. Every problem names the file, the line or the images concerned."""
import collections
import csv
import re
from pathlib import Path

from .constants import IMAGE_EXTENSIONS
from .folders import natural_key
from .messages import LearnerError, tr


class LabelError(LearnerError, ValueError):
    """A label file or table that cannot be used as it is; the message names the file, the rows or the images
    concerned, and says what to do."""


class NearDuplicateLabels(LabelError):
    """Labels equal but for case, spaces, underscores or hyphens ('beagle' and 'Beagle ', 'golden retriever' and
    'golden_retriever'): they would become separate classes. Refused, not merged: the spelling that survives becomes
    a class name and a submission's column, and only the learner knows which one the competition expects."""


def csv_rows(fname, ncols=2):
    """(line number, [cells]) for every data row of a CSV file: UTF-8 (a byte-order mark is tolerated), the header
    row skipped, blank lines skipped, cells stripped. A row without exactly `ncols` non-empty cells raises
    ValueError naming its line."""
    try:
        with open(fname, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise LabelError(tr("{fname} is not UTF-8 text ({error}). Save it as UTF-8 (Excel: 'CSV UTF-8').",
                            fname=fname, error=e)) from None
    # without quotes a CSV line is its cells split at commas (3x faster than the csv module on 50,000 rows)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")    # not splitlines: a label may hold U+2028
    rows = [line.split(",") for line in lines] if '"' not in text else list(csv.reader(lines))
    for lineno, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if len(cells) == ncols and all(cells):
            yield lineno, cells
        elif any(cells):                                          # a blank line is skipped, anything else is an error
            raise LabelError(tr("{fname}, line {line}: expected {n} non-empty cells, got {row}", fname=fname,
                                line=lineno, n=ncols, row=repr(row)))


def label_key(label):
    """What two labels that mean the same class share: case ignored, and spaces, underscores and hyphens all one
    separator ('Golden retriever ', 'golden_retriever' and 'golden-retriever' share 'golden retriever')."""
    return re.sub(r"[\s_-]+", " ", str(label)).strip().casefold()


def refuse_near_duplicates(label_of, where):
    """Raise NearDuplicateLabels naming, in one message, every group of labels of label_of ({id: label}) that are
    equal by label_key (case ignored; spaces, underscores and hyphens alike), with how many ids each spelling has
    and its first id. `where` is the folder of the images these labels are for."""
    count, first = collections.Counter(label_of.values()), {}
    for key, label in label_of.items():
        first.setdefault(label, key)
    groups = collections.defaultdict(list)
    for label in count:
        groups[label_key(label)].append(label)
    clashes = [sorted(g, key=str) for g in groups.values() if len(g) > 1]
    if clashes:
        text = "; ".join(", ".join(f"{label!r} \u00d7{count[label]} (id {first[label]!r})" for label in g)
                         for g in clashes)
        raise NearDuplicateLabels(tr(
            "Some labels for {where} differ only in upper/lower case, spaces, underscores or hyphens, so each spelling "
            "would become a class of its own ({n} classes instead of {meant}; a submission's columns would no longer "
            "match the competition's). Spellings, with their number of images and one id each: {groups}. Give each "
            "class one spelling in the label file (the competition's own, usually lowercase), then run this cell "
            "again.",
            where=where, n=len(count), meant=len(groups), groups=text))


def group_by_label(files, labels, folder):
    """{label: [file names]} for the image files of `folder` (natural order kept), after checking that every image
    has a label and every label an image (ValueError naming up to 10 of each, with a hint when the ids look like
    file names), and that no two labels differ only in case, spaces, underscores or hyphens (NearDuplicateLabels).
    An id is its file name without the extension ('a.b.png' has id 'a.b')."""
    refuse_near_duplicates(labels, folder)
    stem = {f: f.rpartition(".")[0] or f for f in files}         # list_images keeps only names with a suffix
    unlabelled = [f for f in files if stem[f] not in labels]
    missing = sorted(set(labels) - set(stem.values()), key=natural_key)
    if not files and not labels:
        raise LabelError(tr("{folder} has no images and the label file no rows: nothing to reorganise. Is this "
                            "the right folder (a partial download or unzip)?", folder=folder))
    if unlabelled or missing:
        msg = []
        if unlabelled:
            msg.append(tr("{n} image(s) in {folder} have no label: {names}", n=len(unlabelled), folder=folder,
                          names=unlabelled[:10]))
        if missing:
            msg.append(tr("{n} labelled id(s) have no image in {folder}: {names}", n=len(missing), folder=folder,
                          names=missing[:10]))
        if any(Path(k).suffix.lower() in IMAGE_EXTENSIONS for k in list(labels)[:100]):
            msg.append(tr("the label ids look like file names with extensions; ids are file names WITHOUT "
                          "extension"))
        raise LabelError(tr("{problems}. Fix the label file or the folder (a partial unzip?) and run again.",
                            problems="; ".join(msg)))
    by_label = {}
    for f in files:
        by_label.setdefault(labels[stem[f]], []).append(f)
    return dict(sorted(by_label.items()))


def check_image_table(df, root, image_col, label_col, classes=None):
    """Check a table of image paths (Classify Leaves' train.csv/test.csv) against the files under root; returns
    (the table without exact duplicate rows, the class list or None when there is no label column, number of
    duplicates dropped). Raises ValueError naming the rows for: a missing column, an image listed with two
    labels, a listed file that does not exist, a label outside `classes`, labels that differ only in case,
    spaces, underscores or hyphens (NearDuplicateLabels)."""
    if image_col not in df.columns:
        raise LabelError(tr("no {col} column in the table (columns: {columns})", col=repr(image_col),
                            columns=list(df.columns)))
    has_labels = label_col in df.columns
    cols = [image_col, label_col] if has_labels else [image_col]
    dupes = df.duplicated(subset=cols)
    df = df[~dupes]
    if has_labels:
        refuse_near_duplicates(dict(zip(df[image_col], df[label_col])), root)
    clash = df[df.duplicated(subset=[image_col], keep=False)]
    if len(clash):
        first = clash[image_col].iloc[0]
        raise LabelError(tr("{n} image(s) listed with different labels, e.g. {first}: {labels}",
                            n=clash[image_col].nunique(), first=repr(first),
                            labels=sorted(clash[clash[image_col] == first][label_col])))
    missing = [p for p in df[image_col] if not (Path(root) / p).is_file()]
    if missing:
        raise LabelError(tr("{n} image file(s) listed in the table are missing under {root}: {names}",
                            n=len(missing), root=root, names=missing[:10]))
    if not has_labels:
        return df, (list(classes) if classes is not None else None), int(dupes.sum())
    classes = list(classes) if classes is not None else sorted(set(df[label_col]))
    unknown = sorted(set(df[label_col]) - set(classes))
    if unknown:
        raise LabelError(tr("{n} label(s) are not among the {k} known classes: {names}", n=len(unknown),
                            k=len(classes), names=unknown[:10]))
    return df, classes, int(dupes.sum())
