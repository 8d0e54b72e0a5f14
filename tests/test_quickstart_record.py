"""The quickstart against a recorded expectation (tests/data/quickstart_record.json and the sweep's
quickstart_runs.csv, made from a real `snakemake --cores 2 --config preset=quickstart` by
benchmarks/quickstart_record.py). Training is deterministic, so (a) the README's description of the quickstart
must match the record, (b) the recorded runs, fitted again, must give the recorded statuses and exponents, and
(c) the cheapest runs, trained again here, must end at the recorded final losses."""
import json
import re

import pytest

from conftest import REPO

RECORD = json.loads((REPO / "tests" / "data" / "quickstart_record.json").read_text())
STATUSES = ("ok", "near_edge", "two_points", "too_few_points", "too_few_budgets", "not_isoflop", "edge_of_grid",
            "non_positive_curvature", "failed")
# Same CPU: bit-identical (the two cheapest runs trained again agreed to the last digit). Another CPU's kernels
# round differently; 0.1 % of the loss is 10x below the ~1 % run-to-run noise the fits measure, so a changed
# recipe, data order, initialisation or plan fails while rounding does not.
REL_TOL = 1e-3


def _quickstart_paragraph():
    text = (REPO / "README.md").read_text()
    start = text.index("What to expect")
    return " ".join(text[start:text.index("\n\n", start)].split())  # one line: the README wraps anywhere


def _sig(x, digits=2):
    return float(f"{x:.{digits - 1}e}")


def test_the_readme_states_the_recorded_results():
    para = _quickstart_paragraph()
    # the vertex of every budget: "N\* ≈ 1.2e4, 1.9e4, 3.8e4 parameters at 1e11, 3e11, 1e12 FLOPs"
    m = re.search(r"N\\\* ≈ ([0-9.e+, ]+) parameters at ([0-9.e+, ]+) FLOPs", para)
    assert m, "README: the quickstart paragraph no longer states N* per budget"
    stated = [float(x) for x in m[1].split(",")]
    budgets = [float(x) for x in m[2].split(",")]
    rec = sorted(RECORD["budgets"], key=lambda b: b["budget"])
    assert budgets == [b["budget"] for b in rec]
    assert stated == [_sig(b["n_star"]) for b in rec], f"README N* {stated}; recorded {[b['n_star'] for b in rec]}"
    # statuses: each recorded one named, none that the record does not have
    recorded = {b["status"] for b in rec} | {RECORD["approach2"]["status"]}
    named = {s for s in STATUSES if f"`{s}`" in para}
    assert named == recorded, f"README names statuses {sorted(named)}; the record has {sorted(recorded)}"
    if all(b["status"] == "ok" for b in rec):
        assert f"all {len(rec) if len(rec) != 3 else 'three'} budgets `ok`" in para
    # Approach 2's exponent and Approach 3's a with its interval, as the fit prints them (3 decimals)
    a2 = RECORD["approach2"]["n_star_exponent"]
    interval = f" [{a2['lo']:.3f}, {a2['hi']:.3f}]" if a2["lo"] is not None else " (no interval)"
    assert f"N\\* ∝ C^{a2['value']:.3f}{interval}" in para, para
    a3 = RECORD["approach3"]
    assert f"a = {a3['a']:.3f} [{a3['a_lo']:.3f}, {a3['a_hi']:.3f}]" in para, para


def test_the_record_is_a_complete_quickstart():
    """The record itself: 3 budgets x 5 sizes, all completed, and the plan of today's config has exactly its ids."""
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    assert len(RECORD["runs"]) == 15 and all(r["status"] == "completed" for r in RECORD["runs"].values())
    ids = {e["id"] for e in plan(load_config(["preset=quickstart"]))["experiments"]}
    assert ids == set(RECORD["runs"]), "the quickstart's plan changed: rerun it and benchmarks/quickstart_record.py"


@pytest.mark.slow  # the quickstart's fit with its 200 bootstrap replicates: ~10-20 s
def test_the_recorded_runs_fit_to_the_recorded_statuses_and_exponents(tmp_path):
    from flops_fit.config import load_config
    from flops_fit.stages import fit_scaling_laws
    cfg = load_config(["preset=quickstart"])
    res = fit_scaling_laws(REPO / "tests" / "data" / "quickstart_runs.csv", tmp_path, cfg["analysis"], quiet=True,
                           sweep_targets=cfg["budgets"]["targets"])
    fits = json.loads((tmp_path / "fits.json").read_text())
    assert res is not None and fits["status"] == RECORD["fit_status"]
    assert [(b["budget"], b["status"]) for b in fits["approach2"]["budgets"]] == \
        [(b["budget"], b["status"]) for b in RECORD["budgets"]]
    assert fits["approach2"]["status"] == RECORD["approach2"]["status"]
    a3 = fits["approach3"]["a"]
    assert (a3["value"], a3["lo"], a3["hi"]) == pytest.approx(
        (RECORD["approach3"]["a"], RECORD["approach3"]["a_lo"], RECORD["approach3"]["a_hi"]), rel=1e-6)


def _cheapest(n):
    """The n runs of the smallest budget with the fewest steps (the fastest to train again)."""
    runs = sorted(RECORD["runs"].items(), key=lambda kv: (kv[1]["budget_flops"], kv[1]["steps"]))
    return [i for i, _ in runs[:n]]


@pytest.mark.slow  # two real training runs of the quickstart (139 and 252 steps) and its data: ~20 s quiet
def test_the_cheapest_quickstart_runs_end_at_the_recorded_losses(tmp_path):
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    from flops_fit.runner import run_experiment
    from flops_fit.stages import ensure_data
    specs = {e["id"]: e for e in plan(load_config(["preset=quickstart", f"results_dir={tmp_path}"]))["experiments"]}
    for exp in _cheapest(2):
        spec = specs[exp]
        ensure_data(spec)
        m = run_experiment(spec, tmp_path / "runs" / exp, threads=1)  # the workflow's threads: 1 per run
        want = RECORD["runs"][exp]
        assert (m["status"], m["steps"]) == (want["status"], want["steps"])
        assert m["final_loss"] == pytest.approx(want["final_loss"], rel=REL_TOL), exp
