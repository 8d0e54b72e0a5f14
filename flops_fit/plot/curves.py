"""Training curves: loss vs data units for every run (from its curve.jsonl), coloured by compute
budget; held-out loss at eval points as dots; diverged/failed runs drawn distinctly. Mock sweeps write
no curves: the figure is then skipped with a warning."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import theme
from .data import Sweep, skip

SMOOTH_POINTS = 20      # EMA span = len(curve) / SMOOTH_POINTS (at least 3): tames batch noise, keeps the shape


def _smooth(y: np.ndarray) -> np.ndarray:
    span = max(3, len(y) // SMOOTH_POINTS) if len(y) >= 12 else 1
    if span <= 1:
        return y
    out, a, acc = np.empty_like(y), 2.0 / (span + 1), np.nan
    for i, v in enumerate(y):
        if np.isfinite(v):
            acc = v if not np.isfinite(acc) else a * v + (1 - a) * acc
        out[i] = acc
    return out


def plot_curves(sw: Sweep, out_dir, colors: dict) -> list:
    if not sw.curves:
        skip("training_curves", "no run has a curve.jsonl (mock sweeps write none)")
        return []
    runs = sw.runs.set_index("id")
    fig, ax = plt.subplots(figsize=(theme.PAGE * 0.62, 2.8))
    tails, heads = [], []
    has_val = has_bad = False
    for rid, c in sw.curves.items():
        if rid not in runs.index:
            continue
        r = runs.loc[rid]
        x = c["units"].to_numpy(float)
        y = _smooth(c["train_loss"].to_numpy(float))
        keep = (x > 0) & np.isfinite(y)
        if not keep.any():
            continue
        failed = str(r["status"]).lower() != "completed"
        color = theme.DIVERGED_COLOR if failed else colors.get(float(r["budget"]), "0.5")
        ax.plot(x[keep], y[keep], color=color, lw=0.8 if not failed else 1.0, ls="--" if failed else "-",
                alpha=0.9, zorder=3 if not failed else 4)
        if failed:
            has_bad = True
            ax.plot(x[keep][-1], min(y[keep][-1], 1e6), marker="X", ms=5, color=color, mec="black", mew=0.4,
                    zorder=6)
        if "val_loss" in c.columns and c["val_loss"].notna().any():
            v = c[c["val_loss"].notna() & (c["units"] > 0)]
            ax.scatter(v["units"], v["val_loss"], s=5, color=color, edgecolor="black", linewidths=0.2, zorder=5)
            has_val = True
        n = int(keep.sum())
        tails.append(y[keep][n // 10:])
        heads.append(y[keep][: max(1, n // 20)])
    tail = np.concatenate(tails) if tails else np.array([1.0])
    tail = tail[np.isfinite(tail) & (tail < 1e6)]
    lo, hi = float(tail.min()), float(np.percentile(tail, 99.5))
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.15 * (hi - lo))
    xs = [c["units"].to_numpy(float) for c in sw.curves.values()]
    ys = [_smooth(c["train_loss"].to_numpy(float)) for c in sw.curves.values()]
    in_view = np.concatenate([x[(y <= ax.get_ylim()[1]) & (x > 0)] for x, y in zip(xs, ys)] or [np.array([1.0])])
    xmax = max(float(np.nanmax(x)) for x in xs)
    if in_view.size:
        ax.set_xlim(in_view.min() / 1.3, xmax * 1.3)     # start where the curves enter the view
    theme.log_axis(ax, "x", numticks=8)
    ax.set_xlabel(f"Training {theme.unit_label(sw.unit)} seen")
    ax.set_ylabel("Loss (train, smoothed)")
    ax.grid(True, which="major")
    used = sorted({float(runs.loc[r, "budget"]) for r in sw.curves if r in runs.index})
    handles = [Line2D([], [], color=colors.get(b, "0.5"), lw=1.2, label=theme.budget_label(b)) for b in used]
    if has_val:
        handles.append(Line2D([], [], lw=0, marker="o", ms=3, color="0.5", mec="black", mew=0.2,
                              label="held-out loss"))
    if has_bad:
        handles.append(Line2D([], [], color=theme.DIVERGED_COLOR, ls="--", marker="X", ms=5, mec="black", mew=0.4,
                              label="diverged/failed\n(X: last logged step)"))
    fig.legend(handles=handles, loc="outside right center", title="Compute budget")
    return theme.save(fig, out_dir, "training_curves")
