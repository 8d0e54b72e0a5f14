"""The candidate laws for per-run losses, each fitted with its parameter covariance.

A law is a surface form and an objective (and optionally a weighting of the runs):
  - form `chinchilla`: L = E + A/N^alpha + B/D^beta (5 parameters); `shared`: the same with alpha = beta (4);
  - objective `huber_log`: sum Huber_delta(log Lhat - log L), delta = 1e-3 (Chinchilla's, flops-fit's Approach 3);
    `ls_loss`: least squares on the loss itself;
  - weighting `m_distance`: run i weighted 1 / (1 + |ln(M_i / median M)|), M = D/N, which down-weights the
    over- and under-trained corners of a grid (the distance weights of OLMo-core's ladder, applied to M).

`fit_law` searches a grid of exponents with (E, A, B) solved as a non-negative least squares at each, then
refines all parameters with scipy `least_squares`. The parameters live in theta = (E, ln A', ln B', alpha
[, beta]) with A' = A / N0^alpha, B' = B / D0^beta (N0, D0: geometric means of the fitted runs), where the
covariance is computed (delta method; intervals.py):
  - huber_log: sigma^2 * eff * (J'WJ)^-1 (J'W^2J) (J'WJ)^-1 with J on log scale, sigma the robust noise
    sd of the log residuals and eff Huber's asymptotic variance factor E[psi^2] / (sigma E[psi'])^2 at
    k = delta / sigma under Gaussian noise (pi/2 as delta -> 0: least absolute deviations);
  - ls_loss: the same sandwich on the loss scale with Var(residual_i) = (L_i sigma)^2 (the noise is relative).
A form with p parameters needs n >= p + 1 runs with >= 2 distinct N and D: fewer than Approach 3's 8 for the
shared form, with a Student-t quantile on n - p degrees of freedom (wide when n is small).
"""
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.stats import norm

from flops_fit.fit.result import surface_loss

DELTA = 1e-3
GRID = np.geomspace(0.05, 1.6, 18)
EXP_BOUNDS = (1e-3, 5.0)
MAD_SD = 1.4826
NOISE_FLOOR = 1e-4


@dataclass(frozen=True)
class Law:
    name: str
    shared: bool          # alpha = beta
    objective: str        # huber_log | ls_loss
    weighting: str = "none"   # none | m_distance

    @property
    def n_params(self) -> int:
        return 4 if self.shared else 5

    @property
    def describe(self) -> str:
        form = "E + A/N^a + B/D^a (alpha = beta)" if self.shared else "E + A/N^alpha + B/D^beta"
        obj = (f"Huber (delta={DELTA:g}) on log loss" if self.objective == "huber_log"
               else "least squares on loss")
        w = ", runs weighted 1/(1 + |ln(M / median M)|)" if self.weighting == "m_distance" else ""
        return f"{form}; {obj}{w}"


LAWS = {law.name: law for law in (
    Law("chinchilla", False, "huber_log"),
    Law("chinchilla_ls", False, "ls_loss"),
    Law("shared", True, "huber_log"),
    Law("shared_ls", True, "ls_loss"),
    Law("chinchilla_ls_mw", False, "ls_loss", "m_distance"),
    Law("shared_ls_mw", True, "ls_loss", "m_distance"),
)}
DEFAULT_LAW = "chinchilla"   # the form and objective of Approach 3


