"""Small building blocks shared by several test files (tests/conftest.py loads this module, so `import support`
works under pytest's importlib import mode too)."""
import io
import zipfile

from torch import nn
from torchvision import transforms as T

import helpers


def small_cnn(num_classes=10):
    """A CNN small enough to train in seconds on 32x32 images, with BatchNorm and Dropout (both use the RNG state)."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.1), nn.Linear(32, num_classes))


def cifar_loaders(data_dir, batch_size=32, augment=True):
    """Reorganise a CIFAR stand-in (valid_ratio 0.2) and return (datasets, loaders) of reorganised_loaders."""
    norm = [T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)]
    train_tf = T.Compose(([T.RandomHorizontalFlip()] if augment else []) + norm)
    helpers.reorg_kaggle_data(data_dir, "trainLabels.csv", 0.2)
    return helpers.reorganised_loaders(data_dir, train_tf, T.Compose(norm), batch_size, num_workers=0)


def zip_bytes(files):
    """The bytes of a zip archive holding {name: str or bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()
