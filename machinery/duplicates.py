"""Duplicate and near-duplicate photos in an image table (Classify Leaves: train.csv and test.csv), and label
conflicts among them: the data cleaning that lecture 43 says the top teams did.

Per photo, from one reduced decoding (JPEG draft mode):
  - exact: the SHA-1 of the file's bytes (the same file saved twice);
  - near:  a 256-bit difference hash (dHash, Krawetz 2013: the photo in grey, shrunk to 17x16 pixels, one bit per
           pair of horizontal neighbours) AND a 32x32 grey thumbnail. Two photos are near-duplicates when their
           hashes differ in at most `max_distance` bits AND their thumbnails, each standardised, correlate at
           `min_correlation` or more.
Why both: measured on the real Classify Leaves photos (docs/38_notes.md), either test alone flags hundreds of pairs
of DIFFERENT leaves. A hash alone matches photos that are almost all white (a thin conifer needle on paper: few
gradients to hash); a correlation alone matches different leaves shot on the same coloured background. Together,
at the defaults, they flag a handful of pairs, most of them the same photo. Look at what is flagged before deleting.
Groups are the connected components of "exact or near" pairs. A group whose labelled photos carry two or more labels
is a label conflict: the same leaf under two species names.
"""
import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

HASH_SIDE = 16              # 16 x 16 = 256 bits
THUMB_SIDE = 32


def dhash_bits(grey):
    """The difference hash of a 2-D grey array of shape (side, side + 1): (side * side,) booleans, row-major."""
    grey = np.asarray(grey, dtype=np.int16)
    return (grey[:, :-1] > grey[:, 1:]).ravel()


def fingerprints(paths):
    """(sha1 hex digests, dHashes as an (n, 4) uint64 array, thumbnails as an (n, 32, 32) uint8 array) of image
    files. A JPEG is decoded at a reduced scale (draft mode): ~8x faster, and the hash and thumbnail do not need
    more. Each file is read once: the same bytes are hashed and decoded."""
    sha1s = []
    hashes = np.zeros((len(paths), HASH_SIDE * HASH_SIDE // 64), np.uint64)
    thumbs = np.empty((len(paths), THUMB_SIDE, THUMB_SIDE), np.uint8)
    for i, path in enumerate(paths):
        data = Path(path).read_bytes()
        sha1s.append(hashlib.sha1(data).hexdigest())
        try:
            img = Image.open(io.BytesIO(data))
        except Image.UnidentifiedImageError:        # PIL's own message, naming the file as Image.open(path) does
            raise Image.UnidentifiedImageError(f"cannot identify image file {str(path)!r}") from None
        with img:
            img.draft("RGB", (2 * THUMB_SIDE, 2 * THUMB_SIDE))
            grey = img.convert("L")
        thumbs[i] = np.asarray(grey.resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR))
        bits = dhash_bits(grey.resize((HASH_SIDE + 1, HASH_SIDE), Image.BILINEAR))
        hashes[i] = np.packbits(bits).view(">u8").astype(np.uint64)
    return sha1s, hashes, thumbs


def close_pairs(hashes, max_distance, block=1024):
    """All pairs (i, j), i < j, of multi-word hashes ((n, words) uint64) that differ in at most max_distance bits;
    an (n_pairs, 2) int64 array. The first word filters (a pair within the distance is within it on every word),
    then the candidates are checked on all words."""
    hashes = np.asarray(hashes, np.uint64).reshape(len(hashes), -1)
    first, found = hashes[:, 0], []
    for start in range(0, len(hashes), block):
        i, j = np.nonzero(np.bitwise_count(first[start:start + block, None] ^ first[None, :]) <= max_distance)
        i = i + start
        i, j = i[i < j], j[i < j]
        keep = np.bitwise_count(hashes[i] ^ hashes[j]).sum(1) <= max_distance
        found.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(found).astype(np.int64) if found else np.empty((0, 2), np.int64)


def correlation(thumbs, pairs):
    """Pearson correlation of the two thumbnails of every pair: (n_pairs,) floats in [-1, 1]."""
    z = thumbs.reshape(len(thumbs), -1).astype(np.float32)
    z = (z - z.mean(1, keepdims=True)) / (z.std(1, keepdims=True) + 1e-3)
    return (z[pairs[:, 0]] * z[pairs[:, 1]]).mean(1) if len(pairs) else np.empty(0, np.float32)


def _components(n, pairs):
    """Union-find over n items: a group id per item."""
    parent = list(range(n))

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    for a, b in pairs:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [root(a) for a in range(n)]


def duplicate_groups(root, images, labels, max_distance=4, min_correlation=0.99):
    """Groups of duplicate and near-duplicate photos among `images` (paths relative to `root`).

    labels: one label per image, None for an unlabelled (test) photo. Returns a list of dicts, one per group of 2 or
    more photos, largest first: {'images': [...], 'labels': [...], 'exact': True when all the files are
    byte-identical, 'conflict': True when the labelled photos carry more than one label}.
    """
    images, labels = list(images), list(labels)
    sha1s, hashes, thumbs = fingerprints([Path(root) / p for p in images])
    by_sha = {}
    for k, s in enumerate(sha1s):
        by_sha.setdefault(s, []).append(k)
    pairs = [(ks[0], k) for ks in by_sha.values() for k in ks[1:]]
    near = close_pairs(hashes, max_distance)
    pairs += near[correlation(thumbs, near) >= min_correlation].tolist()
    members = {}
    for k, g in enumerate(_components(len(images), pairs)):
        members.setdefault(g, []).append(k)
    groups = []
    for ks in members.values():
        if len(ks) < 2:
            continue
        named = sorted({labels[k] for k in ks if labels[k] is not None})
        groups.append({"images": [images[k] for k in ks], "labels": [labels[k] for k in ks],
                       "exact": len({sha1s[k] for k in ks}) == 1, "conflict": len(named) > 1})
    return sorted(groups, key=lambda g: (-len(g["images"]), g["images"][0]))


def summary(groups):
    """Counts for a printed line: groups, photos in them, exact groups, near groups, label conflicts, and the photos
    that could be dropped (all but one per group)."""
    return {"groups": len(groups), "photos": sum(len(g["images"]) for g in groups),
            "exact": sum(g["exact"] for g in groups), "near": sum(not g["exact"] for g in groups),
            "conflicts": sum(g["conflict"] for g in groups),
            "redundant": sum(len(g["images"]) - 1 for g in groups)}
