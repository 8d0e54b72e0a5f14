"""Text data plugin: byte-level tokens in flat uint16 memmaps, nanoGPT-style random windows.

Sources (``cfg["source"]``):
- ``stdlib``: the CPython standard library ``.py`` sources of the running interpreter (offline default;
  real text present on every machine). test/, tests/, idlelib, lib2to3, site-packages are excluded.
- ``files``: local ``.txt`` / ``.jsonl`` / ``.parquet`` files (``cfg["paths"]``; JSONL/parquet read the
  ``cfg["text_column"]`` key, default ``text``, as in TinyStories).
- ``hf``: a Hugging Face dataset (``cfg["hf_path"]``, e.g. ``roneneldan/TinyStories``); needs network,
  unless ``hf_path`` is a local folder (a ``save_to_disk`` folder, or a folder of data files: tried first).
- ``hf_disk``: a ``datasets.save_to_disk`` folder, an ``.arrow`` / ``.parquet`` file, or a folder of them
  (``cfg["hf_path"]``), read offline.

Tokenizer (``cfg["tokenizer"]``, plugins/tokenize.py): ``byte`` (default: the UTF-8 bytes, vocab 256), or
a Hugging Face ``tokenizer.json``, whose vocabulary becomes ``vocab_size`` when the config is composed
(``config_facts``); its tokens are written as uint16 (vocab <= 65,536) or uint32. Documents are joined with
``cfg["doc_separator"]`` (default a blank line). Every ``cfg["val_every"]``-th document goes to the
validation split (the ``hf`` source uses the dataset's own validation split when it has one).

Batches: ``{"tokens": int64 (B, S), "targets": int64 (B, S)}``, targets = tokens shifted by one.
Batch *i* of a loader depends only on ``(seed, i)``: a resumed run passes ``start=i``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path

import numpy as np

from plugins import tokenize
from plugins.hf_local import disk_docs as _disk_docs, hf_docs as _hf_docs

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


# ---- protocol
def config_facts(cfg: dict) -> dict:
    """Read when the config is composed: a tokenizer.json's vocabulary becomes vocab_size (unless a larger
    vocab_size is set, e.g. padded to a multiple of 64); the byte tokenizer keeps the config's."""
    src, where = cfg.get("source"), str(cfg.get("hf_path") or "")
    if (src == "hf_disk" or (src == "hf" and where.startswith(("/", ".", "~")))) and not Path(where).expanduser().exists():
        raise FileNotFoundError(f"dataset.hf_path={where!r}: no such folder; give the folder of a local copy "
                                "(save_to_disk, or .parquet/.arrow/.jsonl files)")
    if tokenize.name(cfg) == "byte":
        return {} if cfg.get("vocab_size") else {"vocab_size": VOCAB_SIZE}
    have, need = cfg.get("vocab_size"), tokenize.vocab_size(cfg)
    if have in (None, VOCAB_SIZE) or int(have) < need:
        if have not in (None, VOCAB_SIZE):
            raise ValueError(f"dataset.vocab_size={have} is smaller than the tokenizer's {need} tokens; "
                             "leave it null (the tokenizer's size) or raise it")
        return {"vocab_size": need}
    return {}


def corpus_units(cfg: dict):
    """Train tokens before preparation, for the plan's epochs column: exact for bytes of the stdlib sources
    (less the held-out files, approximately); None for other sources and tokenizers (known once prepared)."""
    if cfg.get("source", "stdlib") != "stdlib" or tokenize.name(cfg) != "byte":
        return None
    total = sum(len(t.encode("utf-8")) for _, t in _stdlib_docs(cfg))
    k = int(cfg.get("val_every", 20))
    return int(total * (k - 1) / k) if k > 0 else total


