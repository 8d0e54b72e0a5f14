"""Run tables in: a sweep's runs.csv, or any CSV/JSONL/DataFrame of runs a user brings.

`load_runs` returns one normalized DataFrame (columns id, C, budget, N, D, loss, status; budget NaN for a run
in no IsoFLOP group) or raises a one-line ValueError that names the source and the problem.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from flops_fit.constants import MIN_SIZES_PER_BUDGET

from .budgets import infer_budgets, snap_budgets
from .repeats import telling_columns
from .result import PIPELINE_NAMES   # pipeline name -> short name (docs/architecture.md, "runs.csv")

COLUMNS = ["id", "C", "budget", "N", "D", "loss", "status"]
# common names in published run tables -> short name; the one used is named in a note (aliases_note)
ALIASES = {"n_params": "N", "tokens": "D", "n_tokens": "D", "flops": "C", "compute": "C"}
MIN_BUDGETS = 2
MIN_POINTS_PER_BUDGET = MIN_SIZES_PER_BUDGET


class FitError(RuntimeError):
    """A fit cannot be made at all (as opposed to a soft problem, which is a status)."""


def read_table(source) -> tuple[pd.DataFrame, str]:
    """(raw DataFrame, source name) of a CSV/JSONL/JSON path or a DataFrame."""
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


def select_rows(df, query, name):
    """Rows matching a pandas query (analysis.query), with one clear line when the query is bad or matches none."""
    if not query:
        return df
    try:
        sel = df.query(query)
    except Exception as e:  # pandas raises many kinds (SyntaxError, UndefinedVariableError, TypeError, ...)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{name}: analysis.query {query!r} failed ({msg}); columns: {', '.join(map(str, df.columns))}")
    if len(sel) == 0:
        raise ValueError(f"{name}: analysis.query {query!r} matches no row of {len(df)}")
    return sel.reset_index(drop=True)


def _losses(df, ids, name) -> tuple:
    """(loss values, dropped-row counts with reasons). Missing and non-numeric losses become NaN (excluded
    later with reason non_finite_loss); a table with no numeric loss at all is refused."""
    raw = df["loss"]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    missing = raw.isna().to_numpy()
    text = np.isnan(vals) & ~missing
    dropped = {}
    if missing.any():
        dropped["missing loss"] = {"n": int(missing.sum()), "example": str(ids[np.flatnonzero(missing)[0]])}
    if text.any():
        i = np.flatnonzero(text)[0]
        dropped["non-numeric loss"] = {"n": int(text.sum()), "example": f"{ids[i]}: {raw.iloc[i]!r}"}
    inf = ~np.isnan(vals) & ~np.isfinite(vals)
    if inf.any():
        dropped["infinite loss"] = {"n": int(inf.sum()), "example": str(ids[np.flatnonzero(inf)[0]])}
    if not np.isfinite(vals).any():
        ex = f" (e.g. {dropped['non-numeric loss']['example']})" if text.any() else ""
        raise ValueError(f"{name}: column loss has no finite numeric value in any of its {len(vals)} row(s){ex}: "
                         "nothing to fit")
    return vals, dropped


def _budgets(df, C, name, budget_column, budgets, N=None) -> tuple:
    """(budget per run, NaN where ungrouped; info). Order: analysis.budgets (snap), the named or default budget
    column, else inferred from C (budgets.py)."""
    if budgets:
        return snap_budgets(C, budgets)
    if budget_column and budget_column not in df.columns and PIPELINE_NAMES.get(budget_column) in df.columns:
        budget_column = PIPELINE_NAMES[budget_column]   # budget_flops was renamed to budget
    col = budget_column or ("budget" if "budget" in df.columns else None)
    if budget_column and budget_column not in df.columns:
        raise ValueError(f"{name}: analysis.budget_column {budget_column!r} is not a column "
                         f"(found {', '.join(map(str, df.columns))})")
    if col is None:
        return infer_budgets(C, N)
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        if (num <= 0).any():
            raise ValueError(f"{name}: non-positive budget value(s) in column {col!r}")
        out = num.to_numpy(float)
    elif raw.notna().all():  # non-numeric labels: a group's budget is its median C
        labels = raw.astype(str).values
        out = pd.Series(C).groupby(labels).transform("median").to_numpy(float)
    else:
        raise ValueError(f"{name}: column {col!r} has {int(raw.isna().sum())} missing budget label(s); "
                         "fill them, or drop the column to infer budgets from C")
    return out, {"method": "column", "column": col, "n_groups": int(len(np.unique(out))), "n_ungrouped": 0}


def load_runs(source, *, query=None, budget_column=None, budgets=None) -> pd.DataFrame:
    """The normalized table. query: pandas query selecting rows (analysis.query); budget_column: the column
    labelling budgets (default `budget`/`budget_flops`); budgets: FLOP budgets to snap runs to. Without a budget
    column budgets are inferred from C (budgets.py). attrs: source, budget_info, dropped."""
    df, name = read_table(source)
    if len(df) == 0:
        raise ValueError(f"{name}: the table has no rows")
    df = select_rows(df, query, name)
    short = {c for c in ("N", "D", "loss", "budget") if c in df.columns}
    df = df.rename(columns={k: v for k, v in PIPELINE_NAMES.items() if v not in short})
    aliases = {}
    for k, v in ALIASES.items():
        if k in df.columns and v not in df.columns:
            df = df.rename(columns={k: v})
            aliases[k] = v
    missing = [c for c in ("N", "D", "loss") if c not in df.columns]
    if missing:
        alias = {v: k for k, v in PIPELINE_NAMES.items()}
        more = {v: [k for k, w in ALIASES.items() if w == v] for v in missing}
        names = ", ".join(f"{c} (or {' or '.join([alias[c]] + more[c])})" for c in missing)
        raise ValueError(f"{name}: missing column(s) {names}; found {', '.join(map(str, df.columns))}")

    out = pd.DataFrame(index=range(len(df)))
    out["id"] = df["id"].astype(str).values if "id" in df.columns else [f"run{i}" for i in range(len(df))]
    for col in ("N", "D"):
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        if np.isnan(vals).any():
            bad = out["id"][np.isnan(vals)].iloc[0]
            raise ValueError(f"{name}: column {col} has a missing or non-numeric value (run {bad})")
        out[col] = vals
    out["loss"], dropped = _losses(df, out["id"].to_numpy(), name)
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
    out["budget"], info = _budgets(df, C, name, budget_column, budgets, out["N"].to_numpy(float))

    if "status" in df.columns:
        out["status"] = df["status"].fillna("completed").astype(str).str.strip().str.lower().values
    else:
        out["status"] = "completed"
    out = out[COLUMNS]
    out.attrs.update(source=name, budget_info=info, dropped=dropped, query=query or None, aliases=aliases,
                     repeat_columns=telling_columns(df))
    return out
