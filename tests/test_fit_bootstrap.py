"""The batched bootstrap (all replicates at once, as draw weights) against the per-replicate loop it replaced."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import fit_surface, load_runs, run_bootstrap
from flops_fit.fit.approach3 import refine as refine_one
from flops_fit.fit.approach3 import objective as objective3
from flops_fit.fit.batched import loss_laws, parabola_vertices, power_laws
from flops_fit.fit.batched_surface import objective as batched_objective
from flops_fit.fit.batched_surface import refine
from flops_fit.fit.bootstrap import draw_weights
from flops_fit.fit.bootstrap_loop import _vertex, run_bootstrap_loop
from flops_fit.fit.powerlaw import loss_law_fast, power_law_fast

S = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def sweep(sigma=0.01, seed=0, budgets=np.geomspace(1e17, 1e20, 5), sizes=9):
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        for N in np.sqrt(C / 120) * np.geomspace(0.25, 4, sizes):
            D = C / (6 * N)
            L = (S["E"] + S["A"] * N ** -S["alpha"] + S["B"] * D ** -S["beta"]) * np.exp(sigma * rng.standard_normal())
            rows.append(dict(N=N, D=D, loss=L, budget=C))
    return load_runs(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def runs():
    return sweep()


def _groups(runs):
    b = runs["budget"].to_numpy()
    return [np.flatnonzero(b == v) for v in np.unique(b)]


def test_draw_weights_are_the_loops_draws(runs):
    groups = _groups(runs)
    W = draw_weights(groups, len(runs), 5, seed=3)
    rng = np.random.default_rng(3)
    for i in range(5):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        np.testing.assert_array_equal(W[i], np.bincount(idx, minlength=len(runs)))
    assert all(W[:, g].sum(1).tolist() == [len(g)] * 5 for g in groups)   # the IsoFLOP design is kept


def test_weighted_objective_is_the_resampled_copies_objective(runs):
    N, D, L = (runs[c].to_numpy() for c in ("N", "D", "loss"))
    W = draw_weights(_groups(runs), len(N), 4, seed=1)
    x = np.array([[1.7, 400.0, 420.0, 0.33, 0.29]] * 4)
    F = batched_objective(x, np.log(N), np.log(D), np.log(L), W, 1e-3)
    for i in range(4):
        idx = np.repeat(np.arange(len(N)), W[i].astype(int))
        assert F[i] == pytest.approx(objective3(x[i], N[idx], D[idx], L[idx]), rel=1e-12)


def test_batched_refit_reaches_scipys_optimum_on_each_resample(runs):
    N, D, L = (runs[c].to_numpy() for c in ("N", "D", "loss"))
    f = fit_surface(N, D, L)
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    u, v = N / N0, D / D0
    x0 = np.array([f.E, f.A * N0 ** -f.alpha, f.B * D0 ** -f.beta, f.alpha, f.beta])
    W = draw_weights(_groups(runs), len(N), 12, seed=2)
    X, F, conv = refine(np.log(u), np.log(v), np.log(L), W, np.tile(x0, (12, 1)), f.delta)
    assert conv.all()
    for i in range(12):
        idx = np.repeat(np.arange(len(N)), W[i].astype(int))
        ref = refine_one(u[idx], v[idx], L[idx], x0, f.delta)
        assert F[i] <= ref.cost * (1 + 1e-9)


def test_batched_approach2_pieces_equal_the_per_replicate_fits():
    rng = np.random.default_rng(0)
    x = np.linspace(7, 9, 7)
    y = 3 + 0.2 * (x - 8.1) ** 2 + 0.01 * rng.standard_normal(7)
    W = np.stack([np.bincount(rng.choice(7, 7), minlength=7) for _ in range(200)]).astype(float)
    xs, _ = parabola_vertices(x, y, W)
    ref = np.array([_vertex(np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int)))[0] for w in W])
    np.testing.assert_array_equal(np.isnan(xs), np.isnan(ref))
    assert np.isnan(ref).any()                                   # the NaN rule is exercised
    np.testing.assert_allclose(xs[np.isfinite(xs)], ref[np.isfinite(ref)], rtol=1e-12)

    C = np.geomspace(1e17, 1e21, 8)
    Y = 1e3 * C ** 0.5 * np.exp(0.05 * rng.standard_normal((50, 8)))
    Y[rng.random((50, 8)) < 0.2] = np.nan
    k, a = power_laws(C, Y)
    ref = np.array([power_law_fast(C[np.isfinite(r)], r[np.isfinite(r)]) for r in Y])
    np.testing.assert_allclose(a, ref[:, 1], rtol=1e-10)
    np.testing.assert_allclose(k, ref[:, 0], rtol=1e-9)

    Ls = 1.7 + 400 * C ** -0.15 * np.exp(0.01 * rng.standard_normal((50, 8)))
    E, kk, g = loss_laws(C, Ls)
    for i in range(50):   # the global 1-D search is never worse than scipy's three starts
        sse = lambda p: np.sum((p[0] + p[1] * C ** -p[2] - Ls[i]) ** 2)  # noqa: E731
        assert sse((E[i], kk[i], g[i])) <= sse(loss_law_fast(C, Ls[i])) * (1 + 1e-9)


def test_batched_bootstrap_gives_the_loops_intervals_on_the_same_draws(runs):
    f = fit_surface(runs["N"], runs["D"], runs["loss"], runs["C"])
    Cs = [1e18, 1e21]
    new = run_bootstrap(runs, f, Cs, n=40, seed=5)
    old = run_bootstrap_loop(runs, f, Cs, n=40, seed=5)
    for key in ("a2.laws", "a2.opt", "a3.params", "a3.opt", "a3.ratio"):
        lo_n, hi_n = new.interval(key)
        lo_o, hi_o = old.interval(key)
        np.testing.assert_allclose(lo_n, lo_o, rtol=1e-5, err_msg=key)
        np.testing.assert_allclose(hi_n, hi_o, rtol=1e-5, err_msg=key)
    assert new.info["a3_valid"] == 40
