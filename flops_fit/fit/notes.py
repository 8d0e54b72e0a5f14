"""The sentences under the Chinchilla table (and in fits.json `notes`): what a reader must know to trust, or
not trust, the numbers above them. One function per concern; `table_notes` collects them in reading order."""
import numpy as np

from flops_fit.constants import MIN_SIZES_PER_BUDGET

from .bootstrap import A3_KEYS
from .budgets import describe
from .plausibility import warning_notes


def _budgets(an) -> list:
    out = [describe(an.budget_info)] if an.budget_info else []
    if an.query:
        out.append(f"rows selected by analysis.query: {an.query}")
    return out


def _dropped(an) -> list:
    if not an.dropped:
        return []
    parts = [f"{v['n']} with a {k} (e.g. {v['example']})" for k, v in an.dropped.items()]
    return [f"runs dropped before fitting: {'; '.join(parts)} (listed in fits.json excluded[] as non_finite_loss)"]


def _approach2(an) -> list:
    a2 = an.approach2
    out = []
    if a2.status in ("not_isoflop", "too_few_budgets"):
        out.append(f"approach2 skipped: {a2.reason}")
    elif a2.status == "two_points":
        out.append("approach2: its power laws go through only 2 fitted budgets, so they are exact lines with no "
                   "interval (status two_points; need >= 3). Treat its rows as indicative.")
    near = [b for b in a2.budgets if b.status == "near_edge"]
    if near:
        what = "included in" if an.include_near_edge else "left out of"
        out.append(f"approach2: {len(near)} budget(s) have their optimum within one grid step of the edge of their "
                   f"sizes, or an interval reaching it (near_edge: {', '.join(f'{b.budget:.3g}' for b in near)}); "
                   f"{what} the power laws (analysis.include_near_edge={str(an.include_near_edge).lower()}). "
                   "Extend those grids toward the edge to fit them.")
    off = [b for b in a2.budgets if b.status in ("edge_of_grid", "non_positive_curvature", "too_few_points")]
    if off:
        out.append("approach2: not fitted: " + ", ".join(f"{b.budget:.3g} ({b.status})" for b in off))
    if a2.l_star.status == "hit_bound":
        ls = a2.l_star
        out.append(f"approach2 loss: the law L*(C) = E + k*C^-g has a parameter at its bound (E = {ls.E:.3g}, "
                   f"g = {ls.g:.3g}): the budgets do not pin the irreducible loss, so extrapolated losses lean "
                   "on that bound. Add budgets before trusting them.")
    return out


def _screen(an) -> list:
    out = []
    if an.unscreened:
        out.append("outlier screen: budgets with < 6 clean runs are not screened: "
                   + ", ".join(f"{b:.3g} ({n} runs)" for b, n in an.unscreened))
    few = int(an.budget_info.get("ungrouped_few_size_clusters", 0) or 0)
    if few:
        out.append(f"budgets: {few} run(s) share a compute C but not enough distinct sizes (repeats of one (N, D), "
                   "e.g. one run scored on several evaluation sets): they form no IsoFLOP budget; name the column "
                   "that tells them apart in analysis.query or analysis.group_by")
    u = int(an.budget_info.get("n_ungrouped", 0) or 0)
    if u:
        out.append(f"outlier screen: the {u} run(s) in no budget group are not screened")
    return out


def _approach3(an) -> list:
    out = []
    if an.approach3.status == "hit_bound":
        out.append("approach3: an exponent of the surface is at its search bound; treat its rows with care.")
    warning = an.approach3.compute_model.warning()
    if warning:
        out.append(f"approach3: {warning}.")
    s = (an.sensitivity or {}).get("fits") or {}
    if s:
        vals = ", ".join(f"{k} {v['a']:.3g}" for k, v in s.items() if np.isfinite(v["a"]))
        rel = an.sensitivity.get("a_range_rel", np.nan)
        out.append(f"approach3 objective sensitivity: a = {vals} (range {100 * rel:.2g} % of a)"
                   if np.isfinite(rel) else f"approach3 objective sensitivity: a = {vals}")
    ag = an.agreement or {}
    if ag.get("disagree"):
        out.append(f"approaches disagree: Approach 2's a and Approach 3's a differ by {ag['difference']:+.3g}, "
                   f"more than their intervals allow (+-{ag['allowed']:.2g}); the surface's form or the parabolas' "
                   "width biases one of them: compare the IsoFLOP figure with the surface before using either.")
    return out


