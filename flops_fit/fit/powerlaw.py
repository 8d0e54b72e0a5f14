"""Power laws in compute: y = k * C^a (N*, D*) and L*(C) = E + k * C^-g, fitted with lmfit.

C is scaled by c_ref (the geometric mean of the fitted budgets) inside the fit so the parameters
are O(1); the reported k is in unscaled units. The `*_fast` twins solve the same objectives without
lmfit's bookkeeping, for the bootstrap.
"""
from dataclasses import dataclass

import numpy as np
from lmfit import Model
from scipy.optimize import least_squares

from flops_fit.constants import G_MAX, G_MIN

from .result import loss_law, power_law


@dataclass(frozen=True)
class PowerLawFit:
    """y = k * C^exponent, least squares on log10 y."""
    k: float
    exponent: float
    exponent_stderr: float
    r2: float            # in log10 space
    n_points: int
    status: str          # ok | too_few_points

    def predict(self, C):
        return power_law(C, self.k, self.exponent)


@dataclass(frozen=True)
class LossLawFit:
    """L*(C) = E + k * C^-g, least squares on L."""
    E: float
    k: float
    g: float
    E_stderr: float
    g_stderr: float
    r2: float
    n_points: int
    status: str          # ok | too_few_points | hit_bound

    def predict(self, C):
        return loss_law(C, self.E, self.k, self.g)


def _log_power(logc, log_k, a):
    return log_k + a * logc


def _r2(y, yhat):
    ss = np.sum((y - np.mean(y)) ** 2)
    return float(1.0 - np.sum((y - yhat) ** 2) / ss) if ss > 0 else float("nan")


def fit_power_law(C, y) -> PowerLawFit:
    C, y = np.asarray(C, float), np.asarray(y, float)
    if len(C) < 2 or len(np.unique(C)) < 2:
        return PowerLawFit(np.nan, np.nan, np.nan, np.nan, len(C), "too_few_points")
    c_ref = float(np.exp(np.mean(np.log(C))))
    logc, logy = np.log10(C / c_ref), np.log10(y)
    model = Model(_log_power)
    params = model.make_params(log_k=float(np.mean(logy)), a=0.5)
    res = model.fit(logy, params, logc=logc)
    log_k, a = res.params["log_k"].value, res.params["a"].value
    stderr = res.params["a"].stderr
    return PowerLawFit(k=float(10 ** log_k * c_ref ** (-a)), exponent=float(a),
                       exponent_stderr=float(stderr) if stderr is not None else np.nan,
                       r2=_r2(logy, res.best_fit) if len(C) > 2 else 1.0, n_points=len(C), status="ok")


def power_law_fast(C, y):
    """(k, exponent) by closed-form least squares on logs; nan when underdetermined."""
    if len(C) < 2 or np.ptp(C) == 0:
        return np.nan, np.nan
    c_ref = np.exp(np.mean(np.log(C)))
    a, log_k = np.polyfit(np.log10(C / c_ref), np.log10(y), 1)
    return 10 ** log_k * c_ref ** (-a), a


def _loss_law(x, E, k, g):   # lmfit reads the parameter names off this signature
    return loss_law(x, E, k, g)


def fit_loss_law(C, L) -> LossLawFit:
    C, L = np.asarray(C, float), np.asarray(L, float)
    nan = np.nan
    if len(np.unique(C)) < 3:
        return LossLawFit(nan, nan, nan, nan, nan, nan, len(C), "too_few_points")
    c_ref = float(np.exp(np.mean(np.log(C))))
    x = C / c_ref
    model = Model(_loss_law)
    best = None
    for frac in (0.0, 0.5, 0.9):  # a few starts for E: the fit is nonlinear in g
        params = model.make_params(E=dict(value=frac * L.min(), min=0.0, max=float(L.min())),
                                   k=dict(value=max(L.max() - frac * L.min(), 1e-6), min=0.0),
                                   g=dict(value=0.1, min=G_MIN, max=G_MAX))
        res = model.fit(L, params, x=x)
        if best is None or res.chisqr < best.chisqr:
            best = res
    p = best.params
    g = p["g"].value
    # lmfit's bounded parameters approach a bound asymptotically (E ~ 1e-10, not 0): compare relative to L
    E = p["E"].value
    at_bound = E <= 1e-6 * L.min() or E >= (1 - 1e-6) * L.min() or np.isclose(g, G_MAX) or np.isclose(g, G_MIN)
    se = lambda name: float(p[name].stderr) if p[name].stderr is not None else nan  # noqa: E731
    return LossLawFit(E=float(p["E"].value), k=float(p["k"].value * c_ref ** g), g=float(g),
                      E_stderr=se("E"), g_stderr=se("g"), r2=_r2(L, best.best_fit), n_points=len(C),
                      status="hit_bound" if at_bound else "ok")


def loss_law_fast(C, L):
    """(E, k, g) for the bootstrap; nan when underdetermined."""
    if len(np.unique(C)) < 3:
        return np.nan, np.nan, np.nan
    c_ref = np.exp(np.mean(np.log(C)))
    lx = np.log(C / c_ref)

    def resid(p):
        return p[0] + p[1] * np.exp(-p[2] * lx) - L

    best = None
    for frac in (0.0, 0.5, 0.9):
        x0 = [frac * L.min(), max(L.max() - frac * L.min(), 1e-6), 0.1]
        r = least_squares(resid, x0, bounds=([0, 0, G_MIN], [L.min(), np.inf, G_MAX]))
        if best is None or r.cost < best.cost:
            best = r
    E, k, g = best.x
    return E, k * c_ref ** g, g
