"""Device slots (flops_fit.slots): a device per run on one machine, k runs per device, freed by the kernel."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO

# a job: records the devices it was given and the time it held them, then holds them `hold` seconds more
CHILD = ("import json, os, sys, time; t0 = time.time(); time.sleep(float(sys.argv[2])); "
         "json.dump({'dev': os.environ.get('CUDA_VISIBLE_DEVICES'), 't0': t0, 't1': time.time()}, "
         "open(sys.argv[1], 'w'))")


def job(out, hold, cvd, *, runs_per_gpu=1, devices=1, extra_env=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(extra_env or {}))
    if cvd is None:
        env.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        env["CUDA_VISIBLE_DEVICES"] = cvd
    return subprocess.Popen([sys.executable, "-m", "flops_fit.slots", "--runs-per-gpu", str(runs_per_gpu),
                             "--devices", str(devices), "--", sys.executable, "-c", CHILD, str(out), str(hold)],
                            env=env, stderr=subprocess.PIPE, text=True)


def run_jobs(tmp_path, n, hold, cvd, **kw) -> list:
    procs = [job(tmp_path / f"job{i}.json", hold, cvd, **kw) for i in range(n)]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    return [json.loads((tmp_path / f"job{i}.json").read_text()) for i in range(n)]


def max_per_device(recs) -> int:
    """The most jobs that held one device at the same moment (each record's interval lies inside its hold)."""
    worst = 0
    for r in recs:
        for dev in r["dev"].split(","):
            worst = max(worst, sum(1 for o in recs if dev in o["dev"].split(",") and o["t0"] <= r["t0"] < o["t1"]))
    return worst


class TestSlots:
    def test_eight_concurrent_jobs_get_eight_distinct_devices(self, tmp_path):
        recs = run_jobs(tmp_path, 8, 1.5, "0,1,2,3,4,5,6,7")
        assert sorted(r["dev"] for r in recs) == [str(i) for i in range(8)]
        assert max_per_device(recs) == 1

    def test_runs_per_gpu_two_puts_at_most_two_runs_on_a_device(self, tmp_path):
        recs = run_jobs(tmp_path, 6, 0.8, "0,1", runs_per_gpu=2)
        assert max_per_device(recs) == 2  # two share a device, never three
        assert {r["dev"] for r in recs} == {"0", "1"}

    def test_num_processes_two_takes_two_distinct_devices(self, tmp_path):
        recs = run_jobs(tmp_path, 2, 1.0, "0,1,2,3", devices=2)
        sets = [set(r["dev"].split(",")) for r in recs]
        assert all(len(s) == 2 for s in sets) and not sets[0] & sets[1]

    def test_sigkill_of_a_job_frees_its_slot_at_once(self, tmp_path):
        holder = job(tmp_path / "a.json", 60, "0")
        time.sleep(1.0)  # it holds device 0 (and sleeps inside the child)
        waiter = job(tmp_path / "b.json", 0, "0")
        time.sleep(1.0)
        assert waiter.poll() is None  # waiting: the only slot is held
        os.kill(holder.pid, signal.SIGKILL)  # the launcher's PID is the job's: the lock dies with it
        t = time.time()
        assert waiter.wait(timeout=10) == 0
        assert time.time() - t < 5
        err = waiter.stderr.read()
        assert "waiting for 1 free device slot(s)" in err and "(0) x 1 run(s) each" in err, err
        holder.wait()

    def test_too_many_processes_for_the_visible_devices_is_one_line(self, tmp_path):
        p = job(tmp_path / "x.json", 0, "0,1", devices=3)
        assert p.wait(timeout=30) == 2
        err = p.stderr.read().strip()
        assert err.startswith("flops-fit: error: training.num_processes=3 needs 3 devices") and "\n" not in err

    @pytest.mark.parametrize("env", [{"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"},
                                     {"CUDA_VISIBLE_DEVICES": "3,5", "SLURM_JOB_ID": "42"}])
    def test_nothing_to_allocate_execs_straight_through(self, tmp_path, env):
        cvd = env.pop("CUDA_VISIBLE_DEVICES")
        blocker = job(tmp_path / "a.json", 5, "3", extra_env={})  # holds device 3: a Slurm job must not care
        time.sleep(0.5)
        t = time.time()
        p = job(tmp_path / "b.json", 0, cvd, extra_env=env)
        assert p.wait(timeout=30) == 0 and time.time() - t < 4
        assert json.loads((tmp_path / "b.json").read_text())["dev"] == cvd  # unchanged: the allocation's own
        blocker.kill()
        blocker.wait()


def test_visible_devices_come_from_the_string_not_torch():
    from flops_fit.slots import visible_devices
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "0, 1,GPU-ab12"}) == ["0", "1", "GPU-ab12"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    # it runs before every job: the standard library only
    out = subprocess.run([sys.executable, "-c", "import sys, flops_fit.slots; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('torch', 'numpy', 'pandas')))"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_two_workflows_at_once_never_share_a_slot(workflow_copy, tmp_path):
    """Two mock sweeps on the same two devices, started together: no two runs hold one device at once."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="0,1")
    args = ["--cores", "2", "--resources", "gpu=2", "--config", "preset=mock", "planner__sizes=3",
            "budgets__values=[1e17,1e18]", "analysis__include_near_edge=true"]
    procs = [subprocess.Popen([sys.executable, "-m", "snakemake", *args, f"results_dir={tmp_path / str(i)}"],
                              cwd=workflow_copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for i in range(2)]
    for p in procs:
        out = p.communicate(timeout=300)[0]
        assert p.returncode == 0, out[-3000:]
    from datetime import datetime
    recs = []
    for path in tmp_path.glob("*/*/runs/*/metrics.json"):
        m = json.loads(path.read_text())
        recs.append({"dev": m["visible_devices"], "t0": datetime.fromisoformat(m["started"]).timestamp(),
                     "t1": datetime.fromisoformat(m["finished"]).timestamp()})
    assert len(recs) == 12 and {r["dev"] for r in recs} <= {"0", "1"}
    assert max_per_device(recs) == 1


@pytest.mark.slow  # two plans, the first measuring the model sizes (~5 s quiet, ~20 s at load 7)
def test_the_new_keys_leave_an_existing_sweeps_ids_unchanged(tmp_path):
    """runs_per_gpu and the checkpoint cadence are bookkeeping: the ids of a sweep planned before they existed
    (ids recorded from the default mock sweep) stay, and setting them changes none."""
    from flops_fit.config import load_config
    from flops_fit.plan import plan

    def ids(*overrides):
        cfg = load_config(["preset=mock", f"results_dir={tmp_path}", *overrides])
        return sorted(e["id"] for e in plan(cfg)["experiments"])
    before = ids()
    assert {"C1e17-N1.2e7-7856b608", "C1e17-N1.2e8-09079118", "C1e17-N1.8e7-880cadcf"} <= set(before)
    assert ids("cluster.runs_per_gpu=4", "training.ckpt_every_steps=200", "training.ckpt_every_minutes=1") == before


def test_job_limit_is_devices_times_runs_per_gpu_over_processes():
    from flops_fit.slots import job_limit
    assert job_limit(2, 1, {"CUDA_VISIBLE_DEVICES": "0,1"}) == 4
    assert job_limit(2, 2, {"CUDA_VISIBLE_DEVICES": "0,1"}) == 2
    assert job_limit(1, 4, {"CUDA_VISIBLE_DEVICES": "0,1"}) == 1  # refused later by the wrapper, in one line
    assert job_limit(4, 1, {"CUDA_VISIBLE_DEVICES": ""}) == 0  # a CPU machine: no device limit
    assert job_limit(2, 1, {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_ID": "7"}) == 0  # the allocation decides


def test_slot_taken_time_is_the_wrappers_stamp():
    from flops_fit.slots import SINCE_ENV, taken_at
    assert taken_at({SINCE_ENV: "2026-01-02T03:04:05.500+00:00"}) == 1767323045.5
    assert taken_at({}) == 0.0 and taken_at({SINCE_ENV: "not a time"}) == 0.0


def test_eta_slots_are_capped_by_the_device_slots():
    from types import SimpleNamespace

    from flops_fit.forecast.slots import parallel_slots
    rule = SimpleNamespace(resources={"_cores": 1})
    wf = SimpleNamespace(non_local_exec=False, cores=16, nodes=None, global_resources={})
    assert parallel_slots(wf, rule) == 16
    wf.global_resources["device_slots"] = SimpleNamespace(value=2)  # Snakemake's Resource object
    assert parallel_slots(wf, rule) == 2


@pytest.mark.slow  # a mock sweep (~40 s on 2 cores)
def test_a_gpu_machines_jobs_start_only_as_slots_free(workflow_copy, tmp_path):
    """With one visible device and runs_per_gpu=2, Snakemake starts at most 2 train_run jobs at once (in its
    priority order), however many cores it has, so no job waits inside the slot wrapper."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="0", FLOPS_FIT_SLOT_DIR=str(tmp_path / "slots"))
    out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "8", "--config", "preset=mock",
                          "planner__sizes=3", "budgets__values=[1e17,1e18]", "analysis__include_near_edge=true",
                          "cluster__runs_per_gpu=2", f"results_dir={tmp_path / 'r'}"],
                         cwd=workflow_copy, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'device_slots' in log and "waiting for" not in log
    spans = [json.loads(line) for p in tmp_path.glob("r/*/runs/*/timing.jsonl") for line in p.read_text().splitlines()]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = peak = 0
    for _, d in events:
        running += d
        peak = max(peak, running)
    assert len(spans) == 6 and peak <= 2
