"""Approach 3 under the measured compute C = fpu(N) * D (flops_fit/fit/compute.py)."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from flops_fit.fit import analyze, fit_surface, write_outputs
from flops_fit.fit.compute import WARN_SPREAD, ComputeModel

S = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
F_IN = 6 * 3e7   # a CNN's large input layer: FLOPs per image that come with few parameters


def cnn_fpu(N):
    """FLOPs per image of the mock CNN: 6 per parameter plus the input layer's; fpu/N runs 6.2-35 over the sweep."""
    return 6.0 * np.asarray(N, float) + F_IN


def surface(N, D):
    return S["E"] + S["A"] * np.asarray(N, float) ** -S["alpha"] + S["B"] * np.asarray(D, float) ** -S["beta"]


def exact_n_star(C, fpu=cnn_fpu, params=S):
    """argmin over N of L(N, C / fpu(N)) by bounded scalar minimization (independent of compute.py)."""
    E, A, B, al, be = (params[k] for k in ("E", "A", "B", "alpha", "beta"))
    f = lambda x: E + A * np.exp(-al * x) + B * (C / fpu(np.exp(x))) ** -be  # noqa: E731
    grid = np.linspace(np.log(1e2), np.log(1e14), 4001)
    i = int(np.argmin(f(grid)))
    r = minimize_scalar(f, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]), method="bounded",
                        options={"xatol": 1e-12})
    return float(np.exp(r.x))


BUDGETS = np.geomspace(1e16, 1e19, 6)


def cnn_sweep(sigma=0.005, seed=0):
    """IsoFLOP sweep of the mock CNN: 6 budgets x 9 sizes (x1/4-x4 around the true optimum), D = C / fpu(N)."""
    rng = np.random.default_rng(seed)
    rows = []
    for C in BUDGETS:
        for N in exact_n_star(C) * np.geomspace(0.25, 4, 9):
            D = C / cnn_fpu(N)
            rows.append(dict(N=N, D=D, C=C, budget=C, loss=surface(N, D) * np.exp(sigma * rng.standard_normal())))
    return pd.DataFrame(rows)


def slope(C, y):
    return float(np.polyfit(np.log(C), np.log(y), 1)[0])