@dataclass(frozen=True)
class LawFit:
    law: Law
    theta: np.ndarray = field(repr=False)    # (E, ln A', ln B', alpha[, beta])
    cov: np.ndarray = field(repr=False)      # covariance of theta
    N0: float
    D0: float
    sigma: float          # run-to-run noise sd of log loss (robust, from residuals or replicates)
    dof: int              # degrees of freedom of sigma (Student-t quantile)
    n: int
    status: str           # ok | too_few_points | degenerate | not_converged
    noise_method: str = "residuals"

    @property
    def params(self) -> dict:
        """E, A, B, alpha, beta on the unscaled N, D."""
        t = self.theta
        al, be = t[3], t[3] if self.law.shared else t[4]
        return {"E": float(t[0]), "A": float(np.exp(t[1]) * self.N0 ** al), "B": float(np.exp(t[2]) * self.D0 ** be),
                "alpha": float(al), "beta": float(be)}

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def predict(self, N, D):
        p = self.params
        return surface_loss(N, D, p["E"], p["A"], p["B"], p["alpha"], p["beta"])

    def to_dict(self) -> dict:
        """JSON fields; from_dict reads them back (theta, cov, N0, D0: what an interval needs, no refit)."""
        return {"law": self.law.name, "describe": self.law.describe, "status": self.status, "n_points": self.n,
                "n_params": self.law.n_params, **self.params, "noise_sigma": self.sigma, "noise_dof": self.dof,
                "noise_method": self.noise_method, "theta_names": self.theta_names,
                "theta": self.theta.tolist(), "cov": self.cov.tolist(), "N0": self.N0, "D0": self.D0}

    @property
    def theta_names(self) -> list:
        return ["E", "ln A/N0^alpha", "ln B/D0^beta", "alpha"] + ([] if self.law.shared else ["beta"])

    @classmethod
    def from_dict(cls, d: dict) -> "LawFit":
        return cls(LAWS[d["law"]], np.asarray(d["theta"], float), np.asarray(d["cov"], float), float(d["N0"]),
                   float(d["D0"]), float(d["noise_sigma"]), int(d["noise_dof"]), int(d["n_points"]), d["status"],
                   d.get("noise_method", "residuals"))


def surface_parts(theta, shared, lu, lv):
    """(E, A' u^-alpha, B' v^-beta) for theta arrays (..., p) against log-scaled sizes lu, lv (n,)."""
    theta = np.asarray(theta, float)
    al = theta[..., 3, None]
    be = al if shared else theta[..., 4, None]
    ta = np.exp(theta[..., 1, None] - al * lu)
    tb = np.exp(theta[..., 2, None] - be * lv)
    return theta[..., 0, None], ta, tb


def log_jacobian(theta, shared, lu, lv):
    """(n, p) derivative of log Lhat with respect to theta, and Lhat."""
    E, ta, tb = surface_parts(theta, shared, lu, lv)
    pred = E + ta + tb
    cols = [np.ones_like(pred), ta, tb]
    cols += [-(ta * lu + tb * lv)] if shared else [-ta * lu, -tb * lv]
    return np.stack(cols, -1) / pred[..., None], pred


def huber_efficiency(k: float) -> float:
    """E[psi^2] / (sigma^2 E[psi']^2) for the Huber psi at threshold k sigma under Gaussian noise."""
    inside = 2 * norm.cdf(k) - 1
    e_psi2 = inside - 2 * k * norm.pdf(k) + 2 * k * k * (1 - norm.cdf(k))
    return float(e_psi2 / max(inside, 1e-12) ** 2)


def m_weights(N, D):
    m = np.log(np.asarray(D, float) / np.asarray(N, float))
    return 1.0 / (1.0 + np.abs(m - np.median(m)))


def _profile_starts(u, v, L, w, law, k=2):
    """Best k exponent pairs on the grid with (E, A', B') >= 0 by weighted NNLS (on the loss, weights w for
    ls_loss, w / L^2 for huber_log: a least-squares proxy of the log objective)."""
    sw = np.sqrt(w if law.objective == "ls_loss" else w / L ** 2)
    pairs = [(g, g) for g in GRID] if law.shared else [(a, b) for a in GRID for b in GRID]
    scored = []
    for a, b in pairs:
        X = np.stack([np.ones_like(u), u ** -a, v ** -b], 1)
        c, rnorm = nnls(X * sw[:, None], L * sw)
        scored.append((rnorm, a, b, c))
    scored.sort(key=lambda s: s[0])
    starts = []
    for _, a, b, c in scored[:k]:
        c = np.maximum(c, 1e-8 * L.min())
        starts.append([c[0], math.log(c[1]), math.log(c[2]), a] + ([] if law.shared else [b]))
    return starts


