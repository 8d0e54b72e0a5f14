"""A steered sweep through Snakemake's checkpoints (workflow/rules/adaptive.smk), mock mode: killed, resumed, rerun, grown."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import snakemake

pytestmark = pytest.mark.slow
SWEEP = "results/gpt-pysource-mock"
BUDGETS = "[1e11,3e11,1e12]"


def args(budgets=BUDGETS):
    return ["--cores", "2", "--config", "mode=mock",
            f"overrides=planner.adaptive=true planner.extend=1 planner.sizes=4 planner.spread=3 "
            f"planner.tokens_per_param=320 budgets.values={budgets}"]


def finished(wf) -> dict:
    """run id -> mtime of its metrics.json (a retrained run gets a new one)."""
    return {p.parent.name: p.stat().st_mtime_ns for p in (wf / SWEEP / "runs").glob("*/metrics.json")}


def test_killed_adaptive_sweep_resumes_reruns_nothing_and_a_new_budget_trains_only_its_runs(workflow_copy):
    wf = workflow_copy
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args()], cwd=wf, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(finished(wf)) < 3 and proc.poll() is None:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)   # mid-sweep: some runs finished, later budgets not planned yet
    proc.wait(timeout=60)
    before = finished(wf)
    assert 3 <= len(before), before
    assert not (wf / SWEEP / "adaptive" / "C1e12" / "round0.json").exists() or len(before) < 20

    r = snakemake(wf, *args())
    assert r.returncode == 0, r.stdout[-3000:]
    after = finished(wf)
    assert all(after[i] == t for i, t in before.items()), "a finished run was retrained"
    rounds = {p.relative_to(wf / SWEEP / "adaptive").as_posix(): json.loads(p.read_text())
              for p in (wf / SWEEP / "adaptive").glob("*/round*.json")}
    last = rounds["C1e12/round0.json"]
    assert last["based_on"] and all(i.startswith(("C1e11-", "C3e11-")) for i in last["based_on"])
    planned = {e["id"] for rd in rounds.values() for e in rd["experiments"]}
    assert planned == set(after), "every planned experiment trained, nothing else"
    runs_csv = (wf / SWEEP / "runs.csv").read_text()
    assert "planned_by" in runs_csv.splitlines()[0]

    r = snakemake(wf, *args(), "-n")
    assert "Nothing to be done" in r.stdout, r.stdout[-2000:]

    # a larger budget: only its experiments train; nothing finished is touched
    r = snakemake(wf, *args("[1e11,3e11,1e12,3e12]"))
    assert r.returncode == 0, r.stdout[-3000:]
    grown = finished(wf)
    new = set(grown) - set(after)
    assert new and all(i.startswith("C3e12-") for i in new), new
    assert all(grown[i] == t for i, t in after.items())
