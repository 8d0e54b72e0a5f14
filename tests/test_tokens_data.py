"""The token-file data plugin (plugins/tokens.py): nanoGPT .bin files of both dtypes and .npy, the vocabulary
read when the config is composed, deterministic batches, bit-equal resume, epochs in the plan, bad inputs."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plugins.tokens as tokens
from flops_fit.io import atomic_write_json
from flops_fit.train import train
from test_train_loop import make_spec

ROOT = Path(__file__).resolve().parents[1]
SEQ = 32


def _corpus(n, vocab, seed=0):
    """Token ids with structure (a noisy repeating pattern) so that a model can learn something."""
    rng = np.random.default_rng(seed)
    base = (np.arange(n) * 7) % (vocab - 1)
    return np.where(rng.random(n) < 0.1, rng.integers(0, vocab, n), base)


def write_files(folder, kind, vocab=300, n=40_000, meta=True):
    """train/val token files of one kind (uint16 / uint32 .bin, or .npy), with a meta.json for .bin."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arr = _corpus(n, vocab)
    if kind == "npy":
        np.save(folder / "train.npy", arr[: n - 4000].astype(np.uint32))
        np.save(folder / "val.npy", arr[n - 4000:].astype(np.uint32))
        return {"train": str(folder / "train.npy"), "val": str(folder / "val.npy"), "seq_len": SEQ, "vocab_size": vocab}
    arr.astype(kind)[: n - 4000].tofile(folder / "train.bin")
    arr.astype(kind)[n - 4000:].tofile(folder / "val.bin")
    if meta:
        (folder / "meta.json").write_text(json.dumps({"vocab_size": vocab, "dtype": kind}))
    return {"train": str(folder / "train.bin"), "val": str(folder / "val.bin"), "seq_len": SEQ}


def prepared(tmp_path, cfg):
    cfg = {**cfg, **tokens.config_facts(dict(cfg))}
    d = tmp_path / "prep"
    atomic_write_json(d / "meta.json", tokens.prepare(cfg, str(d)))
    return cfg, d


def spec_for(cfg, data_dir, **tr):
    s = make_spec(data_dir, data_plugin="plugins.tokens", **tr)
    s["data"]["cfg"] = cfg
    s["model"]["kwargs"]["vocab_size"] = cfg["vocab_size"]
    return s


class TestFiles:
    @pytest.mark.parametrize("kind", ["uint16", "uint32", "npy"])
    def test_each_format_reads_back_its_tokens_and_trains(self, tmp_path, kind):
        cfg, d = prepared(tmp_path, write_files(tmp_path / "src", kind))
        assert cfg["vocab_size"] == 300   # from meta.json (bin) or the config (npy)
        meta = json.loads((d / "meta.json").read_text())
        assert meta["train_tokens"] == 36_000 and meta["val_tokens"] == 4_000
        b = next(tokens.loader("train", cfg=cfg, meta=meta, data_dir=str(d), batch_size=4, seed=3))
        full = _corpus(40_000, 300)
        # every window is a real stretch of the file, and targets are tokens shifted by one
        for row, tgt in zip(b["tokens"].numpy(), b["targets"].numpy()):
            start = [i for i in range(36_000 - SEQ) if (full[i:i + SEQ] == row).all()]
            assert start and (full[start[0] + 1:start[0] + SEQ + 1] == tgt).all()
        m = train(spec_for(cfg, d, steps=12), tmp_path / "run", threads=1)
        assert m["status"] == "completed" and m["data_units"] == 12 * 8 * SEQ and m["final_loss"] < np.log(300)

    def test_batches_depend_only_on_seed_and_step(self, tmp_path):
        cfg, d = prepared(tmp_path, write_files(tmp_path / "src", "uint16"))
        meta = json.loads((d / "meta.json").read_text())
        it = tokens.loader("train", cfg=cfg, meta=meta, data_dir=str(d), batch_size=4, seed=5)
        first = [next(it)["tokens"] for _ in range(6)]
        later = next(tokens.loader("train", cfg=cfg, meta=meta, data_dir=str(d), batch_size=4, seed=5, start=4))
        assert (later["tokens"] == first[4]).all()
        other = next(tokens.loader("train", cfg=cfg, meta=meta, data_dir=str(d), batch_size=4, seed=6, start=4))
        assert not (other["tokens"] == first[4]).all()

    def test_held_out_tail_when_no_val_file(self, tmp_path):
        src = write_files(tmp_path / "src", "uint16")
        cfg, d = prepared(tmp_path, {**src, "val": None, "val_fraction": 0.1})
        meta = json.loads((d / "meta.json").read_text())
        assert meta["train_tokens"] == 32_400 and meta["val_tokens"] == 3_600 and meta["val_from"] == "tail 0.1"

    def test_nanogpt_meta_pkl_gives_the_vocabulary(self, tmp_path):
        import pickle
        src = write_files(tmp_path / "src", "uint16", meta=False)
        (tmp_path / "src" / "meta.pkl").write_bytes(pickle.dumps({"vocab_size": 300, "itos": {0: "a"}}))
        assert tokens.config_facts({**src, "dtype": "uint16"}) == {"vocab_size": 300}


