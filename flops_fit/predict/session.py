"""The analysis.* prediction settings of one fit: laws chosen out of sample, hold-out, rollout, predictions.

`predict_outputs` is the fit stage's hook (flops_fit.stages.fit_scaling_laws hands it to flops_fit.fit.session's
fit_table, which calls it after each fit, for each group of analysis.group_by; fit never imports predict). It writes
holdout.csv / rollout.csv next to fits.json and returns the fits.json fields:
  - `laws`: every candidate law's fit, misfit tau and rollout summary; `selected_law`: the one chosen and why
    (select.py). `approach3` stays the Chinchilla-form fit it always was.
  - `holdout` (analysis.holdout): the summary of holdout.predict_holdout;
  - `rollout` (analysis.rollout=true): the selected law's rollout summary, per axis;
  - `vertex_rollout`: N*(C) rolled out over the budgets, Approach 2's power law against the law (vertices.py);
  - `predictions` (analysis.predict): {N, D} -> the loss of a run with its interval; {C} -> N*, D*, L*.
"""
import math

import numpy as np

from flops_fit.io import atomic_write_text

from .holdout import measured_noise, predict_holdout
from .intervals import LEVEL, loss_interval, optimum_interval, quantile
from .laws import LAWS
from .rollout import distance, summarize
from .select import evaluate_laws
from .vertices import budget_vertices, powerlaw_predict, summarize_vertices, vertex_rollout

PREDICT_KEYS = ({"N", "D"}, {"C"})


def _num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def parse_predict(spec, where="analysis.predict") -> list:
    """[{N, D} | {C}] of positive numbers; a one-line ValueError naming the entry otherwise."""
    if spec is None:
        return []
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, (list, tuple)):
        raise ValueError(f"{where}: expected a list like '[{{N: 1e9, D: 2e10}}, {{C: 1e21}}]', got {spec!r}")
    out = []
    for i, item in enumerate(spec):
        if not isinstance(item, dict):
            raise ValueError(f"{where}[{i}]: expected a mapping {{N: ..., D: ...}} or {{C: ...}}, got {item!r}")
        keys = set(map(str, item))
        if keys not in PREDICT_KEYS:
            raise ValueError(f"{where}[{i}]: keys {sorted(keys)}: give N and D (a run) or C (a budget), nothing else")
        vals = {k: _num(item[k]) for k in item}
        bad = [k for k, v in vals.items() if v is None]
        if bad:
            raise ValueError(f"{where}[{i}]: {bad[0]}={item[bad[0]]!r} must be a positive finite number")
        out.append({str(k): v for k, v in vals.items()})
    return out


def parse_laws(names, where="analysis.laws") -> list:
    if names is None:
        return list(LAWS)
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in LAWS]
    if unknown:
        raise ValueError(f"{where}: unknown law {unknown[0]!r} (choose from {', '.join(LAWS)})")
    return list(names)


def validate(analysis: dict):
    """Check the prediction settings before any fitting (one line each)."""
    parse_predict(analysis.get("predict"))
    parse_laws(analysis.get("laws"))
    h = analysis.get("holdout")
    if h is not None and not (isinstance(h, str) and h.strip()):
        raise ValueError(f"analysis.holdout: expected a pandas query string such as \"N > 1e9\", got {h!r}")


def _est(value, lo, hi):
    return {"value": float(value), "lo": float(lo), "hi": float(hi)}


def predictions(fit, tau, compute, spec, runs, level=LEVEL, tau_n=0.0) -> list:
    """Each {C} or {N, D} of spec with its interval; runs: the fitted runs (how far each point reaches past them)."""
    out = []
    for item in spec:
        if "C" in item:
            first = optimum_interval(fit, compute, [item["C"]], level=level)
            dist = distance(runs, first["n_star"]["value"], first["d_star"]["value"], [item["C"]], by_axis=True)
            o = optimum_interval(fit, compute, [item["C"]], tau=tau, distance=dist, tau_n=tau_n, level=level)
            out.append({"C": item["C"], **{k: _est(o[k]["value"][0], o[k]["lo"][0], o[k]["hi"][0])
                                           for k in ("n_star", "d_star", "l_star")}})
        else:
            dist = distance(runs, [item["N"]], [item["D"]], compute.fpu(np.array([item["N"]])) * item["D"],
                            by_axis=True)
            iv = loss_interval(fit, [item["N"]], [item["D"]], tau=tau, distance=dist, level=level)
            out.append({"N": item["N"], "D": item["D"], "loss": _est(iv["predicted"][0], iv["lo"][0], iv["hi"][0]),
                        "sd_log": {"total": float(iv["sd_log"][0]), "param": float(iv["sd_param"][0]),
                                   "noise": float(iv["sigma"]), "misfit": float(iv["misfit"][0])}})
    return out


def _add_approach2(items, used, vs, level=LEVEL):
    """Beside the law's N* at each C: Approach 2's power law through the budget vertices, with its misfit from the
    budget rollout (vertices.py), so the rollout's choice between the two can be read off."""
    vx = budget_vertices(used)
    tau = float(((vs.get("methods") or {}).get("approach2") or {}).get("tau_n") or 0.0)
    if len(vx) < 2:
        return
    for item in items:
        if "C" not in item:
            continue
        lp, v = powerlaw_predict(vx["budget"].to_numpy(float), vx["n_star"].to_numpy(float), np.array([item["C"]]))
        q = quantile(level, max(len(vx) - 2, 1))
        sd = float(np.sqrt(v[0] + tau ** 2))
        item["n_star_approach2"] = _est(np.exp(lp[0]), np.exp(lp[0] - q * sd), np.exp(lp[0] + q * sd))


