"""Rollout: an expanding window. For each cut x_c along an axis (N; C for an IsoFLOP grid, D for an
over-training grid), fit on the runs with x <= x_c and predict every run with x > x_c.

Cuts are the distinct values of the axis (to 0.01 decades) that leave >= 2 distinct values and >= p + 2 runs at or
below the cut and at least one run above; when there are more than `max_cuts`, the largest ones are kept (they
speak most for the next, larger run). Each test point is weighted 1 / (1 + ln(x / x_c)) (OLMo-core's ladder):
the nearest extrapolations count most, and every cut's set of tests counts the same in total.

Reported (summary): the weighted mean |relative error|, the signed bias (weighted mean of predicted / actual - 1),
the perplexity-ratio error |exp(Lhat - L) - 1| for a loss in nats (|2^(Lhat - L) - 1| in bits), and the coverage
of the intervals without the misfit term (parameter + noise only).

`misfit_tau` is the law's misfit out of sample, per axis: the log-scale sd per unit of distance along that axis
that the intervals of the rollout's tests on it need beyond parameters and noise to hold `level` of them (weighted).
Per axis, because a form can misfit along N far more than along C (the shared-exponent form on an alpha != beta
surface: ~10x); by coverage, not by the mean squared standardized error, because a wrong form's errors are
systematic, nearly the same size at every test, not Gaussian: matching their second moment put every test well
inside and held-out runs a decade out at 98-100 % (docs/predict.md).
"""
import numpy as np
import pandas as pd

from .intervals import LEVEL, loss_interval
from .laws import LAWS, fit_law

MAX_CUTS = 4


def cuts(x, n_params, max_cuts=MAX_CUTS) -> list:
    x = np.asarray(x, float)
    keys = np.round(np.log10(x), 2)
    levels = np.unique(keys)
    out = []
    for k in levels:
        below = keys <= k
        if len(np.unique(keys[below])) >= 2 and below.sum() >= n_params + 2 and (~below).any():
            out.append(float(10 ** k))
    return out[-max_cuts:] if max_cuts else out


def distance(runs: pd.DataFrame, N, D, C=None, axes=None, by_axis=False):
    """How far (N, D[, C]) reach past the fitted runs along each of the rollout's axes, ln(x / max x over the runs)
    >= 0 (0 inside the swept range): {axis: array} with by_axis, else the largest over the axes."""
    axes = axes or axes_for(runs)
    new = {"N": np.asarray(N, float), "D": np.asarray(D, float)}
    if C is not None:
        new["C"] = np.asarray(C, float)
    zero = np.zeros(np.broadcast(new["N"], new["D"]).shape)
    out = {ax: np.maximum(zero, np.log(new[ax] / np.nanmax(runs[ax].to_numpy(float))))
           for ax in axes if ax in new and ax in runs}
    if by_axis:
        return out
    return np.max(np.stack([zero, *out.values()]), axis=0)


def axes_for(runs: pd.DataFrame) -> list:
    """N always; then C where the runs form IsoFLOP budgets, else D (an over-training grid)."""
    budget = runs["budget"].to_numpy(float) if "budget" in runs else np.full(len(runs), np.nan)
    return ["N", "C" if np.isfinite(budget).any() and "C" in runs else "D"]


def rollout(runs: pd.DataFrame, law, *, axes=None, level=LEVEL, max_cuts=MAX_CUTS, noise=None) -> pd.DataFrame:
    """One row per (axis, cut, test run): the prediction without misfit term, its error and weight."""
    law = LAWS[law] if isinstance(law, str) else law
    axes = axes or axes_for(runs)
    rows = []
    for axis in axes:
        x = runs[axis].to_numpy(float)
        keys = np.round(np.log10(x), 2)
        for xc in cuts(x, law.n_params, max_cuts):
            train = keys <= np.round(np.log10(xc), 2)
            tr, te = runs[train], runs[~train]
            fit = fit_law(tr["N"], tr["D"], tr["loss"], law, noise=noise)
            if not fit.ok:
                continue
            iv = loss_interval(fit, te["N"], te["D"], level=level)
            L = te["loss"].to_numpy(float)
            rows.append(pd.DataFrame({
                "axis": axis, "cut": xc, "x": te[axis].to_numpy(float), "N": te["N"].to_numpy(float),
                "D": te["D"].to_numpy(float), "loss": L, "predicted": iv["predicted"],
                "sd_param": iv["sd_param"], "sigma": fit.sigma, "dof": fit.dof,
                "distance": np.log(te[axis].to_numpy(float) / xc),
                "weight": 1.0 / (1.0 + np.log(te[axis].to_numpy(float) / xc))}))
    if not rows:
        return pd.DataFrame(columns=["axis", "cut", "x", "N", "D", "loss", "predicted", "sd_param", "sigma", "dof",
                                     "distance", "weight"])
    out = pd.concat(rows, ignore_index=True)
    # every cut's tests weigh the same in total
    out["weight"] = out["weight"] / out.groupby(["axis", "cut"])["weight"].transform("sum")
    out["rel_error"] = out["predicted"] / out["loss"] - 1
    out["log_error"] = np.log(out["predicted"] / out["loss"])
    return out


