"""Statuses that keep a fit from misleading: near_edge, two_points, not an IsoFLOP grid, the table's rows,
default targets, unscreened budgets, objective sensitivity, estimates inside their intervals."""
import json

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import analyze, write_outputs
from flops_fit.fit.report import table_markdown

T = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
A_TRUE = T["beta"] / (T["alpha"] + T["beta"])
G = (T["alpha"] * T["A"] / (T["beta"] * T["B"])) ** (1 / (T["alpha"] + T["beta"]))


def loss(N, D):
    return T["E"] + T["A"] * N ** -T["alpha"] + T["B"] * D ** -T["beta"]


def grid(budgets=(1e17, 1e18, 1e19, 1e20), sizes=7, shift=None, sigma=0.003, seed=0):
    """An IsoFLOP sweep centred on the true N* (shift: {budget: decades to move that budget's grid})."""
    rng, rows = np.random.default_rng(seed), []
    for C in budgets:
        centre = G * (C / 6) ** A_TRUE * 10 ** (shift or {}).get(C, 0.0)
        for N in centre * np.geomspace(0.25, 4, sizes):
            D = C / (6 * N)
            rows.append({"N": N, "D": D, "loss": loss(N, D) * np.exp(sigma * rng.standard_normal()), "budget": C})
    return pd.DataFrame(rows)


class TestNearEdge:
    def test_a_vertex_within_one_grid_step_of_the_edge_is_near_edge_and_left_out(self):
        df = grid(shift={1e19: 0.45})   # that budget's sizes moved up: its optimum sits by the smallest size
        an = analyze(df, bootstrap=20)
        st = {b.budget: b.status for b in an.approach2.budgets}
        assert st[1e19] == "near_edge" and {st[c] for c in (1e17, 1e18, 1e20)} == {"ok"}
        assert 1e19 not in an.approach2.fitted and an.approach2.status == "ok"
        assert an.approach2.n_star.n_points == 3
        inc = analyze(df, bootstrap=0, include_near_edge=True)
        assert 1e19 in inc.approach2.fitted and inc.approach2.n_star.n_points == 4

    def test_an_interval_reaching_the_edge_makes_a_budget_near_edge(self):
        from flops_fit.fit import load_runs
        from flops_fit.fit.approach2 import fit_budgets, with_edges
        b = fit_budgets(load_runs(grid(budgets=(1e18,), sigma=0.0)))[0]
        assert b.status == "ok"
        lo_edge = min(b.x_grid)
        (near,) = with_edges((b,), [(lo_edge - 0.01, b.in_n.x_star + 0.1)])
        assert near.status == "near_edge" and near.edge == "near_low"

    def test_outside_the_range_stays_edge_of_grid(self):
        an = analyze(grid(shift={1e19: 0.9}), bootstrap=0)
        assert {b.budget: b.status for b in an.approach2.budgets}[1e19] == "edge_of_grid"


class TestTwoPoints:
    @pytest.fixture(scope="class")
    def two(self):
        return analyze(grid(budgets=(1e17, 1e18, 1e19), shift={1e19: 0.9}), bootstrap=20, targets=(1e21,))

    def test_laws_through_two_budgets_have_their_own_status_and_no_interval(self, two, tmp_path):
        a2 = two.approach2
        assert a2.status == "two_points" and a2.n_star.status == "two_points" and len(a2.fitted) == 2
        fits = json.loads(write_outputs(two, tmp_path)["fits"].read_text())
        e = fits["approach2"]["power_laws"]["n_star"]["exponent"]
        assert e["lo"] is None and e["hi"] is None and e["stderr"] is None and e["stderr_kind"] is None
        rows = [r for r in fits["table"] if r["approach"] == "approach2"]
        assert rows and all(r["n_star"]["lo"] is None for r in rows)
        assert "approach2 (2 budgets, no interval)" in table_markdown(two)
        assert two.status == "partial"

    def test_the_scaling_legend_says_two_budgets_no_ci(self, two, tmp_path):
        from flops_fit.plot.data import load_sweep
        from flops_fit.plot.scaling import _legend_text
        write_outputs(two, tmp_path)
        sw = load_sweep(tmp_path)
        assert sw.a2_ok and "2 budgets, no CI" in _legend_text(sw, "approach2", "n_star")


class TestNotAnIsoflopGrid:
    def test_sizes_by_token_multipliers_fit_approach3_and_skip_approach2_with_the_reason(self, tmp_path):
        rng, rows = np.random.default_rng(0), []
        for N in np.geomspace(1e7, 1e9, 6):
            for m in (5, 10, 20, 40, 80, 160):
                D = m * N
                rows.append({"N": N, "D": D, "loss": loss(N, D) * np.exp(0.003 * rng.standard_normal())})
        an = analyze(pd.DataFrame(rows), bootstrap=10)
        assert an.approach2.status == "not_isoflop" and an.approach3.status == "ok"
        assert an.approach3.a == pytest.approx(A_TRUE, abs=0.03)
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        assert "Approach 2 needs runs grouped by budget" in fits["approach2"]["reason"]
        assert {r["approach"] for r in fits["table"]} == {"approach3"}
        assert "approach2 skipped" in (tmp_path / "chinchilla_table.md").read_text()


