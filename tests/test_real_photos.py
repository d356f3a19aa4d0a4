"""The whole data path on REAL photos (tests/real_photo_sets.py: files that scikit-image and matplotlib ship in their
wheels, laid out as hotdog, kaggle_cifar10_tiny, kaggle_dog_tiny and Classify Leaves).

Stand-ins are synthetic and uniform; real files are not: JPEG and PNG, RGB, grey (L), RGBA, palette (P) and CMYK,
from 14x25 to 1411x1411 pixels, portrait and landscape. Here they go through reorganisation, both loaders (ImageFolder
with the notebooks' torchvision transforms, and the fast path), the decode cache, CsvImageDataset, prediction and the
three submission writers and validators, and every step is checked against the files themselves.
"""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms as T

import helpers
import real_photo_sets as rp                 # loaded by conftest.py

# Machinery-level names, in one place: machinery/fastdata.py once the refactor lands, helpers.py before it.
try:
    from machinery.fastdata import FAST_RECIPES, augment_batch, image_folder_cache
except ImportError:
    from helpers import FAST_RECIPES, augment_batch, image_folder_cache

CIFAR_NORM = [T.ToTensor(), T.Normalize(helpers.CIFAR10_MEAN, helpers.CIFAR10_STD)]
IMAGENET_NORM = T.Normalize(helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)


# --------------------------------------------------------------------------------------------------------------------
# helpers of this file
# --------------------------------------------------------------------------------------------------------------------

def denormalise(x, mean, std):
    """Normalised (..., 3, H, W) -> 0..1 units."""
    return x * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)


def file_mode(path):
    with Image.open(path) as img:
        return img.mode


def pil_rgb(path):
    """The file as the PIL path sees it: (H, W, 3) uint8."""
    with Image.open(path) as img:
        return np.array(img.convert("RGB"))


