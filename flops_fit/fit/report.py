"""Outputs: fits.json (everything a plot needs, no refitting) and the Chinchilla table (md, csv, json).
Schema: docs/analysis.md. NaN is written as null."""
from pathlib import Path

import numpy as np
import pandas as pd

from flops_fit.constants import MIN_SIZES_PER_BUDGET
from flops_fit.io import atomic_write_json, atomic_write_text
from flops_fit.io import json_clean as _clean

from . import outliers
from .analyze import Analysis
from .bootstrap import A3_KEYS
from .compute import compute_fields, exponent_forms
from .intervals import outside_note
from .notes import table_notes
from .result import SCHEMA, SURFACE_FORM


def _est(value, lo=np.nan, hi=np.nan, **extra):
    """{value, lo, hi[, note]}: a note whenever the value lies outside its own interval."""
    out = {"value": value, "lo": lo, "hi": hi, **extra}
    note = outside_note(value, lo, hi)
    if note:
        out["note"] = note
    return out


def _stderr(value, kind, meaningful=True) -> dict:
    """A stderr only where it means something, always with its kind."""
    ok = meaningful and value is not None and np.isfinite(value)
    return {"stderr": value if ok else None, "stderr_kind": kind if ok else None}


def _parabola(p, var):
    return {"x": f"log10_{var}", "form": "loss = c0 + c1*x + c2*x^2", "c0": p.c0, "c1": p.c1, "c2": p.c2,
            "x_min": p.x_min, "x_max": p.x_max, "n_points": p.n_points, "status": p.status}


MAX_EXACT_SIZES = MIN_SIZES_PER_BUDGET   # a parabola through this many sizes fits them exactly
EXACT_PARABOLA = ("3 sizes or fewer: the parabola goes through every point, so resampling the runs cannot show "
                  "how far the vertex could move; no bootstrap interval (add sizes to get one)")
NO_MINIMUM = ("no minimum: the profile is flat or bends down (non-positive curvature), so its parabola's vertex "
              "is a maximum or at infinity, not N*; widen the sizes or check the runs of this budget")


def _vertex(b, value):
    return np.nan if b.status == "non_positive_curvature" else value


def _approach2(an: Analysis) -> dict:
    a2, boot = an.approach2, an.bootstrap
    empty = boot.samples["a2.budgets"].shape[1] == 0   # no budget groups: nothing to take percentiles of
    blo, bhi = (np.zeros((0, 3)),) * 2 if empty else (np.array(x, float) for x in boot.interval("a2.budgets"))
    lost = (np.mean(~np.isfinite(boot.samples["a2.budgets"][:, :, 0]), axis=0) if boot.n
            else np.full(len(a2.budgets), np.nan))
    budgets = []
    for j, b in enumerate(a2.budgets):
        extra = {}
        if b.status == "non_positive_curvature":   # a concave or flat parabola's vertex is a maximum, not N*
            blo[j] = bhi[j] = np.nan
            extra["vertex_note"] = NO_MINIMUM
        elif len(set(b.x_grid)) <= MAX_EXACT_SIZES or b.in_n.n_points <= MAX_EXACT_SIZES:
            blo[j] = bhi[j] = np.nan
            extra["vertex_note"] = EXACT_PARABOLA
        budgets.append({**extra, "budget": b.budget, "status": b.status, "edge": b.edge, "fitted": b.budget in a2.fitted,
                        "vertex_replicates_lost": lost[j],
                        "n_points": b.in_n.n_points, "run_ids": list(b.run_ids),
                        "parabola_n": _parabola(b.in_n, "N"), "parabola_d": _parabola(b.in_d, "D"),
                        "n_star": _est(_vertex(b, b.n_star), blo[j, 0], bhi[j, 0]),
                        "d_star": _est(_vertex(b, b.d_star), blo[j, 1], bhi[j, 1]),
                        "l_star": _est(_vertex(b, b.l_star), blo[j, 2], bhi[j, 2])})
    llo, lhi = boot.interval("a2.laws")   # kn, a, kd, b, E, k, g
    laws = {}
    for name, fit, (ik, ie) in (("n_star", a2.n_star, (0, 1)), ("d_star", a2.d_star, (2, 3))):
        laws[name] = {"form": f"{name[0].upper()}* = k * C^exponent", "k": _est(fit.k, llo[ik], lhi[ik]),
                      "exponent": _est(fit.exponent, llo[ie], lhi[ie],
                                       **_stderr(fit.exponent_stderr, "ols_log10", fit.n_points >= 3)),
                      "r2": fit.r2, "r2_space": "log10", "n_points": fit.n_points, "status": fit.status}
    ls = a2.l_star
    cov_ok = ls.status == "ok"   # at a bound lmfit's covariance says nothing
    laws["l_star"] = {"form": "L*(C) = E + k * C^-g",
                      "E": _est(ls.E, llo[4], lhi[4], **_stderr(ls.E_stderr, "lmfit_covariance", cov_ok)),
                      "k": _est(ls.k, llo[5], lhi[5]),
                      "g": _est(ls.g, llo[6], lhi[6], **_stderr(ls.g_stderr, "lmfit_covariance", cov_ok)),
                      "r2": ls.r2, "n_points": ls.n_points, "status": ls.status}
    return {"status": a2.status, "reason": a2.reason, "fitted_budgets": list(a2.fitted),
            "include_near_edge": an.include_near_edge,
            "fitted_rule": "budgets with status ok" + (" or near_edge" if an.include_near_edge else ""),
            "budgets": budgets, "power_laws": laws}


