"""IsoFLOP curves: final loss vs N (and vs D) per compute budget, with the saved per-budget parabolas,
N* (D*) and its bootstrap interval, flagged outliers (excluded from the fit), edge-of-grid optima."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import theme
from flops_fit.fit.result import parabola

from .data import Sweep, est, num, skip

# markers drawn over the runs a steered sweep added, by how they were planned (metrics.json planned_by)
ADDED = {"adaptive": {"marker": "D", "s": 24, "facecolor": "none", "edgecolor": "0.2", "linewidths": 0.5,
                      "zorder": 5},
         "extension": {"marker": "^", "s": 32, "facecolor": "none", "edgecolor": "black", "linewidths": 0.6,
                       "zorder": 5},
         "replicate": {"marker": "o", "s": 28, "facecolor": "none", "edgecolor": "0.35", "linewidths": 0.5,
                       "zorder": 5}}
ADDED_LABEL = {"adaptive": "re-centred on the fitted N*(C)", "extension": "added beyond an edge",
               "replicate": "seed replicate"}

_VAR = {"N": ("n_star", "Parameters $N$"),
        "D": ("d_star", None)}


def _parabola(coefs, span_x, pad: float = 0.08):
    """The saved parabola (FitResult.profile) over its sampled range, padded: (10^x, loss)."""
    lo, hi = span_x
    if not all(np.isfinite([*coefs, lo, hi])):
        return None
    span = max(hi - lo, 0.1)
    x = np.linspace(lo - pad * span, hi + pad * span, 200)
    return 10 ** x, parabola(x, *coefs)


def _panel(ax, sw: Sweep, var: str, colors: dict) -> dict:
    okey, xlabel = _VAR[var]
    runs = sw.runs
    flags = {"outlier": False, "failed": False, "edge": False, "bad": False}
    fits = sw.fit.budget_fits
    for budget, g in runs.groupby("budget"):
        c = colors.get(float(budget), "0.5")
        ok = g[g["completed"] & ~g["outlier"] & g["loss"].notna()]
        ax.scatter(ok[var], ok["loss"], s=14, color=c, edgecolor="white", linewidths=0.3, zorder=4)
        for how, style in ADDED.items():   # runs a steered sweep added (docs/adaptive.md): ringed by how
            added = ok[ok["planned_by"] == how] if "planned_by" in ok.columns else ok.iloc[:0]
            if len(added):
                flags[how] = True
                ax.scatter(added[var], added["loss"], **style)
        out = g[g["completed"] & g["outlier"] & g["loss"].notna()]
        if len(out):
            flags["outlier"] = True
            ax.scatter(out[var], out["loss"], **{**theme.OUTLIER, "color": c})
        bad = g[~g["completed"] & g["loss"].notna()]
        if len(bad):
            flags["failed"] = True
            ax.scatter(bad[var], bad["loss"], **theme.FAILED)
        b = fits.get(float(budget))
        if not b:
            continue
        coefs, span_x, status = sw.fit.profile(b, var)
        curve = _parabola(coefs, span_x)
        near = status == "ok" and b.get("status") == "near_edge"   # a vertex near its grid's edge (not fitted)
        fitted = b.get("fitted", status == "ok")
        if curve is not None:
            ls = "-" if status == "ok" and fitted else ":" if not near else "--"
            ax.plot(*curve, color=c, ls=ls, lw=0.9, zorder=3)
        v, lo, hi = est(b.get(okey))
        lstar = num((b.get("l_star") or {}).get("value"))
        if status == "ok" and np.isfinite(v) and np.isfinite(lstar):
            xerr = None
            if np.isfinite(lo) and np.isfinite(hi):
                xerr = [[max(v - lo, 0)], [max(hi - v, 0)]]
            flags["near"] = flags.get("near", False) or near
            ax.errorbar([v], [lstar], xerr=xerr, fmt="*", ms=7, color=c, mec="black", mew=0.4,
                        mfc="white" if near else c, ecolor=c, elinewidth=1.0, capsize=2, zorder=7)
        elif status == "edge_of_grid" and len(ok):
            flags["edge"] = True
            best = ok.loc[ok["loss"].idxmin()]
            ax.scatter([best[var]], [best["loss"]], marker="s", s=40, facecolor="none", edgecolor="black",
                       linewidths=0.9, zorder=8)
            arrow = 1 if (np.isfinite(v) and v > best[var]) else -1
            ax.annotate("", xy=(best[var] * 10 ** (0.3 * arrow), best["loss"]),
                        xytext=(best[var] * 10 ** (0.06 * arrow), best["loss"]),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=0.9, mutation_scale=7), zorder=8)
        elif status not in ("ok", None):
            flags["bad"] = True
    theme.log_axis(ax, "x")
    ax.set_xlabel(xlabel or f"Training {theme.unit_label(sw.unit)} $D$")
    ax.set_ylabel("Final loss")
    ax.grid(True, which="major")
    return flags


def plot_isoflop(sw: Sweep, out_dir, colors: dict) -> list:
    runs = sw.runs[sw.runs["loss"].notna()]
    if runs.empty:
        skip("isoflop", "no run has a final loss")
        return []
    if not sw.fit.budget_fits:
        skip("isoflop parabolas", "fits.json has no Approach 2 per-budget fits; drawing the runs only")
    fig, axes = plt.subplots(1, 2, figsize=(theme.PAGE, 2.7), sharey=True)
    flags = {}
    for ax, var in zip(axes, ("N", "D")):
        for k, v in _panel(ax, sw, var, colors).items():
            flags[k] = flags.get(k, False) or v
    axes[1].set_ylabel("")
    axes[0].set_title("IsoFLOP profiles: loss vs model size")
    axes[1].set_title(f"IsoFLOP profiles: loss vs training {theme.unit_label(sw.unit)}")

    handles = [Line2D([], [], color=colors[b], marker="o", ms=3.5, lw=0.9, label=theme.budget_label(b))
               for b in sorted(colors)]
    level = sw.level
    handles += [Line2D([], [], color="0.3", marker="*", ms=7, mec="black", mew=0.4, lw=0,
                       label=f"optimum, {level}% CI")]
    if flags.get("outlier"):
        handles.append(Line2D([], [], lw=0, marker=theme.OUTLIER["marker"], color=theme.OUTLIER["color"],
                              mec="black", mew=0.4, ms=5, label="outlier (excluded)"))
    if flags.get("failed"):
        handles.append(Line2D([], [], lw=0, marker="v", mfc="none", mec="0.35", ms=4.5,
                              label="diverged/failed (excluded)"))
    if flags.get("edge"):
        handles.append(Line2D([], [], lw=0, marker="s", mfc="none", mec="black", ms=5,
                              label="optimum at grid edge\n(arrow: fitted vertex side)"))
    for how, style in ADDED.items():
        if flags.get(how):
            handles.append(Line2D([], [], lw=0, marker=style["marker"], mfc="none", mec=style["edgecolor"],
                                  ms=4.5, label=ADDED_LABEL[how]))
    if flags.get("near"):
        handles.append(Line2D([], [], color="0.3", ls="--", lw=0.9, marker="*", ms=7, mfc="white", mec="black",
                              mew=0.4, label="near_edge: optimum or its\ninterval at the edge\n(not in the laws)"))
    if flags.get("bad") or flags.get("edge"):
        handles.append(Line2D([], [], color="0.3", ls=":", lw=0.9, label="parabola not used"))
    fig.legend(handles=handles, loc="outside right center", title="Compute budget")
    return theme.save(fig, out_dir, "isoflop")