def tiny_net(num_classes, seed=0):
    """A few hundred parameters: enough to give each image its own prediction."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(32, num_classes))


def copy_tree(src, dst):
    shutil.copytree(src, dst)
    return dst


def check_reorganised(data_dir, labels, n_valid):
    """Every labelled training image is once in train_valid/<its label> and once in either train/ or valid/ under
    its label (the same file, not a re-encoded copy), valid holds the first n_valid ids of each class in natural
    order, and test/unknown holds every test image."""
    root = data_dir / "train_valid_test"
    train_files = helpers.list_images(data_dir / "train")
    assert sorted(Path(f).stem for f in train_files) == sorted(labels)
    seen = {"train": [], "valid": [], "train_valid": []}
    for split in seen:
        for label_dir in sorted((root / split).iterdir()):
            for f in helpers.list_images(label_dir):
                assert labels[Path(f).stem] == label_dir.name, (split, f)
                assert (label_dir / f).read_bytes() == (data_dir / "train" / f).read_bytes()
                seen[split].append(f)
    assert sorted(seen["train_valid"]) == sorted(train_files)
    assert sorted(seen["train"] + seen["valid"]) == sorted(train_files)          # each once, in one of the two
    by_label = {}
    for f in train_files:                                                       # natural order (list_images)
        by_label.setdefault(labels[Path(f).stem], []).append(f)
    assert sorted(seen["valid"]) == sorted(f for files in by_label.values() for f in files[:n_valid])
    assert helpers.list_images(root / "test" / "unknown") == helpers.list_images(data_dir / "test")


# --------------------------------------------------------------------------------------------------------------------
# fixtures: the raw sets come from conftest.py (built once per session); reorganised copies once per module
# --------------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cifar(real_photos, tmp_path_factory):
    data_dir = copy_tree(real_photos["cifar"], tmp_path_factory.mktemp("rp_cifar") / "kaggle_cifar10_tiny")
    helpers.reorg_kaggle_data(data_dir, "trainLabels.csv", 0.25)
    return data_dir


@pytest.fixture(scope="module")
def dog(real_photos, tmp_path_factory):
    data_dir = copy_tree(real_photos["dog"], tmp_path_factory.mktemp("rp_dog") / "kaggle_dog_tiny")
    helpers.reorg_kaggle_data(data_dir, "labels.csv", 0.25)
    return data_dir


@pytest.fixture(scope="module")
def hotdog(real_photos, tmp_path_factory):
    return copy_tree(real_photos["hotdog"], tmp_path_factory.mktemp("rp_hotdog") / "hotdog")


# --------------------------------------------------------------------------------------------------------------------
# the fixture itself: real files of real variety
# --------------------------------------------------------------------------------------------------------------------

def test_the_photo_sets_hold_real_files_of_every_kind(real_photos):
    files = [p for root in real_photos.values() for p in root.rglob("*") if p.suffix in (".png", ".jpg")]
    info = []
    for p in files:
        with Image.open(p) as img:
            info.append((img.format, img.mode, img.size))
    assert {f for f, _, _ in info} == {"PNG", "JPEG"}
    assert {"RGB", "L", "RGBA", "P", "CMYK"} <= {m for _, m, _ in info}
    assert min(w * h for _, _, (w, h) in info) <= 14 * 25 and max(w for _, _, (w, _) in info) >= 1411
    assert any(w > 2 * h for _, _, (w, h) in info) and any(h > w for _, _, (w, h) in info)
    # the copies in hotdog are the shipped files, byte for byte
    for p in (real_photos["hotdog"]).rglob("*"):
        if p.name in rp.SOURCES:
            assert p.read_bytes() == rp.source_path(p.name).read_bytes()
    assert len(files) == 18 + 48 + 22 + 24


# --------------------------------------------------------------------------------------------------------------------
# reorganisation
# --------------------------------------------------------------------------------------------------------------------

def test_reorganise_cifar_real(cifar):
    labels = helpers.read_csv_labels(cifar / "trainLabels.csv")
    assert len(labels) == 40 and set(labels.values()) == set(helpers.CIFAR10_CLASSES)
    assert helpers.reorg_train_valid(cifar, labels, 0.25) == 1                 # again: idempotent, same answer
    check_reorganised(cifar, labels, 1)
    counts = helpers.split_counts(cifar)
    assert counts["valid"] == {c: 1 for c in helpers.CIFAR10_CLASSES}
    assert counts["test"] == {"unknown": 8}


def test_reorganise_dog_real(dog):
    labels = helpers.read_csv_labels(dog / "labels.csv")
    assert len(labels) == 16 and all(len(i) == 32 and int(i, 16) >= 0 for i in labels)
    assert sorted(set(labels.values())) == rp.DOG_BREEDS
    check_reorganised(dog, labels, 1)
    assert helpers.split_counts(dog)["train"] == {b: 3 for b in rp.DOG_BREEDS}
    assert helpers.kaggle_test_ids(dog / "test") == sorted(rp.dog_id(n) for n in rp.dog_test_photos())


# --------------------------------------------------------------------------------------------------------------------
# the ImageFolder path with the notebooks' transforms
# --------------------------------------------------------------------------------------------------------------------

def test_cifar_imagefolder_path_real(cifar):
    train_tf = T.Compose([T.Resize(40), T.RandomResizedCrop(32, scale=(0.64, 1.0), ratio=(1.0, 1.0)),
                          T.RandomHorizontalFlip(), *CIFAR_NORM])
    datasets, loaders = helpers.reorganised_loaders(cifar, train_tf, T.Compose(CIFAR_NORM), 8, num_workers=0)
    assert set(datasets) == {"train", "valid", "train_valid", "test"}
    assert datasets["train_valid"].classes == sorted(helpers.CIFAR10_CLASSES)
    X, y = next(iter(loaders["train_valid"]))
    assert X.shape == (8, 3, 32, 32) and X.dtype == torch.float32 and y.dtype == torch.int64
    # test: every image once, in file order, exactly its pixels; grey photos as 3 equal channels
    test = datasets["test"]
    Xt = torch.cat([x for x, _ in loaders["test"]])
    assert len(Xt) == 8 and [Path(p).name for p, _ in test.samples] == helpers.list_images(cifar / "test")
    modes = []
    for x, (path, _) in zip(Xt, test.samples):
        pixels = denormalise(x, helpers.CIFAR10_MEAN, helpers.CIFAR10_STD) * 255
        expected = torch.from_numpy(pil_rgb(path)).permute(2, 0, 1).float()
        assert (pixels - expected).abs().max() < 1e-3, path
        modes.append(file_mode(path))
        if modes[-1] == "L":
            assert (pixels[0] - pixels[1]).abs().max() < 1e-3 and (pixels[0] - pixels[2]).abs().max() < 1e-3
    assert "L" in modes and "RGB" in modes


@pytest.mark.parametrize("size", [224, 64])
def test_imagenet_imagefolder_path_real(dog, size):
    """The dog notebook's transforms (and the hotdog one's, RandomResizedCrop + Resize/CenterCrop) on real photos
    of every size and aspect ratio, grey JPEGs among them."""
    resize = round(size * 256 / 224)
    train_tf = T.Compose([T.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)), T.RandomHorizontalFlip(),
                          T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(), IMAGENET_NORM])
    test_tf = T.Compose([T.Resize(resize), T.CenterCrop(size), T.ToTensor(), IMAGENET_NORM])
    datasets, loaders = helpers.reorganised_loaders(dog, train_tf, test_tf, 4, num_workers=0)
    assert datasets["train_valid"].classes == rp.DOG_BREEDS
    X, y = next(iter(loaders["train"]))
    assert X.shape == (4, 3, size, size) and torch.isfinite(X).all()
    yv = [y for _, y in loaders["valid"]]
    assert torch.cat(yv).tolist() == list(range(len(rp.DOG_BREEDS)))          # one image per breed, every one
    Xt = torch.cat([x for x, _ in loaders["test"]])
    assert Xt.shape == (6, 3, size, size)
    for x, (path, _) in zip(Xt, datasets["test"].samples):
        if file_mode(path) == "L":                                             # grey JPEGs: 3 equal channels
            rgb = denormalise(x, helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)
            assert (rgb[0] - rgb[1]).abs().max() < 1e-5 and (rgb[0] - rgb[2]).abs().max() < 1e-5, path


def test_cmyk_and_grey_jpegs_keep_their_colours_real(dog):
    """A CMYK JPEG (coffee) and a grey JPEG (camera) in the dog set, read by the loader of reorganised_loaders,
    match their source PNGs up to JPEG's loss (an inverted CMYK or a channel mix-up would be far off)."""
    datasets, _ = helpers.reorganised_loaders(dog, T.PILToTensor(), T.PILToTensor(), 1, num_workers=0)
    ds = datasets["train_valid"]
    index = {Path(p).stem: i for i, (p, _) in enumerate(ds.samples)}
    for name, mode in (("coffee.png", "CMYK"), ("camera.png", "L")):
        i = index[rp.dog_id(name)]
        assert file_mode(ds.samples[i][0]) == mode
        got = ds[i][0].permute(1, 2, 0).numpy().astype(int)
        expected = pil_rgb(rp.source_path(name)).astype(int)
        assert got.shape == expected.shape and np.abs(got - expected).mean() < 3, name


