"""Residuals: observed final loss vs the loss each approach predicts for that run (saved per-run
predictions pred_approach2 / pred_approach3 in fits.json), coloured by compute budget."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import theme
from .data import Sweep, skip

_PRED = {"approach2": "pred_approach2", "approach3": "pred_approach3"}
_WHAT = {"approach2": "per-budget parabola", "approach3": "$L(N, D)$ surface"}


def _rlim(used, a) -> float:
    """Symmetric y-limit (%) of the residual panel: the fitted runs' spread with room, at least 0.5 %."""
    rel = 100 * (used["loss"].to_numpy(float) / used[_PRED[a]].to_numpy(float) - 1)
    rel = rel[np.isfinite(rel)]
    return max(0.5, 1.6 * float(np.abs(rel).max())) if rel.size else 1.0


def plot_residuals(sw: Sweep, out_dir, colors: dict) -> list:
    r = sw.runs[sw.runs["loss"].notna()]
    have = [a for a, c in _PRED.items() if r[c].notna().any()]
    for a in _PRED:
        if a not in have:
            skip(f"residuals ({a})", f"fits.json has no {_PRED[a]} for any run")
    if not have:
        return []
    fig, grid = plt.subplots(2, len(have), figsize=(theme.PAGE * (0.36 * len(have) + 0.2), 3.9), squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [2.6, 1]})
    axes, raxes = grid[0], grid[1]
    pred_all = np.concatenate([r[_PRED[a]].to_numpy(float) for a in have] + [r["loss"].to_numpy(float)])
    pred_all = pred_all[np.isfinite(pred_all)]
    span = pred_all.max() - pred_all.min()
    lim = (pred_all.min() - 0.05 * span, pred_all.max() + 0.05 * span)
    flags = {"out": False, "bad": False}
    for ax, rax, a in zip(axes, raxes, have):
        g = r[r[_PRED[a]].notna()]
        ax.plot(lim, lim, color="0.4", lw=0.8, ls="--", zorder=1)
        used = g[g["used"]]
        ax.scatter(used[_PRED[a]], used["loss"], s=12, c=[colors.get(b, "0.5") for b in used["budget"]],
                   edgecolor="white", linewidths=0.3, zorder=3)
        out = g[g["outlier"] & g["completed"]]
        if len(out):
            flags["out"] = True
            ax.scatter(out[_PRED[a]], out["loss"], **{**theme.OUTLIER, "s": 26,
                                                          "color": [colors.get(b, "0.5") for b in out["budget"]]})
        bad = g[~g["completed"]]
        if len(bad):
            flags["bad"] = True
            ax.scatter(bad[_PRED[a]], bad["loss"], **theme.FAILED)
        res = np.log(used["loss"].to_numpy(float)) - np.log(used[_PRED[a]].to_numpy(float))
        rms = float(np.sqrt(np.mean(res ** 2))) if len(res) else np.nan
        ax.text(0.03, 0.97, f"fitted runs: {len(used)}\nRMS log residual: {rms:.2g}", transform=ax.transAxes,
                va="top", ha="left", fontsize=6.5)
        ax.set(xlim=lim, ylim=lim, ylabel="Observed final loss")
        # Lower panel: the same runs as relative residuals, where the fit quality is visible.
        rax.axhline(0, color="0.4", lw=0.8, ls="--", zorder=1)
        for sub, kw in ((used, None), (out, "out"), (bad, "bad")):
            if not len(sub):
                continue
            rel = 100 * (sub["loss"].to_numpy(float) / sub[_PRED[a]].to_numpy(float) - 1)
            if kw is None:
                rax.scatter(sub[_PRED[a]], rel, s=10, c=[colors.get(b, "0.5") for b in sub["budget"]],
                            edgecolor="white", linewidths=0.3, zorder=3)
            elif kw == "out":      # outliers beyond the fitted runs' range: pinned to the edge, value written
                ulim = _rlim(used, a)
                pinned = np.clip(rel, -0.9 * ulim, 0.9 * ulim)
                rax.scatter(sub[_PRED[a]], pinned, **{**theme.OUTLIER, "s": 22,
                                                     "color": [colors.get(b, "0.5") for b in sub["budget"]]})
                for x, r0, p0 in zip(sub[_PRED[a]], rel, pinned):
                    if r0 != p0:
                        rax.annotate(f"{r0:+.2g}%", (x, p0), xytext=(4, 0), textcoords="offset points",
                                     fontsize=6, va="center")
            else:
                rax.scatter(sub[_PRED[a]], rel, **theme.FAILED)
        rax.set(xlabel=f"Predicted loss ({_WHAT[a]})", ylabel="Obs./pred. − 1 (%)",
                ylim=(-_rlim(used, a), _rlim(used, a)))
        rax.grid(True)
        ax.set_title(theme.APPROACH[a]["label"])
        ax.grid(True)
    handles = [Line2D([], [], lw=0, marker="o", ms=4, color=colors[b], label=theme.budget_label(b))
               for b in sorted(colors)]
    handles.append(Line2D([], [], color="0.4", lw=0.8, ls="--", label="observed = predicted"))
    if flags["out"]:
        handles.append(Line2D([], [], lw=0, marker=theme.OUTLIER["marker"], color=theme.OUTLIER["color"],
                              mec="black", mew=0.4, ms=5, label="outlier (excluded)"))
    if flags["bad"]:
        handles.append(Line2D([], [], lw=0, marker="v", mfc="none", mec="0.35", ms=4.5,
                              label="diverged/failed (excluded)"))
    fig.legend(handles=handles, loc="outside right center", title="Compute budget")
    return theme.save(fig, out_dir, "residuals")
