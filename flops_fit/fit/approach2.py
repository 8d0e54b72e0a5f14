"""Approach 2 (IsoFLOP profiles): per budget a parabola of loss in log10 N (and in log10 D); its
vertex gives N*, D*, L*. Then power laws N* = k C^a, D* = k C^b and L*(C) = E + k C^-g over the
budgets whose status is ok.

A parabola is the local (second-order) shape of the IsoFLOP profile, not its exact shape: on a
wide grid the vertex is biased. Budgets are fitted on runs already screened for outliers
(outliers.py), which is what makes the fit robust; the parabola itself is ordinary least squares.
"""
from dataclasses import dataclass

import numpy as np

from .powerlaw import LossLawFit, PowerLawFit, fit_loss_law, fit_power_law

MIN_POINTS = 3


@dataclass(frozen=True)
class ParabolaFit:
    """loss = c0 + c1 x + c2 x^2, x = log10 of the swept variable (N or D)."""
    c0: float
    c1: float
    c2: float
    x_min: float          # sampled range of x
    x_max: float
    n_points: int
    status: str           # ok | too_few_points | non_positive_curvature | edge_of_grid

    @property
    def x_star(self) -> float:
        return -self.c1 / (2 * self.c2) if self.c2 != 0 else np.nan

    @property
    def opt(self) -> float:
        """N* (or D*): 10 ** vertex."""
        return 10.0 ** self.x_star

    @property
    def loss_min(self) -> float:
        return self.c0 - self.c1 ** 2 / (4 * self.c2) if self.c2 != 0 else np.nan

    def predict(self, x):
        x = np.asarray(x, float)
        return self.c0 + self.c1 * x + self.c2 * x ** 2


def parabola_coefs(x, y):
    """(c0, c1, c2) by least squares, fitted in centred x for conditioning."""
    m = np.mean(x)
    a, b, c = np.polyfit(x - m, y, 2)
    return c - b * m + a * m * m, b - 2 * a * m, a


def fit_parabola(x, y) -> ParabolaFit:
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < MIN_POINTS or len(np.unique(x)) < MIN_POINTS:
        lo, hi = (float(x.min()), float(x.max())) if n else (np.nan, np.nan)
        return ParabolaFit(np.nan, np.nan, np.nan, lo, hi, n, "too_few_points")
    c0, c1, c2 = parabola_coefs(x, y)
    fit = ParabolaFit(float(c0), float(c1), float(c2), float(x.min()), float(x.max()), n, "ok")
    # curvature below round-off (e.g. exactly linear losses give c2 ~ +-1e-17) is no curvature
    span = (fit.x_max - fit.x_min) ** 2
    if not c2 * span > 1e-9 * max(np.ptp(y), np.abs(y).max() * 1e-12):
        status = "non_positive_curvature"
    elif not fit.x_min <= fit.x_star <= fit.x_max:
        status = "edge_of_grid"
    else:
        status = "ok"
    return ParabolaFit(fit.c0, fit.c1, fit.c2, fit.x_min, fit.x_max, n, status)


@dataclass(frozen=True)
class BudgetFit:
    budget: float
    in_n: ParabolaFit     # loss vs log10 N: gives N*, L*
    in_d: ParabolaFit     # loss vs log10 D: gives D*
    run_ids: tuple

    @property
    def status(self) -> str:
        return self.in_n.status if self.in_n.status != "ok" else self.in_d.status

    @property
    def n_star(self) -> float:
        return self.in_n.opt

    @property
    def d_star(self) -> float:
        return self.in_d.opt

    @property
    def l_star(self) -> float:
        return self.in_n.loss_min


@dataclass(frozen=True)
class Approach2Fit:
    budgets: tuple        # BudgetFit, ascending budget
    n_star: PowerLawFit
    d_star: PowerLawFit
    l_star: LossLawFit
    status: str           # ok | too_few_budgets

    @property
    def ok_budgets(self) -> tuple:
        return tuple(b for b in self.budgets if b.status == "ok")

    def optimal(self, C):
        """(N*, D*, L*) at compute C from the power laws."""
        return self.n_star.predict(C), self.d_star.predict(C), self.l_star.predict(C)


def fit_budgets(runs) -> tuple:
    out = []
    for budget, g in runs.groupby("budget", sort=True):
        ln = g["loss"].to_numpy(float)
        out.append(BudgetFit(float(budget), fit_parabola(np.log10(g["N"].to_numpy(float)), ln),
                             fit_parabola(np.log10(g["D"].to_numpy(float)), ln), tuple(g["id"])))
    return tuple(out)


def log_residual_scale(runs, a2: Approach2Fit) -> tuple:
    """(sigma_hat, n): robust sd of the log-loss residuals around the ok budgets' parabolas in log10 N
    (1.4826 x MAD, inflated by sqrt(n / (n - 3 per budget)) for the fitted coefficients). nan without a
    budget that has more points than coefficients."""
    ids = runs.set_index("id")
    r, n_coef = [], 0
    for b in a2.ok_budgets:
        g = ids.loc[list(b.run_ids)]
        pred = b.in_n.predict(np.log10(g["N"].to_numpy(float)))
        r.extend(np.log(g["loss"].to_numpy(float)) - np.log(pred))
        n_coef += 3
    r = np.asarray(r)
    if len(r) <= n_coef:
        return float("nan"), len(r)
    mad = np.median(np.abs(r - np.median(r)))
    return float(1.4826 * mad * np.sqrt(len(r) / (len(r) - n_coef))), len(r)


def fit_approach2(runs) -> Approach2Fit:
    """runs: normalized table (table.load_runs) of the runs to use."""
    budgets = fit_budgets(runs)
    ok = [b for b in budgets if b.status == "ok"]
    C = np.array([b.budget for b in ok])
    n_star = fit_power_law(C, [b.n_star for b in ok])
    d_star = fit_power_law(C, [b.d_star for b in ok])
    l_star = fit_loss_law(C, np.array([b.l_star for b in ok]))
    return Approach2Fit(budgets, n_star, d_star, l_star, "ok" if len(ok) >= 2 else "too_few_budgets")
