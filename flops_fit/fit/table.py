"""Run tables in: a sweep's runs.csv, or any CSV/JSONL/DataFrame of runs a user brings.

`load_runs` returns one normalized DataFrame (columns id, C, budget, N, D, loss, status) or raises a
one-line ValueError that names the source and the problem.
"""
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["id", "C", "budget", "N", "D", "loss", "status"]
# pipeline name -> short name (docs/architecture.md, "runs.csv")
PIPELINE_NAMES = {"params": "N", "data_units": "D", "final_loss": "loss", "budget_flops": "budget"}
MIN_BUDGETS = 2
MIN_POINTS_PER_BUDGET = 3


class FitError(RuntimeError):
    """A fit cannot be made at all (as opposed to a soft problem, which is a status)."""


def _read(source) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), source.attrs.get("source", "<DataFrame>")
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise ValueError(f"{name}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True)
        elif suffix == ".json":
            df = pd.read_json(path)
        else:
            raise ValueError(f"{name}: unknown table format {suffix!r} (use .csv, .jsonl or .json)")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        if str(e).startswith(name):
            raise
        raise ValueError(f"{name}: cannot read table ({str(e).splitlines()[0]})") from None
    return df, name


def _budget_label(C: np.ndarray) -> np.ndarray:
    """C rounded to 2 significant digits: runs planned for one budget land in one group."""
    exp = np.floor(np.log10(C))
    return np.round(C / 10.0**exp, 1) * 10.0**exp


def load_runs(source) -> pd.DataFrame:
    df, name = _read(source)
    if len(df) == 0:
        raise ValueError(f"{name}: the table has no rows")
    short = {c for c in ("N", "D", "loss", "budget") if c in df.columns}
    df = df.rename(columns={k: v for k, v in PIPELINE_NAMES.items() if v not in short})
    missing = [c for c in ("N", "D", "loss") if c not in df.columns]
    if missing:
        alias = {v: k for k, v in PIPELINE_NAMES.items()}
        names = ", ".join(f"{c} (or {alias[c]})" for c in missing)
        raise ValueError(f"{name}: missing column(s) {names}; found {', '.join(map(str, df.columns))}")

    out = pd.DataFrame(index=range(len(df)))
    out["id"] = df["id"].astype(str).values if "id" in df.columns else [f"run{i}" for i in range(len(df))]
    for col in ("N", "D", "loss"):
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        if col != "loss" and np.isnan(vals).any():
            bad = out["id"][np.isnan(vals)].iloc[0]
            raise ValueError(f"{name}: column {col} has a missing or non-numeric value (run {bad})")
        out[col] = vals
    for col in ("N", "D", "loss"):
        bad = np.isfinite(out[col]) & (out[col] <= 0)
        if col != "loss":
            bad |= ~np.isfinite(out[col])
        if bad.any():
            raise ValueError(f"{name}: {int(bad.sum())} non-positive {col} value(s), e.g. run "
                             f"{out['id'][bad].iloc[0]} has {col}={out[col][bad].iloc[0]}")

    # C: executed FLOPs if recorded, else the stated C, else the budget, else 6ND
    C = np.full(len(df), np.nan)
    for col in ("flops_executed", "C", "budget"):
        if col in df.columns:
            vals = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
            C = np.where(np.isfinite(C), C, vals)
    C = np.where(np.isfinite(C) & (C > 0), C, 6.0 * out["N"] * out["D"])
    out["C"] = C

    if "budget" in df.columns:
        num = pd.to_numeric(df["budget"], errors="coerce")
        if num.notna().all():
            if (num <= 0).any():
                raise ValueError(f"{name}: non-positive budget value(s)")
            out["budget"] = num.to_numpy(float)
        else:  # non-numeric labels: a group's budget is its median C
            labels = df["budget"].astype(str).values
            out["budget"] = pd.Series(C).groupby(labels).transform("median").values
    else:
        out["budget"] = _budget_label(C)

    if "status" in df.columns:
        out["status"] = df["status"].fillna("completed").astype(str).str.strip().str.lower().values
    else:
        out["status"] = "completed"

    counts = out[out["status"] == "completed"].groupby("budget").size()
    usable = int((counts >= MIN_POINTS_PER_BUDGET).sum())
    if usable < MIN_BUDGETS:
        raise ValueError(f"{name}: too few budgets: need >= {MIN_BUDGETS} budgets with >= "
                         f"{MIN_POINTS_PER_BUDGET} completed runs each, found {usable} "
                         f"({len(counts)} budget(s), {len(out)} run(s))")
    out = out[COLUMNS]
    out.attrs["source"] = name
    return out
