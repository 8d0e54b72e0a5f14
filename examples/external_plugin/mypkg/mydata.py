"""Data plugin: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, 10 classes) as flat
64-feature vectors. Ships inside the scikit-learn wheel, so it works offline. One data unit = one sample.

Protocol (flops-fit docs/plugins.md): a module with UNIT, prepare, loader, example_batch and units.
Batches are dicts of CPU tensors: {"features": float32 (B, 64), "labels": int64 (B,)}.
"""
import os
from pathlib import Path

import numpy as np
import torch

UNIT = "samples"                      # what D counts (the FLOPs per sample are measured on the model)


def prepare(cfg: dict, out_dir: str) -> dict:
    """One-time preprocessing: a seeded train/test split written as .npy files; returns meta (JSON-able).

    flops-fit writes the returned dict to out_dir/meta.json after this returns (atomically, last), so
    meta.json means "preparation finished"; the loader gets it back as ``meta``.
    """
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (np.asarray(d.data, dtype=np.float32) / 16.0)         # (1797, 64), pixel values 0..16 -> 0..1
    y = np.asarray(d.target, dtype=np.int64)
    order = np.random.default_rng(int(cfg["split_seed"])).permutation(len(y))
    n_test = int(round(len(y) * float(cfg["test_fraction"])))
    splits = {"test": order[:n_test], "train": order[n_test:]}
    mean, std = x[splits["train"]].mean(0), x[splits["train"]].std(0) + 1e-3
    out = Path(out_dir)
    for name, idx in splits.items():
        np.save(out / f"{name}_x.npy", ((x[idx] - mean) / std).astype(np.float32))
        np.save(out / f"{name}_y.npy", y[idx])
    return {"unit": UNIT, "num_features": int(x.shape[1]), "num_classes": int(y.max()) + 1,
            "counts": {k: int(len(v)) for k, v in splits.items()}}


def loader(split: str, *, cfg: dict, meta: dict, data_dir: str, batch_size: int, seed: int, start: int = 0):
    """Infinite, deterministic batches: batch i depends only on (seed, i), so ``start=i`` resumes exactly.

    Sample j = i * batch_size + k of the stream is perm_e[j % n], where e = j // n is the epoch and perm_e
    a permutation seeded by (seed, e). Split "train" samples the training set, "val" the held-out set.
    """
    name = {"train": "train", "val": "test", "test": "test"}[split]
    x = torch.from_numpy(np.load(os.path.join(data_dir, f"{name}_x.npy")))
    y = torch.from_numpy(np.load(os.path.join(data_dir, f"{name}_y.npy")))
    n, i = len(y), int(start)
    while True:
        j = np.arange(i * batch_size, (i + 1) * batch_size)
        idx = np.empty(batch_size, dtype=np.int64)
        for e in np.unique(j // n):
            m = (j // n) == e
            idx[m] = np.random.default_rng([int(seed), int(e)]).permutation(n)[j[m] % n]
        idx = torch.from_numpy(idx)
        yield {"features": x[idx], "labels": y[idx]}
        i += 1


def example_batch(cfg: dict, batch_size: int) -> dict:
    """A shape-correct batch from the config alone (no files): used to probe the plugins and count FLOPs."""
    g = torch.Generator().manual_seed(0)
    return {"features": torch.randn(batch_size, int(cfg["num_features"]), generator=g),
            "labels": torch.arange(batch_size) % int(cfg["num_classes"])}


def units(batch: dict) -> int:
    """Data units in a batch: here samples (a text plugin would count tokens)."""
    return int(batch["features"].shape[0])
