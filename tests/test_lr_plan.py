"""The planner with the LR rule in N and D: ids follow the LR, calibrated plans, the calibration grid, bad inputs."""
import copy
import json

import pytest

from flops_fit.config import load_config
from flops_fit.lr.grid import calibration_plan
from flops_fit.lr.rule import calibration_path, round_lr, rule_lr
from flops_fit.plan import plan
from flops_fit.stages import split_spec

MOCK = ["mode=mock", "model.size.max=128"]   # the quickstart-sized models: a small size table, measured once per module
RULE = {"base": 1.5e-2, "ref_params": 2e4, "ref_tokens": 1e6, "exponent_n": 0.3, "exponent_d": -0.12}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("results")   # one size cache for the module


def _cfg(results, *extra):
    return load_config(MOCK + [f"results_dir={results}", *extra])


def _write_calibration(cfg, rule):
    path = calibration_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"status": "ok", "rule": rule, "cells": []}))
    return path


class TestRuleInThePlan:
    def test_the_n_only_rule_keeps_the_ids_and_lrs_it_always_had(self, results):
        cfg = _cfg(results)
        legacy = copy.deepcopy(cfg)
        legacy["training"]["lr"] = {"base": 1.0e-2, "ref_params": 4.0e4, "exponent": 0.25}
        new, old = plan(cfg)["experiments"], plan(legacy)["experiments"]
        assert [e["id"] for e in new] == [e["id"] for e in old]
        # bit for bit the older rule: base * (ref_params / N) ** exponent
        assert [e["training"]["lr"] for e in new] == [1.0e-2 * (4.0e4 / e["params"]) ** 0.25 for e in old]

    def test_a_rule_in_d_gives_each_run_its_own_rate(self, results):
        cfg = _cfg(results, "training.lr.exponent_d=-0.2")
        exps = plan(cfg)["experiments"]
        for e in exps:
            assert e["training"]["lr"] == round_lr(rule_lr(cfg["training"]["lr"], e["params"], e["data_units"]))
            assert e["lr_source"] == "rule"
        base = {e["id"] for e in plan(_cfg(results))["experiments"]}
        assert not base & {e["id"] for e in exps}   # every rate changed, so every id

    def test_lr_source_is_out_of_the_id_and_of_the_jobs_params(self, results):
        e = plan(_cfg(results))["experiments"][0]
        assert e["lr_source"] == "rule"
        core, runtime = split_spec(e)
        assert "lr_source" not in core and "lr_source" not in runtime