def _prepare_tokenized(cfg, out, source, val_every):
    """Tokenize with a tokenizer.json (parallel, with a progress bar) into train.bin / val.bin."""
    import hashlib
    seq = int(cfg.get("seq_len", 128))
    if source in ("hf", "hf_disk"):
        docs = _hf_docs if source == "hf" else _disk_docs
        texts = {"train": (t for _, t in docs(cfg, "train")),
                 "val": (t for _, t in docs(cfg, cfg.get("hf_val_split", "validation")))}
    elif source in ("stdlib", "files"):
        all_docs = [t for _, t in (_stdlib_docs(cfg) if source == "stdlib" else _file_docs(cfg))]
        texts = {"train": [t for i, t in enumerate(all_docs) if not (val_every > 0 and i % val_every == val_every - 1)],
                 "val": [t for i, t in enumerate(all_docs) if val_every > 0 and i % val_every == val_every - 1]}
    else:
        raise ValueError(f"unknown text source {source!r}: use stdlib, files, hf or hf_disk")
    vocab = tokenize.vocab_size(cfg)
    dt = tokenize.dtype_for(vocab)
    counts = {}
    for split in ("train", "val"):
        total = len(texts[split]) if isinstance(texts[split], list) else None
        counts[split], _ = tokenize.write_tokens(texts[split], out / f"{split}.bin", cfg, total=total,
                                                 desc=f"tokenize {split}")
    if counts["val"] < seq + 2 and source in ("stdlib", "files") and val_every > 0:
        data = np.fromfile(out / "train.bin", dtype=dt)  # too few documents: hold out the tail of the stream
        cut = len(data) - len(data) // val_every
        data[:cut].tofile(out / "train.bin")
        data[cut:].tofile(out / "val.bin")
        counts = {"train": cut, "val": len(data) - cut}
    h = hashlib.sha256()
    for split in ("train", "val"):
        if counts[split] < seq + 2:
            raise ValueError(f"{split} split has only {counts[split]} tokens; need more text (or lower val_every)")
        arr = np.fromfile(out / f"{split}.bin", dtype=dt)
        top = int(arr.max())
        if top >= vocab:
            raise ValueError(f"the tokenizer produced id {top} >= its vocabulary {vocab}")
        h.update(split.encode() + len(arr).to_bytes(8, "little") + arr.tobytes())
    return {"tokenizer": str(Path(tokenize.name(cfg)).resolve()), "vocab_size": vocab, "dtype": dt,
            "train_tokens": counts["train"], "val_tokens": counts["val"], "source": source,
            "fingerprint": "sha256:" + h.hexdigest()}


def prepare(cfg: dict, out_dir: str) -> dict:
    """Tokenize the source once into ``out_dir/train.bin`` and ``out_dir/val.bin`` (flat uint16)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = cfg.get("source", "stdlib")
    sep = cfg.get("doc_separator", "\n\n").encode("utf-8")
    val_every = int(cfg.get("val_every", 20))
    if tokenize.name(cfg) != "byte":
        return _prepare_tokenized(cfg, out, source, val_every)
    if source in ("hf", "hf_disk"):
        docs = _hf_docs if source == "hf" else _disk_docs
        splits = {"train": docs(cfg, "train"), "val": docs(cfg, cfg.get("hf_val_split", "validation"))}
        route = None
    elif source in ("stdlib", "files"):
        docs = _stdlib_docs(cfg) if source == "stdlib" else _file_docs(cfg)
        splits, route = {"train": [], "val": []}, docs
    else:
        raise ValueError(f"unknown text source {source!r}: use stdlib, files, hf or hf_disk")
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


def _memmap(data_dir, split, expected=None, dtype="uint16"):
    """The split's tokens; a missing, empty or truncated file (size != meta's token count) is named."""
    path = str(Path(data_dir) / f"{'val' if split == 'val' else 'train'}.bin")
    if path not in _MEMMAPS:
        p, item = Path(path), np.dtype(dtype).itemsize
        if not p.is_file():
            raise FileNotFoundError(f"token file {p} is missing")
        size = p.stat().st_size
        if size == 0 or size % item or (expected is not None and size != item * int(expected)):
            have = "empty" if size == 0 else f"{size} bytes"
            want = f", meta.json says {int(expected)} tokens ({item * int(expected)} bytes)" if expected is not None else ""
            raise ValueError(f"token file {p} is truncated or damaged ({have}{want})")
        _MEMMAPS[path] = np.memmap(path, dtype=dtype, mode="r")
    return _MEMMAPS[path]


def get_batch(data: np.ndarray, seq_len: int, batch_size: int, seed: int, i: int) -> dict:
    """Batch ``i``: random windows drawn from an RNG seeded by ``(seed, i)`` only."""
    import torch
    rng = np.random.default_rng((int(seed), int(i)))
    offsets = rng.integers(0, len(data) - seq_len - 1, size=batch_size)
    win = torch.from_numpy(data[offsets[:, None] + np.arange(seq_len + 1)].astype(np.int64))
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def loader(split: str, *, cfg: dict, meta: dict, data_dir: str, batch_size: int, seed: int, start: int = 0):
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    meta = meta or {}
    data = _memmap(data_dir, split, meta.get(f"{split}_tokens"), meta.get("dtype", "uint16"))  # checked now
    return _batches(data, int(cfg["seq_len"]), batch_size, seed, int(start))


def _batches(data, seq_len, batch_size, seed, i):
    while True:
        yield get_batch(data, seq_len, batch_size, seed, i)
        i += 1


def example_batch(cfg: dict, batch_size: int) -> dict:
    import torch
    win = torch.randint(0, int(cfg.get("vocab_size") or VOCAB_SIZE), (batch_size, int(cfg["seq_len"]) + 1), dtype=torch.int64)
    return {"tokens": win[:, :-1], "targets": win[:, 1:]}


def units(batch: dict) -> int:
    return int(batch["tokens"].numel())
