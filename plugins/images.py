"""Image-classification data plugin: CIFAR-10 (HF datasets or the official python format; readers in
plugins/cifar.py), MNIST-format IDX folders (plugins/idx.py) and an offline default.

Sources (``dataset.source``):

- ``cifar_hf``  -- HF datasets ``uoft-cs/cifar10`` (columns ``img``: PIL image, ``label``: int; splits
  ``train``/``test``). Needs network access or a copy already in the HF cache (then set
  ``HF_DATASETS_OFFLINE=1``). ``hf_name`` may also be a local folder: one written by
  ``DatasetDict.save_to_disk`` or any folder ``datasets.load_dataset`` reads (e.g. parquet files).
  Without network it fails within seconds with a message naming the alternatives.
- ``cifar_dir`` -- the official CIFAR-10 python format (https://www.cs.toronto.edu/~kriz/cifar.html):
  ``path`` is the ``cifar-10-batches-py`` folder (``data_batch_1..5`` and ``test_batch`` pickles, each
  a dict with ``b"data"`` (N, 3072) uint8 in CHW order and ``b"labels"``), its parent, or the
  ``cifar-10-python.tar.gz`` archive itself.
- ``digits``    -- offline default: scikit-learn's bundled ``load_digits`` (1,797 real labelled 8x8
  grayscale handwritten digits, pixel values 0..16), split into train/test by a stratified,
  seeded split (``test_fraction``, ``split_seed``). Ships inside the scikit-learn wheel: no network.

``prepare`` writes ``{train,test}_{x,y}.npy`` (uint8 images (N, C, H, W), int64 labels) into the data
folder and returns meta: ``num_classes, image_shape [C, H, W], counts {train, test}, max_value,
mean, std`` (per channel, of ``x / max_value`` over the training set), ``source`` and ``fingerprint``
(SHA-256 over the written arrays). The loader memory-maps the arrays and yields
``{"images": float32 (B, C, H, W) = (x / max_value - mean) / std, "targets": int64 (B,)}``.

Sampling: epoch-wise shuffling without replacement. Sample ``j = i * batch_size + k`` of the stream
is ``perm_e[j % N]`` with ``e = j // N`` and ``perm_e`` a permutation seeded by ``(seed, e)``, so
batch ``i`` depends only on ``(seed, i)`` (for a fixed batch size) and ``start=i`` resumes exactly.
Split ``"train"`` reads the training set; ``"val"`` (or ``"test"``) the held-out test set.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from . import cifar

UNIT = "samples"

CIFAR_CLASSES = cifar.CLASSES
SOURCES = ("cifar_hf", "cifar_dir", "digits", "idx_dir")
_FILES = {"train": ("train_x.npy", "train_y.npy"), "test": ("test_x.npy", "test_y.npy")}


# ---------------------------------------------------------------------------------------------------------
# Sources: each returns (x_train, y_train, x_test, y_test, max_value, info) with x uint8 (N, C, H, W)
# ---------------------------------------------------------------------------------------------------------

def _load_digits(cfg: dict):
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("dataset source 'digits' needs scikit-learn (pip install scikit-learn); "
                           "it ships the 8x8 digits images, no download needed") from e
    d = load_digits()
    x = np.asarray(d.images).round().astype(np.uint8)[:, None]  # (1797, 1, 8, 8), values 0..16
    y = np.asarray(d.target, dtype=np.int64)
    train_idx, test_idx = stratified_split(y, float(cfg.get("test_fraction", 0.2)), int(cfg.get("split_seed", 0)))
    import sklearn
    info = {"source": "digits", "origin": "sklearn.datasets.load_digits", "sklearn": sklearn.__version__,
            "test_fraction": float(cfg.get("test_fraction", 0.2)), "split_seed": int(cfg.get("split_seed", 0)),
            "class_names": [str(c) for c in range(10)]}
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx], 16, info


def stratified_split(y: np.ndarray, test_fraction: float, seed: int):
    """Deterministic stratified split: per class, a seeded shuffle and the first round(n * f) go to test.

    Implemented with numpy only so the split is identical across scikit-learn versions.
    Returns (train_idx, test_idx), each sorted.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _load_idx_dir(cfg: dict):
    from .idx import load_idx_dir  # MNIST-format folders (Fashion-MNIST from Debian's dataset-fashion-mnist)
    return load_idx_dir(cfg)


_LOADERS = {"cifar_hf": cifar.load_hf, "cifar_dir": cifar.load_dir, "digits": _load_digits, "idx_dir": _load_idx_dir}


# ---------------------------------------------------------------------------------------------------------
# Plugin protocol
# ---------------------------------------------------------------------------------------------------------

