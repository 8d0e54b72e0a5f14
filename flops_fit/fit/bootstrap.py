"""Bootstrap over runs: resample the fitted runs with replacement within each budget (the IsoFLOP
design is kept; runs in no budget are one more stratum, for Approach 3), refit both
approaches, and read percentile intervals off the replicates.

All replicates are fitted at once. A replicate is a weight vector over the fitted runs (how often each run was
drawn; the draws are those of a per-replicate loop with the same seed), and a weighted fit is the fit of the
resampled copies, so each replicate minimizes exactly the objective of its resample:
  - Approach 2: every budget's parabolas, the power laws and L*(C) in array operations (batched.py).
  - Approach 3: the Huber objective by damped Gauss-Newton over all replicates together (batched_surface.py),
    started from the full-data optimum and from every other distinct local optimum the full-data search found
    (its grid minima, refined); each replicate keeps its best. A replicate that does not converge there, or ends
    on a bound of E, A or B, is finished by scipy least_squares on its resampled copies (approach3.refine).
  - N*, D*, L* and a, b use the full fit's compute model (compute.py) and swept budgets: the FLOPs per unit
    are measured, not resampled.
A replicate in which a quantity cannot be fitted (e.g. too few distinct sizes left in a budget) gives NaN for it;
intervals use the finite replicates and report how many there were. bootstrap_loop.py keeps the per-replicate
loop this replaces (benchmarks/fit_speed.py compares the two).
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from flops_fit.constants import LEVEL

from . import batched, batched_surface
from .approach3 import GRID, MIN_POINTS, SurfaceFit, grid_minima, profile_grid, refine
from .result import loss_law, power_law

CHUNK_ELEMENTS = 1_000_000   # replicates x runs per batched surface refit
A3_KEYS = ("E", "A", "B", "alpha", "beta", "a", "b")


@dataclass(frozen=True)
class BootstrapResult:
    n: int
    seed: int
    level: float
    samples: dict = field(repr=False)   # name -> array (n, ...)
    info: dict = field(default_factory=dict, repr=False)   # how the replicates were fitted (counts)

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


def draw_weights(groups, n_runs, n, seed):
    """(n, n_runs) draw counts: per replicate, each budget's runs drawn with replacement, as many as it has
    (the same random stream as drawing index arrays in a loop)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(g) for g in groups])
    flat = np.concatenate(groups)
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    # one call with per-column bounds draws the same stream as choice(g, len(g)) group after group, replicate after
    # replicate (tests/test_fit_bootstrap.py checks it against the loop)
    idx = flat[start + rng.integers(0, np.repeat(sizes, sizes), size=(n, len(flat)))]
    W = np.zeros((n, n_runs))
    np.add.at(W, (np.repeat(np.arange(n), len(flat)), idx.ravel()), 1.0)
    return W


def _approach2(groups, budgets, logN, logD, L, W, Cs):
    R, nb = len(W), len(budgets)
    vert = np.full((R, nb, 3), np.nan)
    if nb == 0:   # no IsoFLOP groups (Approach 2 is skipped): nothing to refit
        return vert, np.full((R, 7), np.nan), np.full((R, len(Cs), 3), np.nan)
    for j, g in enumerate(groups):
        xn, ln = batched.parabola_vertices(logN[g], L[g], W[:, g])
        xd, _ = batched.parabola_vertices(logD[g], L[g], W[:, g])
        ok = np.isfinite(xn) & np.isfinite(xd)
        vert[ok, j] = np.stack([10 ** xn[ok], 10 ** xd[ok], ln[ok]], -1)
    kn, a = batched.power_laws(budgets, vert[..., 0])
    kd, b = batched.power_laws(budgets, vert[..., 1])
    E, k, g = batched.loss_laws(budgets, vert[..., 2])
    with np.errstate(all="ignore"):
        opt = np.stack([power_law(Cs, kn[:, None], a[:, None]), power_law(Cs, kd[:, None], b[:, None]),
                        loss_law(Cs, E[:, None], k[:, None], g[:, None])], -1)
    return vert, np.stack([kn, a, kd, b, E, k, g], -1), opt


def surface_starts(u, v, L, warm, delta, n_starts=3):
    """Scaled starts for the replicates: warm (the full-data optimum) and the distinct other local optima of the
    full-data search (its best grid minima, refined)."""
    starts = [np.asarray(warm, float)]
    obj, coef = profile_grid(u, v, L, GRID, GRID, delta=delta)
    for i, j in grid_minima(obj, n_starts):
        x = refine(u, v, L, (*coef[i, j], GRID[i], GRID[j]), delta).x
        if all(np.max(np.abs(x[3:] - st[3:]) / st[3:]) > 1e-4 for st in starts):
            starts.append(x)
    return starts