def _approach3(an: Analysis) -> dict:
    f, boot = an.approach3, an.bootstrap
    lo, hi = boot.interval("a3.params")
    out = {"status": f.status, "form": SURFACE_FORM,
           "objective": f"sum Huber_delta(log Lhat - log L), delta={f.delta:g}", "huber_delta": f.delta,
           "huber_delta_rule": an.huber_delta_rule,
           "objective_value": f.objective, "n_points": f.n_points,
           "flops_per_nd": f.flops_per_nd}
    out.update(compute_fields(f))
    for j, k in enumerate(A3_KEYS):
        out[k] = _est(getattr(f, k), lo[j], hi[j])
    out["a"]["form"], out["b"]["form"] = exponent_forms(f)
    out["objective_sensitivity"] = an.sensitivity or None
    return out


def _row(r, warning="") -> dict:
    out = {"approach": r.approach, "budget": r.budget, "kind": r.kind,
           "n_star": _est(r.n_star, *r.n_star_ci), "d_star": _est(r.d_star, *r.d_star_ci),
           "ratio": _est(r.ratio, *r.ratio_ci), "loss": _est(r.loss, *r.loss_ci)}
    if warning:
        out["warning"] = warning
    return out


def _rows(an) -> list:
    warns = an.warnings or ("",) * len(an.table)
    return [_row(r, w) for r, w in zip(an.table, warns)]


def fits_dict(an: Analysis) -> dict:
    runs = an.runs
    cols = ["id", "budget", "C", "N", "D", "loss", "status", "outlier", "reason", "resid_t", "resid_t_crit", "used",
            "pred_approach2", "pred_approach3"]
    return _clean({
        "schema": SCHEMA, "source": an.source, "unit": an.unit, "status": an.status,
        "settings": {"include_outliers": an.include_outliers, "targets": list(an.targets),
                     "targets_rule": an.targets_rule, "include_near_edge": an.include_near_edge,
                     "independent_runs": an.independent_runs,
                     "independence_note": None if an.independent_runs else
                     "declared not independent: bootstrap intervals (which resample runs as independent) are too "
                     "narrow", "query": an.query,
                     "bootstrap": {"n": an.bootstrap.n, "seed": an.bootstrap.seed, "level": an.bootstrap.level,
                                   "resampling": "runs with replacement within each budget"},
                     "outlier_rule": {
                         "statistic": "externally studentized (leave-one-out) residual t of log loss around the "
                                      "per-budget least-squares parabola in log10 N; scale floored at scale_floor",
                         "threshold": "|t| > resid_t_crit = Student-t quantile, n-4 dof, two-sided at family_alpha/n",
                         "family_alpha": outliers.FAMILY_ALPHA, "scale_floor": outliers.SCALE_FLOOR,
                         "min_points": outliers.MIN_SCREEN_POINTS}},
        "budgets": dict(an.budget_info, fitted=list(an.approach2.fitted)),
        "dropped": an.dropped,
        "unscreened_budgets": [{"budget": b, "clean_runs": n} for b, n in an.unscreened],
        "agreement": an.agreement or None,
        "notes": table_notes(an),
        "approach2": _approach2(an),
        "approach3": _approach3(an),
        "design": {"noise_sigma": an.noise_sigma,
                   "noise_method": an.noise_method or (
                       "robust sd (1.4826 MAD, corrected for 3 coefficients per budget) of log-loss "
                       "residuals around the ok budgets' parabolas in log10 N"),
                   "a_sd_bound": an.a_sd_bound,
                   "a_sd_bound_method": "Cramer-Rao lower bound on sd(a) for the used runs' (N, D), Gaussian "
                                        "log-loss noise noise_sigma, at the Approach 3 surface"},
        "runs": runs[cols].to_dict(orient="records"),
        "excluded": an.excluded.to_dict(orient="records"),
        "status_note": an.status_note or None,
        "aliases": an.aliases or None,
        "warnings": [w for w in an.warnings if w],
        "table": _rows(an),
    })


