"""Batches per second of the token-file loader (plugins/tokens.py) against the text plugin's (plugins/text.py),
on the same prepared corpus, as interleaved A/B rounds in one process (only the ratio means much on a shared CPU).

    python benchmarks/loader_speed.py [--rounds 5] [--batches 2000] [--batch-size 16] [--seq-len 128]

The corpus is the stdlib sources tokenized by the text plugin (uint16 train.bin); the token-file loader reads that
same train.bin, and a uint32 copy of it. Defaults: the quickstart's batch (16 sequences of 128 tokens).
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import plugins.text as text
import plugins.tokens as tokens


def rate(it, n):
    t = time.perf_counter()
    for _ in range(n):
        next(it)
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        meta = text.prepare({"source": "stdlib", "seq_len": a.seq_len}, d / "text")
        np.fromfile(d / "text" / "train.bin", dtype=np.uint16).astype(np.uint32).tofile(d / "train32.bin")
        cfgs = {"tokens uint16": {"train": str(d / "text" / "train.bin"), "val": str(d / "text" / "val.bin"),
                                  "dtype": "uint16", "vocab_size": 256, "seq_len": a.seq_len},
                "tokens uint32": {"train": str(d / "train32.bin"), "val": str(d / "text" / "val.bin"),
                                  "dtype": "uint32", "vocab_size": 256, "seq_len": a.seq_len}}
        cfgs["tokens uint32"]["val"] = cfgs["tokens uint32"]["train"]
        loaders = {"text": lambda s: text.loader("train", cfg={"seq_len": a.seq_len}, meta=meta,
                                                 data_dir=str(d / "text"), batch_size=a.batch_size, seed=s)}
        for name, cfg in cfgs.items():
            loaders[name] = (lambda c: lambda s: tokens.loader("train", cfg=c, meta={}, data_dir=tmp,
                                                               batch_size=a.batch_size, seed=s))(cfg)
        for k in loaders:   # warm-up: page the files in and build the memmaps (not timed)
            rate(loaders[k](99), 200)
        got = {k: [] for k in loaders}
        for r in range(a.rounds):
            order = list(loaders) if r % 2 == 0 else list(reversed(loaders))
            for k in order:
                got[k].append(rate(loaders[k](r), a.batches))
        print(f"batch {a.batch_size} x seq {a.seq_len}, {a.batches} batches x {a.rounds} interleaved rounds "
              f"({meta['train_tokens']:,} train tokens)")
        for k, v in got.items():
            ratios = [x / t for x, t in zip(v, got["text"])]
            print(f"{k:<14} median {statistics.median(v):>8,.0f} batches/s   ratio to text: median "
                  f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