class TestCalibratedPlan:
    def test_plan_uses_the_calibrated_rule_and_is_deterministic(self, results):
        cfg = _cfg(results, "training.lr=calibrated")
        _write_calibration(cfg, RULE)
        a, b = plan(cfg), plan(cfg)
        assert a == b
        for e in a["experiments"]:
            assert e["lr_source"] == "calibrated"
            assert e["training"]["lr"] == round_lr(rule_lr(RULE, e["params"], e["data_units"]))

    def test_a_changed_calibration_replans_only_the_runs_whose_lr_changed(self, results):
        cfg = _cfg(results, "training.lr=calibrated")
        _write_calibration(cfg, RULE)
        before = {(e["budget_flops"], e["params"]): e for e in plan(cfg)["experiments"]}
        _write_calibration(cfg, dict(RULE, base=RULE["base"] * 1.003))
        after = {(e["budget_flops"], e["params"]): e for e in plan(cfg)["experiments"]}
        assert before.keys() == after.keys()
        lr_changed = {k for k in before if before[k]["training"]["lr"] != after[k]["training"]["lr"]}
        id_changed = {k for k in before if before[k]["id"] != after[k]["id"]}
        assert id_changed == lr_changed
        assert lr_changed and len(lr_changed) < len(before), "the test needs both kinds of run"

    def test_a_calibrated_run_has_the_seed_of_the_same_run_under_the_prior_rule(self, results):
        """Same weights at step 0 and the same batches: the loss difference of a paired run is the LR's alone."""
        cfg = _cfg(results, "training.lr=calibrated")
        _write_calibration(cfg, RULE)
        cal = {(e["budget_flops"], e["params"]): e for e in plan(cfg)["experiments"]}
        default = {(e["budget_flops"], e["params"]): e for e in plan(_cfg(results))["experiments"]}
        assert cal.keys() == default.keys()
        assert all(cal[k]["seed"] == default[k]["seed"] for k in cal)
        assert all(cal[k]["training"]["lr"] != default[k]["training"]["lr"] for k in cal)
        assert len({e["seed"] for e in cal.values()}) == len(cal)   # still one seed per run
        # the prior rule read from the training group's YAML (1.0e-2 and 4.0e4 are strings to YAML 1.1)
        from flops_fit.lr.grid import prior_rule
        assert prior_rule(cfg) == {"base": 1.0e-2, "ref_params": 4.0e4, "ref_tokens": 1.0e6, "exponent_n": 0.25,
                                   "exponent_d": 0.0}
        # a preset's own rule is the prior, as the uncalibrated sweep of that preset has it
        images = load_config(["preset=images", f"results_dir={results}", "training.lr=calibrated"])
        plain = load_config(["preset=images", f"results_dir={results}"])
        assert prior_rule(images) == plain["training"]["lr"] and plain["training"]["lr"]["base"] == 2.0e-3

    def test_calibrated_without_a_calibration_is_one_line(self, results, capsys):
        from flops_fit.cli import plan_main
        with pytest.raises(SystemExit) as e:
            plan_main(MOCK + [f"results_dir={results}", "sweep=uncalibrated", "training.lr=calibrated"])
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and len(err.splitlines()) == 1, err
        assert "lr_calibration.json" in err and "calibrate_lr" in err


class TestCalibrationPlan:
    def test_truncated_cells_at_multipliers_of_the_rule(self, results):
        cfg = _cfg(results)
        sweep = plan(cfg)
        cp = calibration_plan(cfg, sweep)
        assert cp == calibration_plan(cfg, sweep)   # deterministic
        s = cfg["lr_calibration"]
        truncated = [c for c in cp["cells"] if not c["full_length"]]
        assert len({c["params"] for c in truncated}) == s["sizes"]
        assert min(c["params"] for c in truncated) == min(e["params"] for e in sweep["experiments"])
        assert max(c["params"] for c in truncated) == max(e["params"] for e in sweep["experiments"])
        for c in truncated:
            assert c["steps"] <= c["steps_cell"] / 10 and c["steps"] >= s["min_steps"]
        assert sum(c["full_length"] for c in cp["cells"]) == 1
        specs = {e["id"]: e for e in cp["experiments"]}
        for c in cp["cells"]:
            lrs = sorted(specs[i]["training"]["lr"] for i in c["ids"])
            assert lrs == [round_lr(m * c["prior_lr"]) for m in s["multipliers"]]
            assert all(specs[i]["steps"] == c["steps"] for i in c["ids"])
        assert 0 < cp["flops_fraction"] <= 0.3

    @pytest.mark.parametrize("value, words", [("[0.5,0,2]", "is not positive"), ("[-1,1,2,4]", "is not positive"),
                                              ("[1,2]", "at least 3"), ("[1,1,2]", "at least 3")])
    def test_bad_multipliers_are_one_line(self, results, capsys, value, words):
        from flops_fit.cli import plan_main
        with pytest.raises(SystemExit) as e:
            plan_main(MOCK + [f"results_dir={results}", "sweep=badmult", f"lr_calibration.multipliers={value}"])
        err = [x for x in capsys.readouterr().err.splitlines() if "error" in x]   # warnings may come first
        assert e.value.code == 2 and len(err) == 1, err
        assert "lr_calibration.multipliers" in err[0] and words in err[0]
