"""Prediction intervals for a run's loss at (N, D) and for N*, D*, L* at a budget C.

On the log scale a new run's loss is predicted with variance
    v = v_param(N, D) + sigma^2 + tau^2
  - v_param: the parameters' uncertainty carried to the prediction: g' Cov g (delta method, g the gradient of
    log Lhat in the law's theta; laws.py), or the variance of log Lhat over parameter draws (e.g. bootstrap);
  - sigma: the run-to-run noise, from seed replicates or robustly from the residuals; its own uncertainty
    enters as a Student-t quantile on its degrees of freedom instead of a normal one;
  - tau * d: the law's misfit, measured out of sample by the rollout on the fitted runs (rollout.misfit_tau): the
    part of the rollout's errors that v_param + sigma^2 do not cover, growing with the distance d = ln(x / x_max)
    by which the prediction reaches past the fitted runs (0 inside them, where sigma already holds the misfit).
    Per axis ({axis: tau} with {axis: d}, rollout.distance(by_axis=True)): sqrt(sum over axes of (tau_a d_a)^2).
The interval is Lhat * exp(+-q sqrt(v)), q = t_{dof}((1 + level) / 2): on the loss's own (linear) scale.

N*, D* at C: N* exp(+-q sqrt(v + tau_N^2)), v the variance of ln N* over parameter draws theta ~ Normal(theta_hat,
Cov), each minimizing the law under the compute model (compute.py), and tau_N N*'s misfit measured by the rollout
over budgets (vertices.py). L*(C) is the loss a run at that optimum would get: its interval adds
sigma^2 + tau^2 to the draws' variance of log L*, like any run's.
"""
import numpy as np
from scipy.stats import t as student_t

from flops_fit.constants import LEVEL
from flops_fit.fit.result import surface_loss

from .laws import LawFit, log_jacobian

N_DRAWS = 400


def quantile(level, dof) -> float:
    return float(student_t.ppf((1 + level) / 2, max(int(dof), 1)))


def param_log_var(fit: LawFit, N, D):
    """Variance of log Lhat(N, D) from the parameters' covariance (delta method)."""
    lu = np.log(np.asarray(N, float) / fit.N0)
    lv = np.log(np.asarray(D, float) / fit.D0)
    J, _ = log_jacobian(fit.theta, fit.law.shared, np.atleast_1d(lu), np.atleast_1d(lv))
    return np.einsum("ni,ij,nj->n", J, fit.cov, J)


def draws_log_var(draws: dict, N, D):
    """Variance of log Lhat over parameter draws {E, A, B, alpha, beta: arrays (K,)} (e.g. bootstrap replicates)."""
    N, D = np.atleast_1d(np.asarray(N, float)), np.atleast_1d(np.asarray(D, float))
    p = {k: np.asarray(v, float)[:, None] for k, v in draws.items()}
    with np.errstate(all="ignore"):
        logp = np.log(surface_loss(N, D, p["E"], p["A"], p["B"], p["alpha"], p["beta"]))
    ok = np.isfinite(logp).all(1)
    return np.var(logp[ok], axis=0, ddof=1)


def misfit_sd(tau, distance):
    """The misfit's log-scale sd: tau * d, or per axis sqrt(sum (tau_a d_a)^2) for dicts {axis: tau}, {axis: d}
    (a dict tau with one d for all axes: the largest tau_a times d)."""
    if not isinstance(tau, dict):
        if isinstance(distance, dict):   # one tau for every axis: the largest distance
            distance = np.max(np.stack([np.zeros(1), *map(np.atleast_1d, distance.values())]), axis=0)
        return tau * np.asarray(distance, float)
    if not isinstance(distance, dict):
        return max(tau.values(), default=0.0) * np.asarray(distance, float)
    return np.sqrt(sum((float(t) * np.asarray(distance.get(a, 0.0), float)) ** 2 for a, t in tau.items()))


def loss_interval(fit: LawFit, N, D, *, tau=0.0, distance=0.0, level=LEVEL, draws=None) -> dict:
    """Predicted loss at (N, D) with its `level` prediction interval (arrays). tau * distance: the misfit's sd
    (rollout.misfit_tau, rollout.distance). draws: parameter draws for the parameter part instead of the delta
    method."""
    N, D = np.atleast_1d(np.asarray(N, float)), np.atleast_1d(np.asarray(D, float))
    pred = fit.predict(N, D)
    v_par = draws_log_var(draws, N, D) if draws is not None else param_log_var(fit, N, D)
    mis = np.broadcast_to(misfit_sd(tau, distance), pred.shape).astype(float)
    sd = np.sqrt(v_par + fit.sigma ** 2 + mis ** 2)
    q = quantile(level, fit.dof)
    return {"predicted": pred, "lo": pred * np.exp(-q * sd), "hi": pred * np.exp(q * sd), "sd_log": sd,
            "sd_param": np.sqrt(v_par), "sigma": fit.sigma, "misfit": mis, "level": level, "q": q}


def param_draws(fit: LawFit, n=N_DRAWS, seed=0) -> dict:
    """Draws of (E, A, B, alpha, beta) from Normal(theta_hat, Cov), kept where E >= 0 and the exponents > 0."""
    rng = np.random.default_rng(seed)
    th = rng.multivariate_normal(fit.theta, fit.cov, size=n, check_valid="ignore", method="svd")
    al = th[:, 3]
    be = al if fit.law.shared else th[:, 4]
    keep = (th[:, 0] >= 0) & (al > 0) & (be > 0)
    th, al, be = th[keep], al[keep], be[keep]
    return {"E": th[:, 0], "A": np.exp(th[:, 1]) * fit.N0 ** al, "B": np.exp(th[:, 2]) * fit.D0 ** be,
            "alpha": al, "beta": be}


def optimum_interval(fit: LawFit, compute, C, *, tau=0.0, distance=0.0, tau_n=0.0, level=LEVEL, draws=None,
                     seed=0) -> dict:
    """N*, D*, L* at budgets C under a compute model, each {value, lo, hi} (arrays over C). tau_n: N*'s misfit sd on
    the log scale (vertices.py: the budget rollout), added to the draws' variance of ln N* and ln D*."""
    C = np.atleast_1d(np.asarray(C, float))
    p = fit.params
    N, D, L = compute.optimum(p["E"], p["A"], p["B"], p["alpha"], p["beta"], C)
    d = draws if draws is not None else param_draws(fit, seed=seed)
    Nd, Dd, Ld = compute.optimum(d["E"], d["A"], d["B"], d["alpha"], d["beta"], C)
    q = quantile(level, fit.dof)
    with np.errstate(all="ignore"):
        sn = np.sqrt(np.nanvar(np.log(Nd), axis=0, ddof=1) + tau_n ** 2)
        sdd = np.sqrt(np.nanvar(np.log(Dd), axis=0, ddof=1) + tau_n ** 2)
        v = np.nanvar(np.log(Ld), axis=0, ddof=1)
    lo_n, hi_n = N * np.exp(-q * sn), N * np.exp(q * sn)
    lo_d, hi_d = D * np.exp(-q * sdd), D * np.exp(q * sdd)
    sd = np.sqrt(v + fit.sigma ** 2 + misfit_sd(tau, distance) ** 2)
    return {"C": C, "n_star": {"value": N, "lo": lo_n, "hi": hi_n}, "d_star": {"value": D, "lo": lo_d, "hi": hi_d},
            "l_star": {"value": L, "lo": L * np.exp(-q * sd), "hi": L * np.exp(q * sd)}, "level": level}