class TestComputeModel:
    def test_six_nd_is_exactly_proportional_with_chinchillas_closed_form(self):
        N = np.geomspace(1e6, 1e9, 7)
        D = 1e18 / (6 * N)
        cm = ComputeModel.from_runs(N, D, 6 * N * D)
        assert cm.proportional and cm.kappa == pytest.approx(6.0) and cm.warning() is None
        C = np.array([1e18, 1e21])
        Nopt, Dopt, _ = cm.optimum(S["E"], S["A"], S["B"], S["alpha"], S["beta"], C)
        a = S["beta"] / (S["alpha"] + S["beta"])
        G = (S["alpha"] * S["A"] / (S["beta"] * S["B"])) ** (1 / (S["alpha"] + S["beta"]))
        np.testing.assert_allclose(Nopt, G * (C / 6) ** a, rtol=1e-12)
        np.testing.assert_allclose(Nopt * Dopt * 6, C, rtol=1e-12)
        assert cm.exponents(S["E"], S["A"], S["B"], S["alpha"], S["beta"], C)[0] == pytest.approx(a, rel=1e-12)

    def test_interpolation_passes_the_knots_monotone_and_smooth(self):
        N = np.geomspace(1e5, 1e9, 5)
        cm = ComputeModel.from_sizes(N, cnn_fpu(N))
        assert not cm.proportional
        np.testing.assert_allclose(cm.fpu(N), cnn_fpu(N), rtol=1e-12)
        x = np.linspace(np.log(1e4), np.log(1e10), 20001)
        y = cm.log_fpu(x)
        assert np.all(np.diff(y) >= 0)
        slope = np.diff(y) / np.diff(x)
        assert np.max(np.abs(np.diff(slope))) < 1e-3           # C1: no kinks at the knots or the ray joins
        mid = np.sqrt(N[1] * N[2])                            # between knots, close to the true curve
        assert cm.fpu(mid) == pytest.approx(cnn_fpu(mid), rel=0.03)

    def test_extrapolation_continues_the_end_slopes(self):
        N = np.array([1e6, 1e7, 1e8])
        cm = ComputeModel.from_sizes(N, cnn_fpu(N))
        s_hi = np.log(cnn_fpu(1e8) / cnn_fpu(1e7)) / np.log(10)
        s_lo = np.log(cnn_fpu(1e7) / cnn_fpu(1e6)) / np.log(10)
        assert cm.fpu(1e10) == pytest.approx(cnn_fpu(1e8) * 100 ** s_hi, rel=1e-12)
        assert cm.fpu(1e4) == pytest.approx(cnn_fpu(1e6) / 100 ** s_lo, rel=1e-12)

    def test_noisy_sizes_are_made_monotone_and_a_flat_top_extrapolates_proportionally(self):
        N = np.array([1e6, 2e6, 4e6, 8e6])
        cm = ComputeModel.from_sizes(N, [1e8, 1.2e8, 1.1e8, 1.1e8])   # a measured dip: pooled
        assert np.all(np.diff(cm.log_f) >= 0)
        assert cm.slopes[-1] == 1.0                                   # flat end: fpu ~ N beyond it
        assert np.isfinite(cm.optimum(S["E"], S["A"], S["B"], S["alpha"], S["beta"], [1e22])[0]).all()

    @pytest.mark.parametrize("C", [1e15, 3e17, 1e19, 1e22])
    def test_optimum_is_the_exact_argmin_under_the_interpolated_compute(self, C):
        N = np.geomspace(3e5, 3e9, 9)
        cm = ComputeModel.from_sizes(N, cnn_fpu(N))
        Nopt, Dopt, Lopt = cm.optimum(S["E"], S["A"], S["B"], S["alpha"], S["beta"], C)
        ref = exact_n_star(C, fpu=cm.fpu)
        assert Nopt == pytest.approx(ref, rel=1e-5)
        assert Dopt == pytest.approx(C / cm.fpu(Nopt), rel=1e-12)
        assert Lopt <= surface(ref, C / cm.fpu(ref)) + 1e-12

    def test_warns_only_beyond_a_few_percent(self):
        N = np.geomspace(1e6, 1e8, 5)
        quiet = ComputeModel.from_sizes(N, 6 * N * np.linspace(1, 1 + WARN_SPREAD / 2, 5))
        loud = ComputeModel.from_sizes(N, 6 * N * np.linspace(1, 1 + 2 * WARN_SPREAD, 5))
        assert quiet.warning() is None and "fpu/N" in loud.warning()

    def test_saved_model_evaluates_the_same(self):
        N = np.geomspace(3e5, 3e9, 9)
        cm = ComputeModel.from_sizes(N, cnn_fpu(N))
        back = ComputeModel.from_dict(json.loads(json.dumps(cm.to_dict())))
        C = np.geomspace(1e15, 1e22, 8)
        np.testing.assert_allclose(back.optimum(*S.values(), C)[0], cm.optimum(*S.values(), C)[0], rtol=1e-12)


@pytest.fixture(scope="module")
def analysis():
    return analyze(cnn_sweep(), targets=(1e20,), bootstrap=200, seed=0)


