"""Approach 2: parabolas, power laws, and their statuses, on data with a known exact answer."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import fit_approach2, fit_loss_law, fit_parabola, fit_power_law

TRUTH = dict(k=0.09, a=0.52, E=1.8, kl=40.0, g=0.07, curv=0.35)


def parabolic_sweep(budgets=np.geomspace(1e17, 1e21, 5), sizes=7, spread=4.0, t=TRUTH, shift=1.0):
    """Loss exactly parabolic in log10 N around N* = k C^a with L* = E + kl C^-g; D = C / 6N, so
    it is exactly parabolic in log10 D too, around D* = C / 6N*."""
    rows = []
    for C in budgets:
        n_star = t["k"] * C ** t["a"]
        for N in n_star * shift * np.geomspace(1 / spread, spread, sizes):
            loss = t["E"] + t["kl"] * C ** -t["g"] + t["curv"] * np.log10(N / n_star) ** 2
            rows.append({"id": f"{C:.0e}-{N:.3g}", "N": N, "D": C / (6 * N), "loss": loss, "C": C,
                         "budget": C, "status": "completed"})
    return pd.DataFrame(rows)


class TestFitParabola:
    def test_parabola_recovers_known_minimum(self):
        x = np.linspace(7, 9, 6)
        p = fit_parabola(x, 2.5 + 0.4 * (x - 8.3) ** 2)
        assert p.status == "ok"
        assert p.x_star == pytest.approx(8.3, rel=1e-10)
        assert p.loss_min == pytest.approx(2.5, rel=1e-10)
        assert (p.x_min, p.x_max) == (7, 9)

    def test_rejects_non_positive_curvature(self):
        x = np.linspace(7, 9, 5)
        assert fit_parabola(x, 3 - 0.1 * (x - 8) ** 2).status == "non_positive_curvature"
        assert fit_parabola(x, 3 + 0.1 * x).status == "non_positive_curvature"

    def test_vertex_outside_sampled_range_is_edge_of_grid(self):
        x = np.linspace(7, 8, 5)
        p = fit_parabola(x, 2 + 0.3 * (x - 8.4) ** 2)
        assert p.status == "edge_of_grid" and p.x_star == pytest.approx(8.4)

    def test_fewer_than_three_distinct_sizes_is_too_few_points(self):
        assert fit_parabola([7, 7, 8], [3, 3.1, 3]).status == "too_few_points"


class TestFitPowerLaw:
    def test_recovers_exponent_and_prefactor(self):
        C = np.geomspace(1e17, 1e21, 5)
        f = fit_power_law(C, 0.09 * C ** 0.52)
        assert f.exponent == pytest.approx(0.52, rel=1e-10) and f.k == pytest.approx(0.09, rel=1e-8)
        assert f.r2 == pytest.approx(1.0) and f.status == "ok"

    def test_single_budget_is_too_few_points(self):
        assert fit_power_law([1e18], [1e8]).status == "too_few_points"


class TestFitLossLaw:
    def test_recovers_irreducible_loss_and_exponent(self):
        C = np.geomspace(1e17, 1e21, 5)
        f = fit_loss_law(C, 1.8 + 40.0 * C ** -0.07)
        assert (f.E, f.g) == (pytest.approx(1.8, rel=1e-4), pytest.approx(0.07, rel=1e-4))
        assert f.status == "ok"

    def test_irreducible_loss_pinned_at_zero_is_flagged(self):
        C = np.array([1e11, 3e11, 1e12])
        f = fit_loss_law(C, np.array([2.05, 1.81, 1.46]))  # the quickstart's L*: steeper than any E > 0 allows
        assert f.E < 1e-6 and f.status == "hit_bound"

    def test_two_budgets_is_too_few_points(self):
        assert fit_loss_law([1e18, 1e19], [3.0, 2.8]).status == "too_few_points"


class TestFitApproach2:
    def test_recovers_exponents_on_exact_parabolic_data(self):
        f = fit_approach2(parabolic_sweep())
        assert f.status == "ok" and all(b.status == "ok" for b in f.budgets)
        assert f.n_star.exponent == pytest.approx(TRUTH["a"], rel=1e-4)
        assert f.d_star.exponent == pytest.approx(1 - TRUTH["a"], rel=1e-4)
        assert f.n_star.k == pytest.approx(TRUTH["k"], rel=1e-4)
        assert f.l_star.g == pytest.approx(TRUTH["g"], rel=1e-4)
        C = 1e19
        np.testing.assert_allclose(f.optimal(C)[1], C / (6 * TRUTH["k"] * C ** TRUTH["a"]), rtol=1e-4)

    def test_budget_with_optimum_off_the_grid_is_flagged_and_left_out_of_the_power_law(self):
        runs = pd.concat([parabolic_sweep(), parabolic_sweep(budgets=[1e22], shift=10.0)])
        f = fit_approach2(runs)
        assert [b.status for b in f.budgets] == ["ok"] * 5 + ["edge_of_grid"]
        assert f.n_star.n_points == 5 and f.n_star.exponent == pytest.approx(TRUTH["a"], rel=1e-4)

    def test_one_usable_budget_is_too_few_budgets(self):
        runs = parabolic_sweep(budgets=[1e18, 1e19])
        runs = runs[(runs["budget"] == 1e18) | (runs.index % 7 < 2)]
        f = fit_approach2(runs)
        assert [b.status for b in f.budgets] == ["ok", "too_few_points"]
        assert f.status == "too_few_budgets"
