"""Outlier flags, each with a reason.

In order, a run is flagged for:
  1. status other than "completed" (failed, diverged, ...)        reason "status=<status>"
  2. a non-finite loss                                              reason "non_finite_loss"
  3. repeating an earlier run's id, or its (N, D, loss) exactly     reason "duplicate of <id>"
  4. an anomalous loss: robust z = |r| / s > Z_THRESHOLD            reason "anomalous_loss (z=...)"
     r = residual of log(loss) from a robust per-budget parabola in log10 N (Tukey bisquare IRLS,
     started from a soft-L1 fit), s = max(1.4826 * MAD(r), SCALE_FLOOR). Log-loss residuals are
     relative, so the screen is scale-free; the floor keeps noise-free tables (MAD ~ 0) and the
     parabola's own shape error from being called anomalous. Budgets with fewer than
     MIN_SCREEN_POINTS clean runs are not screened (their robust_z is NaN).
"""
import numpy as np
import pandas as pd
from scipy.optimize import least_squares

Z_THRESHOLD = 5.0
SCALE_FLOOR = 0.002       # in log loss: 0.2 % of the loss
MIN_SCREEN_POINTS = 5
BISQUARE_C = 4.685


def robust_parabola_z(x, y) -> np.ndarray:
    """Robust z-scores of y around a parabola in x."""
    xc = x - x.mean()
    A = np.stack([np.ones_like(xc), xc, xc * xc], axis=1)
    start = np.linalg.lstsq(A, y, rcond=None)[0]
    coef = least_squares(lambda c: A @ c - y, start, loss="soft_l1", f_scale=SCALE_FLOOR).x
    for _ in range(20):
        r = y - A @ coef
        s = max(1.4826 * np.median(np.abs(r - np.median(r))), SCALE_FLOOR)
        u = r / (BISQUARE_C * s)
        w = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if np.count_nonzero(w) < 3:
            break
        sw = np.sqrt(w)
        new = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)[0]
        if np.allclose(new, coef, rtol=0, atol=1e-12):
            break
        coef = new
    r = y - A @ coef
    s = max(1.4826 * np.median(np.abs(r - np.median(r))), SCALE_FLOOR)
    return np.abs(r) / s


def flag_outliers(runs: pd.DataFrame) -> pd.DataFrame:
    """runs (table.load_runs) plus columns outlier (bool), reason (str), robust_z (float)."""
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

    z = np.full(len(out), np.nan)
    clean = reason == ""
    for _, idx in out[clean].groupby("budget").indices.items():
        rows = np.flatnonzero(clean)[idx]
        x = np.log10(out["N"].to_numpy(float)[rows])
        if len(rows) < MIN_SCREEN_POINTS or len(np.unique(x)) < 4:
            continue
        z[rows] = robust_parabola_z(x, np.log(out["loss"].to_numpy(float)[rows]))
    anomalous = clean & (z > Z_THRESHOLD)
    reason[anomalous] = [f"anomalous_loss (z={v:.1f} > {Z_THRESHOLD:g})" for v in z[anomalous]]

    out["outlier"] = reason != ""
    out["reason"] = reason
    out["robust_z"] = z
    return out