class TestMockCNNSweep:
    """A model whose FLOPs per unit are far from proportional to N."""

    def test_measured_compute_recovers_the_surfaces_a_within_its_interval(self, analysis):
        a_true = slope(BUDGETS, [exact_n_star(C) for C in BUDGETS])   # 0.338, vs beta/(alpha+beta) = 0.452
        f = analysis.approach3
        lo, hi = (x[5] for x in analysis.bootstrap.interval("a3.params"))
        assert not f.compute_model.proportional
        assert lo <= a_true <= hi and lo <= f.a <= hi
        assert f.a == pytest.approx(a_true, abs=0.01)

    def test_the_kappa_model_misses_it(self, analysis):
        a_true = slope(BUDGETS, [exact_n_star(C) for C in BUDGETS])
        f = analysis.approach3
        lo, hi = (x[5] for x in analysis.bootstrap.interval("a3.params"))
        a_kappa = f.beta / (f.alpha + f.beta)            # the old report: C = kappa N D
        assert not lo <= a_kappa <= hi and abs(a_kappa - a_true) > 0.08
        kappa = ComputeModel.constant(f.flops_per_nd)
        n_true = np.array([exact_n_star(C) for C in BUDGETS])
        np.testing.assert_allclose(f.optimal(BUDGETS)[0] / n_true, 1, atol=0.03)
        assert np.max(np.abs(kappa.optimum(f.E, f.A, f.B, f.alpha, f.beta, BUDGETS)[0] / n_true - 1)) > 0.2

    def test_bootstrap_replicates_use_the_same_compute_model(self, analysis):
        f, s = analysis.approach3, analysis.bootstrap.samples
        p = s["a3.params"][:20]
        a, _ = f.compute_model.exponents(*p[:, :5].T, f.budgets)
        np.testing.assert_allclose(p[:, 5], a, rtol=1e-12)
        N, _, _ = f.compute_model.optimum(*p[:, :5].T, analysis.targets)
        np.testing.assert_allclose(s["a3.opt"][:20, -1, 0], N[:, 0], rtol=1e-12)

    def test_fits_json_and_table_state_the_compute_model_and_warn(self, analysis, tmp_path):
        write_outputs(analysis, tmp_path)
        a3 = json.loads((tmp_path / "fits.json").read_text())["approach3"]
        assert a3["compute_model"].startswith("measured fpu(N)") and a3["compute"]["model"] == "C = fpu(N) * D"
        assert "fpu/N" in a3["compute_warning"] and "slope" in a3["a"]["form"]
        assert "compute is not proportional" in (tmp_path / "chinchilla_table.md").read_text()

    def test_a_six_nd_table_states_the_kappa_model_without_warning(self, tmp_path):
        df = cnn_sweep().assign(C=lambda d: 6 * d.N * d.D, budget=lambda d: d.budget)
        an = analyze(df, targets=(1e20,), bootstrap=0)
        write_outputs(an, tmp_path)
        a3 = json.loads((tmp_path / "fits.json").read_text())["approach3"]
        assert a3["compute_model"].startswith("C = kappa N D") and a3["compute_warning"] is None
        assert an.approach3.a == pytest.approx(an.approach3.beta / (an.approach3.alpha + an.approach3.beta))


def test_fit_surface_defaults_to_the_runs_measured_compute():
    df = cnn_sweep(sigma=0.0)
    f = fit_surface(df.N, df.D, df.loss, df.C, budgets=BUDGETS)
    assert not f.compute_model.proportional
    assert f.a == pytest.approx(slope(BUDGETS, [exact_n_star(C) for C in BUDGETS]), abs=2e-3)


def test_design_bound_follows_the_exponent_under_the_measured_compute(analysis):
    from flops_fit.fit.design import _exponent_gradient
    f = analysis.approach3
    used = analysis.runs[analysis.runs["used"]]
    g = _exponent_gradient(used["N"], used["D"], f.E, f.A, f.B, f.alpha, f.beta, f.compute_model, f.budgets)
    s = f.alpha + f.beta
    assert np.isfinite(analysis.a_sd_bound) and analysis.a_sd_bound > 0
    assert not np.allclose(g[3:], [-f.beta / s ** 2, f.alpha / s ** 2], rtol=0.1)   # not beta/(alpha+beta)'s
    kappa = ComputeModel.constant(6.0)                                               # reduces to it when C = 6ND
    g6 = _exponent_gradient(used["N"], used["D"], f.E, f.A, f.B, f.alpha, f.beta, kappa, f.budgets)
    np.testing.assert_allclose(g6, [0, 0, 0, -f.beta / s ** 2, f.alpha / s ** 2], atol=1e-6)
