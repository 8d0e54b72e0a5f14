"""The bootstrap as one refit per replicate in a Python loop: the reference path that bootstrap.run_bootstrap
(all replicates at once, as weights) replaces. Kept callable for benchmarks/fit_speed.py, which times both in one
run and checks that their intervals agree; the results are the same quantities (same draws for the same seed).

Resample the fitted runs with replacement within each budget (the IsoFLOP design is kept), refit both
approaches, and read percentile intervals off the replicates.

Approach 2 replicates redo the parabolas and the power laws (closed-form / scipy, the same
objectives as the lmfit fits). Approach 3 replicates run the same variable-projection fit on a
coarser (alpha, beta) grid, also refined from the full-data optimum as a warm start.
A replicate in which a quantity cannot be fitted (e.g. too few distinct sizes left in a budget)
gives NaN for it; intervals use the finite replicates and report how many there were.
"""
import numpy as np

from .approach2 import MIN_POINTS, parabola_coefs
from .approach3 import SurfaceFit, fit_surface
from .bootstrap import A3_KEYS, LEVEL, BootstrapResult
from .powerlaw import loss_law_fast, power_law_fast
from .result import loss_law, power_law

BOOT_GRID = np.geomspace(0.02, 2.5, 20)


def _vertex(x, y):
    """(x*, loss*) of a parabola fit, NaN without 3 distinct x or positive curvature. A vertex outside the
    replicate's own x range is kept (analyze tests replicate vertices against the full grid, edge.py); a far
    extrapolated vertex can dip below zero loss: dropped. The same rule as batched.parabola_vertices."""
    if len(np.unique(x)) < MIN_POINTS:
        return np.nan, np.nan
    c0, c1, c2 = parabola_coefs(x, y)
    if not c2 > 0:
        return np.nan, np.nan
    xs, ls = -c1 / (2 * c2), c0 - c1 * c1 / (4 * c2)
    return (xs, ls) if ls > 0 else (np.nan, np.nan)


def _approach2_replicate(budget_ids, budgets, logN, logD, L, Cs):
    nb = len(budgets)
    vert = np.full((nb, 3), np.nan)          # N*, D*, L*
    for j, idx in enumerate(budget_ids):
        xn, ln = _vertex(logN[idx], L[idx])
        xd, _ = _vertex(logD[idx], L[idx])
        if np.isfinite(xn) and np.isfinite(xd):
            vert[j] = 10 ** xn, 10 ** xd, ln
    ok = np.isfinite(vert[:, 0])
    C = budgets[ok]
    kn, a = power_law_fast(C, vert[ok, 0])
    kd, b = power_law_fast(C, vert[ok, 1])
    E, k, g = loss_law_fast(C, vert[ok, 2])
    opt = np.stack([power_law(Cs, kn, a), power_law(Cs, kd, b), loss_law(Cs, E, k, g)], -1)
    return vert, np.array([kn, a, kd, b, E, k, g]), opt


def run_bootstrap_loop(runs, full3: SurfaceFit, Cs, n=200, seed=0) -> BootstrapResult:
    """runs: the fitted runs (normalized table); full3: the full-data Approach 3 fit; Cs: budgets
    at which N*, D*, L* are predicted (the table's)."""
    Cs = np.asarray(Cs, float)
    budgets = np.array(sorted(runs["budget"].unique()), float)
    groups = [np.flatnonzero(runs["budget"].to_numpy() == b) for b in budgets]
    N, D, L, C = (runs[c].to_numpy(float) for c in ("N", "D", "loss", "C"))
    logN, logD = np.log10(N), np.log10(D)
    rng = np.random.default_rng(seed)
    out = {"a2.budgets": np.full((n, len(budgets), 3), np.nan), "a2.laws": np.full((n, 7), np.nan),
           "a2.opt": np.full((n, len(Cs), 3), np.nan), "a3.params": np.full((n, len(A3_KEYS)), np.nan),
           "a3.opt": np.full((n, len(Cs), 3), np.nan)}
    warm = [(full3.E, full3.A, full3.B, full3.alpha, full3.beta)] if full3.status != "too_few_points" else []
    for i in range(n):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        pos = np.cumsum([0] + [len(g) for g in groups])
        local = [np.arange(pos[j], pos[j + 1]) for j in range(len(groups))]
        with np.errstate(all="ignore"):
            vert, laws, opt = _approach2_replicate(local, budgets, logN[idx], logD[idx], L[idx], Cs)
        out["a2.budgets"][i], out["a2.laws"][i], out["a2.opt"][i] = vert, laws, opt
        if warm:
            f = fit_surface(N[idx], D[idx], L[idx], C[idx], grid=BOOT_GRID, n_starts=2, extra_starts=warm,
                            delta=full3.delta, compute=full3.compute_model, budgets=full3.budgets)
            if f.status in ("ok", "hit_bound"):
                out["a3.params"][i] = [getattr(f, k) for k in A3_KEYS]
                opt = np.stack(f.optimal(Cs), -1)
                out["a3.opt"][i] = np.where(np.isfinite(opt), opt, np.nan)
    for a in ("a2", "a3"):
        out[f"{a}.ratio"] = out[f"{a}.opt"][..., 1] / out[f"{a}.opt"][..., 0]
    return BootstrapResult(n=n, seed=seed, level=LEVEL, samples=out)
