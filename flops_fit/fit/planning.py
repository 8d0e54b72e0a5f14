"""The Chinchilla table's note on how the budgets were planned (prior grid, adaptive, extended, replicated).

Read from runs.csv's planned_by column (metrics.json); write_outputs adds it to chinchilla_table.md.
"""
from pathlib import Path

import pandas as pd


def planning_note(runs) -> str | None:
    """One line, or None for a sweep planned entirely on the prior grid (or a table without planned_by)."""
    if isinstance(runs, (str, Path)):
        path = Path(runs)
        if path.suffix.lower() != ".csv" or not path.is_file():
            return None
        runs = pd.read_csv(path)
    if not isinstance(runs, pd.DataFrame) or "planned_by" not in runs.columns or "budget_flops" not in runs.columns:
        return None
    how = runs["planned_by"].fillna("prior").astype(str)
    if (how == "prior").all():
        return None
    by = {k: sorted(runs.loc[how == k, "budget_flops"].astype(float).unique()) for k in ("adaptive", "extension",
                                                                                           "replicate")}
    parts = []
    if by["adaptive"]:
        parts.append("budgets " + ", ".join(f"{b:.3g}" for b in by["adaptive"]) + " were planned adaptively (their "
                     "sizes centred on the N*(C) fitted to the earlier budgets); the others on the prior grid")
    if by["extension"]:
        counts = runs[how == "extension"].groupby("budget_flops").size()
        parts.append("sizes were added beyond an edge of the grid at " +
                     ", ".join(f"{b:.3g} ({n})" for b, n in counts.items()))
    if by["replicate"]:
        n = runs[how == "replicate"].groupby("budget_flops").size()
        parts.append(f"{int(n.max())} seed replicate(s) per budget measure the run-to-run noise")
    return ("planning: " + "; ".join(parts) + ". Each budget's plan and the results it was based on: "
            "adaptive/<budget>/round<r>.json (docs/adaptive.md).")
