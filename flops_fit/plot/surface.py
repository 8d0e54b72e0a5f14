"""Parametric surface: iso-loss contours of the saved Approach 3 fit L(N, D) = E + A/N^alpha + B/D^beta,
over (C, N) (as in the Chinchilla paper, with D = C / fpu(N), Approach 3's compute model) and over (N, D), with
the runs and the efficient frontier (the optimum of the saved parameters; nothing is refitted)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.lines import Line2D

from . import theme
from .data import Sweep, num, skip

CONTOUR_CMAP = "mako"       # sequential, colour-blind safe, distinct from the budget palette (viridis)


def _levels(L):
    finite = L[np.isfinite(L)]
    lo, hi = float(finite.min()), float(np.percentile(finite, 90))
    return np.geomspace(lo, hi, 14)


def _runs(ax, sw: Sweep, x, y):
    bad = sw.runs[~sw.runs["completed"]]          # diverged/failed runs have a place on the plane, no loss
    r = sw.runs[sw.runs["loss"].notna()]
    ok = r[r["used"] & r["completed"]]
    ax.scatter(x(ok), y(ok), s=10, facecolor="white", edgecolor="black", linewidths=0.5, zorder=5)
    out = r[r["outlier"] & r["completed"]]
    if len(out):
        ax.scatter(x(out), y(out), **{**theme.OUTLIER, "s": 20})
    if len(bad):
        ax.scatter(x(bad), y(bad), **{**theme.FAILED, "edgecolor": theme.DIVERGED_COLOR, "s": 30, "linewidths": 1.1})
    return len(out) > 0, len(bad) > 0


def _frontier(ax, x, y, inside, color="#E69F00"):
    ax.plot(x[inside], y[inside], color=color, lw=1.6, zorder=6)
    for side in (~inside & (x <= x[inside][0] if inside.any() else ~inside), ~inside & (x >= x[inside][-1] if inside.any() else ~inside)):
        ax.plot(x[side], y[side], color=color, lw=1.6, ls="--", zorder=6)


def plot_surface(sw: Sweep, out_dir, colors: dict) -> list:
    if not sw.a3_ok:
        skip("surface", f"no usable Approach 3 fit in fits.json (status: {sw.a3.get('status', 'missing')})")
        return []
    fit = sw.fit
    cm = fit.compute_model
    fpu = cm.fpu     # C = fpu(N) * D
    runs = sw.runs[sw.runs["loss"].notna()]
    swept = sorted(colors) or sw.swept()
    allC = swept + sw.targets
    c_lo, c_hi = min(allC) / 3, max(allC) * 3
    Cs = np.logspace(np.log10(c_lo), np.log10(c_hi), 260)
    Nf, Df, _ = fit.optimum(Cs)
    inside = (Cs >= min(swept)) & (Cs <= max(swept))
    n_lo = min(runs["N"].min(), Nf.min()) / 3
    n_hi = max(runs["N"].max(), Nf.max()) * 3
    d_lo = min(runs["D"].min(), Df.min()) / 3
    d_hi = max(runs["D"].max(), Df.max()) * 3
    unit = theme.unit_label(sw.unit)

    fig, axes = plt.subplots(1, 2, figsize=(theme.PAGE, 2.9))
    # (C, N): D = C / fpu(N)
    cg, ng = np.meshgrid(Cs, np.logspace(np.log10(n_lo), np.log10(n_hi), 260))
    L1 = fit.predict_loss(ng, cg / fpu(ng))
    # (N, D)
    ng2, dg2 = np.meshgrid(np.logspace(np.log10(n_lo), np.log10(n_hi), 260),
                           np.logspace(np.log10(d_lo), np.log10(d_hi), 260))
    L2 = fit.predict_loss(ng2, dg2)
    levels = _levels(np.concatenate([L1.ravel(), L2.ravel()]))
    norm = mcolors.LogNorm(levels[0], levels[-1])
    cmap = plt.get_cmap(CONTOUR_CMAP)
    for i, (ax, (X, Y, L)) in enumerate(zip(axes, ((cg, ng, L1), (ng2, dg2, L2)))):
        cf = ax.contourf(X, Y, np.clip(L, None, levels[-1]), levels=levels, cmap=cmap, norm=norm, extend="max",
                         zorder=1)
        cs = ax.contour(X, Y, L, levels=levels[::2], colors="0.95", linewidths=0.4, alpha=0.7, zorder=2)
        if i == 0:      # (C, N) contours crowd where D is tiny: the colour bar labels them instead
            continue
        mid = np.sqrt(levels[0] * levels[-1])     # light (high-loss) colours get dark labels
        ax.clabel(cs, fmt="%.2f", fontsize=5.5, inline_spacing=2,
                  colors=["black" if lv > mid else "white" for lv in cs.levels])
    has_out, has_bad = _runs(axes[0], sw, lambda r: r["budget"].fillna(6.0 * r["N"] * r["D"]),
                              lambda r: r["N"])   # a run in no budget group at its 6ND
    _runs(axes[1], sw, lambda r: r["N"], lambda r: r["D"])
    _frontier(axes[0], Cs, Nf, inside)
    _frontier(axes[1], Nf, Df, inside)
    for b in sorted(colors):              # iso-FLOP lines on the (N, D) plane: D = C / fpu(N)
        nn = np.geomspace(n_lo, n_hi, 60)
        axes[1].plot(nn, b / fpu(nn), color=colors.get(b, "0.7"), lw=0.9, ls="-", zorder=3)
    for t in sw.targets:
        nt, dt, _ = fit.optimum(np.array([t]))
        for ax, (px, py) in zip(axes, ((t, nt[0]), (nt[0], dt[0]))):
            ax.plot([px], [py], marker="D", ms=4, mfc="#E69F00", mec="black", mew=0.5, zorder=7)
    axes[0].set(xlim=(c_lo, c_hi), ylim=(n_lo, n_hi), xlabel="Compute $C$ (FLOPs)", ylabel="Parameters $N$")
    axes[1].set(xlim=(n_lo, n_hi), ylim=(d_lo, d_hi), xlabel="Parameters $N$", ylabel=f"Training {unit} $D$")
    axes[0].set_title(f"Iso-loss contours over $(C, N)$, $D = C/({cm.kappa:.3g}N)$" if cm.proportional
                      else "Iso-loss contours over $(C, N)$, $D = C/\\mathrm{fpu}(N)$ (measured)")
    axes[1].set_title("Iso-loss contours over $(N, D)$")
    for ax in axes:
        theme.log_axis(ax, "x", numticks=6)
        theme.log_axis(ax, "y", numticks=6)
    cb = fig.colorbar(cf, ax=axes, shrink=0.9, pad=0.01, aspect=30)
    cb.set_label("Predicted loss (Approach 3)")
    cb.ax.yaxis.set_major_locator(plt.FixedLocator(levels[::2]))
    cb.ax.yaxis.set_major_formatter(plt.FormatStrFormatter("%.2f"))
    cb.ax.yaxis.set_minor_locator(plt.NullLocator())
    handles = [Line2D([], [], lw=0, marker="o", ms=3.5, mfc="white", mec="black", label="runs (fitted)"),
               Line2D([], [], color="#E69F00", lw=1.6, label="efficient frontier"),
               Line2D([], [], color="#E69F00", lw=1.6, ls="--", label="frontier, extrapolated"),
               Line2D([], [], lw=0, marker="D", ms=4, mfc="#E69F00", mec="black", label="target budgets")]
    if colors:
        handles.append(Line2D([], [], color=colors[swept[-1]], lw=0.9, label="iso-FLOP lines (right)"))
    if has_out:
        handles.append(Line2D([], [], lw=0, marker=theme.OUTLIER["marker"], color=theme.OUTLIER["color"],
                              mec="black", mew=0.4, ms=4.5, label="outlier (excluded)"))
    if has_bad:
        handles.append(Line2D([], [], lw=0, marker="v", mfc="none", mec=theme.DIVERGED_COLOR, mew=1.1, ms=4.5,
                              label="diverged/failed"))
    fig.legend(handles=handles, loc="outside lower center", ncol=(len(handles) + 1) // 2 if len(handles) > 5 else 5,
               fontsize=6.5)
    return theme.save(fig, out_dir, "surface")