def test_hotdog_imagefolder_labels_real(hotdog):
    """hotdog has no reorganisation: ImageFolder straight on train/ and test/, with every real mode in it."""
    tf = T.Compose([T.Resize(40), T.CenterCrop(32), T.ToTensor()])
    for split, n in (("train", (6, 6)), ("test", (3, 3))):
        ds = torchvision.datasets.ImageFolder(hotdog / split, transform=tf)
        assert ds.class_to_idx == {"hotdog": 0, "not-hotdog": 1}
        assert [ds.targets.count(0), ds.targets.count(1)] == list(n)
        for (path, target) in ds.samples:
            assert Path(path).parent.name == ds.classes[target]
        X = torch.stack([ds[i][0] for i in range(len(ds))])
        assert X.shape == (sum(n), 3, 32, 32) and X.min() >= 0 and X.max() <= 1


# --------------------------------------------------------------------------------------------------------------------
# the fast path and the decode cache
# --------------------------------------------------------------------------------------------------------------------

def test_fast_cifar_path_equals_pil_path_real(cifar):
    """recipe 'cifar10': the eval batches are ToTensor() + Normalize() of the files, exactly."""
    pil_sets, pil_loaders = helpers.reorganised_loaders(cifar, T.Compose(CIFAR_NORM), T.Compose(CIFAR_NORM), 8,
                                                        num_workers=0)
    fast_sets, fast_loaders = helpers.fast_loaders(cifar, 8, recipe="cifar10", device="cpu")
    assert set(fast_sets) == set(pil_sets)
    for split in fast_sets:
        assert fast_sets[split].samples == pil_sets[split].samples, split
        assert fast_sets[split].classes == pil_sets[split].classes
    for split in ("valid", "test"):
        Xf, yf = map(torch.cat, zip(*fast_loaders[split]))
        Xp, yp = map(torch.cat, zip(*pil_loaders[split]))
        assert torch.equal(yf, yp) and Xf.dtype == torch.float32
        assert (Xf - Xp).abs().max() < 1e-5, split
    X, y = next(iter(fast_loaders["train_valid"]))
    assert X.shape == (8, 3, 32, 32) and torch.isfinite(X).all() and len(fast_loaders["train_valid"]) == 5
    # the decode cache went to disk beside the split and is what the files hold
    assert (cifar / "train_valid_test" / ".test.fastcache" / "asis.npy").is_file()


