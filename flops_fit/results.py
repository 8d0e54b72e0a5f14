"""The results schema: read and check metrics.json files, collect them into runs.csv.

Everything downstream of training reads these files and nothing else.
"""
import json
import math
from pathlib import Path

from .io import atomic_write_text

REQUIRED = ("id", "status", "budget_flops", "params", "data_units", "final_loss")
STATUSES = ("completed", "diverged", "failed")
COLUMNS = ["id", "status", "mode", "budget_flops", "params", "data_units", "unit", "flops_per_unit",
           "flops_executed", "final_loss", "steps", "global_batch", "lr", "seed", "wall_s", "units_per_s",
           "achieved_flops_per_s", "mfu", "device", "visible_devices", "precision", "reason", "planned_by",
           "replicate", "run_dir"]


class ResultsError(ValueError):
    """A results file that is missing, unreadable or not in the metrics.json schema (one-line message)."""


def metrics_problem(m) -> str | None:
    """Why a parsed metrics.json is not a usable result (None: it is)."""
    if not isinstance(m, dict):
        return f"not a JSON object ({type(m).__name__})"
    missing = [k for k in REQUIRED if k not in m]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    if m["status"] not in STATUSES:
        return f"status {m['status']!r} is not one of {', '.join(STATUSES)}"
    for k in ("budget_flops", "params", "data_units"):
        if not _finite_number(m[k]) or m[k] < 0 or (m[k] == 0 and (k != "data_units" or m["status"] != "failed")):
            return f"field {k!r} is {m[k]!r}, not a positive number"
    if m["status"] == "completed" and not _finite_number(m["final_loss"]):
        return f"status completed but final_loss is {m['final_loss']!r}"
    return None


def _finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def read_metrics(path) -> dict:
    path = Path(path)
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing; rerun the workflow to produce it") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({e}); rerun the workflow (it sets the file aside as "
                           "metrics.json.bad and retrains that experiment)") from None
    problem = metrics_problem(m)
    if problem:
        raise ResultsError(f"{path}: {problem}; rerun the workflow (it sets the file aside as metrics.json.bad "
                           "and retrains that experiment)")
    return m


def collect(paths):
    """One row per metrics.json (columns COLUMNS, then the size knob columns): a pandas DataFrame."""
    import pandas as pd
    rows = []
    for p in paths:
        m = read_metrics(p)
        row = {k: m.get(k) for k in COLUMNS}
        row["planned_by"], row["replicate"] = m.get("planned_by") or "prior", m.get("replicate") or 0
        row["run_dir"] = str(Path(p).parent)
        for knob, value in (m.get("size") or {}).items():
            row[f"size_{knob}"] = value
        rows.append(row)
    if not rows:
        raise ResultsError("no metrics.json files to collect; run the training stage first")
    return pd.DataFrame(rows).sort_values(["budget_flops", "params"], kind="stable").reset_index(drop=True)


def write_runs_csv(paths, out):
    df = collect(paths)
    atomic_write_text(out, df.to_csv(index=False))
    return df