def fit_law(N, D, L, law: Law | str, *, noise=None, delta=DELTA) -> LawFit:
    """Fit one law to runs. noise: (sigma, dof, method) measured elsewhere (seed replicates); None: from the
    residuals (1.4826 MAD, scaled by sqrt(n / (n - p)), dof n - p)."""
    law = LAWS[law] if isinstance(law, str) else law
    N, D, L = (np.asarray(x, float) for x in (N, D, L))
    n, p = len(L), law.n_params
    N0, D0 = float(np.exp(np.mean(np.log(N)))) if n else 1.0, float(np.exp(np.mean(np.log(D)))) if n else 1.0
    nan = np.full(p, np.nan)
    if n < p + 1 or len(np.unique(N)) < 2 or len(np.unique(D)) < 2:
        return LawFit(law, nan, np.full((p, p), np.nan), N0, D0, np.nan, 0, n, "too_few_points")
    lu, lv = np.log(N / N0), np.log(D / D0)
    w = m_weights(N, D) if law.weighting == "m_distance" else np.ones(n)
    w = w / w.mean()
    sw, logL = np.sqrt(w), np.log(L)

    def resid(t):
        E, ta, tb = surface_parts(t, law.shared, lu, lv)
        pred = E + ta + tb
        return sw * ((np.log(np.maximum(pred, 1e-300)) - logL) if law.objective == "huber_log" else (pred - L))

    def jac(t):
        J, pred = log_jacobian(t, law.shared, lu, lv)
        return sw[:, None] * (J if law.objective == "huber_log" else J * pred[:, None])

    lo = [0.0, -60.0, -60.0] + [EXP_BOUNDS[0]] * (p - 3)
    hi = [np.inf, 60.0, 60.0] + [EXP_BOUNDS[1]] * (p - 3)
    kw = dict(loss="huber", f_scale=delta) if law.objective == "huber_log" else {}
    best = None
    for x0 in _profile_starts(np.exp(lu), np.exp(lv), L, w, law):
        x0 = np.clip(x0, np.array(lo) + 1e-9, hi)
        res = least_squares(resid, x0, jac=jac, bounds=(lo, hi), x_scale="jac", ftol=1e-12, xtol=1e-12,
                            gtol=1e-12, max_nfev=400, **kw)
        if best is None or res.cost < best.cost:
            best = res
    theta = best.x
    J, pred = log_jacobian(theta, law.shared, lu, lv)
    e = np.log(pred) - logL
    if noise is not None:
        sigma, dof, method = noise
    else:
        dof = n - p
        sigma = MAD_SD * float(np.median(np.abs(e))) * math.sqrt(n / dof)
        method = f"robust sd of the fit's log residuals (1.4826 MAD x sqrt(n/(n-p)), {dof} dof)"
    sigma = max(float(sigma), NOISE_FLOOR)
    scale = sigma ** 2 * (huber_efficiency(delta / sigma) if law.objective == "huber_log" else 1.0)
    Js = J if law.objective == "huber_log" else J * pred[:, None]
    var_i = scale * (np.ones(n) if law.objective == "huber_log" else pred ** 2)
    bread = np.linalg.pinv((Js * w[:, None]).T @ Js)
    meat = (Js * (w ** 2 * var_i)[:, None]).T @ Js
    cov = bread @ meat @ bread
    near_bound = np.any(theta[1:3] <= lo[1] + 1) or np.any(np.isclose(theta[3:], EXP_BOUNDS, rtol=1e-6))
    status = "degenerate" if near_bound else ("ok" if best.status > 0 else "not_converged")
    return LawFit(law, theta, cov, N0, D0, sigma, int(dof), n, status, method)
