"""Approach 3: variable-projection fit of L = E + A/N^alpha + B/D^beta on surfaces with known truth."""
import numpy as np
import pytest

from flops_fit.fit import fit_surface
from flops_fit.fit.approach3 import objective

SURFACES = {
    "chinchilla": dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
    "symmetric": dict(E=1.69, A=400.0, B=400.0, alpha=0.30, beta=0.30),
    "asymmetric": dict(E=1.69, A=406.4, B=410.7, alpha=0.465, beta=0.155),
}
KEYS = ("E", "A", "B", "alpha", "beta")


def surface_sweep(s, budgets=np.geomspace(1e17, 1e21, 5), sizes=9, spread=4.0, sigma=0.0, seed=0):
    a = s["beta"] / (s["alpha"] + s["beta"])
    G = (s["alpha"] * s["A"] / (s["beta"] * s["B"])) ** (1 / (s["alpha"] + s["beta"]))
    N = np.concatenate([G * (C / 6) ** a * np.geomspace(1 / spread, spread, sizes) for C in budgets])
    D = np.repeat(budgets, sizes) / (6 * N)
    L = (s["E"] + s["A"] * N ** -s["alpha"] + s["B"] * D ** -s["beta"])
    return N, D, L * np.exp(sigma * np.random.default_rng(seed).standard_normal(len(L)))


class TestFitSurface:
    @pytest.mark.parametrize("name", SURFACES)
    def test_recovers_all_parameters_from_noise_free_data(self, name):
        s = SURFACES[name]
        f = fit_surface(*surface_sweep(s))
        assert f.status == "ok"
        for k in KEYS:
            assert getattr(f, k) == pytest.approx(s[k], rel=1e-4), k
        assert f.a == pytest.approx(s["beta"] / (s["alpha"] + s["beta"]), rel=1e-4)

    @pytest.mark.parametrize("seed", range(3))
    def test_noisy_fit_is_at_least_as_good_as_the_truth(self, seed):
        s = SURFACES["chinchilla"]
        N, D, L = surface_sweep(s, sigma=0.02, seed=seed)
        f = fit_surface(N, D, L)
        assert f.objective <= objective([s[k] for k in KEYS], N, D, L) * (1 + 1e-9)
        assert f.objective == pytest.approx(objective([getattr(f, k) for k in KEYS], N, D, L), rel=1e-9)

    def test_optimal_allocation_spends_the_budget_and_minimizes_loss(self):
        f = fit_surface(*surface_sweep(SURFACES["chinchilla"]))
        C = 1e21
        N, D, L = f.optimal(C)
        assert 6 * N * D == pytest.approx(C)
        for factor in (0.9, 1.1):
            assert f.predict(N * factor, D / factor) > L

    def test_flops_per_nd_is_read_from_the_table(self):
        N, D, L = surface_sweep(SURFACES["chinchilla"])
        f = fit_surface(N, D, L, C=7.5 * N * D)
        assert f.flops_per_nd == pytest.approx(7.5)
        assert np.prod(f.optimal(1e20)[:2]) == pytest.approx(1e20 / 7.5)

    def test_too_few_points_is_a_status(self):
        N, D, L = surface_sweep(SURFACES["chinchilla"], sizes=1)
        assert fit_surface(N, D, L).status == "too_few_points"


class TestSurfaceOptimal:
    def test_extreme_replicate_gives_inf_not_overflow_error(self):
        # a bootstrap replicate with alpha, beta near 0 made (alpha*A/(beta*B))**(1/(alpha+beta)) overflow
        from flops_fit.fit.approach3 import SurfaceFit
        f = SurfaceFit(E=0.1, A=1e6, B=1e-3, alpha=1e-3, beta=1e-3, objective=0.0, n_points=10,
                       flops_per_nd=6.0, status="hit_bound")
        N, D, L = f.optimal(np.array([1e10, 1e11]))
        assert not np.isfinite(N).all()