class TestResume:
    def test_sigterm_then_rerun_is_bit_equal_to_the_uninterrupted_run(self, tmp_path):
        cfg, d = prepared(tmp_path, write_files(tmp_path / "src", "uint32"))
        ref = train(spec_for(cfg, d, steps=30, log_every=1), tmp_path / "ref", threads=1)

        class StopAt:   # the trainer's probe hook: a SIGTERM to ourselves after step 13
            def begin(self):
                pass

            def step(self, n):
                if n == 13:
                    os.kill(os.getpid(), signal.SIGTERM)

            def phase(self, name):
                import contextlib
                return contextlib.nullcontext()
        spec = spec_for(cfg, d, steps=30, log_every=1)
        with pytest.raises(SystemExit) as stop:
            train(spec, tmp_path / "run", threads=1, probe=StopAt())
        assert stop.value.code == 143 and (tmp_path / "run" / "ckpt" / "ckpt.json").is_file()
        m = train(spec, tmp_path / "run", threads=1)
        assert m["final_loss"] == ref["final_loss"]


def _plan(*overrides, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from flops_fit.cli import plan_main; plan_main()", *overrides],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


class TestPlan:
    def test_vocabulary_sizes_the_models_and_epochs_are_shown_and_warned(self, tmp_path):
        src = write_files(tmp_path / "src", "uint16", vocab=1000, n=60_000)
        common = ["dataset=tokens", f"dataset.train={src['train']}", f"dataset.val={src['val']}",
                  f"results_dir={tmp_path / 'res'}", "budgets.values=[3e11,1e12]", "planner.sizes=3",
                  "planner.min_steps=10", "dataset.seq_len=32", "analysis.include_near_edge=true"]
        r = _plan(*common, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        plan = json.loads((tmp_path / "res" / "gpt-tokens" / "plan.json").read_text())
        assert plan["experiments"][0]["model"]["kwargs"]["vocab_size"] == 1000
        assert "epochs" in r.stdout and "the training split's 56,000" in r.stdout
        worst = max(e["data_units"] for e in plan["experiments"]) / 56_000
        assert worst > 4 and f"up to {worst:.1f} epochs" in r.stderr and "warning:" in r.stderr  # a plan check


class TestBadInputs:
    """Each is one line naming the key or file, exit status 2."""

    @pytest.mark.parametrize("case, expect", [
        ("missing", "token file {src}/nope.bin not found; check dataset.train / dataset.val"),
        ("dtype", "dataset.dtype='int8' for {src}/train.bin: use uint16 or uint32"),
        ("odd", "{src}/odd.bin has 7 bytes, not a multiple of 2: not uint16 tokens"),
        ("empty", "token file {src}/empty.bin is empty"),
        ("novocab", "dataset.vocab_size is not set and no meta.json / meta.pkl beside"),
        ("short", "the val split, {src}/short.bin, has 10 tokens; need at least seq_len + 2 = 130"),
    ])
    def test_at_plan_time(self, tmp_path, case, expect):
        src = tmp_path / "src"
        files = write_files(src, "uint16")
        (src / "odd.bin").write_bytes(b"1234567")
        (src / "empty.bin").write_bytes(b"")
        np.arange(10, dtype=np.uint16).tofile(src / "short.bin")
        over = {"missing": [f"dataset.train={src}/nope.bin"], "dtype": ["dataset.dtype=int8"],
                "odd": [f"dataset.val={src}/odd.bin"], "empty": [f"dataset.val={src}/empty.bin"],
                "novocab": [], "short": [f"dataset.val={src}/short.bin"]}[case]
        if case == "novocab":
            (src / "meta.json").unlink()
            over = ["dataset.dtype=uint16"]
        args = ["dataset=tokens", f"dataset.train={files['train']}", f"dataset.val={files['val']}",
                f"results_dir={tmp_path / 'res'}", *over]
        if case == "missing":   # through the command line once: one line on stderr, exit 2
            r = _plan(*args, cwd=tmp_path)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1, r.stderr
            msg = lines[0]
        else:   # the same ConfigError in-process (what ff-* and the workflow print as one line)
            from flops_fit.config import ConfigError, load_config
            with pytest.raises(ConfigError) as e:
                load_config(args)
            msg = str(e.value)
            assert "\n" not in msg
        assert expect.format(src=src) in msg

    def test_vocab_smaller_than_the_largest_token_id_stops_preparation(self, tmp_path, capsys):
        """prepare_data as ff-train runs it (flops_fit.cli._run): one line on stderr, exit 2."""
        from flops_fit.cli import _run
        from flops_fit.stages import prepare_data
        src = write_files(tmp_path / "src", "uint16", vocab=300)
        with pytest.raises(SystemExit) as stop:
            _run(lambda: prepare_data("plugins.tokens", {**src, "vocab_size": 200}, tmp_path / "prep"))
        lines = capsys.readouterr().err.strip().splitlines()
        assert stop.value.code == 2 and len(lines) == 1
        assert f"{src['train']} holds token id 299 but dataset.vocab_size=200: set the tokenizer's" in lines[0]
        assert not (tmp_path / "prep" / "meta.json").exists()   # nothing half-prepared is taken for done
