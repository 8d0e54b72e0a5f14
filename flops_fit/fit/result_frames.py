"""fits.json's tables as DataFrames, for FitResult.table and FitResult.runs_table (pandas, imported only by readers
that ask for a table)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .result import PIPELINE_NAMES, TABLE_QUANTITIES, est, num

RUN_COLUMNS = ["id", "budget", "N", "D", "loss", "status", "run_dir", "planned_by"]
FIT_RUN_COLUMNS = ("outlier", "used", "pred_approach2", "pred_approach3", "reason")   # what the fit adds per run


def table_frame(rows: list, approach: str | None = None) -> pd.DataFrame:
    """The Chinchilla table rows of fits.json, flattened: approach, budget, kind, warning, then value, _lo, _hi of
    each quantity; sorted by budget."""
    recs = []
    for r in rows:
        rec = {"approach": r.get("approach"), "budget": num(r.get("budget")), "kind": r.get("kind"),
               "warning": r.get("warning")}
        for k in TABLE_QUANTITIES:
            rec[k], rec[f"{k}_lo"], rec[f"{k}_hi"] = est(r.get(k))
        recs.append(rec)
    df = pd.DataFrame(recs, columns=["approach", "budget", "kind", "warning"] + [
        f"{k}{s}" for k in TABLE_QUANTITIES for s in ("", "_lo", "_hi")])
    if approach is not None:
        df = df[df["approach"] == approach]
    return df.sort_values("budget").reset_index(drop=True)


def runs_frame(fit_runs: list, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """runs.csv (`raw`, pipeline names renamed to the fit's: PIPELINE_NAMES) joined by id with the fit's per-run
    columns (FIT_RUN_COLUMNS); without runs.csv, the fit's own runs. `used`: as the fit recorded it, else
    completed and not an outlier. Columns RUN_COLUMNS + FIT_RUN_COLUMNS + completed."""
    fr = pd.DataFrame(fit_runs)
    if raw is not None:
        df = pd.DataFrame({"id": raw["id"].astype(str)})
        for long, short in PIPELINE_NAMES.items():
            df[short] = pd.to_numeric(raw.get(long), errors="coerce")
        df["status"] = raw.get("status", pd.Series(["completed"] * len(raw))).fillna("completed").astype(str)
        df["run_dir"] = raw["run_dir"] if "run_dir" in raw.columns else None
        # how each run was planned (docs/adaptive.md); tables from before steered sweeps: all prior
        df["planned_by"] = raw["planned_by"].fillna("prior").astype(str) if "planned_by" in raw.columns else "prior"
    else:
        df = fr[["id", "budget", "N", "D", "loss", "status"]].copy()
        df["run_dir"] = None
        df["planned_by"] = "prior"
    df = df[RUN_COLUMNS]
    for c in FIT_RUN_COLUMNS:
        if not fr.empty and c in fr.columns:
            df[c] = df["id"].map(dict(zip(fr["id"].astype(str), fr[c])))
        else:
            df[c] = np.nan
    df["outlier"] = df["outlier"].map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else v == 1.0)
    df["completed"] = df["status"].str.lower().eq("completed")
    default_used = df["completed"] & ~df["outlier"]
    df["used"] = [bool(u) if isinstance(u, (bool, np.bool_)) else bool(d) for u, d in zip(df["used"], default_used)]
    for c in ("pred_approach2", "pred_approach3"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df
