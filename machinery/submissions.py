"""Checking Kaggle submission files before they are uploaded. A validator never leaks a raw pandas or numpy
exception: whatever is wrong with the file (missing, empty, not a CSV, wrong columns, missing / extra / duplicate
ids, unknown labels, non-numeric cells, NaN, probabilities outside [0, 1], rows not summing to 1) ends up in ONE
SubmissionError that lists every problem found."""
from pathlib import Path

import numpy as np

from .folders import natural_key
from .messages import LearnerError, tr


class SubmissionError(LearnerError, ValueError):
    """A submission file that Kaggle would reject or mis-score; the message lists every problem found."""


def _fail(path, problems):
    raise SubmissionError(tr("{path} is not a valid submission:", path=path) + "\n  - " + "\n  - ".join(problems))


def read_table(path):
    """The submission as a DataFrame of strings (UTF-8, a BOM tolerated); SubmissionError if it is missing, empty or
    not a CSV file."""
    import pandas as pd
    path = Path(path)
    if not path.is_file():
        _fail(path, [tr("the file does not exist (was it written? is the path right?)")])
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        _fail(path, [tr("the file is empty: write it again")])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        _fail(path, [tr("it is not a readable UTF-8 CSV file ({error})",
                        error=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")])


def _id_problems(got, expected):
    """Problems with the id column: duplicates, missing and extra ids (each named, up to 10)."""
    problems = []
    seen, dupes = set(), set()
    for i in got:
        (dupes if i in seen else seen).add(i)
    if dupes:
        problems.append(tr("{n} duplicate id(s): {ids}", n=len(dupes), ids=sorted(dupes, key=natural_key)[:10]))
    if len(got) != len(expected):
        problems.append(tr("{n} rows, expected {expected} (one per test image)", n=len(got), expected=len(expected)))
    missing, extra = set(expected) - seen, seen - set(expected)
    if missing:
        problems.append(tr("{n} test id(s) missing: {ids}", n=len(missing), ids=sorted(missing, key=natural_key)[:10]))
    if extra:
        problems.append(tr("{n} id(s) not in the test folder: {ids}", n=len(extra),
                           ids=sorted(extra, key=natural_key)[:10]))
    return problems


def validate_labels(path, expected_ids, classes, columns=("id", "label")):
    """One label per image (Kaggle CIFAR-10: id,label; Classify Leaves: image,label): exact columns, one row per
    expected id, ids in natural order, no empty cell, every label in `classes`. Returns the DataFrame."""
    df = read_table(path)
    if list(df.columns) != list(columns):
        _fail(path, [tr("columns are {got}, expected {expected}", got=list(df.columns), expected=list(columns))])
    got, expected = list(df[columns[0]]), [str(i) for i in expected_ids]
    problems = _id_problems(got, expected)
    if got != sorted(got, key=natural_key):
        problems.append(tr("ids are not in numeric order (Kaggle's sample submission is sorted)"))
    empty = (df == "").any(axis=1)
    if empty.any():
        problems.append(tr("{n} row(s) have an empty cell, e.g. line {line}", n=int(empty.sum()),
                           line=int(np.argmax(empty)) + 2))
    unknown = sorted(set(df[columns[1]]) - set(classes) - {""})
    if unknown:
        problems.append(tr("labels not among the {n} classes: {labels}", n=len(classes), labels=unknown[:10]))
    if problems:
        _fail(path, problems)
    return df


def validate_probabilities(path, expected_ids, classes, atol=1e-4):
    """A probability per class and image (Kaggle dog breeds): columns id + sorted(classes), one row per expected id,
    every cell a number in [0, 1], every row summing to 1 (within atol). Returns the DataFrame, probabilities as
    float64."""
    import pandas as pd
    df = read_table(path)
    expected_cols = ["id", *sorted(classes)]
    if list(df.columns) != expected_cols:
        missing = sorted(set(expected_cols) - set(df.columns))
        extra = sorted(set(df.columns) - set(expected_cols))
        _fail(path, [tr("columns differ from 'id' + the {n} sorted classes", n=len(classes))
                     + (tr("; missing: {columns}", columns=missing[:5]) if missing else "")
                     + (tr("; unexpected: {columns}", columns=extra[:5]) if extra else "")
                     + ("" if missing or extra else tr(" (the order differs: sort the class columns)"))])
    problems = _id_problems(list(df["id"]), [str(i) for i in expected_ids])
    cells = df[expected_cols[1:]]
    values = cells.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    text = cells.to_numpy()
    not_numbers = np.isnan(values) & ~np.isin(np.char.lower(text.astype(str)), ["nan", ""])
    if not_numbers.any():
        r, c = np.argwhere(not_numbers)[0]
        problems.append(tr("{n} cell(s) are not numbers, e.g. {cell!r} in row {row}, column {column!r}",
                           n=int(not_numbers.sum()), cell=text[r, c], row=r + 2, column=expected_cols[1 + c]))
    blank = np.isnan(values) & ~not_numbers
    if blank.any():
        problems.append(tr("{n} row(s) contain NaN or empty cells, e.g. line {line}", n=int(blank.any(axis=1).sum()),
                           line=int(np.argmax(blank.any(axis=1))) + 2))
    outside = ~np.isnan(values) & ((values < 0) | (values > 1))
    if outside.any():
        problems.append(tr("{n} row(s) have probabilities outside [0, 1], e.g. line {line}",
                           n=int(outside.any(axis=1).sum()), line=int(np.argmax(outside.any(axis=1))) + 2))
    complete = ~np.isnan(values).any(axis=1)
    bad_sum = complete & (np.abs(np.nan_to_num(values).sum(axis=1) - 1) > atol)
    if bad_sum.any():
        problems.append(tr("{n} row(s) do not sum to 1 (within {atol}), e.g. line {line}", n=int(bad_sum.sum()),
                           atol=atol, line=int(np.argmax(bad_sum)) + 2))
    if problems:
        _fail(path, problems)
    df[expected_cols[1:]] = values
    return df
