"""A fit that failed, recorded instead of raised, so the workflow still draws what the runs show.

The fit rule writes fits.json with ``status: "failed"``, the reason and the one line that names the fix, and
empty Chinchilla tables; the plot and forecast_vs_actual rules then run on the runs alone (the IsoFLOP figure
shows the runs without a vertex), and the workflow ends with exit status 1 and that line
(``workflow_outcome``, called from the Snakefile's onsuccess).
"""
import json
import math
from pathlib import Path

from flops_fit.io import atomic_write_json, atomic_write_text

from .report import SCHEMA

FAILED = "failed"


def fix_line(runs) -> str:
    """What to change, read from where each budget's best run lies among its sizes (runs: a DataFrame of runs.csv)."""
    import pandas as pd
    df = runs.copy()
    df["loss"] = pd.to_numeric(df.get("final_loss"), errors="coerce")
    df = df[df["loss"].notna() & df["loss"].map(math.isfinite)]
    if df.empty:
        return "no run has a finite loss: look at runs/*/metrics.json (status, reason) and the train logs"
    low = high = 0
    groups = list(df.groupby("budget_flops"))
    for _, g in groups:
        best = g.loc[g["loss"].idxmin(), "params"]
        low += best == g["params"].min()
        high += best == g["params"].max()
    n = len(groups)
    if low == n:
        return ("every budget's best run is its smallest size: raise planner.tokens_per_param (the optimum lies "
                "below the grid) or use planner.extend")
    if high == n:
        return ("every budget's best run is its largest size: lower planner.tokens_per_param (the optimum lies "
                "above the grid) or use planner.extend")
    if n < 2:
        return "the runs span fewer than 2 budgets: add budgets.values"
    return ("the IsoFLOP minima are not resolved: raise planner.sizes or planner.spread, or set "
            "analysis.include_near_edge=true")


def record_failure(runs_path, out_dir, reason: str, *, unit="tokens", extra=None) -> dict:
    """Write fits.json (status failed, reason, fix) and empty chinchilla_table.{md,csv,json}; return fits.json's dict."""
    import pandas as pd
    out = Path(out_dir)
    try:
        fix = fix_line(pd.read_csv(runs_path))
    except (OSError, ValueError, KeyError) as e:
        fix = f"{runs_path} could not be read ({e}): look at runs/*/metrics.json"
    fits = {"schema": SCHEMA, "source": str(runs_path), "unit": unit, "status": FAILED, "reason": reason,
            "fix": fix, "approach2": {}, "approach3": {}, "table": [], "runs": [], **(extra or {})}
    atomic_write_json(out / "fits.json", fits)
    atomic_write_text(out / "chinchilla_table.md", f"No Chinchilla table: the fit failed. {reason}\n\nFix: {fix}\n")
    atomic_write_text(out / "chinchilla_table.csv", "approach,budget,kind\n")
    atomic_write_json(out / "chinchilla_table.json", {"schema": SCHEMA + "/table", "unit": unit, "rows": []})
    return fits


def workflow_outcome(fits_path) -> str | None:
    """The one line a workflow ends on when its fit failed (None when it did not, or there is no fits.json)."""
    try:
        fits = json.loads(Path(fits_path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(fits, dict) or fits.get("status") != FAILED:
        return None
    return f"the fit failed ({fits_path}); the runs, runs.csv and the figures are kept: {fits.get('fix')}"
