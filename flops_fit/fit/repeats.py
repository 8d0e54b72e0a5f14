"""Repeats that are not seeds: rows with the same (N, D) whose losses differ far beyond run-to-run noise.

Seed replicates of one (budget, N, D) differ by ~1 % in loss. A table that repeats each (N, D) for several
evaluation sets, datasets or configurations gives groups whose losses differ by 10 % or more; taking them as
seeds would report that spread as noise (and so set the design check and huber_delta=auto from it).
`seedless_repeats` names such groups; the fit then measures the noise around the IsoFLOP parabolas instead.
`telling_columns` (read by load_runs) names the table's columns that vary inside the repeats: the likely key.
"""
import numpy as np
import pandas as pd

from .noise import replicate_groups

SEED_SPREAD = 0.10   # a repeat group whose max/min loss exceeds 1 + this is not seeds of one run


def telling_columns(df: pd.DataFrame, keys=("N", "D"), limit=3) -> list:
    """Columns (other than the fit's own) that take more than one value inside some repeated (N, D) group, the
    one that splits the repeats finest first."""
    if not all(k in df.columns for k in keys) or not df.duplicated(list(keys)).any():
        return []
    skip = {"id", "N", "D", "C", "loss", "budget", "status", "flops_executed", "seed", "C_6ND"}
    g = df.groupby(list(keys), sort=False)
    out = []
    for c in df.columns:
        if c in skip:
            continue
        try:
            k = int(g[c].nunique(dropna=False).max())
        except TypeError:
            continue
        if k > 1:
            out.append((-k, str(c)))
    return [c for _, c in sorted(out)][:limit]


def seedless_repeats(used: pd.DataFrame) -> list:
    """[(N, D, n, min loss, max loss)] of the repeat groups whose losses differ by more than SEED_SPREAD."""
    out = []
    for idx in replicate_groups(used):
        loss = used.loc[idx, "loss"].to_numpy(float)
        if loss.max() / loss.min() > 1 + SEED_SPREAD:
            r = used.loc[idx[0]]
            out.append((float(r["N"]), float(r["D"]), len(idx), float(loss.min()), float(loss.max())))
    return out


def repeats_note(groups, columns) -> str:
    if not groups:
        return ""
    N, D, n, lo, hi = max(groups, key=lambda g: g[4] / g[3])
    col = (f" The column(s) {', '.join(columns)} differ inside them: select one value with analysis.query "
           f"(e.g. \"{columns[0]} == ...\") or fit each apart with group_by={columns[0]}.") if columns else ""
    return (f"repeats that are not seeds: {len(groups)} group(s) of runs with the same (N, D) differ in loss by more "
            f"than {100 * SEED_SPREAD:.0f} % (e.g. N={N:.3g}, D={D:.3g}: {n} runs, loss {lo:.4g} to {hi:.4g}), far "
            "beyond seed noise; they are not used as seed replicates, and the noise is measured around the IsoFLOP "
            f"parabolas instead.{col}")