def test_fast_imagenet_eval_close_to_pil_path_real(dog):
    """recipe 'imagenet': images decoded to 256x256 (aspect not kept); the eval batch of each real photo must be
    close to Resize(256) + CenterCrop(224) of the file."""
    test_tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), IMAGENET_NORM])
    datasets, loaders = helpers.fast_loaders(dog, 4, recipe="imagenet", device="cpu", store="memory")
    test = datasets["test"]
    assert [Path(p).stem for p, _ in test.samples] == helpers.kaggle_test_ids(dog / "test")
    assert [tuple(s) for s in test.sizes.tolist()] == [Image.open(p).size[::-1] for p, _ in test.samples]
    Xf = torch.cat([x for x, _ in loaders["test"]])
    Xp = torch.stack([test_tf(Image.open(p).convert("RGB")) for p, _ in test.samples])
    diff = (denormalise(Xf, helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)
            - denormalise(Xp, helpers.IMAGENET_MEAN, helpers.IMAGENET_STD)).abs().mean(dim=(1, 2, 3))
    assert Xf.shape == (6, 3, 224, 224)
    assert diff.max() < 0.03 and diff.mean() < 0.01, dict(zip((Path(p).name for p, _ in test.samples), diff.tolist()))
    X, y = next(iter(loaders["train"]))
    assert X.shape == (4, 3, 224, 224) and torch.isfinite(X).all()


def test_fast_augmentation_keeps_grey_photos_grey_real(hotdog):
    """RandomResizedCrop + flip + ColorJitter on the decoded grey photos: 3 equal channels still (as torchvision)."""
    cache = image_folder_cache(hotdog / "train", 256, store="memory")
    grey = [i for i, (p, _) in enumerate(cache.samples) if file_mode(p) == "L"]
    assert len(grey) == 3
    idx = torch.tensor(grey)
    recipe = FAST_RECIPES["imagenet"]
    X = augment_batch(cache.images[idx], **{**recipe, "size": 64, "sizes": cache.sizes[idx]})
    rgb = X * torch.tensor(recipe["std"]).view(1, 3, 1, 1) + torch.tensor(recipe["mean"]).view(1, 3, 1, 1)
    assert X.shape == (3, 3, 64, 64)
    assert (rgb[:, 0] - rgb[:, 1]).abs().max() < 1e-4 and (rgb[:, 0] - rgb[:, 2]).abs().max() < 1e-4