def _law_entry(v) -> dict:
    return {**v["fit"].to_dict(), "misfit_tau": v["tau"], "rollout_score": v["score"], "rollout": v["summary"]}


def predict_outputs(table, analysis_result, settings: dict, out_dir, *, loss_unit="nats") -> dict:
    """fits.json fields for the prediction settings (see the module docstring); writes the csv files."""
    names = parse_laws(settings.get("laws"))
    spec = parse_predict(settings.get("predict"))
    extra = {}
    if not names:
        return extra
    runs = analysis_result.runs
    used = runs[runs["used"]].reset_index(drop=True)
    noise = measured_noise(used)
    ev = evaluate_laws(used, names, noise=noise, loss_unit=loss_unit)
    sel = ev["selected"]
    extra["laws"] = {k: _law_entry(v) for k, v in ev["laws"].items()}
    extra["selected_law"] = {"name": sel, "reason": ev["reason"], "rule": ev["rule"], "level": LEVEL,
                             "interval": "Student-t on log loss: parameters (delta method) + run-to-run noise + "
                                         "misfit tau from the rollout (docs/predict.md)"}
    if sel is not None and settings.get("rollout"):
        ro = ev["laws"][sel]["rollout"]
        atomic_write_text(f"{out_dir}/rollout.csv", ro.to_csv(index=False))
        extra["rollout"] = {"law": sel, "all": summarize(ro, tau=ev["laws"][sel]["tau"], loss_unit=loss_unit),
                            "by_axis": {ax: summarize(g, tau=ev["laws"][sel]["tau"], loss_unit=loss_unit)
                                        for ax, g in ro.groupby("axis")},
                            "by_law": {k: v["summary"] for k, v in ev["laws"].items()}}
    tau_n = 0.0
    if sel is not None and np.isfinite(used["budget"].to_numpy(float)).any():
        vs = summarize_vertices(vertex_rollout(used, sel, analysis_result.approach3.compute_model, noise=noise))
        extra["vertex_rollout"] = vs
        tau_n = (vs["methods"].get("law") or {}).get("tau_n", 0.0)
    if spec and sel is not None:
        pick = ev["laws"][sel]
        items = predictions(pick["fit"], pick["tau"], analysis_result.approach3.compute_model, spec, used,
                            tau_n=tau_n)
        if "vertex_rollout" in extra:
            _add_approach2(items, used, extra["vertex_rollout"])
        extra["predictions"] = {"law": sel, "level": LEVEL, "n_star_misfit_tau": tau_n,
                                "n_star_chosen_by_rollout": extra.get("vertex_rollout", {}).get("chosen"),
                                "items": items}
    query = settings.get("holdout")
    if query:
        frame, summary, _ = predict_holdout(table, query, laws=names,
                                            include_outliers=settings.get("include_outliers", False),
                                            loss_unit=loss_unit, source=analysis_result.source)
        atomic_write_text(f"{out_dir}/holdout.csv", frame.to_csv(index=False))
        extra["holdout"] = summary
    return extra


def summary_lines(extra: dict) -> list:
    """What ff-analyze prints about the predictions."""
    lines = []
    s = extra.get("selected_law")
    if s and s.get("name"):
        lines.append(f"law chosen out of sample: {s['reason']}")
    h = extra.get("holdout")
    if h:
        lines.append(f"holdout ({h['query']}): {h['n_held_out']} runs, median |error| "
                     f"{100 * h['median_abs_rel_error']:.2f} %, max {100 * h['max_abs_rel_error']:.2f} %, bias "
                     f"{100 * h['bias']:+.2f} %, {100 * h['coverage']:.0f} % inside the {100 * h['level']:.0f} % "
                     "intervals (holdout.csv)")
    r = extra.get("rollout")
    if r and r["all"].get("n_tests"):
        a = r["all"]
        lines.append(f"rollout ({r['law']}, {a['n_cuts']} cuts over {'/'.join(a['axes'])}): weighted |error| "
                     f"{100 * a['weighted_abs_rel_error']:.2f} %, bias {100 * a['weighted_bias']:+.2f} % (rollout.csv)")
    for p in (extra.get("predictions") or {}).get("items", []):
        if "C" in p:
            a2 = p.get("n_star_approach2")
            lines.append(f"predict C={p['C']:.3g}: N*={p['n_star']['value']:.3g} [{p['n_star']['lo']:.3g}, "
                         f"{p['n_star']['hi']:.3g}], D*={p['d_star']['value']:.3g}, L*={p['l_star']['value']:.4g} "
                         f"[{p['l_star']['lo']:.4g}, {p['l_star']['hi']:.4g}]"
                         + (f"; Approach 2's N*={a2['value']:.3g} [{a2['lo']:.3g}, {a2['hi']:.3g}]" if a2 else ""))
        else:
            lines.append(f"predict N={p['N']:.3g} D={p['D']:.3g}: loss {p['loss']['value']:.4g} "
                         f"[{p['loss']['lo']:.4g}, {p['loss']['hi']:.4g}]")
    return lines
