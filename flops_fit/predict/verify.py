"""Check with a real run: train one run at the predicted optimum of a target budget and compare its loss with the
prediction (rule verify: `snakemake verify --config target=<C>`).

From fits.json only (no refit): the selected law (fits.json `selected_law`, `laws`) gives N*(C) under the fit's
compute model (`approach3.compute`). The planner maps N* to a real model of the sweep's plugin and gives it
D = C / FLOPs-per-unit, in whole steps (plan.PlanContext.points, as for any planned run). The loss predicted for
that run's actual (N, D), with its prediction interval (intervals.py, the misfit term at its distance past the
fitted runs), is written to verify.json before training; the run then trains (or, in mode=mock, draws its loss
from the mock surface) into <sweep>/verify/<id>/ and verify.json gets the actual loss, the error and whether the
interval held. One run demonstrates the path; it is not evidence of accuracy on its own.
"""
import numpy as np
import pandas as pd

from flops_fit.fit.compute import ComputeModel
from flops_fit.io import atomic_write_json

from .intervals import LEVEL, loss_interval
from .laws import LawFit
from .rollout import distance


def selected(fits: dict, where="fits.json") -> tuple:
    """(LawFit, tau, name) of fits.json's selected law; one-line ValueError when there is none."""
    sel = (fits.get("selected_law") or {}).get("name")
    law = (fits.get("laws") or {}).get(sel) if sel else None
    if not law or law.get("status") != "ok" or law.get("theta") is None:
        raise ValueError(f"{where}: no selected law with saved parameters (refit with analysis.laws enabled: the "
                         "default)")
    tau = law.get("misfit_tau") or {}
    tau = {str(k): float(v) for k, v in tau.items()} if isinstance(tau, dict) else float(tau)   # per axis; older: one
    return LawFit.from_dict(law), tau, sel


def fitted_runs(fits: dict) -> pd.DataFrame:
    runs = pd.DataFrame(fits.get("runs") or [])
    if "used" in runs:
        runs = runs[runs["used"].fillna(False).astype(bool)]
    return runs


def compute_model(fits: dict) -> ComputeModel:
    d = (fits.get("approach3") or {}).get("compute")
    return ComputeModel.from_dict(d) if d else ComputeModel.constant(6.0)


def predict_from_fits(fits: dict, points, where="fits.json") -> list:
    """Intervals for `points` ([{N, D} | {C}], as analysis.predict) from a saved fits.json, no refit: the selected
    law, its misfit tau and N*'s tau_N (vertex_rollout), the fit's compute model. What FitResult.predict calls."""
    from .session import parse_predict, predictions
    fit, tau, _ = selected(fits, where)
    tau_n = float((((fits.get("vertex_rollout") or {}).get("methods") or {}).get("law") or {}).get("tau_n") or 0.0)
    return predictions(fit, tau, compute_model(fits), parse_predict(points, where="predict"), fitted_runs(fits),
                       tau_n=tau_n)


def plan_verify(cfg: dict, fits: dict, target: float, where="fits.json") -> dict:
    """The verification run's spec and its prediction (verify.json without the actual loss)."""
    from flops_fit.plan import PlanContext
    fit, tau, name = selected(fits, where)
    p = fit.params
    n_star = float(compute_model(fits).optimum(p["E"], p["A"], p["B"], p["alpha"], p["beta"], [target])[0][0])
    exps, dropped = PlanContext(cfg).points(float(target), [n_star], planned_by="verify")
    if not exps:
        raise ValueError(f"target={target:g}: the predicted N* = {n_star:.3g} cannot be planned: "
                         f"{dropped[0]['reason'] if dropped else 'no feasible model'}")
    spec = exps[0]
    N, D = float(spec["params"]), float(spec["data_units"])
    runs = fitted_runs(fits)
    dist = distance(runs, [N], [D], [float(spec["flops_planned"])], by_axis=True) if len(runs) else {}
    iv = loss_interval(fit, [N], [D], tau=tau, distance=dist, level=LEVEL)
    return {"schema": "flops-fit/verify/v1", "C": float(target), "law": name, "n_star_predicted": n_star,
            "id": spec["id"], "N": N, "D": D, "predicted": float(iv["predicted"][0]), "lo": float(iv["lo"][0]),
            "hi": float(iv["hi"][0]), "level": LEVEL, "distance": max([0.0, *(float(np.ravel(d)[0]) for d in dist.values())]), "actual": None,
            "rel_error": None, "inside": None, "status": "planned", "spec": spec}


def run_verify(cfg: dict, fits: dict, target: float, sweep_dir, out, *, threads=None) -> dict:
    """Plan, write the prediction, train the run, write the comparison. Returns verify.json's content."""
    from pathlib import Path

    from flops_fit.runner import run_experiment
    v = plan_verify(cfg, fits, target, where=f"{sweep_dir}/fits.json")
    atomic_write_json(out, v)          # the prediction stands before the run is trained
    m = run_experiment(v["spec"], Path(sweep_dir) / "verify" / v["id"], threads=threads)
    loss = m.get("final_loss")
    v["status"] = m.get("status")
    if isinstance(loss, (int, float)) and np.isfinite(loss):
        v.update(actual=float(loss), rel_error=v["predicted"] / float(loss) - 1,
                 inside=bool(v["lo"] <= loss <= v["hi"]), loss=float(loss))
    atomic_write_json(out, v)
    return v
