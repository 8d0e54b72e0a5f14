"""Token-file data plugin: pre-tokenized corpora, memory-mapped, nanoGPT-style random windows.

Files (``cfg["train"]``, ``cfg["val"]``):
- flat binaries (``train.bin`` / ``val.bin``, nanoGPT's format): ``uint16`` or ``uint32`` tokens, no header;
  the dtype comes from ``cfg["dtype"]`` or from a ``meta.json`` (``{"dtype", "vocab_size"}``, what
  ``plugins.text`` writes) or nanoGPT's ``meta.pkl`` (``vocab_size``) beside the train file;
- ``.npy`` arrays (one dimension, unsigned integers): the dtype is the file's own.

``vocab_size``: ``cfg["vocab_size"]``, else the meta file's; it is read when the config is composed
(``config_facts``), since it changes the model's N and FLOPs. Validation: ``cfg["val"]``, or, when it is
null, the last ``cfg["val_fraction"]`` of the train file (a held-out tail).

``prepare`` copies nothing: it checks the files (sizes, dtype, every token id < vocab_size) and records
them in ``meta.json``. Batches: ``{"tokens", "targets"}`` int64 ``(B, seq_len)``, windows at offsets drawn
from ``numpy.random.default_rng((seed, i))``: batch *i* depends only on ``(seed, i)``, so resume is exact.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np

UNIT = "tokens"
DTYPES = ("uint16", "uint32")
_SCAN = 1 << 24   # tokens per chunk when checking the largest id (64 MB of uint32)


# ---- the files
def meta_beside(train: str) -> dict:
    """``{"vocab_size", "dtype"}`` from ``meta.json`` or nanoGPT's ``meta.pkl`` beside the train file ({} if none)."""
    folder = Path(train).parent
    js, pk = folder / "meta.json", folder / "meta.pkl"
    if js.is_file():
        try:
            m = json.loads(js.read_text())
        except ValueError as e:
            raise ValueError(f"{js}: not valid JSON ({e}); fix or delete it, or set dataset.vocab_size and dataset.dtype")
        return {k: m[k] for k in ("vocab_size", "dtype") if isinstance(m, dict) and m.get(k) is not None}
    if pk.is_file():
        with open(pk, "rb") as f:
            m = _PlainUnpickler(f).load()
        return {"vocab_size": int(m["vocab_size"])} if isinstance(m, dict) and "vocab_size" in m else {}
    return {}


class _PlainUnpickler(pickle.Unpickler):
    """nanoGPT's meta.pkl holds dicts, strings and ints only: refuse anything that would import code."""
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"meta.pkl refers to {module}.{name}; only plain data is read")


def _dtype(cfg: dict, path: Path) -> str:
    if path.suffix == ".npy":
        return "npy"
    dt = cfg.get("dtype") or meta_beside(str(path)).get("dtype")
    if dt is None:
        raise ValueError(f"dataset.dtype is not set and no meta.json beside {path} names it: "
                         f"set dataset.dtype=uint16 (vocabularies up to 65,536) or uint32")
    if str(dt) not in DTYPES:
        raise ValueError(f"dataset.dtype={dt!r} for {path}: use uint16 or uint32")
    return str(dt)


