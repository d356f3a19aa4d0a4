"""Class folders as learners name them: which folder of a <split>/<class>/<image> dataset holds the hot dogs, and
what each split holds (notebook 37).

d2l's hotdog.zip names its two classes 'hotdog' and 'not-hotdog'. Other public hot-dog sets say 'hot_dog' and
'not_hot_dog', 'hotdog' and 'nothotdog', 'Hot Dog' and 'Not Hot Dog'. The lecture starts the hot-dog output from
ImageNet's class 934, so the notebook must know which folder holds the hot dogs whatever it is called; sorted order
does not tell ('food' sorts before 'hotdog'). Anything unusual is said once, in the notebook's language; a folder
that cannot make the task stops the notebook with one LearnerError that says what to do."""
import re
from collections import Counter

from .messages import LearnerError, tr

D2L_CLASSES = ["hotdog", "not-hotdog"]
FEW = 10        # fewer training photos than this in a class: enough to run every cell, too few to learn from


def _key(name):
    """'Hot_Dogs' -> 'hotdogs': lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def find_hotdog(classes):
    """Index of the one class folder named for hot dogs: 'hotdog' in any case, with spaces, '_' or '-' anywhere, or
    a plural 's' ('hot_dog', 'Hot Dog', 'hotdogs'), never its negation ('not-hotdog', 'nothotdog')."""
    hits = [i for i, name in enumerate(classes) if _key(name) in ("hotdog", "hotdogs")]
    if len(hits) != 1:
        raise LearnerError(tr("Exactly one class folder must hold the hot dogs, named 'hotdog' (or 'hot_dog', "
                              "'Hot Dog', 'hotdogs'); the class folders are {classes}. Rename the hot-dog folder "
                              "to 'hotdog' in train/ and in test/, then run this cell again.", classes=classes))
    return hits[0]


def hotdog_class(train_imgs, test_imgs):
    """The class index of the hot dogs in ImageFolder-style train and test sets numbered alike (test built with
    classes=train_imgs.classes). Says once: folder names other than d2l's, a class with no test photo, classes
    with very few training photos. Raises LearnerError when train/ does not hold two classes, when no folder (or
    more than one) is named for hot dogs, when test/ is numbered differently, and when test/ holds no photo."""
    classes = list(train_imgs.classes)
    if len(classes) != 2:
        raise LearnerError(tr("The hotdog task has two classes, hot dogs and other food, but train/ holds {n} class "
                              "folder(s): {classes}. Keep one folder of hot-dog photos and one of other food.",
                              n=len(classes), classes=classes))
    hotdog = find_hotdog(classes)
    if list(test_imgs.classes) != classes:
        raise LearnerError(tr("test/ is numbered by its own class folders {test}, not by train/'s {train}: build it "
                              "with helpers.image_folder(data_dir / 'test', classes=train_imgs.classes).",
                              test=list(test_imgs.classes), train=classes))
    if classes != D2L_CLASSES:
        print(tr("The class folders are {classes} (d2l's: hotdog, not-hotdog): '{name}' holds the hot dogs, class "
                 "{index}.", classes=classes, name=classes[hotdog], index=hotdog))
    n_train, n_test = Counter(train_imgs.targets), Counter(test_imgs.targets)
    if not n_test:
        raise LearnerError(tr("test/ holds no photo: put photos of both classes {classes} there (d2l's set has 400 "
                              "of each), then run this cell again.", classes=classes))
    missing = [name for i, name in enumerate(classes) if not n_test[i]]
    if missing:
        print(tr("test/ has no photo of '{missing}': every test accuracy below scores '{other}' photos only.",
                 missing=missing[0], other=classes[1 - classes.index(missing[0])]))
    few = {name: n_train[i] for i, name in enumerate(classes) if n_train[i] < FEW}
    if few:
        print(tr("Training photos per class {counts}: enough to run every cell, far too few to learn from (d2l's "
                 "set has 1,000 per class).", counts=few))
    return hotdog
