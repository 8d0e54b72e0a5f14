"""The results schema: read and check metrics.json files, collect them into runs.csv.

Everything downstream of training reads these files and nothing else.
"""
import json
from pathlib import Path

import pandas as pd

from .io import atomic_write_text

REQUIRED = ("id", "status", "budget_flops", "params", "data_units", "final_loss")
STATUSES = ("completed", "diverged", "failed")
COLUMNS = ["id", "status", "mode", "budget_flops", "params", "data_units", "unit", "flops_per_unit",
           "flops_executed", "final_loss", "steps", "global_batch", "lr", "seed", "wall_s", "units_per_s",
           "device", "precision", "reason", "planned_by", "replicate", "run_dir"]


class ResultsError(ValueError):
    """A results file that is missing, unreadable or not in the metrics.json schema (one-line message)."""


def read_metrics(path) -> dict:
    path = Path(path)
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing; rerun the workflow to produce it") from None
    except ValueError as e:
        raise ResultsError(f"{path}: not valid JSON ({e}); delete it and rerun that experiment") from None
    missing = [k for k in REQUIRED if k not in m]
    if missing:
        raise ResultsError(f"{path}: missing field(s) {', '.join(missing)}; delete it and rerun that experiment")
    if m["status"] not in STATUSES:
        raise ResultsError(f"{path}: status {m['status']!r} is not one of {', '.join(STATUSES)}")
    return m


def collect(paths) -> pd.DataFrame:
    """One row per metrics.json (columns COLUMNS, then the size knob columns)."""
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


def write_runs_csv(paths, out) -> pd.DataFrame:
    df = collect(paths)
    atomic_write_text(out, df.to_csv(index=False))
    return df