def _design(an) -> list:
    if not np.isfinite(an.a_sd_bound):
        return []
    a = an.approach3.a
    lo, hi = (x[A3_KEYS.index("a")] for x in an.bootstrap.interval("a3.params"))
    ci = f"; Approach 3's bootstrap interval is [{lo:.3g}, {hi:.3g}]" if np.isfinite(lo) else ""
    where = "measured from seed replicates" if an.noise_method else "around the IsoFLOP parabolas"
    return [f"design: run-to-run noise ~{100 * an.noise_sigma:.2g}% in loss ({where}). "
            f"Even a perfect fit of these runs could not pin the exponent a = {a:.3g} better than "
            f"+-{an.a_sd_bound:.2g} (1 sd, the Cramer-Rao bound for this design at that noise){ci}. "
            "If the bound is near the precision you need, the design limits it, not the fit: widen the "
            "size spread or add budgets (docs/analysis.md)."]


def _independence(an) -> list:
    if an.independent_runs:
        return []
    return ["runs declared NOT independent (analysis.independent_runs=false, e.g. checkpoints of one long run "
            "per size): the bootstrap resamples runs as if independent, so its intervals are too narrow."]


def _targets(an) -> list:
    return [f"targets ({', '.join(f'{t:.3g}' for t in an.targets)}): {an.targets_rule}"] if an.targets else []


def _honest(an) -> list:
    out = []
    if an.aliases:
        out.append("columns read by alias: " + ", ".join(f"{k} as {v}" for k, v in an.aliases.items()))
    if an.status_note:
        out.append(f"status {an.status}: {an.status_note}")
    few = [b.budget for b in an.approach2.budgets if b.in_n.n_points <= MIN_SIZES_PER_BUDGET and b.status != "too_few_points"]
    if few:
        out.append(f"approach2: {len(few)} budget(s) with 3 sizes ({', '.join(f'{c:.3g}' for c in few)}) have no "
                   "bootstrap interval on their optimum: a parabola through 3 points fits them exactly, so resampling "
                   "cannot show how far the vertex could move (add sizes to get one)")
    flat = [b.budget for b in an.approach2.budgets if b.status == "non_positive_curvature"]
    if flat:
        out.append(f"approach2: {len(flat)} budget(s) have no minimum ({', '.join(f'{c:.3g}' for c in flat)}): "
                   "the loss profile is flat or bends down across the sizes, so no N* is reported for them; widen "
                   "the sizes or check those runs")
    if an.repeats:
        out.append(an.repeats)
    if "fell back" in an.huber_delta_rule:
        out.append(f"approach3 huber_delta {an.huber_delta_rule}")
    return out


def table_notes(an) -> list:
    return (warning_notes(an.table, an.warnings) + _honest(an) + _budgets(an) + _dropped(an) + _approach2(an) + _screen(an) + _approach3(an) + _design(an)
            + _independence(an) + _targets(an))


def summary_line(an) -> str:
    """What the command prints after a fit: source, groups found and how, each approach's status and a."""
    a2, a3 = an.approach2, an.approach3
    parts = [f"fit {an.source}: {describe(an.budget_info)}" if an.budget_info else f"fit {an.source}"]
    if a2.has_laws:
        near = sum(b.status == "near_edge" for b in a2.budgets)
        parts.append(f"approach2 {a2.status}: a = {a2.n_star.exponent:.3g} through {len(a2.fitted)} of "
                     f"{len(a2.budgets)} budgets" + (f" ({near} near_edge left out)" if near and
                                                     not an.include_near_edge else ""))
    else:
        parts.append(f"approach2 {a2.status}: {a2.reason}")
    parts.append(f"approach3 {a3.status}" + (f": a = {a3.a:.3g}" if a3.status in ("ok", "hit_bound") else ""))
    if an.dropped:
        parts.append("dropped " + ", ".join(f"{v['n']} run(s) with a {k}" for k, v in an.dropped.items()))
    if not an.independent_runs:
        parts.append("runs declared not independent: intervals too narrow")
    return "; ".join(parts)
