"""Tokenizers for the text plugin: ``byte`` (UTF-8 bytes, vocab 256) or a Hugging Face ``tokenizer.json``.

``tokenizer.json`` files load with the ``tokenizers`` package (``pip install 'flops-fit[tokenizers]'``);
its ``encode_batch`` runs on all cores (Rust threads), so ``write_tokens`` tokenizes in parallel, a batch of
documents at a time, with a progress bar, straight into a flat ``uint16``/``uint32`` token file.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

BYTE_VOCAB = 256


def name(cfg: dict) -> str:
    return str(cfg.get("tokenizer") or "byte")


@lru_cache(maxsize=4)
def _load(path: str):
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"dataset.tokenizer={path!r}: no such file; use byte, or the path of a tokenizer.json "
                         "(Hugging Face tokenizers)")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ValueError(f"dataset.tokenizer={path!r} needs the 'tokenizers' package: "
                         "pip install 'flops-fit[tokenizers]'") from None
    try:
        return Tokenizer.from_file(str(p))
    except Exception as e:  # noqa: BLE001 - the Rust side raises plain Exception
        raise ValueError(f"dataset.tokenizer={path!r} is not a readable tokenizer.json ({str(e).splitlines()[0]})") from None


def vocab_size(cfg: dict) -> int:
    tok = name(cfg)
    return BYTE_VOCAB if tok == "byte" else int(_load(tok).get_vocab_size(with_added_tokens=True))


def dtype_for(vocab: int) -> str:
    return "uint16" if vocab <= 1 << 16 else "uint32"


def encoder(cfg: dict):
    """f(list of texts) -> list of uint token arrays."""
    tok = name(cfg)
    if tok == "byte":
        return lambda texts: [np.frombuffer(t.encode("utf-8"), dtype=np.uint8) for t in texts]
    t = _load(tok)
    return lambda texts: [np.asarray(e.ids, dtype=np.uint32) for e in t.encode_batch(texts, add_special_tokens=False)]


def write_tokens(docs, path, cfg: dict, *, total=None, desc="tokenize") -> tuple[int, bytes]:
    """Tokenize an iterable of texts into ``path`` (flat, dtype_for(vocab)); documents joined by the separator's
    tokens. Returns (tokens written, sha256 digest of the bytes)."""
    import hashlib
    from tqdm import tqdm
    enc, dt = encoder(cfg), dtype_for(vocab_size(cfg))
    sep = enc([cfg.get("doc_separator", "\n\n")])[0].astype(dt)
    batch = int(cfg.get("tokenize_batch") or 1000)
    h, n, first = hashlib.sha256(), 0, True
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    bar = tqdm(total=total, unit="doc", desc=desc, file=sys.stderr, mininterval=1.0 if sys.stderr.isatty() else 30.0)
    with open(tmp, "wb") as f:
        buf = []
        for text in _chain(docs, [None]):
            if text is not None:
                buf.append(text)
                if len(buf) < batch:
                    continue
            parts = []
            for arr in enc(buf):
                if not first:
                    parts.append(sep)
                parts.append(arr.astype(dt))
                first = False
            if parts:
                block = np.concatenate(parts).tobytes()
                f.write(block)
                h.update(block)
                n += len(block) // np.dtype(dt).itemsize
            bar.update(len(buf))
            buf = []
    bar.close()
    os.replace(tmp, path)
    return n, h.digest()


def _chain(*its):
    for it in its:
        yield from it
