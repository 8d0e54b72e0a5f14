"""Predicted against actual: the held-out runs (holdout.csv) with their prediction intervals, the verification
run (verify.json) and the rollout's errors against how far each prediction reached (rollout.csv). Drawn only when
those files exist (analysis.holdout, analysis.rollout=true, the verify rule); nothing is refitted."""
from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import theme
from .data import Sweep

AXIS_COLORS = {"N": "#0072B2", "C": "#D55E00", "D": "#009E73"}


def _read(sw: Sweep):
    d = sw.dir
    h = pd.read_csv(d / "holdout.csv") if (d / "holdout.csv").is_file() else None
    r = pd.read_csv(d / "rollout.csv") if (d / "rollout.csv").is_file() else None
    v = json.loads((d / "verify.json").read_text()) if (d / "verify.json").is_file() else None
    return h, r, v


def _points(ax, frame, colors, label):
    for b, g in frame.groupby(frame["budget"].fillna(-1)):
        c = colors.get(b, "0.3")
        ax.errorbar(g["loss"], g["predicted"], yerr=[g["predicted"] - g["lo"], g["hi"] - g["predicted"]], fmt="o",
                    ms=3.5, color=c, ecolor=c, elinewidth=0.8, capsize=1.5, zorder=3,
                    label=f"{label} C={theme.fmt_sci(b)}" if b > 0 else label)


def plot_holdout(sw: Sweep, out_dir, colors: dict) -> list:
    h, r, v = _read(sw)
    if h is None and r is None and v is None:
        return []   # optional outputs: nothing asked for, nothing to draw
    panels = (["holdout"] if h is not None or v is not None else []) + (["rollout"] if r is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(theme.PAGE * 0.42 * len(panels), 3.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "holdout":
            frames = []
            if h is not None and len(h):
                _points(ax, h, colors, "held out")
                frames.append(h)
                cov = 100 * h["inside"].mean()
                ax.set_title(f"held out: {len(h)} runs, median |error| {100 * h['rel_error'].abs().median():.2f} %, "
                             f"{cov:.0f} % inside", fontsize=7)
            if v is not None and np.isfinite(v.get("actual") or np.nan):
                ax.errorbar([v["actual"]], [v["predicted"]], yerr=[[v["predicted"] - v["lo"]], [v["hi"] - v["predicted"]]],
                            fmt="*", ms=9, color="black", ecolor="black", capsize=2, zorder=4,
                            label=f"verify C={theme.fmt_sci(v['C'])}")
                frames.append(pd.DataFrame([{k: v[k] for k in ("loss", "predicted", "lo", "hi")}]))
            allv = pd.concat(frames)[["loss", "lo", "hi"]].to_numpy(float).ravel()
            lo, hi = np.nanmin(allv), np.nanmax(allv)
            pad = 0.05 * (hi - lo or hi)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", lw=0.8, color="0.4", zorder=1)
            ax.set(xlabel="actual loss", ylabel="predicted loss (95 % interval)")
            ax.legend(fontsize=6, loc="upper left")
        else:
            for axis, g in r.groupby("axis"):
                ax.scatter(g["distance"], 100 * g["rel_error"], s=9, color=AXIS_COLORS.get(axis, "0.3"),
                           label=f"cut over {axis}", zorder=3)
            ax.axhline(0, color="0.4", lw=0.8, ls="--")
            ax.set(xlabel="ln(x / cut): how far past the fitted runs", ylabel="predicted / actual - 1 (%)")
            ax.set_title(f"rollout ({r.groupby(['axis', 'cut']).ngroups} cuts)", fontsize=7)
            ax.legend(fontsize=6)
    fig.tight_layout()
    return theme.save(fig, out_dir, "predicted_vs_actual")