@pytest.mark.parametrize("where, cache_size", [("hotdog/test", 256), ("hotdog/train", 96), ("dog/train_valid", 64)])
def test_decode_cache_of_mixed_size_real_photos(request, where, cache_size):
    """image_folder_cache on real photos of every size and mode (14x25 to 1411x1411; L, RGBA, P, CMYK JPEG, grey
    JPEG): ImageFolder's order and labels, each file's own size in .sizes, and image i is file i resized."""
    dataset, split = where.split("/")
    data_dir = request.getfixturevalue(dataset)
    folder = data_dir / split if dataset == "hotdog" else data_dir / "train_valid_test" / split
    folder_ds = torchvision.datasets.ImageFolder(folder)
    cache = image_folder_cache(folder, cache_size, store="disk")
    n = len(folder_ds)
    assert n >= 6 and cache.images.shape == (n, 3, cache_size, cache_size) and cache.images.dtype == torch.uint8
    assert cache.samples == folder_ds.samples and cache.targets.tolist() == folder_ds.targets
    for i, (path, _) in enumerate(cache.samples):
        with Image.open(path) as img:
            assert tuple(cache.sizes[i].tolist()) == (img.height, img.width)
            expected = np.asarray(img.convert("RGB").resize((cache_size, cache_size), Image.BILINEAR))
        assert np.array_equal(cache.images[i].permute(1, 2, 0).numpy(), expected), path
    # a second call (another process would read the .npy) gives the same set
    again = image_folder_cache(folder, cache_size, store="disk")
    assert torch.equal(again.images, cache.images)
    assert (folder.parent / f".{split}.fastcache" / f"{cache_size}x{cache_size}.npy").is_file()


def test_fast_path_on_hotdog_layout_real(hotdog):
    datasets, loaders = helpers.fast_loaders(hotdog, 4, recipe="imagenet", device="cpu", folder=".", store="memory",
                                             size=64, cache_size=73, eval_crop=64 / 73)
    assert set(datasets) == {"train", "test"}
    probs, labels = helpers.predict(tiny_net(2), loaders["test"], return_labels=True)
    assert probs.shape == (6, 2) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.allclose(probs.sum(1), torch.ones(6))


def test_cifar_size_check_names_the_odd_file(cifar, tmp_path):
    """A real photo left at its own size in a CIFAR folder: the fast path refuses it and names the file; with a
    cache size it resizes every image."""
    data_dir = shutil.copytree(cifar, tmp_path / "kaggle_cifar10_tiny",
                               ignore=shutil.ignore_patterns("train_valid_test"))
    with Image.open(rp.source_path("rocket.jpg")) as img:
        img.resize((48, 32)).save(data_dir / "test" / "3.png")
    helpers.reorg_kaggle_data(data_dir, "trainLabels.csv", 0.25)
    with pytest.raises(ValueError, match=r"3\.png is 48x32"):
        helpers.fast_loaders(data_dir, 8, recipe="cifar10", device="cpu", store="memory")
    datasets, loaders = helpers.fast_loaders(data_dir, 8, recipe="cifar10", device="cpu", store="memory",
                                             cache_size=32)
    X = torch.cat([x for x, _ in loaders["test"]])
    assert X.shape == (8, 3, 32, 32) and datasets["test"].sizes[2].tolist() == [32, 48]


# --------------------------------------------------------------------------------------------------------------------
# Classify Leaves: CsvImageDataset
# --------------------------------------------------------------------------------------------------------------------

def test_leaves_csv_dataset_real(real_photos):
    root = real_photos["leaves"]
    train_df = pd.read_csv(root / "train.csv")
    tf = T.Compose([T.Resize(48), T.CenterCrop(48), T.ToTensor()])
    train = helpers.CsvImageDataset(root, root / "train.csv", tf)
    assert train.classes == rp.LEAF_SPECIES and len(train) == 18
    assert [train.classes[t] for t in train.targets] == list(train_df.label)
    test = helpers.CsvImageDataset(root, root / "test.csv", tf, classes=train.classes)
    assert len(test) == 6 and test.targets == [-1] * 6
    plain = helpers.CsvImageDataset(root, root / "test.csv", T.ToTensor(), classes=train.classes)
    grey = 0
    for i, image in enumerate(test.images):
        x, _ = test[i]
        assert x.shape == (3, 48, 48)
        full, _ = plain[i]                                     # item i is file i, at its own size
        assert torch.equal((full * 255).round().byte().permute(1, 2, 0), torch.from_numpy(pil_rgb(root / image)))
        if file_mode(root / image) == "L":
            grey += 1
            assert torch.equal(x[0], x[1]) and torch.equal(x[0], x[2])
    assert grey == 2 and plain[5][0].shape == (3, 427, 640)   # the real-size rocket stays 640x427


