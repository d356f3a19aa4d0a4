"""Reading one image file. Every error names the file (among 50,000 files an anonymous 'image file is truncated'
cannot be found), and modes that PIL's convert('RGB') would clip are scaled: a 16-bit grey PNG comes out grey, not
white."""
import os

import numpy as np
from torchvision.datasets import DatasetFolder

from .constants import IMAGE_EXTENSIONS
from .messages import LearnerError, tr


class ImageReadError(LearnerError, OSError):
    """An image file that cannot be decoded; the message starts with its path and says what to do."""


class ImageDataError(LearnerError, ValueError):
    """Images that cannot go into one batch or one class numbering (different sizes, a class folder that training
    lacks); the message says what to do."""


def to_rgb(img, path="image"):
    """A PIL image in any mode -> an RGB PIL image with 8 bits per channel.

    8-bit modes (L, P, RGBA, CMYK, LA, 1, ...) go through PIL's convert('RGB'), as torchvision's loader does (alpha is
    dropped). 16-bit integer modes (I;16*, and I as PIL opens 16-bit PNGs) are scaled by 255/65535; 32-bit float
    images (F) with values in [0, 1] are scaled by 255. Anything else is refused with ImageReadError."""
    from PIL import Image
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I;16") or img.mode == "I" or img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
                raise ImageReadError(tr("{path}: a 32-bit float image with values outside [0, 1] ({low:.3g}.."
                                        "{high:.3g}); convert it to 8-bit PNG or JPEG.", path=path,
                                        low=np.nanmin(a), high=np.nanmax(a)))
            a = a * 255
        else:
            if a.size and (a.min() < 0 or a.max() > 65535):
                raise ImageReadError(tr("{path}: a 32-bit integer image with values outside 0..65535; convert it "
                                        "to 8-bit PNG or JPEG.", path=path))
            a = a * (255 / 65535)
        return Image.fromarray(np.round(a).clip(0, 255).astype(np.uint8), "L").convert("RGB")
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as e:
        raise ImageReadError(tr("{path}: cannot convert mode {mode!r} to RGB ({error}).", path=path, mode=img.mode,
                                error=e)) from e


def load_rgb(path):
    """Open the image file at `path` as an RGB PIL image (fully read, file closed). Drop-in for torchvision's
    default ImageFolder loader; raises ImageReadError naming the file when it is truncated, corrupt or not an
    image."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb(img, path)
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageReadError(tr("{path}: cannot read this image ({error}). The file is damaged, truncated or not "
                                "an image: replace or delete it (re-download or re-extract the data if it came "
                                "from an archive).", path=path, error=f"{type(e).__name__}: {e}")) from e


class CheckedImageFolder(DatasetFolder):
    """torchvision's ImageFolder, but reading with load_rgb (errors name the file), taking every image suffix that
    reorganisation takes (torchvision's list lacks .gif, so such images would vanish silently), and numbering the
    classes by a given list `classes` (None: by the folders found, as ImageFolder does). Class folders missing here
    are simply empty; a class folder that is not in the list raises ValueError naming it. This keeps ONE class
    numbering across train, valid and train_valid: ImageFolder alone numbers each folder's classes by what that
    folder holds, so a class missing from valid would shift every later class index there."""

    def __init__(self, root, transform=None, classes=None):
        self.fixed_classes = list(classes) if classes is not None else None
        super().__init__(root, load_rgb, tuple(sorted(IMAGE_EXTENSIONS)), transform=transform,
                         allow_empty=classes is not None)
        self.imgs = self.samples

    def find_classes(self, directory):
        if self.fixed_classes is None:
            return super().find_classes(directory)
        return numbered_by(directory, self.fixed_classes)


def numbered_by(directory, classes):
    """(classes, {class: index}) for a folder of class folders numbered by the list `classes` (a class folder missing
    is simply empty); ImageDataError naming any class folder that is not in the list."""
    found = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ImageDataError(tr("{directory} has class folder(s) that the training split does not have: "
                                "{classes}. The model could never predict them; rebuild the split "
                                "(helpers.reorg_train_valid) or move those images.", directory=directory,
                                classes=unknown[:10]))
    return list(classes), {c: i for i, c in enumerate(classes)}


def collate(batch):
    """torch's default_collate, but a batch of images of different sizes (a transform without Resize/CenterCrop, or
    a stray image of another size among 32x32 PNGs) raises a ValueError that lists the sizes and says what to do,
    instead of torch's bare 'stack expects each tensor to be equal size'."""
    from torch.utils.data import default_collate
    try:
        return default_collate(batch)
    except RuntimeError as e:
        if "equal size" not in str(e):
            raise
        sizes = sorted({tuple(item[0].shape) for item in batch if hasattr(item[0], "shape")})
        raise ImageDataError(tr("a batch holds images of different sizes {sizes}: the transform must give every "
                                "image one size (add Resize and CenterCrop), or the data has an image of another "
                                "size than the rest (fast_loaders' decode cache names such files)",
                                sizes=sizes)) from None
