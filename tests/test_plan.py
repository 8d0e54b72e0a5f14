"""Planner invariants: budgets met, sizes around the prior optimum, stable content-derived IDs."""
import math

import pytest

from flops_fit.config import load_config
from flops_fit.plan import fmt_sci, plan

QUICK = ["preset=quick"]


@pytest.fixture(scope="module")
def shared_results(tmp_path_factory):
    """One results folder per module: its size/FLOP cache makes re-planning cheap."""
    return tmp_path_factory.mktemp("results")


@pytest.fixture
def cfg(shared_results):
    return load_config(QUICK + [f"results_dir={shared_results}"])


class TestPlan:
    def test_every_experiment_meets_its_budget_within_one_percent(self, cfg):
        p = plan(cfg)
        assert len(p["experiments"]) >= 12
        for e in p["experiments"]:
            assert e["steps"] * e["units_per_step"] == e["data_units"]
            assert e["data_units"] * e["flops_per_unit"] == pytest.approx(e["flops_planned"])
            assert abs(e["flops_planned"] / e["budget_flops"] - 1) < 0.01, e["id"]

    def test_sizes_span_the_prior_optimum_on_a_log_grid(self, cfg):
        p = plan(cfg)
        r = cfg["planner"]["tokens_per_param"]
        for budget in cfg["budgets"]["values"]:
            exps = [e for e in p["experiments"] if e["budget_flops"] == budget]
            ns = sorted(e["params"] for e in exps)
            # the prior optimum spends the budget on r units per parameter at the measured FLOPs per unit
            mid = exps[len(exps) // 2]
            assert mid["data_units"] / mid["params"] == pytest.approx(r, rel=0.3)
            n0 = math.sqrt(budget / (mid["flops_per_unit"] / mid["params"] * r))
            assert ns[0] < n0 < ns[-1]
            assert ns[-1] / ns[0] > cfg["planner"]["spread"] ** 2 / 2  # roughly prior/spread .. prior*spread
            assert len(set(ns)) == len(ns)

    def test_real_models_are_used_and_flops_are_measured_not_6n(self, cfg):
        for e in plan(cfg)["experiments"]:
            assert e["params"] == pytest.approx(e["target_params"], rel=0.5)
            assert e["flops_per_unit"] > 6 * e["params"] * 0.9  # embeddings do no matmuls, attention adds
            assert e["flops_per_unit"] != pytest.approx(6 * e["params"], rel=1e-3)

    def test_ids_are_stable_when_a_budget_is_added(self, cfg, shared_results):
        before = {e["id"] for e in plan(cfg)["experiments"]}
        more = load_config(QUICK + [f"results_dir={shared_results}", "budgets.values=[1e17,1e18,1e19,3e19]"])
        after = {e["id"] for e in plan(more)["experiments"]}
        assert before < after
        assert all(i.startswith("C3e19") for i in after - before)

    def test_changing_a_hyperparameter_changes_every_id(self, cfg, shared_results):
        before = {e["id"] for e in plan(cfg)["experiments"]}
        other = load_config(QUICK + [f"results_dir={shared_results}", "training.weight_decay=0.05"])
        assert before.isdisjoint({e["id"] for e in plan(other)["experiments"]})

    def test_bookkeeping_options_do_not_change_ids(self, cfg, shared_results):
        before = [e["id"] for e in plan(cfg)["experiments"]]
        other = load_config(QUICK + [f"results_dir={shared_results}", "training.log_every=3",
                                     "training.keep_ckpt=true"])
        assert before == [e["id"] for e in plan(other)["experiments"]]

    def test_infeasible_points_are_dropped_with_a_reason(self, shared_results):
        cfg = load_config(QUICK + [f"results_dir={shared_results}", "budgets.values=[1e12,1e17]"])
        p = plan(cfg)
        assert p["dropped"] and all(d["reason"] for d in p["dropped"])
        assert any("steps" in d["reason"] or "outside model.size" in d["reason"] for d in p["dropped"])

    def test_plan_is_a_pure_function_of_the_config(self, cfg):
        assert plan(cfg) == plan(cfg)


class TestFmtSci:
    @pytest.mark.parametrize("x, s", [(1e12, "1e12"), (3e11, "3e11"), (84000, "8.4e4"), (1.26e5, "1.3e5")])
    def test_compact(self, x, s):
        assert fmt_sci(x) == s