# --------------------------------------------------------------------------------------------------------------------
# prediction and submissions, each row checked against its own file
# --------------------------------------------------------------------------------------------------------------------

def test_cifar_predict_and_submission_real(cifar, tmp_path):
    datasets, loaders = helpers.reorganised_loaders(cifar, T.Compose(CIFAR_NORM), T.Compose(CIFAR_NORM), 3,
                                                    num_workers=0)
    _, fast = helpers.fast_loaders(cifar, 3, recipe="cifar10", device="cpu", store="memory")
    net, classes = tiny_net(10), datasets["train_valid"].classes
    probs = helpers.predict(net, loaders["test"])
    assert probs.shape == (8, 10) and torch.allclose(probs.sum(1), torch.ones(8))
    assert torch.allclose(helpers.predict(net, fast["test"]), probs, atol=1e-5)     # both paths predict the same
    test_ids = [Path(p).stem for p, _ in datasets["test"].samples]
    path = helpers.write_cifar_submission(tmp_path / "submission.csv", test_ids, [classes[i] for i in probs.argmax(1)])
    df = helpers.validate_cifar_submission(path, cifar / "test")
    assert list(df.id) == helpers.kaggle_test_ids(cifar / "test") == [str(i) for i in range(1, 9)]
    net.eval()
    for image_id, label in zip(df.id, df.label):                   # each row is its own file's prediction
        x = T.Compose(CIFAR_NORM)(Image.open(cifar / "test" / f"{image_id}.png").convert("RGB"))
        with torch.no_grad():
            assert classes[int(net(x[None]).argmax())] == label, image_id


def test_dog_predict_and_submission_real(dog, tmp_path):
    datasets, loaders = helpers.fast_loaders(dog, 4, recipe="imagenet", device="cpu", store="memory",
                                             size=64, cache_size=73, eval_crop=64 / 73)
    net, breeds = tiny_net(len(rp.DOG_BREEDS)), datasets["train_valid"].classes
    probs = helpers.predict(net, loaders["test"])
    test_ids = [Path(p).stem for p, _ in datasets["test"].samples]
    path = helpers.write_dog_submission(tmp_path / "submission.csv", test_ids, probs, breeds)
    df = helpers.validate_dog_submission(path, dog / "test", rp.DOG_BREEDS)
    assert list(df.columns) == ["id", *rp.DOG_BREEDS] and len(df) == 6
    assert sorted(df.id) == sorted(rp.dog_id(n) for n in rp.dog_test_photos())
    X = torch.cat([x for x, _ in loaders["test"]])
    net.eval()
    for k, image_id in enumerate(test_ids):                        # row of id k = softmax of image k alone
        with torch.no_grad():
            p = torch.softmax(net(X[k:k + 1]), 1)[0]
        row = df[df.id == image_id][breeds].to_numpy(dtype=np.float64)[0]
        assert np.allclose(row, p.numpy(), atol=1e-6), image_id


def test_leaves_predict_and_submission_real(real_photos, tmp_path):
    root = real_photos["leaves"]
    tf = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor(), IMAGENET_NORM])
    classes = rp.LEAF_SPECIES
    test_df = pd.read_csv(root / "test.csv")
    test = helpers.CsvImageDataset(root, test_df, tf, classes=classes)
    net = tiny_net(len(classes))
    probs = helpers.predict(net, torch.utils.data.DataLoader(test, batch_size=4))
    labels = [classes[i] for i in probs.argmax(1)]
    path = helpers.write_label_submission(tmp_path / "submission.csv", list(test_df.image)[::-1], labels[::-1],
                                          columns=("image", "label"))
    df = helpers.validate_label_submission(path, list(test_df.image), classes, columns=("image", "label"))
    assert list(df.image) == [f"images/{n}.jpg" for n in range(18, 24)]      # natural order, whatever came in
    net.eval()
    for image, label in zip(df.image, df.label):
        with torch.no_grad():
            assert classes[int(net(tf(Image.open(root / image).convert("RGB"))[None]).argmax())] == label, image


