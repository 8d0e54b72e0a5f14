"""Kills, locks and resumes: one live trainer per run folder, stop signals reach training, a killed
workflow's finished results are never retrained (docs/training.md "Signals", README "Troubleshooting")."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import snakemake
from flops_fit.runlock import RunLock, RunLocked
from flops_fit.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["preset=quick", "budgets.values=[1e17,1e18]", "planner.sizes=3", "analysis.include_near_edge=true"]


def _mock_spec(tmp_path):
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    return plan(load_config([*QUICK, f"results_dir={tmp_path}"]))["experiments"][0]


HOLDER = """
import json, sys, time
import flops_fit.mock as mock
real = mock.simulate
def slow(spec):
    open(sys.argv[3], "w").write("started")
    time.sleep(float(sys.argv[4]))
    return real(spec)
mock.simulate = slow
from flops_fit.runner import run_experiment
run_experiment(json.load(open(sys.argv[1])), sys.argv[2])
"""


def _start_holder(spec, run_dir, tmp_path, seconds):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    flag = tmp_path / "started"
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "spec.json"), str(run_dir), str(flag),
                          str(seconds)], cwd=ROOT)
    t0 = time.monotonic()
    while not flag.exists():
        assert p.poll() is None and time.monotonic() - t0 < 60
        time.sleep(0.02)
    return p


class TestRunLock:
    def test_second_trainer_skips_naming_the_holder(self, tmp_path):
        spec = _mock_spec(tmp_path)
        holder = _start_holder(spec, tmp_path / "run", tmp_path, 30)
        try:
            with pytest.raises(RunLocked, match=rf"being trained by PID {holder.pid} on {os.uname().nodename}"):
                run_experiment(spec, tmp_path / "run", wait=False)
        finally:
            holder.kill()
            holder.wait()

    def test_second_trainer_waits_then_keeps_the_first_ones_result(self, tmp_path, capfd):
        spec = _mock_spec(tmp_path)
        holder = _start_holder(spec, tmp_path / "run", tmp_path, 2)
        m = run_experiment(spec, tmp_path / "run", wait=True)
        assert holder.wait() == 0
        assert "waiting for it to finish" in capfd.readouterr().err
        assert m == json.loads((tmp_path / "run" / "metrics.json").read_text())  # the holder's, not retrained

    def test_lock_of_a_killed_process_is_stale(self, tmp_path, capfd):
        spec = _mock_spec(tmp_path)
        holder = _start_holder(spec, tmp_path / "run", tmp_path, 60)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert (tmp_path / "run" / ".lock").exists()  # left behind by kill -9
        m = run_experiment(spec, tmp_path / "run", wait=False)
        assert m["status"] == "completed" and "which is gone; taking it over" in capfd.readouterr().err
        assert not (tmp_path / "run" / ".lock").exists()

    def test_the_other_ranks_of_a_launch_do_not_wait_on_rank_0s_lock(self, tmp_path, monkeypatch):
        # accelerate launch / torchrun: rank 0 holds the folder's lock for the launch; rank 1 trains with it
        # (waiting would deadlock rank 0's first collective: the multi-process SIGTERM test hung on it)
        spec = _mock_spec(tmp_path)
        holder = _start_holder(spec, tmp_path / "run", tmp_path, 30)
        try:
            monkeypatch.setenv("RANK", "1")
            assert run_experiment(spec, tmp_path / "run", wait=False)["status"] == "completed"
            monkeypatch.setenv("RANK", "0")
            with pytest.raises(RunLocked):
                run_experiment(spec, tmp_path / "run", wait=False)
        finally:
            holder.kill()
            holder.wait()

    def test_record_fallback_detects_dead_pid(self, tmp_path):
        from flops_fit.runlock import is_stale
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        assert is_stale({"pid": dead.pid, "host": os.uname().nodename}, time.time())
        assert not is_stale({"pid": os.getpid(), "host": os.uname().nodename}, time.time())
        assert not is_stale({"pid": 1, "host": "elsewhere"}, time.time())          # fresh heartbeat
        assert is_stale({"pid": 1, "host": "elsewhere"}, time.time() - 3600)      # no heartbeat for an hour

    def test_ff_train_defers_a_locked_experiment_and_waits_for_it(self, tmp_path, capsys):
        from flops_fit.cli import train_main
        spec = _mock_spec(tmp_path)
        run_dir = tmp_path / "gpt-pysource-quick-mock" / "runs" / spec["id"]
        holder = _start_holder(spec, run_dir, tmp_path, 3)
        train_main([*QUICK, f"results_dir={tmp_path}"])
        err = capsys.readouterr().err
        assert holder.wait() == 0
        assert "coming back to it after the others" in err and f"[waited] {spec['id']}: completed" in err
        with RunLock(run_dir, wait=False):  # free again
            pass


FORWARD = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    from flops_fit.signals import forward_stop_signals
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))   # stands for Snakemake's own handler
    child = subprocess.Popen(["bash", "-c", "exec " + sys.executable + " -c 'import signal, sys, time\\n"
                              "signal.signal(signal.SIGTERM, lambda s, f: (open(sys.argv[1], \\"w\\").write(str(s)), sys.exit(0)))\\n"
                              "open(sys.argv[2], \\"w\\").write(\\"up\\")\\ntime.sleep(60)' " + sys.argv[1] + " " + sys.argv[2]])
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.02)
    forward_stop_signals()
    os.kill(os.getpid(), signal.SIGTERM)
    child.wait(timeout=30)
    print("previous handler ran" if got else "previous handler skipped")
""")