def table_frame(an: Analysis) -> pd.DataFrame:
    recs = []
    for r, w in zip(an.table, an.warnings or ("",) * len(an.table)):
        rec = {"approach": r.approach, "budget": r.budget, "kind": r.kind}
        for k in ("n_star", "d_star", "ratio", "loss"):
            rec[k], (rec[f"{k}_lo"], rec[f"{k}_hi"]) = getattr(r, k), getattr(r, f"{k}_ci")
        rec["warning"] = w
        recs.append(rec)
    return pd.DataFrame(recs)


def _fmt(v, lo, hi, spec=".3g"):
    if not np.isfinite(v):
        return "n/a"   # e.g. L*(C) through fewer than 3 budgets: not fitted, and then no interval either
    s = format(v, spec)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return s
    mark = "†" if outside_note(v, lo, hi) else ""
    return f"{s}{mark} [{lo:{spec}}, {hi:{spec}}]"


def table_markdown(an: Analysis) -> str:
    level = int(round(100 * an.bootstrap.level))
    lines = [f"# Compute-optimal allocation ({an.source})", "",
             f"Brackets: {level}% bootstrap intervals ({an.bootstrap.n} replicates). "
             f"D is in {an.unit}. Rows: the budgets Approach 2's laws were fitted to ('swept') and the targets "
             "('extrapolated').", "",
             "| approach | C (FLOPs) | kind | N* | D* | D*/N* | loss |", "|---|---|---|---|---|---|---|"]
    for r, w in zip(an.table, an.warnings or ("",) * len(an.table)):
        name = ("⚠ " if w else "") + r.approach + (" (2 budgets, no interval)" if r.approach == "approach2"
                             and an.approach2.status == "two_points" else "")
        lines.append(f"| {name} | {r.budget:.3g} | {r.kind} | {_fmt(r.n_star, *r.n_star_ci)} | "
                     f"{_fmt(r.d_star, *r.d_star_ci)} | {_fmt(r.ratio, *r.ratio_ci)} | "
                     f"{_fmt(r.loss, *r.loss_ci, spec='.4g')} |")
    if not an.table:
        lines.append("| (no approach could be fitted) | | | | | | |")
    notes = table_notes(an)
    if any("†" in line for line in lines):
        notes.append("†: the estimate lies outside its bootstrap interval: the replicates are shifted away from the "
                     "full-data estimate (estimator bias on resampled data, or a boundary); read the interval as "
                     "the spread, not as centred on the estimate.")
    if notes:
        lines += [""] + [f"Note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_outputs(an: Analysis, out_dir, extra: dict | None = None, table_note: str | None = None) -> dict:
    """Write fits.json and chinchilla_table.{md,csv,json} under out_dir; returns their paths.
    ``extra``: optional top-level fields added to fits.json (e.g. "plan", the plan the fit saw).
    ``table_note``: a last "Note:" paragraph of chinchilla_table.md (how the budgets were planned, planning.py)."""
    out = Path(out_dir)
    paths = {"fits": out / "fits.json", "table_md": out / "chinchilla_table.md",
             "table_csv": out / "chinchilla_table.csv", "table_json": out / "chinchilla_table.json"}
    atomic_write_json(paths["fits"], {**fits_dict(an), **(extra or {})})
    md = table_markdown(an)
    if table_note:
        md = md.rstrip("\n") + f"\n\nNote: {table_note}\n"
    atomic_write_text(paths["table_md"], md)
    atomic_write_text(paths["table_csv"], table_frame(an).to_csv(index=False))
    atomic_write_json(paths["table_json"], _clean({"schema": SCHEMA + "/table", "unit": an.unit,
                                                   "level": an.bootstrap.level,
                                                   "rows": _rows(an)}))
    return paths
