"""One look for every figure: seaborn "paper" theme, budget palette, log axes, PNG + PDF output.

Sizes are in inches for a two-column paper: COLUMN (one column) and PAGE (full width). Fonts are
8 pt so the figures stay readable when placed at those widths without scaling.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # headless: no display needed (Snakemake jobs, CI)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import ticker  # noqa: E402

COLUMN = 3.4      # inches, one column of a two-column paper
PAGE = 7.0        # inches, full text width
DPI = 300

# Colour-blind-safe: viridis is perceptually uniform and readable in deuteranopia/protanopia and grey
# scale; its last (yellow) 15 % is cut because it vanishes on white.
BUDGET_CMAP = "viridis"
_CMAP_RANGE = (0.0, 0.85)
# Approaches, outliers: Okabe-Ito colours (colour-blind safe), also told apart by line style / marker.
# Approach 2 is drawn wide underneath, Approach 3 narrow on top: both stay visible where they agree.
APPROACH = {"approach2": {"color": "#D55E00", "lw": 2.4, "alpha": 0.75, "marker": "o", "label": "Approach 2 (IsoFLOP)",
                          "short": "A2"},
            "approach3": {"color": "#0072B2", "lw": 1.1, "alpha": 1.0, "marker": "s",
                          "label": "Approach 3 (parametric)", "short": "A3"}}
# Outliers: an X in the budget's colour (the caller sets the colour), black edge; legend uses grey.
OUTLIER = {"marker": "X", "color": "0.55", "s": 34, "edgecolor": "black", "linewidths": 0.5, "zorder": 6}
FAILED = {"marker": "v", "facecolor": "none", "edgecolor": "0.35", "s": 22, "linewidths": 0.8, "zorder": 5}
DIVERGED_COLOR = "#CC79A7"

RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 6.5, "legend.title_fontsize": 7, "legend.frameon": False,
    "lines.linewidth": 1.2, "lines.markersize": 4, "axes.linewidth": 0.6,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
    "grid.linewidth": 0.4, "grid.alpha": 0.5,
    "savefig.dpi": DPI, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42, "ps.fonttype": 42,     # embed TrueType: text stays editable/searchable in the PDF
    "figure.constrained_layout.use": True,
}


def apply() -> None:
    """Set the flops-fit theme (idempotent)."""
    sns.set_theme(context="paper", style="ticks", rc=RC)
    plt.rcParams.update(RC)


def budget_colors(budgets) -> dict:
    """Budget -> colour, sequential in log10 budget (small budgets dark, large light)."""
    b = sorted({float(x) for x in budgets if np.isfinite(x)})
    cmap = plt.get_cmap(BUDGET_CMAP)
    if not b:              # a table with no IsoFLOP budgets: nothing to colour by budget
        return {}
    if len(b) == 1:
        return {b[0]: cmap(_CMAP_RANGE[0])}
    lb = np.log10(b)
    t = (lb - lb.min()) / (lb.max() - lb.min())
    return {x: cmap(_CMAP_RANGE[0] + (_CMAP_RANGE[1] - _CMAP_RANGE[0]) * ti) for x, ti in zip(b, t)}


def fmt_sci(x: float, digits: int = 2) -> str:
    """1e+17 -> '10^{17}', 3e17 -> '3×10^{17}' (mathtext)."""
    if not np.isfinite(x) or x == 0:
        return str(x)
    e = int(np.floor(np.log10(abs(x))))
    m = x / 10 ** e
    if abs(m - round(m)) < 1e-9 and round(m) == 1:
        return rf"$10^{{{e}}}$"
    ms = f"{m:.{digits}g}"
    return rf"${ms}\times10^{{{e}}}$"


def budget_label(b: float) -> str:
    return f"{fmt_sci(b)} FLOPs"


def log_axis(ax, which: str = "x", numticks: int = 12) -> None:
    """Log scale with 10^k major ticks; label a few minor ticks when the axis spans under two decades."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(ticker.LogLocator(base=10, numticks=numticks))
    axis.set_major_formatter(ticker.LogFormatterSciNotation(base=10))
    axis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(2, 10), numticks=12))
    lo, hi = (ax.get_xlim() if which == "x" else ax.get_ylim())
    if lo > 0 and np.log10(hi / lo) < 2:
        axis.set_minor_formatter(ticker.FuncFormatter(_minor_label))
    else:
        axis.set_minor_formatter(ticker.NullFormatter())


def _minor_label(x, pos=None) -> str:
    """Label only the 2x and 5x minor ticks (axes spanning under two decades)."""
    if x <= 0:
        return ""
    e = int(np.floor(np.log10(x) + 1e-9))
    m = round(x / 10 ** e, 6)
    return rf"${m:g}\times10^{{{e}}}$" if m in (2, 5) else ""


def unit_label(unit: str) -> str:
    u = (unit or "tokens").strip()
    return u if u.endswith("s") else u + "s"


def save(fig, out_dir: Path, name: str) -> list[Path]:
    """Write out_dir/name.png (300 dpi) and out_dir/name.pdf; close the figure."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=DPI)
    plt.close(fig)
    return paths
