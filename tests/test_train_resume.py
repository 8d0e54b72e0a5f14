"""Checkpoint/resume (flops_fit/train/checkpoint.py): a run killed with kill -9 or SIGTERM and rerun ends
with the same final val loss as an uninterrupted run (CPU, same seed, 1 thread: bit-identical)."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flops_fit.io import BadFile
from flops_fit.train import train
from test_train_loop import make_spec, pysource  # noqa: F401  (shared spec builder and corpus fixture)

STEPS = 120
CHILD = "import json, sys; from flops_fit.train import train; train(json.load(open(sys.argv[1])), sys.argv[2], threads=1)"
ROOT = Path(__file__).resolve().parents[1]


def _spec(data_dir, **tr):
    return make_spec(data_dir, steps=STEPS, d=16, log_every=1, **tr)


def _start(spec, run_dir):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    return subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir / "spec.json"), str(run_dir)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(cond, proc, timeout=60):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f"training ended before it could be interrupted: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.01)


def _curve_steps(run_dir):
    p = run_dir / "curve.jsonl"
    return [json.loads(l)["step"] for l in p.read_text().splitlines() if l.endswith("}")] if p.exists() else []


@pytest.fixture(scope="module")
def reference(pysource, tmp_path_factory):  # noqa: F811
    run = tmp_path_factory.mktemp("ref")
    return train(_spec(pysource), run, threads=1), run


class TestResume:
    def test_resume_after_kill_9_matches_the_uninterrupted_run(self, pysource, reference, tmp_path):  # noqa: F811
        spec = _spec(pysource, ckpt_every_steps=10)
        proc = _start(spec, tmp_path)
        ckpt_json = tmp_path / "ckpt" / "ckpt.json"
        _wait_for(lambda: ckpt_json.exists() and json.loads(ckpt_json.read_text())["step"] >= 20, proc)
        proc.kill()
        assert proc.wait() == -signal.SIGKILL
        saved = json.loads(ckpt_json.read_text())["step"]
        assert 20 <= saved < STEPS
        m = train(spec, tmp_path, threads=1)
        ref, ref_dir = reference
        assert m["status"] == "completed" and m["steps"] == STEPS and m["data_units"] == ref["data_units"]
        assert m["final_loss"] == ref["final_loss"]  # bit-identical on CPU
        assert _curve_steps(tmp_path) == _curve_steps(ref_dir)  # no duplicated or missing curve points
        assert not (tmp_path / "ckpt").exists()

    def test_sigterm_saves_a_checkpoint_exits_nonzero_and_resumes(self, pysource, reference, tmp_path):  # noqa: F811
        spec = _spec(pysource, ckpt_every_steps=0, ckpt_every_minutes=0)  # the only checkpoint: the signal's
        proc = _start(spec, tmp_path)
        _wait_for(lambda: len(_curve_steps(tmp_path)) >= 15, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert b"checkpoint saved" in proc.stderr.read()
        saved = json.loads((tmp_path / "ckpt" / "ckpt.json").read_text())["step"]
        assert 15 <= saved < STEPS
        m = train(spec, tmp_path, threads=1)
        assert m["status"] == "completed" and m["final_loss"] == reference[0]["final_loss"]
        assert _curve_steps(tmp_path) == _curve_steps(reference[1])

    def test_checkpoint_of_another_experiment_is_refused(self, pysource, tmp_path):  # noqa: F811
        spec = _spec(pysource, keep_ckpt=True)
        spec["steps"] = 12
        train({**spec, "training": {**spec["training"], "ckpt_every_steps": 5}}, tmp_path, threads=1)
        assert json.loads((tmp_path / "ckpt" / "ckpt.json").read_text())["step"] == 12  # the final model is kept
        with pytest.raises(BadFile, match="different experiment"):
            train({**spec, "seed": 1}, tmp_path, threads=1)
