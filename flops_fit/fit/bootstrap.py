"""Bootstrap over runs: resample the fitted runs with replacement within each budget (the IsoFLOP
design is kept; runs in no budget are one more stratum, for Approach 3), refit both
approaches, and read percentile intervals off the replicates.

Approach 2 replicates redo the parabolas and the power laws (closed-form / scipy, the same
objectives as the lmfit fits). Approach 3 replicates run the same variable-projection fit on a
coarser (alpha, beta) grid, also refined from the full-data optimum as a warm start.
A replicate in which a quantity cannot be fitted (e.g. too few distinct sizes left in a budget)
gives NaN for it; intervals use the finite replicates and report how many there were.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from .approach2 import MIN_POINTS, parabola_coefs
from .approach3 import SurfaceFit, fit_surface
from .powerlaw import loss_law_fast, power_law_fast

LEVEL = 0.95
BOOT_GRID = np.geomspace(0.02, 2.5, 20)
A3_KEYS = ("E", "A", "B", "alpha", "beta", "a", "b")


@dataclass(frozen=True)
class BootstrapResult:
    n: int
    seed: int
    level: float
    samples: dict = field(repr=False)   # name -> array (n, ...)

    def interval(self, name):
        """(lo, hi) percentile interval, elementwise over the trailing shape; NaN when < 2 finite."""
        s = self.samples[name]
        if self.n == 0:
            return np.full(s.shape[1:], np.nan), np.full(s.shape[1:], np.nan)
        q = 100 * np.array([(1 - self.level) / 2, (1 + self.level) / 2])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns
            ok = np.isfinite(s).sum(0) >= 2
            lo, hi = np.nanpercentile(np.where(np.isfinite(s), s, np.nan), q, axis=0)
        return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)

    def n_valid(self, name) -> int:
        s = self.samples.get(name)
        return 0 if s is None else int(np.isfinite(s.reshape(len(s), -1)).all(1).sum())


def _vertex(x, y):
    """(x*, loss*) of a parabola fit, NaN without 3 distinct x or positive curvature. A vertex outside the
    replicate's own x range is kept: a resample that lacks the edge sizes says nothing about the full grid's edge
    (analyze tests the replicate vertices against the full grid, edge.py)."""
    if len(np.unique(x)) < MIN_POINTS:
        return np.nan, np.nan
    c0, c1, c2 = parabola_coefs(x, y)
    if not c2 > 0:
        return np.nan, np.nan
    xs, ls = -c1 / (2 * c2), c0 - c1 * c1 / (4 * c2)
    return (xs, ls) if ls > 0 else (np.nan, np.nan)   # a far extrapolated vertex can dip below zero loss


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
    opt = np.stack([kn * Cs ** a, kd * Cs ** b, E + k * Cs ** -g], -1)
    return vert, np.array([kn, a, kd, b, E, k, g]), opt


def run_bootstrap(runs, full3: SurfaceFit, Cs, n=200, seed=0) -> BootstrapResult:
    """runs: the fitted runs (normalized table); full3: the full-data Approach 3 fit; Cs: budgets
    at which N*, D*, L* are predicted (the table's)."""
    Cs = np.asarray(Cs, float)
    bud = runs["budget"].to_numpy(float)
    budgets = np.array(sorted(set(bud[np.isfinite(bud)].tolist())), float)
    groups = [np.flatnonzero(bud == b) for b in budgets]
    loose = np.flatnonzero(~np.isfinite(bud))   # runs in no IsoFLOP group: one more stratum, Approach 3 only
    strata = groups + ([loose] if len(loose) else [])
    N, D, L, C = (runs[c].to_numpy(float) for c in ("N", "D", "loss", "C"))
    logN, logD = np.log10(N), np.log10(D)
    rng = np.random.default_rng(seed)
    out = {"a2.budgets": np.full((n, len(budgets), 3), np.nan), "a2.laws": np.full((n, 7), np.nan),
           "a2.opt": np.full((n, len(Cs), 3), np.nan), "a3.params": np.full((n, len(A3_KEYS)), np.nan),
           "a3.opt": np.full((n, len(Cs), 3), np.nan)}
    warm = [(full3.E, full3.A, full3.B, full3.alpha, full3.beta)] if full3.status != "too_few_points" else []
    for i in range(n):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in strata])
        pos = np.cumsum([0] + [len(g) for g in groups])
        local = [np.arange(pos[j], pos[j + 1]) for j in range(len(groups))]
        with np.errstate(all="ignore"):
            vert, laws, opt = _approach2_replicate(local, budgets, logN[idx], logD[idx], L[idx], Cs)
        out["a2.budgets"][i], out["a2.laws"][i], out["a2.opt"][i] = vert, laws, opt
        if warm:
            f = fit_surface(N[idx], D[idx], L[idx], C[idx], grid=BOOT_GRID, n_starts=2, extra_starts=warm,
                            delta=full3.delta)
            if f.status in ("ok", "hit_bound"):
                out["a3.params"][i] = [getattr(f, k) for k in A3_KEYS]
                opt = np.stack(f.optimal(Cs), -1)
                out["a3.opt"][i] = np.where(np.isfinite(opt), opt, np.nan)
    for a in ("a2", "a3"):
        out[f"{a}.ratio"] = out[f"{a}.opt"][..., 1] / out[f"{a}.opt"][..., 0]
    return BootstrapResult(n=n, seed=seed, level=LEVEL, samples=out)