class TestSignals:
    def test_workflow_sigterm_is_passed_to_jobs_then_to_snakemake(self, tmp_path):
        r = subprocess.run([sys.executable, "-c", FORWARD, str(tmp_path / "got"), str(tmp_path / "up")],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "got").read_text() == str(int(signal.SIGTERM))
        assert "previous handler ran" in r.stdout and "passed to 1 job process" in r.stderr

    def test_kill_9_of_the_parent_stops_a_training_job_with_a_checkpoint(self, tmp_path):
        """PR_SET_PDEATHSIG: the orphan gets SIGTERM, checkpoints and exits; the rerun finishes it."""
        from test_train_loop import make_spec
        from plugins import text
        from flops_fit.io import atomic_write_json
        data = tmp_path / "data"
        atomic_write_json(data / "meta.json", text.prepare({"source": "stdlib", "seq_len": 32}, data))
        spec = make_spec(data, steps=400, d=16, log_every=1, ckpt_every_steps=1000)
        spec["config_hash"], spec["params"] = "cafe0002", 1000
        run = tmp_path / "run"
        parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                                   "subprocess.Popen(sys.argv[1:])\ntime.sleep(600)", sys.executable,
                                   str(ROOT / "scripts" / "train_run.py"), "--spec", json.dumps(spec), "--out", str(run),
                                   "--threads", "1"], cwd=ROOT, stderr=subprocess.DEVNULL)
        curve = run / "curve.jsonl"
        t0 = time.monotonic()
        while not (curve.exists() and curve.read_text().count("\n") >= 5):
            assert time.monotonic() - t0 < 120
            time.sleep(0.05)
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        while not (run / "ckpt" / "ckpt.json").exists():
            assert time.monotonic() - t0 < 60, "the orphaned job did not checkpoint after its parent died"
            time.sleep(0.05)
        lock = run / ".lock"
        while lock.exists():  # the orphan releases its run lock when it exits
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
        assert not (run / "metrics.json").exists()
        step = json.loads((run / "ckpt" / "ckpt.json").read_text())["step"]
        assert 0 < step < 400


@pytest.mark.slow  # a mock workflow killed and rerun
def test_killed_workflow_then_finished_runs_are_never_retrained(workflow_copy):
    """kill -9 of snakemake leaves incomplete markers; runs finished meanwhile (as by orphans) are kept by
    the forced jobs of the rerun (rerun-incomplete + update()), byte for byte."""
    cfg = ["--config", "preset=quick", "overrides=budgets.values=[1e17,1e18] planner.sizes=3 analysis.include_near_edge=true analysis.bootstrap=5"]
    p = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *cfg], cwd=workflow_copy,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    inc = workflow_copy / ".snakemake" / "incomplete"
    t0 = time.monotonic()
    while not (inc.is_dir() and any(inc.iterdir())):
        assert p.poll() is None and time.monotonic() - t0 < 300
        time.sleep(0.02)
    p.kill()
    p.wait()
    markers = len(list(inc.iterdir()))
    # the "orphans" finish their runs (ff-train, same plan) while no workflow runs
    r = subprocess.run([str(Path(sys.executable).parent / "ff-train"), "preset=quick", "budgets.values=[1e17,1e18]",
                        "planner.sizes=3", "analysis.include_near_edge=true"], cwd=workflow_copy, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    runs = sorted((workflow_copy / "results" / "gpt-pysource-quick-mock" / "runs").glob("*/metrics.json"))
    before = {m: m.read_bytes() for m in runs}
    out = snakemake(workflow_copy, "--cores", "2", *cfg)
    if out.returncode != 0 and "snakemake --unlock" in out.stdout:  # the stale lock: the printed command
        assert "flops-fit: error: a Snakemake lock from a run that was killed" in out.stdout
        snakemake(workflow_copy, "--unlock", "--cores", "2", *cfg)
        out = snakemake(workflow_copy, "--cores", "2", *cfg)
    assert out.returncode == 0, out.stdout[-3000:]
    assert markers >= 1
    assert {m: m.read_bytes() for m in runs} == before  # kept, not retrained
    assert (workflow_copy / "results" / "gpt-pysource-quick-mock" / "fits.json").is_file()
