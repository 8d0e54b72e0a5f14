"""Scaling laws: N*, D*, L* vs compute C for both approaches, from the saved fits only.

Lines evaluate the saved laws through FitResult (Approach 2: k*C^exponent and E + k*C^-g; Approach 3: the
optimum of the saved L(N, D) under its compute model). Bands are the saved bootstrap intervals of the Chinchilla table rows
(swept and target budgets), interpolated in log-log between those budgets. Solid over the swept
budgets, dashed where extrapolated to the target budgets.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import theme
from .data import Sweep, est, skip


def _ci(e: tuple, spec: str = ".3f") -> str:
    v, lo, hi = e
    if not np.isfinite(v):
        return "n/a"
    s = format(v, spec)
    return f"{s} [{lo:{spec}}, {hi:{spec}}]" if np.isfinite(lo) and np.isfinite(hi) else s


def _legend_text(sw: Sweep, approach: str, q: str) -> str:
    lab = theme.APPROACH[approach]["short"]
    fit = sw.fit
    if approach == "approach2":
        if sw.a2.get("status") == "two_points":   # a line through 2 points: exact, no interval
            lab = f"{lab} (2 budgets, no CI)"
        if q in ("n_star", "d_star"):
            sym = "a" if q == "n_star" else "b"
            return f"{lab}: ${sym}$ = {_ci(fit.law_estimate(q, 'exponent'))}"
        E = _ci(fit.law_estimate("l_star", "E"))
        if fit.law("l_star").get("status") == "hit_bound":  # an interval of a parameter pinned at its bound says nothing
            E = f"{fit.law_estimate('l_star', 'E')[0]:.3f} (at its bound)"
        return f"{lab}: $E$ = {E}\n      $\\gamma$ = {_ci(fit.law_estimate('l_star', 'g'))}"
    if q == "n_star":
        return f"{lab}: $a$ = {_ci(fit.estimate('approach3', 'a'))}"
    if q == "d_star":
        return f"{lab}: $b$ = {_ci(fit.estimate('approach3', 'b'))}"
    return f"{lab}: $E$ = {_ci(fit.estimate('approach3', 'E'))}"


def _band(ax, tab, q: str, Cs, color):
    t = tab[np.isfinite(tab[f"{q}_lo"]) & np.isfinite(tab[f"{q}_hi"]) & (tab[f"{q}_lo"] > 0)]
    if len(t) < 2:
        return
    x = np.log10(t["budget"].to_numpy())
    m = (Cs >= t["budget"].min()) & (Cs <= t["budget"].max())
    lc = np.log10(Cs[m])
    lo = 10 ** np.interp(lc, x, np.log10(t[f"{q}_lo"].to_numpy()))
    hi = 10 ** np.interp(lc, x, np.log10(t[f"{q}_hi"].to_numpy()))
    ax.fill_between(Cs[m], lo, hi, color=color, alpha=0.18, lw=0, zorder=1)


def plot_scaling(sw: Sweep, out_dir, colors: dict) -> list:
    have = [a for a, ok in (("approach2", sw.a2_ok), ("approach3", sw.a3_ok)) if ok]
    if not have:
        skip("scaling_laws", "neither Approach 2 nor Approach 3 has a usable fit in fits.json")
        return []
    for a in ("approach2", "approach3"):
        if a not in have:
            skip(f"scaling_laws ({a})", f"no usable {a} fit in fits.json; drawing the other approach only")
    swept = sorted(colors) or sw.swept()
    cmin, cmax = min(swept), max(swept)
    allC = swept + sw.targets
    c_lo, c_hi = min(allC) / 2.5, max(allC) * 2.5
    Cs = np.logspace(np.log10(c_lo), np.log10(c_hi), 300)
    inside = (Cs >= cmin) & (Cs <= cmax)
    unit = theme.unit_label(sw.unit)
    fig, axes = plt.subplots(1, 3, figsize=(theme.PAGE, 2.9))
    quantities = (("n_star", "Optimal parameters $N^*$"), ("d_star", f"Optimal training {unit} $D^*$"),
                  ("loss", "Optimal loss $L^*$"))
    budgets = sw.fit.budget_fits
    for j, (ax, (q, ylabel)) in enumerate(zip(axes, quantities)):
        handles = []
        for a in have:
            st = theme.APPROACH[a]
            N, D, L = sw.fit.optimum(Cs, approach=a)
            y = {"n_star": N, "d_star": D, "loss": L}[q]
            _band(ax, sw.table(a), q, Cs, st["color"])
            z = 3 if a == "approach2" else 4
            ax.plot(Cs[inside], y[inside], color=st["color"], lw=st["lw"], alpha=st["alpha"], zorder=z)
            for side in (Cs <= cmin, Cs >= cmax):
                ax.plot(Cs[side], y[side], color=st["color"], lw=st["lw"], alpha=st["alpha"], ls="--", zorder=z,
                        dashes=(3, 1.5) if a == "approach2" else (4, 2))
            tab = sw.table(a)
            ext = tab[tab["kind"] == "extrapolated"]
            if len(ext):
                v, lo, hi = ext[q].to_numpy(), ext[f"{q}_lo"].to_numpy(), ext[f"{q}_hi"].to_numpy()
                err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
                err = np.where(np.isfinite(err), err, 0)
                ax.errorbar(ext["budget"], v, yerr=err, fmt=st["marker"], ms=4, mfc="white", mec=st["color"],
                            ecolor=st["color"], elinewidth=0.9, capsize=2, zorder=5)
            handles.append(Line2D([], [], color=st["color"], lw=st["lw"], alpha=st["alpha"],
                                  label=_legend_text(sw, a, q)))
        if "approach2" in have:   # the per-budget optima Approach 2 fitted its laws to
            key = {"n_star": "n_star", "d_star": "d_star", "loss": "l_star"}[q]
            for bud, b in sorted(budgets.items()):
                if not b.get("fitted", b.get("status") == "ok"):
                    continue
                v, lo, hi = est(b.get(key))
                if not np.isfinite(v):
                    continue
                yerr = [[max(v - lo, 0)], [max(hi - v, 0)]] if np.isfinite(lo) and np.isfinite(hi) else None
                ax.errorbar([bud], [v], yerr=yerr, fmt="o", ms=4.5, color=colors.get(bud, "0.4"),
                            mec="black", mew=0.4, ecolor="0.2", elinewidth=0.8, capsize=1.5, zorder=6)
        for t in sw.targets:
            ax.axvline(t, color="0.6", lw=0.6, ls=":", zorder=0)
        ax.set_xlim(c_lo, c_hi)
        theme.log_axis(ax, "x", numticks=6)
        if q != "loss":
            theme.log_axis(ax, "y", numticks=6)
        ax.set_xlabel("Compute $C$ (FLOPs)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major")
        # N*, D* rise and L* falls with C: the upper-left (upper-right) corner is free of data.
        ax.legend(handles=handles, loc="upper right" if q == "loss" else "upper left", fontsize=6,
                  handlelength=1.6, borderaxespad=0.3)
    common = [Line2D([], [], color=theme.APPROACH["approach2"]["color"], lw=2.4, alpha=0.75,
                     label=theme.APPROACH["approach2"]["label"]),
              Line2D([], [], color=theme.APPROACH["approach3"]["color"], lw=1.1,
                     label=theme.APPROACH["approach3"]["label"]),
              Line2D([], [], color="0.3", lw=1.3, label="fit, swept budgets"),
              Line2D([], [], color="0.3", lw=1.3, ls="--", label="extrapolation"),
              plt.Rectangle((0, 0), 1, 1, color="0.3", alpha=0.18, lw=0, label=f"{sw.level}% bootstrap band"),
              Line2D([], [], lw=0, marker="o", ms=4.5, color="0.6", mec="black", mew=0.4,
                     label="IsoFLOP optimum (Approach 2)"),
              Line2D([], [], lw=0, marker="o", ms=4, mfc="white", mec="0.3", label="target budget prediction")]
    fig.legend(handles=common, loc="outside upper center", ncol=4, fontsize=6.5)
    return theme.save(fig, out_dir, "scaling_laws")
