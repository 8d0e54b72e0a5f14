"""Text data plugin: byte-level tokens in flat uint16 memmaps, nanoGPT-style random windows.

Sources (``cfg["source"]``):
- ``stdlib``: the CPython standard library ``.py`` sources of the running interpreter (offline default;
  real text present on every machine). test/, tests/, idlelib, lib2to3, site-packages are excluded.
- ``files``: local ``.txt`` / ``.jsonl`` / ``.parquet`` files (``cfg["paths"]``; JSONL/parquet read the
  ``cfg["text_column"]`` key, default ``text``, as in TinyStories).
- ``hf``: a Hugging Face dataset (``cfg["hf_path"]``, e.g. ``roneneldan/TinyStories``); needs network.

Tokenizer: bytes of the UTF-8 text, vocab 256 (token = byte). Documents are joined with
``cfg["doc_separator"]`` (default a blank line). Every ``cfg["val_every"]``-th document goes to the
validation split (the ``hf`` source uses the dataset's own validation split when it has one).

Batches: ``{"tokens": int64 (B, S), "targets": int64 (B, S)}``, targets = tokens shifted by one.
Batch *i* of a loader depends only on ``(seed, i)``: a resumed run passes ``start=i``.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sysconfig
from pathlib import Path

import numpy as np
import torch

UNIT = "tokens"
VOCAB_SIZE = 256
_EXCLUDE_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "__pycache__"}


# ---- tokenizer
def encode(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint16)


def decode(tokens) -> str:
    return bytes(np.asarray(tokens, dtype=np.uint8).tobytes()).decode("utf-8", errors="replace")


# ---- sources: each yields (name, text) documents in a deterministic order
def _stdlib_docs(cfg):
    root = Path(cfg.get("stdlib_dir") or sysconfig.get_paths()["stdlib"])
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _EXCLUDE_DIRS and not d.startswith("."))
        for fn in sorted(filenames):
            if fn.endswith(".py"):
                p = Path(dirpath) / fn
                yield str(p.relative_to(root)), p.read_bytes().decode("utf-8", errors="replace")


def _file_docs(cfg):
    paths = cfg.get("paths") or []
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise ValueError("dataset source 'files' needs cfg['paths']: a list of .txt/.jsonl/.parquet files")
    col = cfg.get("text_column", "text")
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"dataset file not found: {p}")
        if p.suffix == ".txt":
            yield p.name, p.read_text(encoding="utf-8", errors="replace")
        elif p.suffix in (".jsonl", ".json"):
            with open(p, encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if line.strip():
                        yield f"{p.name}:{i}", json.loads(line)[col]
        elif p.suffix == ".parquet":
            import pyarrow.parquet as pq
            for i, text in enumerate(pq.read_table(p, columns=[col]).column(col).to_pylist()):
                yield f"{p.name}:{i}", text
        else:
            raise ValueError(f"unsupported file type {p.suffix!r} ({p}); use .txt, .jsonl or .parquet")


def _check_hub(timeout: float = 3.0):
    """Fail in seconds, with a clear message, where HF datasets would otherwise retry for minutes."""
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            raise RuntimeError(f"{var} is set: cannot download from the Hugging Face hub. Use dataset=pysource "
                               "(offline) or dataset=textfiles with local files (e.g. TinyStories parquet/JSONL).")
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as e:
        raise RuntimeError(f"cannot reach the Hugging Face hub ({host}:443: {e}). Offline? Use dataset=pysource, "
                           "or download the data elsewhere and use dataset=textfiles paths=[...].") from None


def _hf_docs(cfg, split):
    _check_hub()
    import datasets
    name, col = cfg.get("hf_path", "roneneldan/TinyStories"), cfg.get("text_column", "text")
    limit = cfg.get("max_docs")
    ds = datasets.load_dataset(name, split=f"{split}[:{int(limit)}]" if limit else split)
    for i, text in enumerate(ds[col]):
        yield f"{split}:{i}", text


# ---- protocol
def prepare(cfg: dict, out_dir: str) -> dict:
    """Tokenize the source once into ``out_dir/train.bin`` and ``out_dir/val.bin`` (flat uint16)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = cfg.get("source", "stdlib")
    sep = cfg.get("doc_separator", "\n\n").encode("utf-8")
    val_every = int(cfg.get("val_every", 20))
    if source == "hf":
        splits = {"train": _hf_docs(cfg, "train"), "val": _hf_docs(cfg, cfg.get("hf_val_split", "validation"))}
        route = None
    elif source in ("stdlib", "files"):
        docs = _stdlib_docs(cfg) if source == "stdlib" else _file_docs(cfg)
        splits, route = {"train": [], "val": []}, docs
    else:
        raise ValueError(f"unknown text source {source!r}: use stdlib, files or hf")
    chunks = {"train": [], "val": []}
    n_docs = {"train": 0, "val": 0}
    if route is not None:
        for i, (_, text) in enumerate(route):
            split = "val" if val_every > 0 and i % val_every == val_every - 1 else "train"
            chunks[split].append(text.encode("utf-8"))
            n_docs[split] += 1
    else:
        for split, docs in splits.items():
            for _, text in docs:
                chunks[split].append(text.encode("utf-8"))
                n_docs[split] += 1
    joined = {split: sep.join(c) for split, c in chunks.items()}
    if route is not None and len(joined["val"]) < int(cfg.get("seq_len", 128)) + 2 and val_every > 0:
        # too few documents (e.g. one .txt file): hold out the tail of the stream instead
        cut = len(joined["train"]) - len(joined["train"]) // val_every
        joined = {"train": joined["train"][:cut], "val": joined["train"][cut:]}
    h = hashlib.sha256()
    counts = {}
    for split in ("train", "val"):
        data = joined[split]
        if len(data) < int(cfg.get("seq_len", 128)) + 2:
            raise ValueError(f"{split} split has only {len(data)} bytes; need more text (or lower val_every)")
        h.update(split.encode() + len(data).to_bytes(8, "little") + data)
        arr = np.frombuffer(data, dtype=np.uint8).astype(np.uint16)
        tmp = out / f".{split}.bin.tmp"
        arr.tofile(tmp)
        os.replace(tmp, out / f"{split}.bin")
        counts[split] = int(arr.size)
    meta = {"tokenizer": "bytes", "vocab_size": VOCAB_SIZE, "dtype": "uint16",
            "train_tokens": counts["train"], "val_tokens": counts["val"],
            "train_docs": n_docs["train"], "val_docs": n_docs["val"],
            "source": source, "fingerprint": "sha256:" + h.hexdigest()}
    if source == "stdlib":
        import sys
        meta["python"] = sys.version.split()[0]
    return meta