def open_tokens(path, cfg: dict) -> np.ndarray:
    """The file's tokens, memory-mapped (read-only); a missing, empty or odd-sized file is one line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"token file {p} not found; check dataset.train / dataset.val")
    dt = _dtype(cfg, p)
    if dt == "npy":
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"token file {p} is not a readable .npy array ({e})") from None
        if arr.ndim != 1 or arr.dtype.kind not in "ui":
            raise ValueError(f"token file {p} holds a {arr.dtype} array of shape {arr.shape}; "
                             "need one dimension of integer token ids")
        return arr
    size, item = p.stat().st_size, np.dtype(dt).itemsize
    if size == 0:
        raise ValueError(f"token file {p} is empty")
    if size % item:
        raise ValueError(f"token file {p} has {size} bytes, not a multiple of {item}: not {dt} tokens "
                         "(wrong dataset.dtype, or a truncated file)")
    return np.memmap(p, dtype=dt, mode="r")


def splits(cfg: dict) -> dict:
    """{"train": array, "val": array}: the val file, or the held-out tail of the train file."""
    if not cfg.get("train"):
        raise ValueError("dataset.train is not set: give the path of your train.bin or .npy token file")
    train = open_tokens(cfg["train"], cfg)
    if cfg.get("val"):
        return {"train": train, "val": open_tokens(cfg["val"], cfg)}
    frac = float(cfg.get("val_fraction") or 0)
    if not 0 < frac < 0.5:
        raise ValueError(f"dataset.val is not set and dataset.val_fraction={frac}: set a val file, or a held-out "
                         "fraction in (0, 0.5)")
    cut = len(train) - int(len(train) * frac)
    return {"train": train[:cut], "val": train[cut:]}


def _vocab(cfg: dict) -> int:
    v = cfg.get("vocab_size")
    if v is None and cfg.get("train"):
        v = meta_beside(str(cfg["train"])).get("vocab_size")
    if v is None:
        raise ValueError(f"dataset.vocab_size is not set and no meta.json / meta.pkl beside {cfg.get('train')} "
                         "names it: set dataset.vocab_size=<your tokenizer's vocabulary size>")
    return int(v)


def _fingerprint(arr: np.ndarray) -> str:
    """sha256 of the length, dtype and the first and last MiB: cheap on a multi-GB file, changes when it does."""
    h = hashlib.sha256(f"{len(arr)}:{arr.dtype}".encode())
    n = (1 << 20) // arr.dtype.itemsize
    h.update(np.ascontiguousarray(arr[:n]).tobytes() + np.ascontiguousarray(arr[-n:]).tobytes())
    return h.hexdigest()


# ---- protocol
def config_facts(cfg: dict) -> dict:
    """Read when the config is composed: the vocabulary (it sizes the model's embedding and head). The files
    are opened (not read) too, so a missing file, a wrong dtype or an empty split stops the plan in one line."""
    parts, seq = splits(cfg), int(cfg.get("seq_len", 128))   # a missing file is named before the vocabulary
    vocab = _vocab(cfg)
    for split, arr in parts.items():
        if len(arr) < seq + 2:
            where = cfg["val"] if split == "val" and cfg.get("val") else f"{cfg['train']}" + (
                " (its held-out tail)" if split == "val" else "")
            raise ValueError(f"the {split} split, {where}, has {len(arr)} tokens; need at least seq_len + 2 = "
                             f"{seq + 2}: give a longer file or lower dataset.seq_len")
    return {"vocab_size": vocab}


def corpus_units(cfg: dict) -> int | None:
    """Train tokens, from the file sizes alone (the planner's epochs column)."""
    try:
        return int(len(splits(cfg)["train"]))
    except (OSError, ValueError):
        return None


def prepare(cfg: dict, out_dir: str) -> dict:
    """Check the files once (sizes, dtype, largest token id < vocab_size) and describe them in meta.json."""
    vocab, seq = _vocab(cfg), int(cfg["seq_len"])
    parts = splits(cfg)
    meta = {"vocab_size": vocab, "dtype": str(parts["train"].dtype),
            "train": str(Path(cfg["train"]).resolve()), "val": str(Path(cfg["val"]).resolve()) if cfg.get("val") else None,
            "val_from": "file" if cfg.get("val") else f"tail {cfg.get('val_fraction')}"}
    for split, arr in parts.items():
        path = cfg["val"] if split == "val" and cfg.get("val") else cfg["train"]
        if len(arr) < seq + 2:
            raise ValueError(f"{split} split of {path} has {len(arr)} tokens; need at least seq_len + 2 = {seq + 2}")
        top = max(int(arr[i:i + _SCAN].max()) for i in range(0, len(arr), _SCAN))
        if top >= vocab:
            raise ValueError(f"{path} holds token id {top} but dataset.vocab_size={vocab}: set the tokenizer's "
                             f"vocabulary size (> {top}), or check dataset.dtype")
        meta[f"{split}_tokens"] = int(len(arr))
        meta[f"{split}_fingerprint"] = _fingerprint(arr)
    return meta


_OPEN: dict = {}


def loader(split: str, *, cfg: dict, meta: dict, data_dir: str, batch_size: int, seed: int, start: int = 0):
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    key = (cfg.get("train"), cfg.get("val"), cfg.get("val_fraction"), cfg.get("dtype"))
    if key not in _OPEN:
        _OPEN[key] = splits(cfg)
    data = _OPEN[key][split]
    want = (meta or {}).get(f"{split}_tokens")
    if want is not None and len(data) != int(want):
        raise ValueError(f"the {split} tokens changed since preparation ({len(data)} now, meta.json says {want})")
    return _batches(data, int(cfg["seq_len"]), batch_size, seed, int(start))


def get_batch(data: np.ndarray, seq_len: int, batch_size: int, seed: int, i: int) -> dict:
    """Batch ``i``: random windows of seq_len + 1 drawn from an RNG seeded by ``(seed, i)`` only."""
    import torch
    rng = np.random.default_rng((int(seed), int(i)))
    offsets = rng.integers(0, len(data) - seq_len - 1, size=batch_size)
    win = torch.from_numpy(data[offsets[:, None] + np.arange(seq_len + 1)].astype(np.int64))
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def _batches(data, seq_len, batch_size, seed, i):
    while True:
        yield get_batch(data, seq_len, batch_size, seed, i)
        i += 1


def example_batch(cfg: dict, batch_size: int) -> dict:
    import torch
    win = torch.randint(0, int(cfg["vocab_size"]), (batch_size, int(cfg["seq_len"]) + 1), dtype=torch.int64)
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def units(batch: dict) -> int:
    return int(batch["tokens"].numel())
