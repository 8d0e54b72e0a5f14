"""The LR calibration's figure: loss against LR per cell, its parabola and optimum, and the fitted rule's LR.

Drawn from lr_calibration.json only (the parabolas' coefficients are saved there): nothing is refitted.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import ticker

from . import theme


def plot_calibration(cal: dict, out) -> Path:
    import matplotlib.pyplot as plt
    theme.apply()
    cells = cal["cells"]
    cols = min(3, len(cells)) or 1
    rows = max(1, math.ceil(len(cells) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(theme.PAGE, 2.0 * rows), squeeze=False)
    for ax, c in zip(axes.ravel(), cells):
        lrs = np.array(c["lrs"], float)
        ok = np.array([y is not None for y in c["losses"]])
        ys = np.array([y if y is not None else np.nan for y in c["losses"]], float)
        ax.plot(lrs[ok], ys[ok], "o", color="0.2", ms=3.5, label="runs")
        if (~ok).any():
            top = np.nanmax(ys) if ok.any() else 1.0
            ax.plot(lrs[~ok], np.full((~ok).sum(), top), "v", mfc="none", mec=theme.DIVERGED_COLOR, label="diverged/failed")
        coef = c.get("parabola") or [None] * 3
        if all(v is not None for v in coef) and coef[2] > 0 and ok.sum() >= 3:
            xs = np.sort(np.log(lrs[ok]))   # drawn over the three runs it passes through (the best and its neighbours)
            i = int(np.argmin(np.abs(xs - math.log(c["best_lr"]))))
            j = min(max(i - 1, 0), len(xs) - 3)
            x = np.linspace(xs[j], xs[j + 2], 60)
            ax.plot(np.exp(x), coef[0] + coef[1] * x + coef[2] * x ** 2, "-", color=theme.APPROACH["approach3"]["color"],
                    lw=1.0, label="parabola in log LR")
        if c.get("lr_opt"):
            ax.axvline(c["lr_opt"], color=theme.APPROACH["approach3"]["color"], ls=":", lw=1.0, label="cell optimum")
        if c.get("rule_lr"):
            ax.axvline(c["rule_lr"], color=theme.APPROACH["approach2"]["color"], ls="--", lw=1.0, label="fitted rule")
        ax.axvline(c["prior_lr"], color="0.6", ls="-", lw=0.6, label="prior rule (x1)")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        flag = "" if c["status"] == "ok" else f" [{c['status']}]"
        length = "full length" if c.get("full_length") else f"{c['steps']}/{c['steps_cell']} steps"
        ax.set_title(f"N {c['params']:.3g}, D {c['tokens']:.3g} ({length}){flag}", fontsize=7)
        ax.set_xlabel("peak LR")
        ax.set_ylabel("final loss")
    for ax in axes.ravel()[len(cells):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    r = cal.get("rule")
    if r:
        fig.suptitle(f"LR calibration: lr = {r['base']:.3g} (N/{r['ref_params']:.3g})^-{r['exponent_n']:.2f} "
                     f"(D/{r['ref_tokens']:.3g})^{r['exponent_d']:+.2f}", fontsize=8)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.04), fontsize=6)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
