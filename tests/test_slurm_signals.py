"""The SIGTERM path of a training job without Slurm: the rule's shell execs the launcher, and a SIGTERM
to that one process (what Slurm, scancel or Snakemake deliver to a job) makes `accelerate launch`'s two
training processes save a checkpoint and exit; the two processes get one thread each under --cores 2."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("port29500")]  # launchers share the default port

TINY = ["budgets.values=[4e9,8e9]", "planner.sizes=3", "analysis.include_near_edge=true", "planner.spread=2", "planner.min_steps=50",
        "model.kwargs.n_layer=1", "dataset.seq_len=32", "training.batch_size=8", "training.ckpt_every_steps=50"]


def _procs():
    """(pid, argv as bytes) of every process (psutil)."""
    for p in psutil.process_iter(["cmdline"]):
        yield p.pid, [a.encode() for a in p.info["cmdline"] or []] or [b""]


def _ppid(pid):
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def test_sigterm_to_the_jobs_launcher_checkpoints_both_processes(workflow_copy, tmp_path):
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    cfg = load_config([*TINY, "training.num_processes=2", f"results_dir={tmp_path}"])
    target = max((e for e in plan(cfg)["experiments"] if e["budget_flops"] == 4e9), key=lambda e: e["steps"])
    run = tmp_path / "gpt-pysource" / "runs" / target["id"]
    train_log = tmp_path / "gpt-pysource" / "logs" / "train" / f"{target['id']}.log"
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", str(run / "metrics.json"), "--config",
                             "overrides=" + " ".join(TINY) + " training.num_processes=2", f"results_dir={tmp_path}"],
                            cwd=workflow_copy, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        launcher, deadline = None, time.time() + 240
        while time.time() < deadline and proc.poll() is None and launcher is None:
            if (run / "ckpt" / "ckpt.json").is_file():
                for pid, argv in _procs():
                    if b"launch" in argv and any(a.endswith(b"accelerate") for a in argv) and \
                            any(target["id"].encode() in a for a in argv):
                        launcher = pid
            time.sleep(0.1)
        if not launcher:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no checkpoint with its launcher within 240 s:\n" + proc.communicate()[0][-2000:] +
                        (train_log.read_text()[-2000:] if train_log.is_file() else ""))
        ps = dict(_procs())
        assert b"bash" not in ps.get(_ppid(launcher), [b""])[0]  # exec: no shell between Snakemake and the launcher
        workers = [pid for pid, argv in ps.items() if _ppid(pid) == launcher and any(b"train_run.py" in a for a in argv)]
        assert len(workers) == 2
        for pid in workers:  # threads = processes x 1 = --cores 2: one torch thread each
            assert ps[pid][ps[pid].index(b"--threads") + 1] == b"1"
        os.kill(launcher, signal.SIGTERM)
        out = proc.communicate(timeout=180)[0]
        assert proc.returncode != 0 and not (run / "metrics.json").exists(), out[-2000:]
        log = train_log.read_text()
        assert "signal 15: checkpoint saved at step" in log, log[-3000:]
        step = json.loads((run / "ckpt" / "ckpt.json").read_text())["step"]
        assert 0 < step < target["steps"]
    finally:  # a failed or hung run must not outlive the test (it would load the rest of the suite)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
