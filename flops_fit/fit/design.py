"""How precisely a sweep's design can pin the compute-optimal exponent a = beta / (alpha + beta).

The Cramér–Rao bound: for log-loss observations log L_i = log L(N_i, D_i) + eps_i, eps ~ N(0, sigma^2), with
L = E + A/N^alpha + B/D^beta, no unbiased estimator of a has a smaller standard deviation than
sqrt(g' F^-1 g), F = J'J / sigma^2 the Fisher information of (E, A, B, alpha, beta) and g = da/dtheta.
It depends on the design (which N, D were run), the noise and the surface, not on how the fit is done,
so it says whether a sweep can answer the question at all: fitting harder cannot beat it; wider sizes or
more budgets can. docs/analysis.md tabulates it for the accuracy study.
"""
import numpy as np


def jacobian(N, D, E, A, B, alpha, beta):
    """d log L / d(E, a, b, alpha, beta) with N, D scaled by their geometric means (a = A N0^-alpha, ...):
    the same bound on a as in (E, A, B, alpha, beta), better conditioned."""
    N, D = np.asarray(N, float), np.asarray(D, float)
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    u, v = N / N0, D / D0
    a, b = A * N0 ** -alpha, B * D0 ** -beta
    tn, td = a * u ** -alpha, b * v ** -beta
    L = E + tn + td
    return np.stack([np.ones_like(L), tn / a, td / b, -tn * np.log(u), -td * np.log(v)], axis=1) / L[:, None]


def _exponent_gradient(N, D, E, A, B, alpha, beta, compute, budgets):
    """da/d(E, a, b, alpha, beta) (scaled as in jacobian) by central differences, for a = the log-log slope of N*(C)
    under a measured compute model (compute.py)."""
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    theta = np.array([E, A * N0 ** -alpha, B * D0 ** -beta, alpha, beta])

    def a_of(t):
        return float(compute.exponents(t[0], t[1] * N0 ** t[3], t[2] * D0 ** t[4], t[3], t[4], budgets)[0])

    g = np.zeros(5)
    for k in range(5):
        h = 1e-6 * max(abs(theta[k]), 1e-3)
        up, dn = theta.copy(), theta.copy()
        up[k] += h
        dn[k] -= h
        g[k] = (a_of(up) - a_of(dn)) / (2 * h)
    return g


def exponent_sd_bound(N, D, E, A, B, alpha, beta, sigma, compute=None, budgets=()) -> float:
    """Cramér–Rao lower bound on the standard deviation of an estimate of a = beta/(alpha+beta) from runs at
    (N, D) with Gaussian noise sigma on log loss. nan when the design cannot identify the five parameters.
    compute (a non-proportional compute.ComputeModel) and budgets: a is the log-log slope of N*(C) over the budgets
    under that compute, its gradient taken numerically."""
    if not (np.isfinite(sigma) and sigma > 0 and min(alpha, beta, A, B) > 0 and len(np.atleast_1d(N)) >= 5):
        return float("nan")
    J = jacobian(N, D, E, A, B, alpha, beta)
    fisher = J.T @ J
    if not np.all(np.isfinite(fisher)) or np.linalg.cond(fisher) > 1e14:
        return float("nan")
    s = alpha + beta
    if compute is not None and not compute.proportional:
        g = _exponent_gradient(N, D, E, A, B, alpha, beta, compute, budgets)
    else:
        g = np.array([0.0, 0.0, 0.0, -beta / s**2, alpha / s**2])
    return float(sigma * np.sqrt(g @ np.linalg.solve(fisher, g)))
