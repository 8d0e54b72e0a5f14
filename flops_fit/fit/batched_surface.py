"""Approach 3's refit for many bootstrap replicates at once: the Huber objective of approach3 with per-run weights
(how often each run was drawn), minimized for all replicates together by a damped Gauss-Newton (Levenberg-Marquardt)
iteration in array operations.

Objective of replicate r: F_r(x) = sum_n W[r, n] Huber_delta(log Lhat_n(x) - log L_n), x = (E, a, b, alpha, beta) in
the scaled units of approach3 (N, D over their geometric means), bounds as approach3.BOUNDS.
Step: (H_q + mu H_c) dx = -g, with
  g   = J' W psi(r), the exact gradient (psi = clip(r, -delta, delta)),
  H_q = J' diag(W 1{|r| <= delta}) J, the Gauss-Newton curvature of the Huber loss (0 for |r| > delta),
  H_c = J' diag(W min(1, delta / |r|)) J, the curvature of the quadratic that majorizes the Huber loss (IRLS),
so mu -> 0 is a Gauss-Newton step and large mu a short, safe IRLS step. A step is taken only if it lowers F_r
(then mu /= 3, else mu *= 10); the trial point is clipped to the bounds. A replicate stops when a taken step lowers
F_r by <= 1e-15 relative, when the step's first-order change g'dx is below 1e-15 F_r (round-off), or when mu
passes 1e10 (no lower point nearby). Replicates that do not stop within
max_iter iterations, or that stop on a bound of E, a or b, are returned unconverged for the caller to finish.
"""
import numpy as np

from .approach3 import BOUNDS, huber


def _parts(X, t, s):
    E, a, b, al, be = (X[:, i, None] for i in range(5))
    pa, pb = np.exp(-al * t), np.exp(-be * s)
    return a * pa, b * pb, E + a * pa + b * pb


def objective(X, t, s, logL, W, delta):
    with np.errstate(all="ignore"):
        pred = _parts(X, t, s)[2]
        F = (W * huber(np.log(pred) - logL, delta)).sum(1)
    return np.where(np.isfinite(F), F, np.inf)


def refine(t, s, logL, W, X0, delta, max_iter=150):
    """t, s: log of scaled N, D (n,); logL (n,); W (R, n) weights; X0 (R, 5) starts (scaled units).
    Returns (X (R, 5), F (R,), converged (R,) bool)."""
    lo = np.array([0.0, 0.0, 0.0, BOUNDS[0], BOUNDS[0]])
    hi = np.array([np.inf, np.inf, np.inf, BOUNDS[1], BOUNDS[1]])
    X = np.clip(np.asarray(X0, float), lo + 1e-12, hi).copy()
    W = np.asarray(W, float)
    F = objective(X, t, s, logL, W, delta)
    mu = np.ones(len(X))
    done = np.zeros(len(X), bool)
    conv = np.zeros(len(X), bool)
    eye = np.eye(5)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if not len(act):
            break
        x, w, m = X[act], W[act], mu[act]
        with np.errstate(all="ignore"):
            ta, tb, pred = _parts(x, t, s)
            r = np.log(pred) - logL
            J = np.stack([np.ones_like(pred), ta / np.maximum(x[:, 1, None], 1e-300),
                          tb / np.maximum(x[:, 2, None], 1e-300), -ta * t, -tb * s], -1) / pred[..., None]
            ar = np.abs(r)
            Jt = J.transpose(0, 2, 1)
            g = (Jt @ (w * np.clip(r, -delta, delta))[..., None])[..., 0]
            Hq = (Jt * (w * (ar <= delta))[:, None, :]) @ J
            Hc = (Jt * (w * np.minimum(1.0, delta / np.maximum(ar, 1e-300)))[:, None, :]) @ J
            H = Hq + m[:, None, None] * Hc
            H = H + 1e-12 * np.trace(H, axis1=1, axis2=2)[:, None, None] * eye
            bad = ~np.isfinite(H).all((1, 2)) | ~np.isfinite(g).all(1)
            H[bad], g[bad] = eye, 0.0
            dx = -np.linalg.solve(H, g[..., None])[..., 0]
        xt = np.clip(x + dx, lo, hi)
        Ft = objective(xt, t, s, logL, w, delta)
        take = Ft < F[act]
        # converged: a taken step gained <= 1e-15 relative, or the step's first-order gain is below round-off
        small = (take & (F[act] - Ft <= 1e-15 * F[act])) | (np.abs(np.sum(g * dx, 1)) <= 1e-15 * F[act])
        X[act] = np.where(take[:, None], xt, x)
        F[act] = np.where(take, Ft, F[act])
        mu[act] = np.where(take, m / 3, m * 10)
        stop = small | (mu[act] > 1e10) | bad
        done[act] |= stop
        conv[act] |= stop & ~bad
    at_bound = (X[:, :3] <= 0).any(1)
    return X, F, conv & ~at_bound
