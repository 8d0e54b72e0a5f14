"""Outlier flags, each with a reason.

In order, a run is flagged for:
  1. status other than "completed" (failed, diverged, ...)        reason "status=<status>"
  2. a non-finite loss                                              reason "non_finite_loss"
  3. repeating an earlier run's id, or its (N, D, loss) exactly     reason "duplicate of <id>"
  4. an anomalous loss: |t| > t_crit                                reason "anomalous_loss (t=...)"
     t = the externally studentized (leave-one-out) residual of log(loss) around the per-budget
     least-squares parabola in log10 N: r_i / (s_(i) sqrt(1 + h_i)), where r_i is the residual of
     run i from the parabola fitted without it, h_i its leverage, s_(i) = max(RMS residual of that
     fit (n - 4 dof), SCALE_FLOOR). Log-loss residuals are relative, so t is scale-free; the run
     under test never shapes its own fit or scale. t_crit is the two-sided Student-t quantile
     (n - 4 dof) at FAMILY_ALPHA / n (Bonferroni over a budget's n runs): a clean budget is
     flagged with probability <= FAMILY_ALPHA under Gaussian noise. The floor keeps noise-free
     tables and the parabola's own shape error from being called anomalous. Budgets with fewer
     than MIN_SCREEN_POINTS clean runs are not screened (their t is NaN).
"""
import numpy as np
import pandas as pd
from scipy.stats import t as student_t

FAMILY_ALPHA = 0.01
SCALE_FLOOR = 0.002       # in log loss: 0.2 % of the loss
MIN_SCREEN_POINTS = 6


def critical_t(n: int) -> float:
    return float(student_t.ppf(1 - FAMILY_ALPHA / (2 * n), n - 4))


def deleted_t(x, y) -> np.ndarray:
    """Externally studentized residuals of y around a least-squares parabola in x."""
    xc = x - x.mean()
    X = np.stack([np.ones_like(xc), xc, xc * xc], axis=1)
    t = np.empty(len(x))
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        coef, *_ = np.linalg.lstsq(X[keep], y[keep], rcond=None)
        rss = np.sum((y[keep] - X[keep] @ coef) ** 2)
        s = max(np.sqrt(rss / (keep.sum() - 3)), SCALE_FLOOR)
        h = X[i] @ np.linalg.solve(X[keep].T @ X[keep], X[i])
        t[i] = (y[i] - X[i] @ coef) / (s * np.sqrt(1 + h))
    return t


def flag_outliers(runs: pd.DataFrame) -> pd.DataFrame:
    """runs (table.load_runs) plus columns outlier (bool), reason (str), resid_t (float)."""
    out = runs.copy()
    reason = np.array([""] * len(out), dtype=object)
    status = out["status"].to_numpy()
    reason[status != "completed"] = [f"status={s}" for s in status[status != "completed"]]
    finite = np.isfinite(out["loss"].to_numpy(float))
    reason[(reason == "") & ~finite] = "non_finite_loss"

    seen_id, seen_point = {}, {}
    for i, (rid, n, d, loss) in enumerate(zip(out["id"], out["N"], out["D"], out["loss"])):
        key = (n, d, loss)
        if reason[i] == "":
            if rid in seen_id:
                reason[i] = f"duplicate of {rid}"
            elif key in seen_point:
                reason[i] = f"duplicate of {seen_point[key]}"
        seen_id.setdefault(rid, i)
        seen_point.setdefault(key, rid)

    t = np.full(len(out), np.nan)
    crit = np.full(len(out), np.nan)
    clean = reason == ""
    for _, idx in out[clean].groupby("budget").indices.items():
        rows = np.flatnonzero(clean)[idx]
        x = np.log10(out["N"].to_numpy(float)[rows])
        if len(rows) < MIN_SCREEN_POINTS or len(np.unique(x)) < 4:
            continue
        t[rows] = deleted_t(x, np.log(out["loss"].to_numpy(float)[rows]))
        crit[rows] = critical_t(len(rows))
    anomalous = clean & (np.abs(t) > crit)
    reason[anomalous] = [f"anomalous_loss (t={v:+.1f}, |t| > {c:.1f})" for v, c in zip(t[anomalous], crit[anomalous])]

    out["outlier"] = reason != ""
    out["reason"] = reason
    out["resid_t"] = t
    out["resid_t_crit"] = crit
    return out
