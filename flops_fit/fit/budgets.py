"""Which runs form one IsoFLOP budget, for tables that do not say (no budget column).

Rule (the gap rule, docs/analysis.md "Budgets"): sort the runs by x = log10 C and cut wherever two neighbours
are more than GAP decades apart. A cluster is an IsoFLOP group when it has at least MIN_GROUP runs and spans at
most MAX_WIDTH decades; its budget is the geometric mean of its C. Every other run stays ungrouped (budget NaN):
Approach 3 fits it, Approach 2 and the outlier screen never see it, and it is never a budget of its own.

GAP = 0.1 decades (a factor 1.26) sits between the two scales of an IsoFLOP table: planned budgets are a factor
1.5 or more apart (0.18+ decades), while the runs of one budget miss it by a few percent (a 5 % log-normal
scatter gives an sd of 0.02 decades). MAX_WIDTH = 0.2 decades (a factor 1.6) refuses a chain of runs whose C
drifts continuously (a sizes x token-multiplier grid, or scatter so wide the budgets overlap): such a chain is
not one budget. When more than MAX_UNGROUPED_SHARE of the runs end up in no group, the few groups found are
chance clumps of a continuous spread (measured: a 40 % log-normal scatter on a 12-budget grid leaves 4 such clumps
and 69 of 116 runs ungrouped): none is kept, and Approach 2 is skipped with that reason.

`analysis.budgets=[...]` snaps each run to the nearest given budget instead (ungrouped when more than GAP
decades from all of them); `analysis.budget_column=<col>` names the column that labels the budgets.
"""
import numpy as np

from flops_fit.constants import MIN_SIZES_PER_BUDGET

GAP = 0.1          # decades: a larger gap between neighbouring log10 C starts a new group
MAX_WIDTH = 0.2    # decades: a wider cluster is not one budget
MIN_GROUP = MIN_SIZES_PER_BUDGET   # runs: a smaller cluster is not a budget
MAX_UNGROUPED_SHARE = 0.5   # more runs than this outside groups: no IsoFLOP structure at all


def infer_budgets(C, N=None, *, gap=GAP, max_width=MAX_WIDTH, min_group=MIN_GROUP) -> tuple:
    """(budget per run, NaN where ungrouped; info dict for fits.json) from the runs' compute C. With the runs'
    sizes N, a cluster also needs min_group distinct sizes: repeats of one (N, D), e.g. one run scored on
    several evaluation sets, are not an IsoFLOP budget."""
    C = np.asarray(C, float)
    sizes = None if N is None else np.round(np.log10(np.asarray(N, float)), 6)
    x = np.log10(C)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cuts = np.flatnonzero(np.diff(xs) > gap) + 1
    budget = np.full(len(C), np.nan)
    n_groups, too_small, too_wide, few_sizes = 0, 0, 0, 0
    for members in np.split(order, cuts) if len(C) else []:
        width = float(np.ptp(x[members]))
        if len(members) < min_group:
            too_small += len(members)
        elif sizes is not None and len(np.unique(sizes[members])) < min_group:
            few_sizes += len(members)
        elif width > max_width:
            too_wide += len(members)
        else:
            budget[members] = float(f"{10.0 ** float(np.mean(x[members])):.10g}")  # 1e17, not 9.99...e16
            n_groups += 1
    chance = n_groups > 0 and np.isnan(budget).mean() > MAX_UNGROUPED_SHARE
    clumps = n_groups if chance else 0
    if chance:
        budget[:], n_groups = np.nan, 0
    info = {"method": "inferred", "rule": f"gap rule: sorted log10 C cut at gaps > {gap:g} decades; a cluster of "
                                          f">= {min_group} runs"
                                          + ("" if sizes is None else f" of >= {min_group} distinct sizes")
                                          + f" spanning <= {max_width:g} decades is a budget "
                                          "(its geometric-mean C); other runs ungrouped; none kept when more "
                                          f"than {MAX_UNGROUPED_SHARE:.0%} of runs are ungrouped",
            "chance_clumps_dropped": clumps,
            "gap_decades": gap, "max_width_decades": max_width, "min_group": min_group,
            "n_groups": n_groups, "n_ungrouped": int(np.isnan(budget).sum()),
            "ungrouped_small_clusters": too_small, "ungrouped_wide_clusters": too_wide,
            "ungrouped_few_size_clusters": few_sizes}
    return budget, info


def snap_budgets(C, budgets, *, gap=GAP) -> tuple:
    """(budget per run: the nearest of `budgets` in log10, NaN when farther than gap decades; info dict)."""
    C = np.asarray(C, float)
    b = np.asarray(sorted(float(v) for v in budgets), float)
    if len(b) == 0 or not np.all(b > 0):
        raise ValueError(f"analysis.budgets must be a non-empty list of positive FLOP budgets, got {list(budgets)}")
    dist = np.abs(np.log10(C)[:, None] - np.log10(b)[None, :])
    j = np.argmin(dist, axis=1)
    budget = np.where(dist[np.arange(len(C)), j] <= gap, b[j], np.nan)
    n_groups = len(np.unique(budget[np.isfinite(budget)]))
    info = {"method": "snapped", "rule": f"each run snapped to the nearest of analysis.budgets in log10 C; "
                                         f"ungrouped when more than {gap:g} decades from all",
            "budgets": b.tolist(), "gap_decades": gap, "n_groups": n_groups,
            "n_ungrouped": int(np.isnan(budget).sum())}
    return budget, info


def describe(info: dict) -> str:
    """One line for the printed summary and the table notes."""
    n, u = info.get("n_groups", 0), info.get("n_ungrouped", 0)
    how = {"column": f"from column {info.get('column')!r}", "snapped": "snapped to analysis.budgets",
           "inferred": f"inferred from C ({info.get('rule', '')})"}.get(info.get("method"), "")
    tail = f"; {u} run(s) ungrouped (fitted by Approach 3 only)" if u else ""
    return f"budgets: {n} IsoFLOP group(s) {how}{tail}"
