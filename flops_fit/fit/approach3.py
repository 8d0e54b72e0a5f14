"""Approach 3 (parametric surface): L(N, D) = E + A / N^alpha + B / D^beta, minimizing
sum_i Huber_delta(log Lhat_i - log L_i), delta = 1e-3, as Chinchilla (Hoffmann et al. 2022) does.

Global optimum by variable projection instead of thousands of random restarts:
  1. For fixed (alpha, beta) the model is linear in (E, A, B) >= 0. On a grid of (alpha, beta),
     solve that non-negative problem exactly (all 8 active sets of a 3-variable NNLS, vectorized
     over the grid) for the Huber objective linearized on the log scale: weighted least squares on
     the loss with weights psi(r)/r / L^2, a few IRLS rounds. This gives the profile objective.
  2. Refine all five parameters from the best grid minima with scipy least_squares
     (loss="huber", f_scale=delta: exactly the Huber objective on log residuals).
Inside, N and D are scaled by their geometric means so the linear coefficients are O(loss).
N*(C), D*(C), L*(C) and the exponents a, b are read under the fit's compute model (compute.py): the measured
C = fpu(N) * D of the runs, which is C = kappa * N * D (a = beta / (alpha + beta)) when fpu / N is constant.
"""
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .compute import ComputeModel
from .result import surface_loss

DELTA = 1e-3
GRID = np.geomspace(0.02, 2.5, 48)   # alpha and beta grid
BOUNDS = (1e-3, 5.0)                  # alpha, beta in the refine
MIN_POINTS = 8
_SUBSETS = [s for s in ((0, 1, 2), (0, 1), (0, 2), (1, 2), (0,), (1,), (2,))]


@dataclass(frozen=True)
class SurfaceFit:
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float       # sum of Huber losses at the optimum
    n_points: int
    flops_per_nd: float    # kappa in C = kappa * N * D, the median over the fitted runs
    status: str            # ok | too_few_points | degenerate | hit_bound | not_converged
    delta: float = DELTA   # the Huber threshold on log residuals that was minimized
    compute: ComputeModel = None   # C = fpu(N) * D (compute.py); None: C = flops_per_nd * N * D
    budgets: tuple = ()    # the budgets a and b are read over (the swept ones); () with C = kappa N D

    @property
    def compute_model(self) -> ComputeModel:
        return self.compute if self.compute is not None else ComputeModel.constant(self.flops_per_nd, "flops_per_nd")

    @property
    def exponents(self) -> tuple:
        """(a, b): log-log slopes of N*(C), D*(C) over `budgets` (compute.py); beta/(alpha+beta), alpha/(alpha+beta)
        under C = kappa N D."""
        a, b = self.compute_model.exponents(self.E, self.A, self.B, self.alpha, self.beta, self.budgets)
        return float(a), float(b)

    @property
    def a(self) -> float:
        """N* ~ C^a."""
        return self.exponents[0]

    @property
    def b(self) -> float:
        """D* ~ C^b."""
        return self.exponents[1]

    def predict(self, N, D):
        return surface_loss(N, D, self.E, self.A, self.B, self.alpha, self.beta)

    def optimal(self, C):
        """(N*, D*, L*) minimizing L(N, D) subject to C = fpu(N) * D (kappa * N * D without a measured fpu)."""
        return self.compute_model.optimum(self.E, self.A, self.B, self.alpha, self.beta, C)


def huber(r, delta=DELTA):
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def _nnls3(G, h):
    """min c'Gc - 2h'c over c >= 0 for stacks of 3x3 problems: best feasible face minimizer."""
    shape = G.shape[:-2]
    best_c = np.zeros(shape + (3,))
    best_q = np.zeros(shape)
    ridge = 1e-12 * np.trace(G, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) / 3
    G = G + ridge
    for s in _SUBSETS:
        idx = np.array(s)
        c_s = np.linalg.solve(G[..., idx[:, None], idx[None, :]], h[..., idx, None])[..., 0]
        c = np.zeros(shape + (3,))
        c[..., idx] = c_s
        q = np.einsum("...i,...ij,...j->...", c, G, c) - 2 * np.einsum("...i,...i->...", c, h)
        better = np.all(c_s >= 0, axis=-1) & (q < best_q)
        best_c = np.where(better[..., None], c, best_c)
        best_q = np.where(better, q, best_q)
    return best_c


