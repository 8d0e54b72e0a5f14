"""`snakemake calibrate_lr` on a mock sweep with a known loss(LR): the rule recovered, reruns do nothing, a sweep
with training.lr=calibrated trains on it, and a changed calibration retrains only the runs whose LR changed."""
import json

import pytest

from conftest import snakemake
from flops_fit.lr.rule import round_lr, rule_lr
from test_workflow import job_counts

pytestmark = pytest.mark.slow
MOCK = ["--cores", "2", "--config", "mode=mock"]
CAL = MOCK + ["training__lr=calibrated"]
TRUTH = {"base": 1.2e-2, "ref_params": 4.0e4, "ref_tokens": 1.0e6, "exponent_n": 0.35, "exponent_d": -0.1,
         "curvature": 0.05}


def test_calibrate_then_sweep_then_rerun_nothing_then_replan_only_what_changed(workflow_copy):
    wf = workflow_copy
    conf = wf / "config" / "config.yaml"
    conf.write_text(conf.read_text().replace("mock_optimum: null", "mock_optimum: " + json.dumps(TRUTH)))
    sweep = wf / "results" / "gpt-pysource-mock"

    r = snakemake(wf, "calibrate_lr", *CAL)   # training.lr=calibrated before there is a calibration: plans on the prior
    assert r.returncode == 0, r.stdout[-3000:]
    cal = json.loads((sweep / "lr_calibration.json").read_text())
    assert cal["status"] == "ok" and not cal["edge_cells"], cal.get("reason")
    for k in ("exponent_n", "exponent_d"):   # mock runs of a cell share their seed: the optimum is exact
        assert cal["rule"][k] == pytest.approx(TRUTH[k], abs=1e-3)
    assert (sweep / "lr_calibration_plan.json").is_file() and not (sweep / "plan.json").exists()
    assert (sweep / "lr_calibration" / "lr_calibration.png").stat().st_size > 10_000
    assert "Nothing to be done" in snakemake(wf, "calibrate_lr", *CAL, "-n").stdout

    r = snakemake(wf, *CAL)
    assert r.returncode == 0, r.stdout[-3000:]
    plan = json.loads((sweep / "plan.json").read_text())
    for e in plan["experiments"]:
        assert e["lr_source"] == "calibrated"
        assert e["training"]["lr"] == round_lr(rule_lr(cal["rule"], e["params"], e["data_units"]))
    assert "Nothing to be done" in snakemake(wf, *CAL, "-n").stdout

    # a calibration whose rule moved a little: only the runs whose rounded LR changed are retrained
    cal["rule"]["base"] *= 1.003
    (sweep / "lr_calibration.json").write_text(json.dumps(cal))
    changed = sum(round_lr(rule_lr(cal["rule"], e["params"], e["data_units"])) != e["training"]["lr"]
                  for e in plan["experiments"])
    assert 0 < changed < len(plan["experiments"])
    counts = job_counts(snakemake(wf, *CAL, "-n").stdout)
    assert counts.get("train_run") == changed, counts
