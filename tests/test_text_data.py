"""The byte-level text data plugin (plugins/text.py): preparation, tokenizer, deterministic loader."""
import json
import time

import numpy as np
import pytest
import torch

import plugins.text as text

STORIES = [
    "Once upon a time, there was a little girl named Lily. She loved to play outside.",
    "Tom had a red ball. He said, \u201cLet\u2019s play!\u201d The sun was warm and caf\u00e9s were open.",
    "One day, a big dog came to the park.\nThe dog was happy. \U0001F436 The end.",
] * 20


def _write(path, fmt):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": s}) + "\n" for s in STORIES), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.table({"text": STORIES}), path)
    return path


class TestPrepare:
    @pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
    def test_byte_tokenizer_round_trips_tinystories_format(self, tmp_path, fmt):
        src = _write(tmp_path / f"stories.{fmt}", fmt)
        cfg = {"source": "files", "paths": [str(src)], "seq_len": 16, "val_every": 10}
        meta = text.prepare(cfg, tmp_path / "data")
        train = np.fromfile(tmp_path / "data" / "train.bin", dtype=np.uint16)
        val = np.fromfile(tmp_path / "data" / "val.bin", dtype=np.uint16)
        val_docs = [s for i, s in enumerate(STORIES) if i % 10 == 9]
        train_docs = [s for i, s in enumerate(STORIES) if i % 10 != 9]
        assert text.decode(train) == "\n\n".join(train_docs)
        assert text.decode(val) == "\n\n".join(val_docs)
        for s in STORIES[:3]:
            assert text.decode(text.encode(s)) == s
        assert meta["vocab_size"] == 256 and meta["tokenizer"] == "bytes"
        assert (meta["train_tokens"], meta["val_tokens"]) == (train.size, val.size)
        assert meta["fingerprint"].startswith("sha256:")

    def test_fingerprint_changes_with_the_text(self, tmp_path):
        a = tmp_path / "a.txt"
        a.write_text("hello world " * 100)
        cfg = {"source": "files", "paths": [str(a)], "seq_len": 16}
        f1 = text.prepare(cfg, tmp_path / "d1")["fingerprint"]
        a.write_text("hello world " * 99 + "hello there ")
        assert text.prepare(cfg, tmp_path / "d2")["fingerprint"] != f1

    def test_single_text_file_holds_out_its_tail(self, tmp_path):
        a = tmp_path / "a.txt"
        a.write_text("".join(f"line {i}\n" for i in range(500)))
        meta = text.prepare({"source": "files", "paths": [str(a)], "seq_len": 16, "val_every": 20}, tmp_path / "d")
        assert meta["val_tokens"] > 0 and meta["train_tokens"] + meta["val_tokens"] == len(a.read_bytes())

    def test_stdlib_corpus_is_real_python_without_tests(self, tmp_path):
        lib = tmp_path / "lib"
        for rel in ["os.py", "json/__init__.py", "test/test_x.py", "idlelib/a.py", "site-packages/p.py"]:
            (lib / rel).parent.mkdir(parents=True, exist_ok=True)
            (lib / rel).write_text(f"# {rel}\n" * 10)
        meta = text.prepare({"source": "stdlib", "stdlib_dir": str(lib), "seq_len": 8, "val_every": 2}, tmp_path / "d")
        body = "".join(text.decode(np.fromfile(tmp_path / "d" / f"{s}.bin", dtype=np.uint16)) for s in ("train", "val"))
        assert "json/__init__.py" in body and "os.py" in body
        assert "test_x" not in body and "idlelib" not in body and "site-packages" not in body
        assert meta["train_docs"] == meta["val_docs"] == 1

    def test_hub_offline_fails_within_seconds(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="HF_DATASETS_OFFLINE"):
            text.prepare({"source": "hf", "hf_path": "roneneldan/TinyStories", "seq_len": 256}, tmp_path)
        assert time.monotonic() - t0 < 5


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("txt")
    (d / "a.txt").write_text("".join(f"The number {i} is {'even' if i % 2 == 0 else 'odd'}.\n" for i in range(3000)))
    cfg = {"source": "files", "paths": [str(d / "a.txt")], "seq_len": 32}
    return cfg, text.prepare(cfg, d / "out"), str(d / "out")


class TestLoader:

    def _take(self, data, n, seed=0, start=0, split="train"):
        cfg, meta, d = data
        it = text.loader(split, cfg=cfg, meta=meta, data_dir=d, batch_size=4, seed=seed, start=start)
        return [next(it) for _ in range(n)]

    def test_batch_depends_only_on_seed_and_index(self, data):
        a, b = self._take(data, 5), self._take(data, 5)
        for x, y in zip(a, b):
            assert torch.equal(x["tokens"], y["tokens"])
        resumed = self._take(data, 2, start=3)
        assert torch.equal(resumed[0]["tokens"], a[3]["tokens"]) and torch.equal(resumed[1]["tokens"], a[4]["tokens"])
        assert not torch.equal(self._take(data, 1, seed=1)[0]["tokens"], a[0]["tokens"])

    def test_targets_are_tokens_shifted_by_one(self, data):
        b = self._take(data, 1)[0]
        assert b["tokens"].dtype == torch.int64 and b["tokens"].shape == (4, 32)
        assert torch.equal(b["tokens"][:, 1:], b["targets"][:, :-1])
        assert text.units(b) == 4 * 32

    def test_example_batch_has_the_loader_shapes(self, data):
        b = text.example_batch(data[0], 3)
        assert b["tokens"].shape == b["targets"].shape == (3, 32)
