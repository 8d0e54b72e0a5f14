"""Predict a later budget's compute-optimal size from the finished budgets: Approach 2 on their runs.

The same fit as the analysis (outlier screen, per-budget parabolas in log10 N, the power law N* = k C^a over
the budgets whose vertex is inside their sizes), evaluated at the new budget. Its uncertainty in log10 N*:
the power law's prediction is linear in the budgets' vertices, x0 = sum_i w_i x_i, so
var(x0) = sum_i w_i^2 var(x_i), with var(x_i) from each parabola's coefficient covariance (delta method,
residual variance pooled over the budgets), or the power law's own residual scatter when it is larger
(more than two budgets). The interval uses Student t at the pooled residual degrees of freedom.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from flops_fit.constants import LEVEL
from flops_fit.fit.approach2 import fit_approach2
from flops_fit.fit.outliers import flag_outliers
from flops_fit.io import json_clean


@dataclass(frozen=True)
class Prediction:
    budget: float
    log10_n: float        # predicted log10 N*(budget)
    se: float             # its standard error (log10)
    dof: int              # residual degrees of freedom behind se
    exponent: float       # a of N* = k C^a
    status: str           # ok | too_few_budgets | no_noise_estimate
    reason: str
    budgets: tuple        # the earlier budgets whose vertex entered the power law
    based_on: tuple       # ids of every run given to the fit
    vertices: tuple = ()  # (budget, N*) of each earlier budget with a vertex inside its sizes (for the fallback)

    @property
    def halfwidth(self) -> float:
        """Half-width of the LEVEL interval of log10 N* (nan unless status ok)."""
        if self.status != "ok":
            return float("nan")
        return float(student_t.ppf(0.5 + LEVEL / 2, max(self.dof, 1)) * self.se)

    def as_dict(self) -> dict:
        return {"budget": self.budget, "n_star": 10 ** self.log10_n if np.isfinite(self.log10_n) else None,
                "log10_n_star": _f(self.log10_n), "log10_se": _f(self.se), "dof": self.dof,
                "log10_halfwidth": _f(self.halfwidth), "level": LEVEL, "exponent": _f(self.exponent),
                "status": self.status, "reason": self.reason, "budgets": list(self.budgets)}


def _f(x):
    return json_clean(float(x))


def runs_frame(records) -> pd.DataFrame:
    """metrics.json records -> the normalized run table the fits use (id, C, budget, N, D, loss, status)."""
    rows = [{"id": str(m["id"]), "budget": float(m["budget_flops"]), "N": float(m["params"]),
             "D": float(m["data_units"]), "loss": float(m["final_loss"]) if m.get("final_loss") is not None else np.nan,
             "status": str(m.get("status", "completed")), "C": float(m.get("flops_executed") or m["budget_flops"]),
             "planned_by": m.get("planned_by") or "prior", "knob": next(iter((m.get("size") or {0: None}).values())),
             "target": float(m.get("target_params") or m["params"])}
            for m in records]
    cols = ["id", "C", "budget", "N", "D", "loss", "status", "planned_by", "knob", "target"]
    return pd.DataFrame(rows, columns=cols).sort_values(["budget", "N", "id"], kind="stable").reset_index(drop=True)


def used_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs the analysis would fit: completed, finite, not flagged by the outlier screen."""
    if runs.empty:
        return runs
    flagged = flag_outliers(runs)
    keep = ~flagged["outlier"].to_numpy() & np.isfinite(flagged["loss"].to_numpy(float))
    return runs[keep].reset_index(drop=True)


def _vertex_var(x, y, coef_var_scale):
    """Delta-method variance of the vertex of a least-squares parabola y(x), per unit residual variance."""
    m = np.mean(x)
    u = x - m
    X = np.stack([np.ones_like(u), u, u * u], 1)
    b0, b1, b2 = np.linalg.lstsq(X, y, rcond=None)[0]
    g = np.array([0.0, -1.0 / (2 * b2), b1 / (2 * b2 ** 2)])
    cov = np.linalg.inv(X.T @ X)
    rss = float(np.sum((y - X @ np.array([b0, b1, b2])) ** 2))
    return float(g @ cov @ g) * coef_var_scale, rss


def predict_optimum(runs: pd.DataFrame, budget: float) -> Prediction:
    """runs: the earlier budgets' runs (runs_frame); budget: the budget to plan."""
    ids = tuple(sorted(runs["id"])) if len(runs) else ()
    nan = float("nan")
    used = used_runs(runs)
    if used.empty or used["budget"].nunique() < 2:
        return Prediction(budget, nan, nan, 0, nan, "too_few_budgets",
                          f"{used['budget'].nunique() if len(used) else 0} finished budget(s) with usable runs; "
                          "need 2", (), ids)
    # near_edge budgets count for planning: a vertex inside the sizes still says where the optimum is (the fits
    # leave them out of the reported laws; edge extension is what moves them inward)
    a2 = fit_approach2(used, include_near_edge=True)
    ok = a2.ok_budgets
    vertices = tuple((float(b.budget), float(b.n_star)) for b in ok)
    if len(ok) < 2 or a2.n_star.status not in ("ok", "two_points"):   # two budgets: a line, no interval of its own
        bad = ", ".join(f"{b.budget:.3g}: {b.status}" for b in a2.budgets if b.status != "ok")
        return Prediction(budget, nan, nan, 0, nan, "too_few_budgets",
                          f"{len(ok)} earlier budget(s) with an IsoFLOP vertex inside their sizes; need 2 ({bad})",
                          tuple(b.budget for b in ok), ids, vertices)
    by_id = used.set_index("id")
    rss, dof, unit_vars = 0.0, 0, []
    for b in ok:
        g = by_id.loc[list(b.run_ids)]
        x, y = np.log10(g["N"].to_numpy(float)), g["loss"].to_numpy(float)
        v, r = _vertex_var(x, y, 1.0)
        unit_vars.append(v)
        rss += r
        dof += len(x) - 3
    logc = np.log10([b.budget for b in ok])
    xs = np.log10([b.n_star for b in ok])
    l0 = np.log10(budget)
    sxx = float(np.sum((logc - logc.mean()) ** 2))
    w = 1.0 / len(ok) + (l0 - logc.mean()) * (logc - logc.mean()) / sxx
    pred = float(np.log10(a2.n_star.k) + a2.n_star.exponent * l0)
    if dof <= 0:
        return Prediction(budget, pred, nan, 0, a2.n_star.exponent, "no_noise_estimate",
                          "every earlier budget has exactly 3 sizes: no residuals to size the interval",
                          tuple(b.budget for b in ok), ids, vertices)
    var = float(np.sum(w ** 2 * np.asarray(unit_vars))) * rss / dof
    if len(ok) > 2:
        resid = xs - (np.log10(a2.n_star.k) + a2.n_star.exponent * logc)
        var = max(var, float(np.sum(resid ** 2) / (len(ok) - 2)) * float(np.sum(w ** 2)))
    return Prediction(budget, pred, float(np.sqrt(var)), dof, a2.n_star.exponent, "ok",
                      f"Approach 2 over {len(ok)} earlier budget(s)", tuple(b.budget for b in ok), ids, vertices)