def _approach3(N, D, L, W, full3: SurfaceFit, Cs, info):
    R = len(W)
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    u, v = N / N0, D / D0
    t, s, logL = np.log(u), np.log(v), np.log(L)
    warm = np.array([full3.E, full3.A * N0 ** -full3.alpha, full3.B * D0 ** -full3.beta, full3.alpha, full3.beta])
    starts = surface_starts(u, v, L, warm, full3.delta)
    X, F, conv = np.full((R, 5), np.nan), np.full(R, np.inf), np.zeros(R, bool)
    chunk = max(1, CHUNK_ELEMENTS // len(N))          # bounds memory: the Jacobians are (chunk, runs, 5)
    for x0 in starts:
        for lo in range(0, R, chunk):
            sl = slice(lo, min(lo + chunk, R))
            Xs, Fs, cs = batched_surface.refine(t, s, logL, W[sl], np.tile(x0, (sl.stop - sl.start, 1)), full3.delta)
            take = Fs < F[sl]
            X[sl] = np.where(take[:, None], Xs, X[sl])
            F[sl], conv[sl] = np.where(take, Fs, F[sl]), np.where(take, cs, conv[sl])
    drawn = W > 0
    enough = (W.sum(1) >= MIN_POINTS) & np.array([len(np.unique(N[d])) >= 3 and len(np.unique(D[d])) >= 3
                                                  for d in drawn])
    valid = enough.copy()
    fallback = np.flatnonzero(enough & ~conv)
    for i in fallback:   # rare: finish on the resampled copies, exactly as a per-replicate refit would
        idx = np.repeat(np.arange(len(N)), W[i].astype(int))
        res = refine(u[idx], v[idx], L[idx], X[i], full3.delta)
        if res.cost < F[i]:
            X[i], F[i] = res.x, res.cost
        valid[i] = res.status > 0
    valid &= (X[:, 1] > 0) & (X[:, 2] > 0)
    info.update(a3_starts=len(starts), a3_fallback=int(len(fallback)), a3_valid=int(valid.sum()))
    E, al, be = X[:, 0], X[:, 3], X[:, 4]
    A, B = X[:, 1] * N0 ** al, X[:, 2] * D0 ** be
    cm = full3.compute_model
    a, b = cm.exponents(E, A, B, al, be, full3.budgets)
    params = np.stack([E, A, B, al, be, a, b], -1)
    opt = np.stack(cm.optimum(E, A, B, al, be, Cs), -1)
    params[~valid], opt[~valid] = np.nan, np.nan
    return params, np.where(np.isfinite(opt), opt, np.nan), F


def run_bootstrap(runs, full3: SurfaceFit, Cs, n=200, seed=0) -> BootstrapResult:
    """runs: the fitted runs (normalized table); full3: the full-data Approach 3 fit; Cs: budgets
    at which N*, D*, L* are predicted (the table's)."""
    Cs = np.asarray(Cs, float)
    bud = runs["budget"].to_numpy(float)
    budgets = np.array(sorted(set(bud[np.isfinite(bud)].tolist())), float)
    groups = [np.flatnonzero(bud == b) for b in budgets]
    loose = np.flatnonzero(~np.isfinite(bud))   # runs in no IsoFLOP group: one more stratum, Approach 3 only
    strata = groups + ([loose] if len(loose) else [])
    N, D, L = (runs[c].to_numpy(float) for c in ("N", "D", "loss"))
    W = draw_weights(strata, len(N), n, seed)
    info = {}
    out = {}
    with np.errstate(all="ignore"):
        out["a2.budgets"], out["a2.laws"], out["a2.opt"] = _approach2(groups, budgets, np.log10(N), np.log10(D),
                                                                      L, W, Cs)
    out["a3.params"] = np.full((n, len(A3_KEYS)), np.nan)
    out["a3.opt"] = np.full((n, len(Cs), 3), np.nan)
    if full3.status != "too_few_points" and n:
        out["a3.params"], out["a3.opt"], out["a3.objective"] = _approach3(N, D, L, W, full3, Cs, info)
    for a in ("a2", "a3"):
        out[f"{a}.ratio"] = out[f"{a}.opt"][..., 1] / out[f"{a}.opt"][..., 0]
    return BootstrapResult(n=n, seed=seed, level=LEVEL, samples=out, info=info)
