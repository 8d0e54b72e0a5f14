"""WSD cells through the pipeline: ordinary metrics.json that collect and fit take unchanged, compute.json, and
the workflow's chained jobs (a rerun does nothing; a larger budget adds only its cells, continuing the runs)."""
import json
import re

import pytest

from conftest import run_mock_sweep, snakemake
from flops_fit.mock import true_exponents
import pandas as pd
from flops_fit.wsd.compute import summarize
from test_workflow import job_counts

B5 = "budgets.values=[1e18,2e18,4e18,8e18,1.6e19]"


@pytest.mark.slow  # ~12 CPU-s (26 s at load 10): plans, simulates and fits 23 cells in-process
def test_wsd_cells_pass_collect_and_fit_unchanged(tmp_path):
    cfg, p, sdir = run_mock_sweep(tmp_path, "preset=mock", B5, "planner.schedule=wsd", "analysis.bootstrap=0",
                                  "analysis.laws=[]")
    runs = pd.read_csv(sdir / "runs.csv")
    assert len(runs) == len(p["experiments"]) and set(runs["status"]) == {"completed"}
    fits = json.loads((sdir / "fits.json").read_text())
    assert fits["status"] == "ok", fits.get("reason")
    a_true = true_exponents(cfg["mock"])["a"]
    assert abs(fits["approach3"]["a"]["value"] - a_true) < 0.05
    metrics = [json.loads((sdir / "runs" / e["id"] / "metrics.json").read_text()) for e in p["experiments"]]
    assert all(m["schedule"] == "wsd" and m["flops_executed"] == m["flops_added"] for m in metrics)
    s = summarize(p["experiments"], metrics)
    assert s["total_flops"] == pytest.approx(p["wsd"]["total_flops"]) and s["ratio"] <= 0.6


@pytest.mark.slow  # ~60 s at load 5 on 2 cores: Snakemake runs a mock WSD sweep, a rerun and an extension
def test_workflow_chains_cells_reruns_nothing_and_extends_without_retraining(workflow_copy):
    wf = workflow_copy
    base = ["--cores", "2", "--config", "preset=mock", "planner__schedule=wsd"]
    fast = "planner.sizes=5 analysis.bootstrap=0 analysis.laws=[]"
    small = base + [f"overrides=budgets.values=[1e18,2e18,4e18] {fast}"]
    large = base + [f"overrides=budgets.values=[1e18,2e18,4e18,8e18] {fast}"]
    r = snakemake(wf, *small)
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = wf / "results" / "gpt-pysource-mock"
    plan = json.loads((sweep / "plan.json").read_text())
    n = len(plan["experiments"])
    done = {p: p.stat().st_mtime_ns for p in (sweep / "runs").glob("*/metrics.json")}
    assert len(done) == n and (sweep / "fits.json").is_file() and list((sweep / "plots").glob("*.png"))
    compute = json.loads((sweep / "compute.json").read_text())
    assert compute["total_flops"] < compute["cosine_grid_flops"] and len(compute["cells"]) == n
    assert "**Compute:** WSD-S: trained" in (sweep / "report" / "front.rst").read_text()   # the report states it
    # each cell ran after its parent: Snakemake's log lists the jobs in the order they finished
    order = re.findall(r"runs/(C[^/]+-wsd-[0-9a-f]+)/metrics.json", r.stdout)
    for e in plan["experiments"]:
        if e["wsd"]["parent"]:
            assert order.index(e["wsd"]["parent"]) < order.index(e["id"])

    r = snakemake(wf, *small, "-n")
    assert "Nothing to be done" in r.stdout, r.stdout[-2000:]

    r = snakemake(wf, *large, "-n")
    counts = job_counts(r.stdout)
    to_train = set(re.findall(r"output: results/gpt-pysource-mock/runs/(C[^/]+)/metrics.json", r.stdout))
    assert counts.get("train_wsd_cell") == len(to_train) > 0 and "train_run" not in counts, counts
    assert all(i.startswith("C8e18-") for i in to_train), to_train
    r = snakemake(wf, "results/gpt-pysource-mock/compute.json", *large)  # the new cells (the fit ran above)
    assert r.returncode == 0, r.stdout[-3000:]
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # no cell retrained
    new = json.loads((sweep / "plan.json").read_text())["experiments"]
    parents = {e["wsd"]["parent"] for e in new if e["id"] in to_train}
    assert parents - {None} and all(p is None or (sweep / "runs" / p / "metrics.json") in done for p in parents)