class TestTableAndTargets:
    def test_table_lists_fitted_budgets_and_targets_not_every_label(self):
        df = grid()
        extra = pd.DataFrame([{"N": 1e8, "D": 3e21 / 6e8, "loss": 2.5, "budget": 3e21}])   # a single run
        an = analyze(pd.concat([df, extra], ignore_index=True), bootstrap=0, targets=(1e22,))
        assert sorted({r.budget for r in an.table}) == sorted(an.approach2.fitted) + [1e22]
        assert an.approach2.fitted == (1e17, 1e18, 1e19, 1e20)

    def test_default_targets_are_one_to_three_decades_beyond_the_largest_budget(self, tmp_path):
        an = analyze(grid(), bootstrap=0)
        assert an.targets == pytest.approx((1e21, 1e22, 1e23)) and "decades beyond" in an.targets_rule
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        assert fits["settings"]["targets"] == pytest.approx([1e21, 1e22, 1e23])


class TestScreenAndSensitivity:
    def test_budgets_too_small_to_screen_are_named(self, tmp_path):
        df = grid(sizes=7)
        df = df[~((df["budget"] == 1e18) & (df.index % 7 >= 5))]   # 5 runs left at 1e18
        an = analyze(df, bootstrap=0)
        assert an.unscreened == ((1e18, 5),)
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        assert fits["unscreened_budgets"] == [{"budget": 1e18, "clean_runs": 5}]
        assert "not screened: 1e+18 (5 runs)" in (tmp_path / "chinchilla_table.md").read_text()

    def test_a_is_reported_under_three_objectives(self, tmp_path):
        an = analyze(grid(sigma=0.01), bootstrap=0)
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        s = fits["approach3"]["objective_sensitivity"]["fits"]
        assert set(s) == {"huber_1e-3", "auto", "least_squares"} and s["least_squares"]["delta"] == 1e3
        assert s["huber_1e-3"]["a"] == pytest.approx(an.approach3.a)   # the main fit used delta = 1e-3
        assert all(0.3 < v["a"] < 0.6 for v in s.values())
        assert "objective sensitivity" in (tmp_path / "chinchilla_table.md").read_text()

    def test_disagreement_between_approaches_is_noted(self):
        from dataclasses import replace

        from flops_fit.fit.sensitivity import disagreement
        an = analyze(grid(), bootstrap=10)
        assert disagreement(0.5, (0.49, 0.51), 0.4, (0.39, 0.41))["disagree"] is True
        assert disagreement(0.5, (0.4, 0.6), 0.45, (0.35, 0.55))["disagree"] is False
        fake = replace(an, agreement=disagreement(0.5, (0.49, 0.51), 0.4, (0.39, 0.41)))
        assert "approaches disagree" in table_markdown(fake)


class TestIntervals:
    def test_every_estimate_lies_in_its_interval_or_carries_a_note(self, tmp_path):
        an = analyze(grid(sigma=0.01), bootstrap=30)
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())

        def walk(x):
            if isinstance(x, dict):
                if {"value", "lo", "hi"} <= set(x) and None not in (x["value"], x["lo"], x["hi"]):
                    yield x
                for v in x.values():
                    yield from walk(v)
            elif isinstance(x, list):
                for v in x:
                    yield from walk(v)
        ests = list(walk(fits))
        assert len(ests) > 50
        for e in ests:
            assert e["lo"] <= e["value"] <= e["hi"] or "its bootstrap interval" in e.get("note", ""), e

    def test_stderr_is_labelled_by_kind(self, tmp_path):
        fits = json.loads(write_outputs(analyze(grid(), bootstrap=5), tmp_path)["fits"].read_text())
        laws = fits["approach2"]["power_laws"]
        assert laws["n_star"]["exponent"]["stderr_kind"] == "ols_log10" and laws["n_star"]["exponent"]["stderr"] > 0
        assert fits["approach2"]["fitted_budgets"] == [1e17, 1e18, 1e19, 1e20]

    def test_loss_law_without_three_budgets_has_no_interval_either(self):
        """The `nan [27.3, 27.34]` bug: with 2 fitted budgets the L*(C) law is not fitted (nan); replicates that
        regained an edge budget used to give it a finite interval."""
        an = analyze(grid(budgets=(1e17, 1e18, 1e19), shift={1e19: 0.9}), bootstrap=30)
        for r in an.table:
            if r.approach == "approach2":
                assert np.isnan(r.loss) and np.isnan(r.loss_ci[0]) and np.isnan(r.loss_ci[1])


def test_fit_summary_page_shows_the_objective_sensitivity_and_the_notes(tmp_path):
    from flops_fit.plot.summary import write_summary
    an = analyze(grid(shift={1e19: 0.45}), bootstrap=5)
    write_outputs(an, tmp_path)
    html = write_summary(tmp_path, tmp_path / "s.html").read_text()
    assert "Sensitivity of a to the objective" in html and "least_squares" in html
    assert "<h2>Notes</h2>" in html and "near_edge" in html