# --------------------------------------------------------------------------------------------------------------------
# unusual files: 16-bit PNGs are scaled (not clipped to white), and a truncated JPEG is named, on every path
# --------------------------------------------------------------------------------------------------------------------

PATHS = ["imagefolder", "csv", "cache"]


def load_with(path_kind, data_dir, name):
    """Decode <data_dir>/train_valid_test/test/x/<name> through one of the project's three decoders: the
    ImageFolder of reorganised_loaders, CsvImageDataset and the fast path's decode cache. Returns (H, W, 3) uint8."""
    test_dir = data_dir / "train_valid_test" / "test"
    if path_kind == "imagefolder":
        datasets, _ = helpers.reorganised_loaders(data_dir, T.PILToTensor(), T.PILToTensor(), 1, num_workers=0)
        ds = datasets["test"]
        i = [Path(p).name for p, _ in ds.samples].index(name)
        return ds[i][0].permute(1, 2, 0).numpy()
    if path_kind == "csv":
        ds = helpers.CsvImageDataset(test_dir, pd.DataFrame({"image": [f"x/{name}"]}), T.PILToTensor())
        return ds[0][0].permute(1, 2, 0).numpy()
    cache = image_folder_cache(test_dir, store="memory")
    i = [Path(p).name for p, _ in cache.samples].index(name)
    return cache.images[i].permute(1, 2, 0).numpy()


@pytest.fixture
def odd_files(tmp_path):
    """Two data folders with a reorganised test split, <data_dir>/train_valid_test/test/x/:
    'tree' holds a 16-bit grey PNG made from a real photo (camera.png's 64x64 top-left corner x 257) and a 16-bit
    mid-grey plate (every pixel 32768); 'bad' holds a truncated real JPEG (rocket.jpg cut in half)."""
    tree, bad = (tmp_path / name / "train_valid_test" / "test" / "x" for name in ("tree", "bad"))
    tree.mkdir(parents=True)
    bad.mkdir(parents=True)
    with Image.open(rp.source_path("camera.png")) as img:
        camera = np.asarray(img)[:64, :64]
    Image.fromarray(camera.astype(np.uint16) * 257).save(tree / "camera16.png")
    Image.fromarray(np.full((64, 64), 32768, np.uint16)).save(tree / "grey16.png")
    with Image.open(tree / "grey16.png") as img:
        assert img.mode == "I;16"                                   # really 16-bit on disk
    data = rp.source_path("rocket.jpg").read_bytes()
    (bad / "rocket_truncated.jpg").write_bytes(data[: len(data) // 2])
    return {"tree": tmp_path / "tree", "bad": tmp_path / "bad", "camera": camera}


@pytest.mark.parametrize("path_kind", PATHS)
def test_16bit_grey_png_is_scaled_not_clipped(odd_files, path_kind):
    """A 16-bit grey PNG holds 0..65535: mid-grey 32768 must decode to ~128 (not 255, white), and a real photo
    stored as 16 bits must decode to its 8-bit self (+-1)."""
    grey = load_with(path_kind, odd_files["tree"], "grey16.png")
    assert grey.shape == (64, 64, 3) and np.abs(grey.astype(int) - 128).max() <= 1
    camera = load_with(path_kind, odd_files["tree"], "camera16.png")
    assert np.abs(camera.astype(int) - odd_files["camera"][:, :, None].astype(int)).max() <= 1


@pytest.mark.parametrize("path_kind", PATHS)
def test_truncated_jpeg_error_names_the_file(odd_files, path_kind):
    with pytest.raises(Exception) as err:
        load_with(path_kind, odd_files["bad"], "rocket_truncated.jpg")
    assert "rocket_truncated.jpg" in str(err.value)
