"""Real tokenizers and local Hugging Face datasets in the text plugin (plugins/text.py, tokenize.py, hf_local.py):
a BPE tokenizer trained here and saved as tokenizer.json, a datasets.save_to_disk folder, TinyStories from a
local copy offline, and one line for each bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plugins.text as text
from flops_fit.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
STORIES = [f"Once upon a time, {name} found a {thing} in the park. {name} was happy and played all day."
           for name in ("Lily", "Tom", "Sue", "Max", "Ben") for thing in ("ball", "cat", "red kite", "box")] * 3


def bpe(path, texts=STORIES, vocab=300):
    """A byte-level BPE tokenizer trained on texts, saved as a tokenizer.json."""
    tk = pytest.importorskip("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    tok.train_from_iterator(texts, tk.trainers.BpeTrainer(vocab_size=vocab, initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(path))
    return tok


def save_to_disk(path, splits=("train", "validation")):
    datasets = pytest.importorskip("datasets")
    n = len(STORIES)
    rows = {"train": STORIES[: n - 10], "validation": STORIES[n - 10:]}
    datasets.DatasetDict({s: datasets.Dataset.from_dict({"text": rows[s], "id": list(range(len(rows[s])))})
                          for s in splits}).save_to_disk(str(path))
    return rows


class TestTokenizer:
    def test_bpe_tokenizer_json_tokenizes_in_prepare_and_round_trips(self, tmp_path):
        tok = bpe(tmp_path / "tokenizer.json")
        src = tmp_path / "stories.jsonl"
        src.write_text("".join(json.dumps({"text": s}) + "\n" for s in STORIES))
        cfg = {"source": "files", "paths": [str(src)], "seq_len": 16, "val_every": 10,
               "tokenizer": str(tmp_path / "tokenizer.json"), "vocab_size": 256}
        cfg.update(text.config_facts(cfg))
        assert cfg["vocab_size"] == tok.get_vocab_size() == 300
        meta = text.prepare(cfg, tmp_path / "data")
        assert meta["vocab_size"] == 300 and meta["dtype"] == "uint16"
        train = np.fromfile(tmp_path / "data" / "train.bin", dtype=np.uint16)
        assert len(train) == meta["train_tokens"] < sum(len(s) for s in STORIES) // 2   # BPE merges: far fewer than bytes
        train_docs = [s for i, s in enumerate(STORIES) if i % 10 != 9]
        assert tok.decode(train.tolist()) == "\n\n".join(train_docs)
        atomic_write_json(tmp_path / "data" / "meta.json", meta)
        b = next(text.loader("train", cfg=cfg, meta=meta, data_dir=str(tmp_path / "data"), batch_size=2, seed=0))
        assert b["tokens"].max() < 300 and b["tokens"].shape == (2, 16)


class TestHFDisk:
    def test_save_to_disk_folder_keeps_its_splits(self, tmp_path):
        rows = save_to_disk(tmp_path / "ds")
        cfg = {"source": "hf_disk", "hf_path": str(tmp_path / "ds"), "seq_len": 16, "hf_val_split": "validation"}
        meta = text.prepare(cfg, tmp_path / "data")
        val = np.fromfile(tmp_path / "data" / "val.bin", dtype=np.uint16)
        assert text.decode(val) == "\n\n".join(rows["validation"])
        assert meta["train_tokens"] == len("\n\n".join(rows["train"]).encode())

    def test_arrow_shard_and_single_split_hold_out_every_kth_row(self, tmp_path):
        save_to_disk(tmp_path / "ds", splits=("train",))
        shard = next((tmp_path / "ds" / "train").glob("*.arrow"))
        cfg = {"source": "hf_disk", "hf_path": str(shard), "seq_len": 16, "val_every": 5}
        text.prepare(cfg, tmp_path / "data")
        val = text.decode(np.fromfile(tmp_path / "data" / "val.bin", dtype=np.uint16))
        assert val == "\n\n".join(s for i, s in enumerate(STORIES[:-10]) if i % 5 == 4)


def _cli(name, *overrides, cwd, env=None):
    code = f"from flops_fit.cli import {name}; {name}()"
    return subprocess.run([sys.executable, "-c", code, *overrides], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=300)


class TestHubLayoutOffline:
    def test_a_copy_of_the_hub_repository_keeps_its_splits_offline(self, tmp_path, monkeypatch):
        """source hf with hf_path = a local folder laid out as roneneldan/TinyStories (data/*train*, *validation*)."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        (tmp_path / "TinyStories" / "data").mkdir(parents=True)
        pq.write_table(pa.table({"text": STORIES[:-10]}), tmp_path / "TinyStories/data/train-00000-of-00001.parquet")
        pq.write_table(pa.table({"text": STORIES[-10:]}), tmp_path / "TinyStories/data/validation-00000-of-00001.parquet")
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
        cfg = {"source": "hf", "hf_path": str(tmp_path / "TinyStories"), "seq_len": 16}
        text.prepare(cfg, tmp_path / "data")
        val = text.decode(np.fromfile(tmp_path / "data" / "val.bin", dtype=np.uint16))
        assert val == "\n\n".join(STORIES[-10:])


class TestTinyStoriesOffline:
    def test_local_copy_with_a_bpe_tokenizer_plans_and_prepares_offline(self, tmp_path):
        save_to_disk(tmp_path / "TinyStories")
        bpe(tmp_path / "tokenizer.json")
        over = ["dataset=tinystories", f"dataset.hf_path={tmp_path / 'TinyStories'}",
                f"+dataset.tokenizer={tmp_path / 'tokenizer.json'}", "dataset.seq_len=16", f"results_dir={tmp_path / 'r'}"]
        from flops_fit.config import load_config
        from flops_fit.plan import data_dir
        from flops_fit.stages import prepare_data
        os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
        try:
            cfg = load_config(over)
            assert cfg["dataset"]["vocab_size"] == 300 and cfg["model"]["kwargs"]["vocab_size"] == 300
            meta = prepare_data(cfg["dataset"]["plugin"], cfg["dataset"], data_dir(cfg))
        finally:
            del os.environ["HF_HUB_OFFLINE"], os.environ["HF_DATASETS_OFFLINE"]
        assert meta["vocab_size"] == 300 and meta["val_tokens"] > 16

    @pytest.mark.parametrize("case, expect", [
        ("tokenizer", "dataset.tokenizer='wordpiece': no such file; use byte, or the path of a tokenizer.json"),
        ("hf_path", "dataset.hf_path='/nowhere/TinyStories': no such folder; give the folder of a local copy"),
        ("small_vocab", "dataset.vocab_size=260 is smaller than the tokenizer's 300 tokens"),
    ])
    def test_bad_input_is_one_line(self, tmp_path, case, expect):
        bpe(tmp_path / "tokenizer.json")
        over = {"tokenizer": ["dataset=textfiles", "+dataset.tokenizer=wordpiece"],
                "hf_path": ["dataset=tinystories", "dataset.hf_path=/nowhere/TinyStories"],
                "small_vocab": ["dataset=textfiles", f"+dataset.tokenizer={tmp_path / 'tokenizer.json'}",
                                "dataset.vocab_size=260"]}[case]
        r = _cli("plan_main", *over, f"results_dir={tmp_path / 'r'}",
                 cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"})
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and expect in lines[0], r.stderr
