"""Hold out: fit on the runs that do not match a pandas query, predict the ones that do.

The query (analysis.holdout) runs on the run table after aliasing: columns id, N, D, loss, C, budget, status.
Everything about the fit is chosen on the training runs only: the outlier screen, the law (select.py: rolled out
over the training runs) and its misfit tau. The held-out runs are then predicted with the selected law's
prediction interval (intervals.py), which `holdout.csv` records on the loss's own scale:
    id, N, D, C, budget, loss, predicted, lo, hi, rel_error (= predicted / loss - 1), inside, law, distance
(distance: how far the run reaches past the training runs, rollout.distance, which scales the misfit term)
and `fits.json["holdout"]` summarizes: median and max |rel error|, signed bias (mean rel error), coverage of the
nominal intervals. At each held-out budget with >= 3 distinct sizes it also compares the predicted N*, L*
(intervals.optimum_interval) with the held-out runs' own IsoFLOP vertex (Approach 2's parabola in log10 N).
"""
import numpy as np
import pandas as pd

from flops_fit.fit.noise import replicate_groups, replicate_noise
from flops_fit.fit.approach2 import fit_parabola
from flops_fit.fit.compute import ComputeModel
from flops_fit.fit.outliers import flag_outliers
from flops_fit.fit.table import FitError

from .intervals import LEVEL, loss_interval, optimum_interval
from .rollout import distance
from .vertices import powerlaw_predict, budget_vertices, summarize_vertices, vertex_rollout
from .select import evaluate_laws

COLUMNS = ["id", "N", "D", "C", "budget", "loss", "predicted", "lo", "hi", "rel_error", "inside", "law", "distance"]


def split(runs: pd.DataFrame, query: str, source: str) -> tuple:
    """(train, held) of a load_runs table; one-line ValueError for a bad query or an empty side."""
    try:
        mask = runs.eval(query)
    except Exception as e:   # pandas raises many kinds
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{source}: analysis.holdout {query!r} failed ({msg}); columns: "
                         f"{', '.join(map(str, runs.columns))}") from None
    mask = np.asarray(mask, bool) if np.ndim(mask) else np.full(len(runs), bool(mask))
    if not mask.any():
        raise ValueError(f"{source}: analysis.holdout {query!r} matches no run: nothing to predict")
    if mask.all():
        raise ValueError(f"{source}: analysis.holdout {query!r} matches every run: nothing left to fit")
    return runs[~mask].reset_index(drop=True), runs[mask].reset_index(drop=True)


def training_runs(train: pd.DataFrame, include_outliers=False) -> pd.DataFrame:
    flagged = flag_outliers(train)
    ok = np.isfinite(flagged["loss"].to_numpy(float))
    if not include_outliers:
        ok &= ~flagged["outlier"].to_numpy(bool)
    return flagged[ok].reset_index(drop=True)


def measured_noise(used: pd.DataFrame):
    """(sigma, dof, method) from seed replicates, or None."""
    r = replicate_noise(used)
    if r is None:
        return None
    groups = replicate_groups(used)
    return r[0], r[1] - len(groups), r[2]


def _vertex(runs):
    """(N*, L*) of a budget's runs by the parabola in log10 N, NaN unless its status is ok."""
    p = fit_parabola(np.log10(runs["N"].to_numpy(float)), runs["loss"].to_numpy(float))
    return (p.opt, p.loss_min) if p.status == "ok" else (np.nan, np.nan)


