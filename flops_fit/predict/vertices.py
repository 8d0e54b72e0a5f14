"""N*(C) out of sample: roll out over budgets, choose Approach 2 or the law, and measure N*'s misfit.

A budget's measured optimum is its IsoFLOP vertex (Approach 2's parabola in log10 N, status ok). For each cut over
the budgets that have one (>= 2 at or below the cut, at least one above), two predictions of every later vertex:
  - `approach2`: the power law N* = k C^a through the vertices at or below the cut (least squares on log);
  - `law`: the selected law fitted to the runs at or below the cut, minimized under the compute model.
Each method's score is the mean |ln(predicted / vertex)| (every cut counting the same); the lower wins. Its misfit
tau_N: the root mean square of the log errors beyond what the parameters explain, sqrt(max(0, mean(e^2 - v))).
N*'s interval is then N* exp(+-q sqrt(v + tau_N^2)), D* = C / fpu(N*) moves with it (intervals.optimum_interval).
"""
import numpy as np
import pandas as pd

from flops_fit.fit.approach2 import fit_parabola

from .intervals import param_draws
from .laws import fit_law


def budget_vertices(runs: pd.DataFrame) -> pd.DataFrame:
    """(budget, n_star, l_star) of each budget whose parabola in log10 N has an interior vertex."""
    rows = []
    if "budget" not in runs:
        return pd.DataFrame(columns=["budget", "n_star", "l_star"])
    for b, g in runs.groupby("budget"):
        if len(np.unique(g["N"])) < 3:
            continue
        p = fit_parabola(np.log10(g["N"].to_numpy(float)), g["loss"].to_numpy(float))
        if p.status == "ok":
            rows.append({"budget": float(b), "n_star": p.opt, "l_star": p.loss_min})
    return pd.DataFrame(rows, columns=["budget", "n_star", "l_star"])


def powerlaw_predict(C, N, C_new):
    """(predicted ln N*, its variance) at C_new from an OLS line of ln N* on ln C."""
    x, y = np.log(C), np.log(N)
    if len(x) < 2:
        return np.full(len(C_new), np.nan), np.full(len(C_new), np.nan)
    A = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    xn = np.stack([np.ones(len(C_new)), np.log(C_new)], 1)
    dof = len(x) - 2
    s2 = float(np.sum((y - A @ coef) ** 2) / dof) if dof > 0 else 0.0
    v = s2 * np.einsum("ni,ij,nj->n", xn, np.linalg.pinv(A.T @ A), xn)
    return xn @ coef, v


def vertex_rollout(runs: pd.DataFrame, law, compute, *, noise=None) -> pd.DataFrame:
    """One row per (cut, later budget, method): ln error of N* and the parameters' variance of ln N*."""
    vx = budget_vertices(runs)
    rows = []
    bs = sorted(vx["budget"])
    for i in range(1, len(bs) - 1):
        cut = bs[i]
        below, above = vx[vx["budget"] <= cut], vx[vx["budget"] > cut]
        pred, v = powerlaw_predict(below["budget"].to_numpy(float), below["n_star"].to_numpy(float),
                            above["budget"].to_numpy(float))
        for (b, n), p, vv in zip(above[["budget", "n_star"]].to_numpy(float), pred, v):
            rows.append({"cut": cut, "budget": b, "method": "approach2", "log_error": p - np.log(n), "v": vv})
        tr = runs[runs["budget"].to_numpy(float) <= cut]
        fit = fit_law(tr["N"], tr["D"], tr["loss"], law, noise=noise)
        if not fit.ok:
            continue
        p = fit.params
        N = compute.optimum(p["E"], p["A"], p["B"], p["alpha"], p["beta"], above["budget"].to_numpy(float))[0]
        d = param_draws(fit, n=200)
        Nd = compute.optimum(d["E"], d["A"], d["B"], d["alpha"], d["beta"], above["budget"].to_numpy(float))[0]
        with np.errstate(all="ignore"):
            v = np.nanvar(np.log(Nd), axis=0, ddof=1)
        for b, n, nn, vv in zip(above["budget"], above["n_star"], np.atleast_1d(N), np.atleast_1d(v)):
            rows.append({"cut": cut, "budget": float(b), "method": "law", "log_error": float(np.log(nn / n)),
                         "v": float(vv)})
    return pd.DataFrame(rows, columns=["cut", "budget", "method", "log_error", "v"])


def summarize_vertices(ro: pd.DataFrame) -> dict:
    """{method: {score, bias, tau_n, n_tests, n_cuts}} and the chosen method."""
    out = {}
    for m, g in ro.groupby("method"):
        per_cut = g.assign(a=g["log_error"].abs()).groupby("cut")["a"].mean()
        excess = float(np.mean(g["log_error"] ** 2 - g["v"]))
        out[m] = {"score": float(per_cut.mean()), "bias": float(g["log_error"].mean()),
                  "tau_n": float(np.sqrt(max(excess, 0.0))), "n_tests": int(len(g)), "n_cuts": int(g["cut"].nunique())}
    chosen = min(out, key=lambda k: out[k]["score"]) if out else None
    return {"methods": out, "chosen": chosen,
            "rule": "the lower mean |ln(predicted N* / vertex N*)| over the budget rollout's cuts",
            "error": "ln(predicted N*) - ln(vertex of the later budget's parabola in log10 N)"}