def axis_tau(ro: pd.DataFrame, level=LEVEL) -> float:
    """The smallest tau >= 0 with which the weighted share of the tests inside their interval, |log error| <=
    q sqrt(sd_param^2 + sigma^2 + (tau d)^2), reaches level (d = ln(x / cut), q Student-t on each fit's dof).
    Test i is inside from tau_i^2 = ((err / q)^2 - sd_param^2 - sigma^2) / d^2 on: tau^2 is the weighted quantile."""
    from .intervals import quantile
    if ro is None or len(ro) == 0:
        return 0.0
    w = ro["weight"].to_numpy(float)
    q = np.array([quantile(level, d) for d in ro["dof"]])
    need = (ro["log_error"].to_numpy(float) / q) ** 2 - ro["sd_param"].to_numpy(float) ** 2 - \
        ro["sigma"].to_numpy(float) ** 2
    d2 = ro["distance"].to_numpy(float) ** 2
    if not np.isfinite(need).all():
        return 0.0
    t2 = np.where(need <= 0, 0.0, need / np.maximum(d2, 1e-12))
    order = np.argsort(t2)
    share = np.cumsum(w[order]) / np.sum(w)
    k = min(int(np.searchsorted(share, level - 1e-12)), len(t2) - 1)
    return float(np.sqrt(t2[order][k]))


def misfit_tau(ro: pd.DataFrame, level=LEVEL) -> dict:
    """{axis: tau}: each rollout axis's misfit sd per unit distance (axis_tau on that axis's tests)."""
    if ro is None or len(ro) == 0:
        return {}
    return {str(ax): axis_tau(g, level) for ax, g in ro.groupby("axis")}


def summarize(ro: pd.DataFrame, *, tau=0.0, level=LEVEL, loss_unit="nats") -> dict:
    """Weighted errors of a rollout (and the coverage of its intervals with misfit tau added)."""
    from .intervals import quantile
    if ro is None or len(ro) == 0:
        return {"n_tests": 0, "n_cuts": 0}
    w = ro["weight"].to_numpy(float)
    w = w / w.sum()
    rel = ro["rel_error"].to_numpy(float)
    dl = ro["predicted"].to_numpy(float) - ro["loss"].to_numpy(float)
    ppl = np.abs((2.0 if loss_unit == "bits" else np.e) ** dl - 1)
    t = ro["axis"].map(tau).fillna(0.0).to_numpy(float) if isinstance(tau, dict) else tau
    sd = np.sqrt(ro["sd_param"] ** 2 + ro["sigma"] ** 2 + (t * ro["distance"]) ** 2).to_numpy(float)
    q = np.array([quantile(level, d) for d in ro["dof"]])
    inside = np.abs(ro["log_error"].to_numpy(float)) <= q * sd
    return {"n_tests": int(len(ro)), "n_cuts": int(ro.groupby(["axis", "cut"]).ngroups),
            "axes": sorted(ro["axis"].unique().tolist()),
            "weighted_abs_rel_error": float(np.sum(w * np.abs(rel))), "weighted_bias": float(np.sum(w * rel)),
            "median_abs_rel_error": float(np.median(np.abs(rel))), "max_abs_rel_error": float(np.max(np.abs(rel))),
            "weighted_ppl_ratio_error": float(np.sum(w * ppl)), "ppl_unit": loss_unit,
            "coverage": float(np.mean(inside)), "tau": ({k: float(v) for k, v in tau.items()} if isinstance(tau, dict) else float(tau)), "level": level,
            "weighting": "1 / (1 + ln(x / cut)), each cut's tests summing to the same total"}
