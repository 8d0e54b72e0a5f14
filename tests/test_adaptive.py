"""Sweeps that steer themselves (flops_fit.adaptive), in-process on mock sweeps: seconds."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from flops_fit.adaptive.driver import current_plan, run_steered
from flops_fit.fit.noise import replicate_noise
from flops_fit.adaptive.predict import Prediction, predict_optimum, runs_frame
from flops_fit.adaptive.rounds import plan_round
from flops_fit.adaptive.steer import steer
from flops_fit.config import load_config
from flops_fit.fit import analyze, fit_approach2
from flops_fit.fit.edge import edge_position
from flops_fit.fit.outliers import flag_outliers
from flops_fit.plan import PlanContext, plan
from flops_fit.runner import is_complete, run_experiment

# the mock preset's surface has its optimum near 32 tokens/param at 1e17..1e21: 256 puts it above every prior grid
WRONG_HIGH = 256          # prior N ~ 2.8x too small
WRONG_LOW = 4             # prior N ~ 2.8x too large
BASE = ["preset=mock", "planner.spread=2", "planner.sizes=5", "mock.noise=0.002"]


def cfg_for(tmp_path, *extra):
    return load_config([*BASE, f"results_dir={tmp_path}", *extra])


def interior_budgets(metrics) -> dict:
    """budget -> whether Approach 2's vertex in N is inside the sizes and interior by the fits' edge test."""
    runs = runs_frame(metrics)
    out = {}
    for b in fit_approach2(runs[runs["status"] == "completed"]).budgets:
        x = np.log10(runs.loc[runs["budget"] == b.budget, "N"].to_numpy(float))
        out[b.budget] = b.in_n.status == "ok" and edge_position(b.in_n.x_star, x) == "interior"
    return out


class TestPlanRound:
    @pytest.mark.slow  # a whole steered mock sweep, then its last round planned again
    def test_plan_is_deterministic_given_the_same_earlier_results(self, tmp_path):
        cfg = cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true",
                      "planner.extend=3", "budgets.values=[1e17,1e18,1e19]")
        out = run_steered(cfg)
        earlier = [m for m in out["metrics"] if m["budget_flops"] < 1e19]
        ctx = PlanContext(cfg)
        a = plan_round(ctx, 1e19, 0, earlier)
        b = plan_round(PlanContext(cfg), 1e19, 0, list(reversed(earlier)))
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
        assert a["planned_by"] == "adaptive"
        assert a["based_on"] == sorted(m["id"] for m in earlier)   # recorded: which results it used
        # and it is what the sweep itself planned
        first = next(r for r in out["rounds"] if r["budget_flops"] == 1e19 and r["round"] == 0)
        assert [e["id"] for e in first["experiments"]] == [e["id"] for e in a["experiments"]]

    @pytest.mark.slow  # a whole steered mock sweep of 5 budgets and its static twin
    def test_later_budgets_centred_on_the_prediction_have_interior_vertices(self, tmp_path):
        cfg = cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true", "planner.extend=3")
        out = run_steered(cfg)
        later = [r for r in out["rounds"] if r["round"] == 0 and r["budget_index"] >= 2]
        assert later and all(r["planned_by"] == "adaptive" for r in later), [r["decision"] for r in later]
        inside = interior_budgets(out["metrics"])
        assert all(inside[b] for b in (1e19, 1e20, 1e21)), inside
        # the static sweep with the same wrong prior has its vertices off the grid
        static = [run_experiment(s, tmp_path / "static" / s["id"]) for s in plan(cfg)["experiments"]]
        assert not any(interior_budgets(static).values())

    def test_adaptive_off_plans_the_static_grid_with_the_same_ids(self, tmp_path):
        cfg = cfg_for(tmp_path, "planner.extend=2")
        ctx = PlanContext(cfg)
        static = {e["id"] for e in plan(cfg)["experiments"] if e["budget_flops"] == 1e20}
        rd = plan_round(ctx, 1e20, 0, [])
        assert {e["id"] for e in rd["experiments"]} == static and rd["planned_by"] == "prior"
        assert all("planned_by" not in e for e in rd["experiments"])   # identical specs: no rerun when switched on


class TestSteer:
    PL = {"spread": 4.0, "sizes": 7, "adaptive_min_spread": 2.0}

    def pred(self, log10_n, se, status="ok"):
        return Prediction(1e20, log10_n, se, 10, 0.45, status, "test", (1e18, 1e19), ())

    def test_a_shift_under_one_grid_step_keeps_the_prior_grid(self):
        step = 2 * math.log10(4.0) / 6
        g = steer(1e9, self.pred(9 + 0.9 * step, 1e-4), {**self.PL, "adaptive_min_spread": 4.0})
        assert g.planned_by == "prior" and g.centre == pytest.approx(9.0) and "under one grid step" in g.reason

    def test_a_large_shift_moves_the_centre_by_whole_grid_steps(self):
        step = 2 * math.log10(4.0) / 6
        g = steer(1e9, self.pred(9 + 3.3 * step, 0.01), self.PL)
        assert g.planned_by == "adaptive" and g.centre == pytest.approx(9 + 3 * step)

    def test_spread_narrows_with_the_interval_but_never_below_the_floor(self):
        narrow = steer(1e9, self.pred(9.5, 1e-4), self.PL)
        assert narrow.spread == pytest.approx(2.0, rel=0.05) and narrow.spread >= 2.0
        wide = steer(1e9, self.pred(9.5, 0.2), self.PL)   # 95% half-width ~0.45 decades: no room to narrow
        assert wide.spread == pytest.approx(4.0)

    @pytest.mark.parametrize("pred,why", [((math.nan, math.nan, "too_few_budgets"), "fallback"),
                                          ((9.5, 1.0, "ok"), "too uncertain")])
    def test_a_failed_or_too_uncertain_fit_keeps_the_prior_grid_and_says_so(self, pred, why):
        g = steer(1e9, self.pred(*pred), self.PL)
        assert g.planned_by == "prior" and g.centre == pytest.approx(9.0) and why in g.reason

    @pytest.mark.parametrize("pred", [(math.nan, math.nan, "too_few_budgets"), (9.5, 1.0, "ok")])
    def test_a_fallback_with_an_earlier_vertex_re_anchors_the_prior_at_the_prior_spread(self, pred):
        step = 2 * math.log10(4.0) / 6
        g = steer(1e9, self.pred(*pred), self.PL, anchor=math.log10(2.8))   # the prior's N* was 2.8x too small
        assert g.planned_by == "adaptive" and g.centre == pytest.approx(9 + round(math.log10(2.8) / step) * step)
        assert g.spread == pytest.approx(4.0) and "re-anchored the prior" in g.reason
        small = steer(1e9, self.pred(*pred), self.PL, anchor=0.5 * step)   # under a grid step: the prior grid
        assert small.planned_by == "prior" and small.centre == pytest.approx(9.0)

    def test_one_finished_budget_is_not_enough_to_predict(self, tmp_path):
        cfg = cfg_for(tmp_path, "budgets.values=[1e18]")
        ms = [run_experiment(s, tmp_path / s["id"]) for s in plan(cfg)["experiments"]]
        p = predict_optimum(runs_frame(ms), 1e20)
        assert p.status == "too_few_budgets" and "need 2" in p.reason


class TestExtend:
    @pytest.mark.parametrize("prior,side", [(WRONG_HIGH, "above"), (WRONG_LOW, "below")])
    def test_edge_extension_brackets_a_planted_edge_optimum(self, tmp_path, prior, side):
        cfg = cfg_for(tmp_path, f"planner.tokens_per_param={prior}", "planner.extend=4", "budgets.values=[1e18,1e20]")
        out = run_steered(cfg)
        inside = interior_budgets(out["metrics"])
        assert all(inside.values()), inside
        for budget in (1e18, 1e20):
            ms = [m for m in out["metrics"] if m["budget_flops"] == budget]
            prior_n = [m["params"] for m in ms if m["planned_by"] == "prior"]
            ext = [m["params"] for m in ms if m["planned_by"] == "extension"]
            assert ext, "the planted edge optimum needs extension"
            assert all(n > max(prior_n) for n in ext) if side == "above" else all(n < min(prior_n) for n in ext)
            assert len(ext) <= 4

    def test_losses_with_no_curvature_and_an_inner_minimum_widen_the_grid_on_both_sides(self):
        from flops_fit.adaptive.extend import extension_targets
        n = 1e8 * 2.0 ** np.arange(5)
        loss = [3.02, 3.00, 3.03, 3.04, 3.03]   # noise over a narrow grid: a parabola opening downwards
        runs = pd.DataFrame({"id": [f"r{i}" for i in range(5)], "budget": 1e19, "C": 1e19, "N": n, "D": 1e19 / (6 * n),
                             "loss": loss, "status": "completed", "planned_by": "prior", "knob": range(5),
                             "target": n})
        targets, decision = extension_targets(runs, 3)
        assert decision["position"] == "flat" and decision["added"] == 2 and "no curvature" in decision["why"]
        assert targets[0] == pytest.approx(5e7) and targets[1] == pytest.approx(3.2e9)   # the lower side first
        assert extension_targets(runs, 1)[0] == pytest.approx([5e7])

    def test_extension_stops_at_planner_extend_and_says_so(self, tmp_path):
        cfg = cfg_for(tmp_path, "planner.tokens_per_param=4096", "planner.extend=1", "budgets.values=[1e19]")
        out = run_steered(cfg)
        assert sum(m["planned_by"] == "extension" for m in out["metrics"]) == 1
        assert out["rounds"][-1]["done"] and len(out["rounds"]) == 2


class TestReplicates:
    def test_replicates_add_seeds_and_leave_existing_ids_unchanged(self, tmp_path):
        base = plan(cfg_for(tmp_path))["experiments"]
        rep = plan(cfg_for(tmp_path, "planner.replicates=2"))["experiments"]
        assert {e["id"] for e in base} <= {e["id"] for e in rep}
        extra = [e for e in rep if e.get("planned_by") == "replicate"]
        assert len(extra) == 2 * len({e["budget_flops"] for e in base})
        for e in extra:
            twin = [b for b in base if b["budget_flops"] == e["budget_flops"] and b["params"] == e["params"]]
            assert len(twin) == 1 and twin[0]["data_units"] == e["data_units"] and twin[0]["seed"] != e["seed"]
        assert len({e["id"] for e in rep}) == len(rep) and len({e["seed"] for e in rep}) == len(rep)

    def test_replicate_noise_is_the_pooled_seed_scatter(self):
        rng = np.random.default_rng(1)
        rows = [{"id": f"r{g}-{i}", "budget": 1e18 * (1 + g % 3), "N": 1e6 * (1 + g), "D": 1e8, "status": "completed",
                 "loss": 2.0 * math.exp(0.01 * rng.standard_normal())} for g in range(200) for i in range(3)]
        sigma, n, how = replicate_noise(pd.DataFrame(rows))
        assert n == 600 and "seed-replicate" in how
        assert sigma == pytest.approx(0.01, rel=0.06)

    def test_no_replicates_no_measured_noise(self):
        df = pd.DataFrame({"id": ["a", "b"], "budget": [1.0, 1.0], "N": [1.0, 2.0], "D": [1.0, 1.0], "loss": [1, 2]})
        assert replicate_noise(df) is None

    def test_outlier_screen_keeps_seed_replicates_and_the_fit_measures_the_noise(self, tmp_path):
        cfg = cfg_for(tmp_path, "planner.replicates=3", "planner.sizes=7")
        p = plan(cfg)
        ms = [run_experiment(s, tmp_path / "runs" / s["id"]) for s in p["experiments"]]
        runs = runs_frame(ms)
        flagged = flag_outliers(runs)
        reps = set(runs.loc[runs["planned_by"] == "replicate", "id"])
        assert not flagged.loc[flagged["id"].isin(reps), "outlier"].any(), flagged.loc[flagged["outlier"], "reason"]
        an = analyze(runs, bootstrap=0, targets=(), huber_delta="auto")
        assert "seed-replicate" in an.noise_method and "seed-replicate" in an.huber_delta_rule
        assert 0.3 * cfg["mock"]["noise"] < an.noise_sigma < 3 * cfg["mock"]["noise"]


class TestDriver:
    def test_rerunning_a_finished_steered_sweep_trains_nothing(self, tmp_path):
        cfg = cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true", "planner.extend=2",
                      "budgets.values=[1e17,1e18,1e19]")
        trained = []

        def train(spec, run_dir):
            if not is_complete(run_dir):
                trained.append(spec["id"])
            return run_experiment(spec, run_dir)

        first = run_steered(cfg, train=train)
        assert len(trained) == len(first["metrics"])
        trained.clear()
        again = run_steered(cfg, train=train)
        assert trained == [] and [m["id"] for m in again["metrics"]] == [m["id"] for m in first["metrics"]]

        # a budget added on top trains only its own experiments
        more = cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true",
                       "planner.extend=2", "budgets.values=[1e17,1e18,1e19,1e20]")
        run_steered(more, train=train)
        assert trained and all(i.startswith("C1e20-") for i in trained)
        # the forecast's view: planned rounds, and the prior grid for budgets not planned yet
        cur = current_plan(cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true",
                                   "planner.extend=2", "budgets.values=[1e17,1e18,1e19,1e20,1e21]"))
        ids = {e["id"] for e in cur["experiments"]}
        assert {m["id"] for m in first["metrics"]} <= ids
        assert any(e["budget_flops"] == 1e21 for e in cur["experiments"])

    def test_the_forecast_of_a_steered_sweep_follows_the_rounds_written_so_far(self, tmp_path):
        from flops_fit.forecast.build import plan_to_forecast
        cfg = cfg_for(tmp_path, f"planner.tokens_per_param={WRONG_HIGH}", "planner.adaptive=true", "planner.extend=2",
                      "budgets.values=[1e17,1e18,1e19]")
        before = {e["id"] for e in plan_to_forecast(cfg)["experiments"]}
        assert before == {e["id"] for e in plan(cfg)["experiments"]}   # nothing planned yet: the prior grid
        out = run_steered(cfg)
        after = {e["id"] for e in plan_to_forecast(cfg)["experiments"]}
        assert after == {m["id"] for m in out["metrics"]} and after != before