def profile_grid(u, v, L, alphas=GRID, betas=GRID, irls=3, delta=DELTA):
    """Profile Huber objective and (E, a', b') on the (alpha, beta) grid; u, v = N/N0, D/D0."""
    Pa = u[None, :] ** -alphas[:, None]            # (Ga, n)
    Pb = v[None, :] ** -betas[:, None]             # (Gb, n)
    logL = np.log(L)
    w = np.broadcast_to(1.0 / L ** 2, (len(alphas), len(betas), len(L)))
    for it in range(irls + 1):
        wa, wb = np.einsum("abn,an->abn", w, Pa), np.einsum("abn,bn->abn", w, Pb)
        s1, sa, sb = w.sum(-1), wa.sum(-1), wb.sum(-1)
        saa = np.einsum("abn,an->ab", wa, Pa)
        sbb = np.einsum("abn,bn->ab", wb, Pb)
        sab = np.einsum("abn,bn->ab", wa, Pb)
        G = np.stack([np.stack([s1, sa, sb], -1), np.stack([sa, saa, sab], -1),
                      np.stack([sb, sab, sbb], -1)], -2)
        h = np.stack([w @ L, wa @ L, wb @ L], -1)
        c = _nnls3(G, h)
        pred = c[..., 0, None] + c[..., 1, None] * Pa[:, None, :] + c[..., 2, None] * Pb[None, :, :]
        r = np.log(np.maximum(pred, 1e-300)) - logL
        if it < irls:
            w = np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300)) / L ** 2
    return huber(r, delta).sum(-1), c


def grid_minima(obj, k):
    """Indices of up to k best local minima (8-neighbourhood) of a 2-D grid."""
    padded = np.pad(obj, 1, constant_values=np.inf)
    is_min = np.ones_like(obj, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= obj <= padded[1 + di:1 + di + obj.shape[0], 1 + dj:1 + dj + obj.shape[1]]
    cand = np.argwhere(is_min)
    order = np.argsort(obj[is_min])[:k]
    return [tuple(ij) for ij in cand[order]]


def refine(u, v, L, x0, delta=DELTA):
    lu, lv, logL = np.log(u), np.log(v), np.log(L)

    def parts(x):
        E, a, b, al, be = x
        pa, pb = np.exp(-al * lu), np.exp(-be * lv)
        return a * pa, b * pb, E + a * pa + b * pb

    def resid(x):
        return np.log(parts(x)[2]) - logL

    def jac(x):
        ta, tb, pred = parts(x)
        return np.stack([np.ones_like(pred), ta / max(x[1], 1e-300), tb / max(x[2], 1e-300),
                         -ta * lu, -tb * lv], axis=1) / pred[:, None]

    lo = [0.0, 0.0, 0.0, BOUNDS[0], BOUNDS[0]]
    hi = [np.inf, np.inf, np.inf, BOUNDS[1], BOUNDS[1]]
    x0 = np.clip(np.asarray(x0, float), np.array(lo) + 1e-12, hi)
    return least_squares(resid, x0, jac=jac, bounds=(lo, hi), loss="huber", f_scale=delta,
                         x_scale="jac", ftol=1e-14, xtol=1e-14, gtol=1e-14, max_nfev=2000)


def fit_surface(N, D, L, C=None, *, grid=GRID, n_starts=3, extra_starts=(), delta=DELTA, compute=None,
                budgets=None) -> SurfaceFit:
    """Fit L(N, D). extra_starts: (E, A, B, alpha, beta) tuples also refined (e.g. a warm start).
    compute: a ComputeModel; None: measured from the runs (fpu = C / D; C None: 6 N D).
    budgets: where a, b are read (the swept budgets); None: the distinct C of the runs."""
    N, D, L = (np.asarray(x, float) for x in (N, D, L))
    kappa = float(np.median(np.asarray(C, float) / (N * D))) if C is not None else 6.0
    if compute is None:
        compute = ComputeModel.from_runs(N, D, C)
    if budgets is None:
        budgets = np.unique(np.asarray(C, float)) if C is not None else ()
    budgets = tuple(float(c) for c in budgets)
    nan = np.nan
    if len(L) < MIN_POINTS or len(np.unique(N)) < 3 or len(np.unique(D)) < 3:
        return SurfaceFit(nan, nan, nan, nan, nan, nan, len(L), kappa, "too_few_points", delta, compute, budgets)
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    u, v = N / N0, D / D0
    obj, coef = profile_grid(u, v, L, grid, grid, delta=delta)
    starts = [(*coef[i, j], grid[i], grid[j]) for i, j in grid_minima(obj, n_starts)]
    for E, A, B, al, be in extra_starts:   # unscaled -> scaled
        starts.append((E, A * N0 ** -al, B * D0 ** -be, al, be))
    best = None
    for x0 in starts:
        res = refine(u, v, L, x0, delta)
        if best is None or res.cost < best.cost:
            best = res
    E, a, b, al, be = best.x
    A, B = a * N0 ** al, b * D0 ** be
    if a <= 0 or b <= 0:
        status = "degenerate"
    elif np.isclose(al, BOUNDS).any() or np.isclose(be, BOUNDS).any():
        status = "hit_bound"
    elif best.status <= 0:
        status = "not_converged"
    else:
        status = "ok"
    return SurfaceFit(float(E), float(A), float(B), float(al), float(be), float(best.cost), len(L), kappa, status,
                      float(delta), compute, budgets)


def objective(params, N, D, L, delta=DELTA) -> float:
    """Sum of Huber losses of log residuals for (E, A, B, alpha, beta): the quantity fit_surface minimizes."""
    return float(huber(np.log(surface_loss(N, D, *params)) - np.log(L), delta).sum())
