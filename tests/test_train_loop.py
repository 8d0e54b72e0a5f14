"""The training function (flops_fit/train): budget, held-out loss, curve, divergence, gradient accumulation."""
import json
import sys

import pytest

import plugins.text as text
from flops_fit.io import atomic_write_json
from flops_fit.train import train

SEQ, BATCH = 32, 8


def make_spec(data_dir, *, steps=30, d=16, lr=3e-3, seed=0, data_plugin="plugins.text", **training):
    tr = {"batch_size": BATCH, "lr": lr, "min_lr_ratio": 0.1, "warmup_frac": 0.05, "weight_decay": 0.1,
          "betas": [0.9, 0.95], "grad_clip": 1.0, "precision": "auto", "eval_batches": 2, "eval_every": 0,
          "log_every": 5, "ckpt_every_steps": 200, "ckpt_every_minutes": 5.0, "keep_ckpt": False,
          "val_seed": 1234, "divergence_factor": 3.0, "num_processes": 1, **training}
    return {"id": f"d{d}-s{seed}", "mode": "real", "budget_flops": 1e9, "params": 0, "size": {"d_model": d},
            "flops_per_unit": 123.0, "unit": "tokens", "units_per_step": BATCH * SEQ, "steps": steps,
            "data_units": steps * BATCH * SEQ,
            "model": {"plugin": "plugins.gpt:GPT", "kwargs": {"n_layer": 1, "head_dim": 8, "vocab_size": 256, "seq_len": SEQ}},
            "data": {"plugin": data_plugin, "cfg": {"source": "stdlib", "seq_len": SEQ}, "key": "k", "dir": str(data_dir)},
            "loss": {"plugin": "plugins.losses:cross_entropy"}, "training": tr, "seed": seed}


@pytest.fixture(scope="session")
def pysource(tmp_path_factory):
    """The real offline corpus, prepared once (~0.3 s)."""
    d = tmp_path_factory.mktemp("pysource")
    atomic_write_json(d / "meta.json", text.prepare({"source": "stdlib", "seq_len": SEQ}, d))
    return d


# a data plugin that records which val batches the trainer evaluates on
SPY = '''
import hashlib
from plugins.text import *
from plugins import text as _t
SEEN = []
def loader(split, **kw):
    for b in _t.loader(split, **kw):
        if split == "val":
            SEEN.append(hashlib.sha256(b["tokens"].numpy().tobytes()).hexdigest())
        yield b
'''


class TestTrain:
    def test_token_budget_is_met_exactly(self, pysource, tmp_path):
        spec = make_spec(pysource, steps=23)
        m = train(spec, tmp_path, threads=1)
        assert m["status"] == "completed" and m["reason"] is None
        assert m["steps"] == 23 and m["data_units"] == spec["data_units"] == 23 * BATCH * SEQ
        assert m["flops_executed"] == 123.0 * spec["data_units"]
        assert m["global_batch"] == BATCH and m["precision"] == "fp32" and m["device"].startswith("cpu")
        assert 0 < m["final_loss"] < 5.6 and m["units_per_s"] > 0
        curve = [json.loads(l) for l in (tmp_path / "curve.jsonl").read_text().splitlines()]
        assert curve[-1]["step"] == 23 and curve[-1]["units"] == m["data_units"]
        assert curve[-1]["val_loss"] == m["final_loss"]
        assert sum("val_loss" in r for r in curve) >= 3  # about 4 eval points per run
        assert not (tmp_path / "ckpt").exists()  # removed after completion (keep_ckpt false)

    def test_val_loss_uses_the_same_batches_for_every_run(self, pysource, tmp_path, monkeypatch):
        (tmp_path / "spy_data.py").write_text(SPY)
        monkeypatch.syspath_prepend(str(tmp_path))
        import spy_data
        seen = []
        for d, seed in [(16, 0), (24, 7)]:
            spy_data.SEEN.clear()
            train(make_spec(pysource, steps=4, d=d, seed=seed, data_plugin="spy_data", eval_every=100),
                  tmp_path / f"r{d}", threads=1)
            seen.append(list(spy_data.SEEN))
        assert len(seen[0]) == 2 and seen[0] == seen[1]
        del sys.modules["spy_data"]

    def test_diverging_config_is_recorded_as_diverged(self, pysource, tmp_path):
        m = train(make_spec(pysource, steps=200, lr=30.0, grad_clip=0.0, warmup_frac=0.01), tmp_path, threads=1)
        assert m["status"] == "diverged", m
        assert m["steps"] < 200 and m["data_units"] == m["steps"] * BATCH * SEQ
        assert "loss" in m["reason"]
        last = json.loads((tmp_path / "curve.jsonl").read_text().splitlines()[-1])
        assert last["step"] == m["steps"]

    def test_micro_batches_reproduce_the_full_batch(self, pysource, tmp_path):
        full = train(make_spec(pysource, steps=6), tmp_path / "a", threads=1)
        micro = train(make_spec(pysource, steps=6, micro_batch_size=3), tmp_path / "b", threads=1)
        assert micro["data_units"] == full["data_units"]
        assert micro["final_loss"] == pytest.approx(full["final_loss"], abs=1e-4)
