"""The Slurm path on a real one-node Slurm (tests/slurm_local.py starts it; CI installs it when missing).

Through snakemake-executor-plugin-slurm and the shipped CPU profile with only its partition line set:
a mock sweep sent through the cluster fits exactly like a local run, and a tiny real sweep survives a
preemption (SIGTERM to the job step after the first checkpoint): the rerun resumes from the checkpoint
and its final loss is bit-equal to an uninterrupted run's.
"""
import json
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_mock_sweep, snakemake
from slurm_local import SlurmSetupError, ensure_slurm

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]  # one worker starts and drives the test Slurm

# 2 budgets planned (a plan must be fittable), the 3 sizes of the first trained: a 1-layer GPT: 470-1,770 steps of a few ms, a checkpoint every 50 steps
TINY = ["budgets.values=[4e9,8e9]", "planner.sizes=3", "analysis.include_near_edge=true", "planner.spread=2", "planner.min_steps=50",
        "model.kwargs.n_layer=1", "dataset.seq_len=32", "training.batch_size=8", "training.ckpt_every_steps=50"]
MOCK = ("preset=quick", "mode=mock", "overrides=budgets.values=[1e17,1e18] planner.sizes=3 analysis.include_near_edge=true")


@pytest.fixture(scope="module")
def partition():
    try:
        return ensure_slurm()
    except SlurmSetupError as e:
        pytest.fail(f"the test Slurm could not start: {e}", pytrace=False)


@pytest.fixture
def cluster_wf(workflow_copy, partition):
    """The workflow copy with the CPU profile's one partition line set, as a user would."""
    prof = workflow_copy / "profiles" / "slurm-cpu" / "config.yaml"
    text = prof.read_text()
    assert 'slurm_partition: ""' in text
    prof.write_text(text.replace('slurm_partition: ""', f'slurm_partition: "{partition}"'))
    return workflow_copy


def through_slurm(wf, *config, extra=()):
    return snakemake(wf, "--profile", "profiles/slurm-cpu", *extra, "--config", *config, timeout=400)


def test_mock_sweep_sent_through_slurm_fits_like_a_local_run(cluster_wf, tmp_path):
    r = through_slurm(cluster_wf, *MOCK, "cluster__mock_local=false", f"results_dir={tmp_path}/slurm")
    assert r.returncode == 0, r.stdout[-4000:]
    assert r.stdout.count("has been submitted with SLURM jobid") == 6, r.stdout[-3000:]
    for rule in ("plan", "collect", "fit_scaling_laws", "plot"):  # light rules ran in the workflow process
        assert f"localrule {rule}:" in r.stdout, rule
    run_mock_sweep(tmp_path / "local", "preset=quick", "budgets.values=[1e17,1e18]", "planner.sizes=3",
                   "analysis.include_near_edge=true")  # in-process
    fits = [json.loads((tmp_path / w / "gpt-pysource-quick-mock" / "fits.json").read_text()) for w in ("slurm", "local")]
    for key in ("approach2", "approach3", "table", "runs", "status"):
        assert fits[0][key] == fits[1][key], key
    assert (tmp_path / "slurm" / "gpt-pysource-quick-mock" / "logs" / "fit.log").is_file()  # logs beside results

    # the default (cluster.mock_local=true): a mock run stays in the workflow process (one run, for real:
    # a dry run prints every rule as "rule", local or not)
    from flops_fit.config import load_config
    from flops_fit.plan import plan, sweep_dir
    cfg = load_config(["preset=quick", "mode=mock", *MOCK[2].removeprefix("overrides=").split(),
                       f"results_dir={tmp_path}/default"])
    one = sweep_dir(cfg) / "runs" / plan(cfg)["experiments"][0]["id"] / "metrics.json"
    r = through_slurm(cluster_wf, *MOCK, f"results_dir={tmp_path}/default", extra=(str(one),))
    assert r.returncode == 0 and one.is_file(), r.stdout[-3000:]
    assert "localrule train_run:" in r.stdout and "has been submitted" not in r.stdout, r.stdout[-3000:]


def _slurm_job_of(exp: str):
    out = subprocess.run(["squeue", "-h", "-o", "%i|%k"], text=True, stdout=subprocess.PIPE).stdout
    for line in out.splitlines():
        jobid, _, comment = line.partition("|")
        if exp in comment:
            return jobid
    return None


def test_preempted_training_job_resumes_bit_equal(cluster_wf, tmp_path):
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    results = tmp_path / "res"
    config = ("overrides=" + " ".join(TINY), f"results_dir={results}")
    experiments = [e for e in plan(load_config([*TINY, f"results_dir={results}"]))["experiments"]
                   if e["budget_flops"] == 4e9]   # only the first budget is trained (targeted by file)
    target = max(experiments, key=lambda e: e["steps"])
    sweep = results / "gpt-pysource"
    metrics = [str(sweep / "runs" / e["id"] / "metrics.json") for e in experiments]  # one budget: no fit
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--profile", "profiles/slurm-cpu", "--retries", "0",
                             *metrics, "--config", *config], cwd=cluster_wf, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline, jobid = time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:
        if (sweep / "runs" / target["id"] / "ckpt" / "ckpt.json").is_file():
            jobid = _slurm_job_of(target["id"])
            if jobid:
                subprocess.run(["scancel", "--signal=TERM", jobid], check=True)  # what a preemption sends first
                break
        time.sleep(0.2)
    out = proc.communicate(timeout=300)[0]
    assert jobid, f"never saw a checkpoint of {target['id']} in a running Slurm job:\n{out[-3000:]}"
    run = sweep / "runs" / target["id"]
    log = (sweep / "logs" / "train" / f"{target['id']}.log").read_text()
    assert proc.returncode != 0 and not (run / "metrics.json").exists(), out[-3000:]
    assert "signal 15: checkpoint saved at step" in log, log[-2000:]
    step = json.loads((run / "ckpt" / "ckpt.json").read_text())["step"]
    assert 0 < step < target["steps"]

    r = through_slurm(cluster_wf, *config, extra=(metrics[experiments.index(target)],))  # the rerun
    assert r.returncode == 0, r.stdout[-4000:]
    log = (sweep / "logs" / "train" / f"{target['id']}.log").read_text()
    assert f"resuming from the checkpoint at step {step}" in log, log[-2000:]
    resumed = json.loads((run / "metrics.json").read_text())

    # the same experiment uninterrupted, with the job's thread count (1)
    ref = tmp_path / "ref"
    u = subprocess.run([sys.executable, str(REPO / "scripts" / "train_run.py"), "--spec", json.dumps(target),
                        "--out", str(ref), "--threads", "1"], text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert u.returncode == 0, u.stdout[-2000:]
    uninterrupted = json.loads((ref / "metrics.json").read_text())
    assert resumed["status"] == uninterrupted["status"] == "completed"
    assert resumed["steps"] == uninterrupted["steps"] == target["steps"]
    assert resumed["final_loss"] == uninterrupted["final_loss"]  # bit-equal
