"""Approach 2 (IsoFLOP profiles): per budget a parabola of loss in log10 N (and in log10 D); its
vertex gives N*, D*, L*. Then power laws N* = k C^a, D* = k C^b and L*(C) = E + k C^-g over the
fitted budgets: status ok (and near_edge only with include_near_edge). Through 2 budgets the laws are
`two_points` (exact, no interval); through fewer there are none.

A parabola is the local (second-order) shape of the IsoFLOP profile, not its exact shape: on a
wide grid the vertex is biased. Budgets are fitted on runs already screened for outliers
(outliers.py), which is what makes the fit robust; the parabola itself is ordinary least squares.
"""
from dataclasses import dataclass, replace

import numpy as np

from flops_fit.constants import MIN_SIZES_PER_BUDGET

from .edge import BELOW, ABOVE, NEAR_HIGH, NEAR_LOW, edge_position
from .powerlaw import LossLawFit, PowerLawFit, fit_loss_law, fit_power_law
from .result import parabola

MIN_POINTS = MIN_SIZES_PER_BUDGET


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
        return parabola(x, self.c0, self.c1, self.c2)


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
    edge: str = "interior"   # edge.edge_position of the N* vertex (with its bootstrap interval, when known)
    x_grid: tuple = ()        # the budget's distinct log10 N

    @property
    def status(self) -> str:
        """ok | near_edge | edge_of_grid | non_positive_curvature | too_few_points."""
        st = self.in_n.status if self.in_n.status != "ok" else self.in_d.status
        if st == "ok" and self.edge in (NEAR_LOW, NEAR_HIGH):
            return "near_edge"
        if st == "ok" and self.edge in (BELOW, ABOVE):   # the D parabola's vertex was in range, N's was not
            return "edge_of_grid"
        return st

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
    status: str           # ok | two_points | too_few_budgets | not_isoflop
    fitted: tuple = ()    # budgets (C) the power laws went through
    reason: str = ""      # why the laws are missing or have no interval

    @property
    def ok_budgets(self) -> tuple:
        """Budgets with a usable parabola (ok or near_edge): the noise estimate's residuals."""
        return tuple(b for b in self.budgets if b.status in ("ok", "near_edge"))

    @property
    def fitted_budgets(self) -> tuple:
        return tuple(b for b in self.budgets if b.budget in set(self.fitted))

    @property
    def has_laws(self) -> bool:
        return self.status in ("ok", "two_points")

    def optimal(self, C):
        """(N*, D*, L*) at compute C from the power laws."""
        return self.n_star.predict(C), self.d_star.predict(C), self.l_star.predict(C)


def fit_budgets(runs) -> tuple:
    out = []
    for budget, g in runs.groupby("budget", sort=True):   # NaN (ungrouped runs) is no group
        ln, xn = g["loss"].to_numpy(float), np.log10(g["N"].to_numpy(float))
        pn = fit_parabola(xn, ln)
        out.append(BudgetFit(float(budget), pn, fit_parabola(np.log10(g["D"].to_numpy(float)), ln), tuple(g["id"]),
                             edge=edge_position(pn.x_star, xn), x_grid=tuple(np.unique(xn))))
    return tuple(out)


def with_edges(budgets, x_ci=None, margin_steps=1.0) -> tuple:
    """Budgets with edge positions re-tested with the vertices' intervals x_ci[j] = (lo, hi) in log10 N."""
    out = []
    for j, b in enumerate(budgets):
        ci = None if x_ci is None else tuple(x_ci[j])
        out.append(replace(b, edge=edge_position(b.in_n.x_star, b.x_grid, ci, margin_steps)))
    return tuple(out)


FITTABLE = ("ok",)


def _two_points(fit):
    return replace(fit, status="two_points", exponent_stderr=np.nan, r2=np.nan) if fit.status == "ok" else fit


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


def fit_laws(budgets, include_near_edge=False, reason="") -> Approach2Fit:
    """The power laws through the fitted budgets (status ok, and near_edge if include_near_edge)."""
    use = FITTABLE + (("near_edge",) if include_near_edge else ())
    ok = [b for b in budgets if b.status in use]
    C = np.array([b.budget for b in ok])
    n_star = fit_power_law(C, [b.n_star for b in ok])
    d_star = fit_power_law(C, [b.d_star for b in ok])
    l_star = fit_loss_law(C, np.array([b.l_star for b in ok]))
    if reason:
        status = "not_isoflop"
    elif len(ok) >= 3:
        status = "ok"
    elif len(ok) == 2:
        status = "two_points"
        n_star, d_star = _two_points(n_star), _two_points(d_star)
        reason = "power laws through 2 budgets: exact, no interval (need >= 3 fitted budgets)"
    else:
        status = "too_few_budgets"
        left = [f"{b.budget:.3g}: {b.status}" for b in budgets if b.status not in use]
        reason = (f"{len(ok)} fitted budget(s) of {len(budgets)}: need >= 2"
                  + (f" ({', '.join(left)})" if left else ""))
    return Approach2Fit(tuple(budgets), n_star, d_star, l_star, status, tuple(float(c) for c in C), reason)


def fit_approach2(runs, include_near_edge=False) -> Approach2Fit:
    """runs: normalized table (table.load_runs) of the runs to use. Edge positions here use the grid step
    only; analyze() re-tests them with the bootstrap intervals (with_edges) and refits the laws."""
    return fit_laws(fit_budgets(runs), include_near_edge)