def predict_holdout(runs: pd.DataFrame, query: str, *, laws=None, level=LEVEL, include_outliers=False,
                    loss_unit="nats", source="<table>") -> tuple:
    """(holdout frame, summary dict, evaluation of the laws on the training runs)."""
    train, held = split(runs, query, source)
    used = training_runs(train, include_outliers)
    noise = measured_noise(used)
    ev = evaluate_laws(used, laws, noise=noise, level=level, loss_unit=loss_unit)
    if ev["selected"] is None:
        raise FitError(f"{source}: analysis.holdout: no law could be fitted on the {len(used)} training runs")
    pick = ev["laws"][ev["selected"]]
    fit, tau = pick["fit"], pick["tau"]
    held = held[np.isfinite(held["loss"].to_numpy(float))].reset_index(drop=True)
    dist = distance(used, held["N"], held["D"], held["C"] if "C" in held else None, by_axis=True)
    iv = loss_interval(fit, held["N"], held["D"], tau=tau, distance=dist, level=level)
    out = pd.DataFrame({"id": held["id"], "N": held["N"], "D": held["D"], "C": held.get("C"),
                        "budget": held.get("budget"), "loss": held["loss"], "predicted": iv["predicted"],
                        "lo": iv["lo"], "hi": iv["hi"]})
    out["rel_error"] = out["predicted"] / out["loss"] - 1
    out["inside"] = (out["loss"] >= out["lo"]) & (out["loss"] <= out["hi"])
    out["law"] = ev["selected"]
    out["distance"] = np.max(np.stack([np.zeros(len(out)), *dist.values()]), axis=0)   # the largest over the axes
    rel = out["rel_error"].to_numpy(float)
    summary = {"query": query, "n_train": int(len(used)), "n_held_out": int(len(out)), "law": ev["selected"],
               "level": level, "median_abs_rel_error": float(np.median(np.abs(rel))) if len(rel) else None,
               "max_abs_rel_error": float(np.max(np.abs(rel))) if len(rel) else None,
               "bias": float(np.mean(rel)) if len(rel) else None,
               "coverage": float(out["inside"].mean()) if len(rel) else None,
               "misfit_tau": tau, "noise_sigma": fit.sigma, "noise_dof": fit.dof, "noise_method": fit.noise_method,
               }
    summary["budgets"], summary["vertex_rollout"] = _budget_checks(used, held, fit, tau, level, noise)
    return out[COLUMNS], summary, ev


def _budget_checks(train, held, fit, tau, level, noise=None) -> tuple:
    """(rows, vertex summary): predicted N*, L* at each held-out budget against the held-out runs' own vertex, N*'s
    misfit tau_N from the rollout over the training budgets (vertices.py)."""
    if "budget" not in held or not np.isfinite(held["budget"].to_numpy(float)).any():
        return [], None
    compute = ComputeModel.from_runs(train["N"], train["D"], train["C"] if "C" in train else None)
    vs = summarize_vertices(vertex_rollout(train, fit.law, compute, noise=noise))
    tau_n = (vs["methods"].get("law") or {}).get("tau_n", 0.0)
    vx = budget_vertices(train)
    rows = []
    for b, g in held.groupby("budget"):
        if len(np.unique(g["N"])) < 3:
            continue
        first = optimum_interval(fit, compute, [float(b)], level=level)
        dist = distance(train, first["n_star"]["value"], first["d_star"]["value"], [float(b)], by_axis=True)
        opt = optimum_interval(fit, compute, [float(b)], tau=tau, distance=dist, tau_n=tau_n, level=level)
        n_act, l_act = _vertex(g)
        n, lo = opt["n_star"], opt["l_star"]
        a2, _ = powerlaw_predict(vx["budget"].to_numpy(float), vx["n_star"].to_numpy(float), np.array([float(b)]))
        rows.append({"budget": float(b), "n_runs": int(len(g)),
                     "n_star": {"predicted": float(n["value"][0]), "lo": float(n["lo"][0]), "hi": float(n["hi"][0]),
                                "actual_vertex": float(n_act), "tau_n": tau_n,
                                "approach2_power_law": float(np.exp(a2[0]))},
                     "l_star": {"predicted": float(lo["value"][0]), "lo": float(lo["lo"][0]),
                                "hi": float(lo["hi"][0]), "actual_vertex": float(l_act)},
                     "actual_rule": "vertex of the held-out runs' parabola in log10 N (Approach 2); NaN unless ok"})
    return rows, vs
