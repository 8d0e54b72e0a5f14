"""Experiment trackers (flops_fit/trackers.py): TensorBoard event files per run read back, a resumed run
appending to its own, W&B offline, the id unchanged by log_with, a missing tracker package in one line."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flops_fit.train import train
from test_tokens_data import prepared, spec_for, write_files

ROOT = Path(__file__).resolve().parents[1]
SCALARS = {"train_loss", "val_loss", "lr", "tokens", "tokens_per_s"}


def read_scalars(folder) -> dict:
    """{tag: [(step, value), ...]} from every event file of a TensorBoard run folder (as TensorBoard reads it)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


class _StopAt:
    def __init__(self, at):
        self.at = at

    def begin(self):
        pass

    def step(self, n):
        if n == self.at:
            os.kill(os.getpid(), signal.SIGTERM)

    def phase(self, name):
        return contextlib.nullcontext()


@pytest.fixture
def data(tmp_path):
    return prepared(tmp_path, write_files(tmp_path / "src", "uint16"))


class TestTensorBoard:
    def test_resumed_run_appends_to_its_event_files(self, tmp_path, data):
        pytest.importorskip("tensorboard")
        cfg, d = data
        spec = {**spec_for(cfg, d, steps=30, log_every=2, log_with=["tensorboard"]), "sweep": "sw"}
        run = tmp_path / "sw" / "runs" / spec["id"]
        with pytest.raises(SystemExit):
            train(spec, run, threads=1, probe=_StopAt(15))   # checkpoint at 15; steps 2..14 logged
        tb = tmp_path / "sw" / "tensorboard" / spec["id"]
        before = set(tb.glob("events.out.tfevents.*"))
        m = train(spec, run, threads=1)
        assert before and set(tb.glob("events.out.tfevents.*")) > before   # appended, in the same run folder
        assert not [p for p in tb.iterdir() if p.is_dir()]   # one TensorBoard run per experiment (hparams inside)
        s = read_scalars(tb)
        assert SCALARS <= set(s) and "final/final_loss" in s
        curve = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines()]
        assert [st for st, _ in s["train_loss"]] == [r["step"] for r in curve]   # each point once, in order
        assert [v for _, v in s["train_loss"]] == pytest.approx([r["train_loss"] for r in curve], rel=1e-6)
        assert s["val_loss"][-1] == (30, pytest.approx(m["final_loss"], rel=1e-6))
        assert s["tokens"][-1][1] == m["data_units"]
        assert s["lr"][0][1] > s["lr"][-1][1] > 0   # warmup then cosine to the floor

    def test_off_by_default_writes_nothing(self, tmp_path, data):
        cfg, d = data
        spec = {**spec_for(cfg, d, steps=5), "sweep": "sw"}
        train(spec, tmp_path / "sw" / "runs" / spec["id"], threads=1)
        assert not (tmp_path / "sw" / "tensorboard").exists()


class TestWandB:
    def test_offline_run_is_written_under_the_sweep(self, tmp_path, data, monkeypatch):
        wandb = pytest.importorskip("wandb", reason="W&B is optional: pip install 'flops-fit[trackers]'")
        monkeypatch.setenv("WANDB_MODE", "offline")
        monkeypatch.setenv("WANDB_SILENT", "true")
        cfg, d = data
        spec = {**spec_for(cfg, d, steps=8, log_every=2, log_with=["wandb"]), "sweep": "sw"}
        run = tmp_path / "sw" / "runs" / spec["id"]
        with pytest.raises(SystemExit):
            train(spec, run, threads=1, probe=_StopAt(4))
        wandb.finish()   # what the stopped process's exit does (W&B's own atexit)
        m = train(spec, run, threads=1)   # resumed: the same W&B run id (resume="allow"); `wandb sync` joins them
        runs = sorted((tmp_path / "sw" / "wandb").glob("offline-run-*"))
        assert len(runs) == 2 and all(f"-{spec['id']}" in r.name for r in runs) and m["status"] == "completed"
        log, t0 = b"", time.monotonic()
        while b"final/final_loss" not in log and time.monotonic() - t0 < 20:   # W&B's service writes it shortly after
            time.sleep(0.2)
            log = (runs[-1] / f"run-{spec['id']}.wandb").read_bytes()   # the resumed segment's records, for `wandb sync`
        for key in (b"train_loss", b"val_loss", b"tokens_per_s", b"final/final_loss", b"budget_flops", b"sw"):
            assert key in log, key


def _plan(*overrides, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from flops_fit.cli import plan_main; plan_main()", *overrides],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


class TestConfig:
    def test_log_with_stays_out_of_the_experiment_ids(self, tmp_path):
        from flops_fit.config import load_config
        from flops_fit.plan import plan
        from flops_fit.stages import split_spec
        plans = [plan(load_config(["preset=quickstart", f"results_dir={tmp_path}", *extra]))
                 for extra in ([], ["training.log_with=[tensorboard]"])]
        assert [e["id"] for e in plans[0]["experiments"]] == [e["id"] for e in plans[1]["experiments"]]
        core, runtime = split_spec(plans[1]["experiments"][0])
        assert "log_with" not in core["training"] and runtime["log_with"] == ["tensorboard"]

    def test_unknown_or_missing_tracker_is_one_line(self, tmp_path):
        r = _plan("training.log_with=[tensorbord]", f"results_dir={tmp_path}", cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
        assert "training.log_with: unknown tracker 'tensorbord' (choose from tensorboard, wandb" in r.stderr
        pytest.importorskip("tensorboard")
        import importlib.util
        if importlib.util.find_spec("mlflow") is None:
            r = _plan("training.log_with=[mlflow]", f"results_dir={tmp_path}", cwd=tmp_path)
            assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
            assert "training.log_with: mlflow needs the 'mlflow' package, which is not installed: pip install mlflow" \
                in r.stderr


SWEEP = ["dataset=tokens", "dataset.seq_len=32", "budgets.values=[3e9,1e10]", "planner.sizes=3", "planner.min_steps=20",
         "planner.tokens_per_param=4", "planner.spread=3", "training.batch_size=8", "model.kwargs.n_layer=1"]


@pytest.mark.slow
def test_tiny_sweep_on_token_files_logs_every_run_to_tensorboard(tmp_path):
    """ff-train over 2 budgets x 3 sizes on uint32 token files (~10 s): one TensorBoard run per experiment."""
    pytest.importorskip("tensorboard")
    src = write_files(tmp_path / "src", "uint32", n=200_000)
    r = subprocess.run([sys.executable, "-c", "from flops_fit.cli import train_main; train_main()", *SWEEP,
                        f"dataset.train={src['train']}", f"dataset.val={src['val']}", f"results_dir={tmp_path / 'r'}",
                        "training.log_with=[tensorboard]", "--threads", "1"], cwd=tmp_path, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    sweep = tmp_path / "r" / "gpt-tokens"
    ids = sorted(p.name for p in (sweep / "runs").iterdir())
    assert len(ids) == 6 and sorted(p.name for p in (sweep / "tensorboard").iterdir()) == ids
    for exp in ids:
        m = json.loads((sweep / "runs" / exp / "metrics.json").read_text())
        s = read_scalars(sweep / "tensorboard" / exp)
        assert SCALARS <= set(s), (exp, sorted(s))
        assert s["tokens"][-1] == (m["steps"], m["data_units"])
        assert s["val_loss"][-1][1] == pytest.approx(m["final_loss"], rel=1e-6)
