"""Approach 2's fits for many bootstrap replicates at once. A replicate is a weight vector over the fitted runs (how
often each run was drawn), so a weighted fit is the fit of the resampled copies, and all replicates are solved in
array operations instead of a Python loop.

  - parabola_vertices: per budget, the weighted least-squares parabola in x (the same objective as
    approach2.parabola_coefs on the resampled copies); its vertex, NaN unless c2 > 0, >= 3 distinct sizes were
    drawn, positive curvature and a positive vertex loss (the vertex may lie outside the drawn sizes).
  - power_laws: y = k C^a by least squares on log10 over the finite budgets (powerlaw.power_law_fast).
  - loss_laws: L*(C) = E + k C^-g, least squares on L, 0 <= E <= min L*, k >= 0, 1e-4 <= g <= 3
    (powerlaw.loss_law_fast's objective and bounds). For fixed g the problem is a 2-variable box-constrained least
    squares, solved exactly; g is found on a 160-point log grid, then by golden-section search in the best cell.
"""
import numpy as np

from flops_fit.constants import G_MAX, G_MIN

G_GRID = np.geomspace(G_MIN, G_MAX, 160)


def parabola_vertices(x, y, W, min_points=3):
    """x, y: (m,) one budget's runs; W: (R, m) draw counts. Returns (x*, y*) of shape (R,)."""
    m = float(np.mean(x))
    z = x - m
    P = np.stack([np.ones_like(z), z, z * z, z ** 3, z ** 4], 1)          # (m, 5)
    S = W @ P                                                            # (R, 5) weighted moments
    T = W @ (P[:, :3] * y[:, None])                                      # (R, 3)
    G = np.stack([S[:, 0:3], S[:, 1:4], S[:, 2:5]], 1)                    # (R, 3, 3)
    drawn = W > 0
    _, inv = np.unique(x, return_inverse=True)
    distinct = np.zeros((len(W), inv.max() + 1), bool)
    for j in range(len(x)):
        distinct[:, inv[j]] |= drawn[:, j]
    ok = distinct.sum(1) >= min_points
    G = np.where(ok[:, None, None], G, np.eye(3))
    with np.errstate(all="ignore"):
        c0, c1, c2 = np.moveaxis(np.linalg.solve(G, T[..., None])[..., 0], -1, 0)
        zs = -c1 / (2 * c2)
        ys = c0 - c1 * c1 / (4 * c2)
    # a vertex outside the replicate's own drawn sizes is kept (a resample lacking the edge sizes says nothing
    # about the full grid's edge: analyze tests replicate vertices against the full grid, edge.py); a far
    # extrapolated vertex can dip below zero loss: dropped
    ok &= (c2 > 0) & (ys > 0)
    return np.where(ok, zs + m, np.nan), np.where(ok, ys, np.nan)


def power_laws(C, Y):
    """C: (nb,) budgets; Y: (R, nb) values, NaN where a budget is missing. (k, a) of shape (R,)."""
    M = np.isfinite(Y)
    lc = np.where(M, np.log10(C), 0.0)
    n = M.sum(1)
    with np.errstate(all="ignore"):
        ly = np.where(M, np.log10(Y), 0.0)
        mc, my = lc.sum(1) / n, ly.sum(1) / n
        dc = np.where(M, lc - mc[:, None], 0.0)
        sxx = (dc * dc).sum(1)
        a = (dc * (ly - my[:, None])).sum(1) / sxx
        k = 10 ** (my - a * mc)
    ok = (n >= 2) & (sxx > 0)
    return np.where(ok, k, np.nan), np.where(ok, a, np.nan)


def _box_ls2(z, L, M, Lmin):
    """min_{0 <= E <= Lmin, k >= 0} sum_M (E + k z - L)^2 for each row (and g): (E, k, sse). Shapes (..., nb)."""
    n = M.sum(-1)
    sz, sl = (z * M).sum(-1), (L * M).sum(-1)
    szz, szl = (z * z * M).sum(-1), (z * L * M).sum(-1)

    def sse(E, k):
        return (((E[..., None] + k[..., None] * z - L) ** 2) * M).sum(-1)

    with np.errstate(all="ignore"):
        det = n * szz - sz * sz
        E_u = (szz * sl - sz * szl) / det
        k_u = (n * szl - sz * sl) / det
        cands = [(E_u, k_u, (E_u >= 0) & (E_u <= Lmin) & (k_u >= 0) & (det > 0))]
        for E_fix in (np.zeros_like(Lmin), Lmin):
            k_e = np.maximum((szl - E_fix * sz) / szz, 0.0)
            cands.append((E_fix, k_e, np.isfinite(k_e)))
        E_k0 = np.clip(sl / n, 0.0, Lmin)
        cands.append((E_k0, np.zeros_like(E_k0), np.ones_like(E_k0, bool)))
    best_E, best_k, best_s = (np.full(np.shape(Lmin), np.nan), np.full(np.shape(Lmin), np.nan),
                              np.full(np.shape(Lmin), np.inf))
    for E, k, ok in cands:
        s = np.where(ok, sse(E, k), np.inf)
        take = s < best_s
        best_E, best_k, best_s = np.where(take, E, best_E), np.where(take, k, best_k), np.where(take, s, best_s)
    return best_E, best_k, best_s


def loss_laws(C, Lstar, iters=40):
    """C: (nb,); Lstar: (R, nb), NaN where missing. (E, k, g) of shape (R,), NaN with < 3 budgets."""
    M = np.isfinite(Lstar)
    R = len(Lstar)
    lc = np.log(C)[None, :]
    n = M.sum(1)
    with np.errstate(all="ignore"):
        lref = np.where(M, lc, 0.0).sum(1) / n                           # log of the geometric-mean budget
        lx = np.where(M, lc - lref[:, None], 0.0)                        # log(C / c_ref)
    L = np.where(M, Lstar, 0.0)
    Lmin = np.where(M, Lstar, np.inf).min(1)
    Lmin = np.where(np.isfinite(Lmin), Lmin, 0.0)
    ok = n >= 3

    def profile(g):   # g: (R, K) -> (E, k, sse) of shape (R, K)
        z = np.exp(-g[..., None] * lx[:, None, :])
        return _box_ls2(z, L[:, None, :], M[:, None, :], np.broadcast_to(Lmin[:, None], g.shape))

    grid = np.broadcast_to(G_GRID, (R, len(G_GRID)))
    _, _, s = profile(grid)
    i = np.argmin(s, 1)
    lo = np.log(G_GRID[np.maximum(i - 1, 0)])
    hi = np.log(G_GRID[np.minimum(i + 1, len(G_GRID) - 1)])
    phi = (np.sqrt(5) - 1) / 2
    for _ in range(iters):       # golden section on log g within the best grid cell
        c, d = hi - phi * (hi - lo), lo + phi * (hi - lo)
        _, _, sc = profile(np.exp(np.stack([c, d], 1)))
        left = sc[:, 0] <= sc[:, 1]
        hi, lo = np.where(left, d, hi), np.where(left, lo, c)
    cand = np.stack([np.exp((lo + hi) / 2), G_GRID[i]], 1)
    E, k, s = profile(cand)
    j = np.argmin(s, 1)[:, None]
    E, k, g = (np.take_along_axis(q, j, 1)[:, 0] for q in (E, k, cand))
    with np.errstate(all="ignore"):
        k = k * np.exp(g * lref)
    return tuple(np.where(ok, q, np.nan) for q in (E, k, g))