def _save_npy(path: Path, arr: np.ndarray):
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def prepare(cfg: dict, out_dir: str) -> dict:
    """Load the source, check it against the config, write uint8 arrays into out_dir, return meta."""
    source = cfg.get("source", "digits")
    if source not in _LOADERS:
        raise ValueError(f"dataset.source={source!r}: expected one of {list(SOURCES)}")
    x_train, y_train, x_test, y_test, max_value, info = _LOADERS[source](cfg)

    C, H, W = x_train.shape[1:]
    if x_test.shape[1:] != (C, H, W):
        raise ValueError(f"train images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ in shape")
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    expect = {"channels": C, "image_size": H, "num_classes": num_classes}
    if H != W:
        raise ValueError(f"images are {H}x{W}; the image plugin expects square images")
    bad = {k: (cfg[k], v) for k, v in expect.items() if cfg.get(k) is not None and int(cfg[k]) != v}
    if bad:
        raise ValueError("dataset config does not match the data (config, data): "
                         + ", ".join(f"{k}={a} vs {b}" for k, (a, b) in bad.items())
                         + f" -- fix config/dataset/{cfg.get('name', '<name>')}.yaml")
    ps = cfg.get("patch_size")
    if ps is not None and H % int(ps):
        raise ValueError(f"dataset.patch_size={ps} does not divide image_size={H}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x_train = np.ascontiguousarray(x_train, dtype=np.uint8)
    x_test = np.ascontiguousarray(x_test, dtype=np.uint8)
    y_train, y_test = np.ascontiguousarray(y_train, np.int64), np.ascontiguousarray(y_test, np.int64)
    h = hashlib.sha256()
    for name, arr in (("train_x", x_train), ("train_y", y_train), ("test_x", x_test), ("test_y", y_test)):
        h.update(f"{name}{arr.shape}{arr.dtype}".encode())
        h.update(arr.tobytes())
        _save_npy(out / f"{name}.npy", arr)

    xf = x_train.astype(np.float64) / max_value
    mean = xf.mean(axis=(0, 2, 3))
    std = xf.std(axis=(0, 2, 3))
    meta = {
        "unit": UNIT,
        "num_classes": num_classes,
        "image_shape": [int(C), int(H), int(W)],
        "counts": {"train": int(len(y_train)), "test": int(len(y_test))},
        "class_counts": {"train": np.bincount(y_train, minlength=num_classes).tolist(),
                         "test": np.bincount(y_test, minlength=num_classes).tolist()},
        "max_value": int(max_value),
        "mean": [float(m) for m in mean],
        "std": [float(max(s, 1e-8)) for s in std],
        "files": {s: list(f) for s, f in _FILES.items()},
        "fingerprint": h.hexdigest(),
        **info,
    }
    return meta


def _split_key(split: str) -> str:
    if split == "train":
        return "train"
    if split in ("val", "test"):
        return "test"
    raise ValueError(f"unknown split {split!r}: expected 'train' or 'val'")


def loader(split: str, *, cfg: dict, meta: dict, data_dir: str, batch_size: int, seed: int,
           start: int = 0) -> Iterator[dict]:
    """Infinite, deterministic batches; batch i depends only on (seed, i) (and batch_size)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    key = _split_key(split)
    fx, fy = meta.get("files", _FILES)[key]
    x = np.load(Path(data_dir) / fx, mmap_mode="r")
    y = np.load(Path(data_dir) / fy)
    n = len(y)
    if n == 0:
        raise ValueError(f"{data_dir}: split {key!r} is empty")
    C = x.shape[1]
    scale = 1.0 / float(meta["max_value"])
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(1, C, 1, 1)
    inv_std = (1.0 / np.asarray(meta["std"], dtype=np.float32)).reshape(1, C, 1, 1)

    perms: dict[int, np.ndarray] = {}

    def perm(epoch: int) -> np.ndarray:
        if epoch not in perms:
            if len(perms) > 2:
                perms.clear()
            perms[epoch] = np.random.default_rng([int(seed), int(epoch)]).permutation(n)
        return perms[epoch]

    i = int(start)
    while True:
        j = np.arange(i * batch_size, (i + 1) * batch_size, dtype=np.int64)
        epochs, pos = j // n, j % n
        idx = np.empty(batch_size, dtype=np.int64)
        for e in np.unique(epochs):
            m = epochs == e
            idx[m] = perm(int(e))[pos[m]]
        order = np.argsort(idx, kind="stable")  # sorted reads from the memmap, then restore batch order
        xb = np.empty((batch_size,) + x.shape[1:], dtype=np.uint8)
        xb[order] = x[idx[order]]
        images = (xb.astype(np.float32) * scale - mean) * inv_std
        yield {"images": torch.from_numpy(images), "targets": torch.from_numpy(y[idx].astype(np.int64))}
        i += 1


def example_batch(cfg: dict, batch_size: int) -> dict:
    """Shape-correct batch from the config alone (no files): for probing and FLOP counting."""
    c, s, k = int(cfg["channels"]), int(cfg["image_size"]), int(cfg["num_classes"])
    g = torch.Generator().manual_seed(0)
    return {"images": torch.randn(batch_size, c, s, s, generator=g),
            "targets": torch.arange(batch_size, dtype=torch.int64) % k}


def units(batch: dict) -> int:
    return int(batch["images"].shape[0])