_MEMMAPS: dict = {}


def _memmap(data_dir, split, expected=None):
    """The split's tokens; a missing, empty or truncated file (size != meta's token count) is named."""
    path = str(Path(data_dir) / f"{'val' if split == 'val' else 'train'}.bin")
    if path not in _MEMMAPS:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"token file {p} is missing")
        size = p.stat().st_size
        if size == 0 or size % 2 or (expected is not None and size != 2 * int(expected)):
            have = "empty" if size == 0 else f"{size} bytes"
            want = f", meta.json says {int(expected)} tokens ({2 * int(expected)} bytes)" if expected is not None else ""
            raise ValueError(f"token file {p} is truncated or damaged ({have}{want})")
        _MEMMAPS[path] = np.memmap(path, dtype=np.uint16, mode="r")
    return _MEMMAPS[path]


def get_batch(data: np.ndarray, seq_len: int, batch_size: int, seed: int, i: int) -> dict:
    """Batch ``i``: random windows drawn from an RNG seeded by ``(seed, i)`` only."""
    rng = np.random.default_rng((int(seed), int(i)))
    offsets = rng.integers(0, len(data) - seq_len - 1, size=batch_size)
    win = torch.from_numpy(data[offsets[:, None] + np.arange(seq_len + 1)].astype(np.int64))
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def loader(split: str, *, cfg: dict, meta: dict, data_dir: str, batch_size: int, seed: int, start: int = 0):
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    data = _memmap(data_dir, split, (meta or {}).get(f"{split}_tokens"))  # checked now, not at the first batch
    return _batches(data, int(cfg["seq_len"]), batch_size, seed, int(start))


def _batches(data, seq_len, batch_size, seed, i):
    while True:
        yield get_batch(data, seq_len, batch_size, seed, i)
        i += 1


def example_batch(cfg: dict, batch_size: int) -> dict:
    win = torch.randint(0, VOCAB_SIZE, (batch_size, int(cfg["seq_len"]) + 1), dtype=torch.int64)
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def units(batch: dict) -> int:
    return int(batch["tokens"].numel())
