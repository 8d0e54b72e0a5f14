"""Forecast against actual: each run's forecast seconds against its measured seconds, log-log, with the
identity line and a ±10 % band, coloured by compute budget; the per-run median absolute error and the
sweep's wall-time error in the corner. Drawn from forecast_vs_actual.{csv,json} only.

    python -m flops_fit.plot.forecast --dir results/<sweep> [--out results/<sweep>]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402
import pandas as pd  # noqa: E402

from . import theme  # noqa: E402

NAME = "forecast_vs_actual"


def plot_forecast(table: pd.DataFrame, summary: dict, out_dir, name: str = NAME) -> list[Path]:
    theme.apply()
    fig, ax = plt.subplots(figsize=(theme.COLUMN * 1.25, theme.COLUMN * 1.15))
    t = table[np.isfinite(table["forecast_s"]) & np.isfinite(table["actual_s"])] if len(table) else table
    if len(t) == 0:
        ax.text(0.5, 0.5, "no forecast to compare\n" + (summary.get("note") or "").replace(": ", ":\n", 1),
                ha="center", va="center", fontsize=6.5, wrap=True, transform=ax.transAxes)
        ax.set_axis_off()
        return theme.save(fig, out_dir, name)
    colors = theme.budget_colors(t["budget_flops"].astype(float).unique())
    x, y = t["forecast_s"].to_numpy(float), t["actual_s"].to_numpy(float)
    lo, hi = min(x.min(), y.min()) / 1.4, max(x.max(), y.max()) * 1.4
    grid = np.geomspace(lo, hi, 50)
    ax.fill_between(grid, grid / 1.1, grid * 1.1, color="0.9", lw=0, zorder=0, label="±10 %")
    ax.plot(grid, grid, color="0.35", lw=0.8, ls="--", zorder=1, label="forecast = actual")
    xerr = None
    if np.isfinite(t["forecast_lo_s"]).any():
        xerr = np.vstack([np.clip(x - t["forecast_lo_s"].fillna(pd.Series(x, index=t.index)), 0, None),
                          np.clip(t["forecast_hi_s"].fillna(pd.Series(x, index=t.index)) - x, 0, None)])
        ax.errorbar(x, y, xerr=xerr, fmt="none", ecolor="0.75", elinewidth=0.5, capsize=0, zorder=2)
    for b in sorted(colors):
        g = t[t["budget_flops"].astype(float) == b]
        ax.scatter(g["forecast_s"], g["actual_s"], s=16, color=colors[b], edgecolor="white", linewidths=0.3,
                   zorder=3, label=theme.budget_label(b))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="Forecast (s per run)", ylabel="Actual (s per run)")
    ax.set_aspect("equal")
    for axis in (ax.xaxis, ax.yaxis):   # seconds read best as plain numbers: 2, 3, 5, 10, 20, ...
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0) if hi / lo > 30 else
                                                 (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(ticker.NullFormatter())
    mae, mk = summary.get("median_abs_error"), summary.get("makespan") or {}
    text = [f"{len(t)} runs; median |error| {100 * mae:.1f} %" if mae is not None else f"{len(t)} runs"]
    if mk.get("error") is not None:
        text.append(f"sweep wall time {mk['actual_s'] / 60:.1f} min (forecast {mk['forecast_s'] / 60:.1f} min, "
                    f"{100 * mk['error']:+.0f} %)")
    ax.text(0.03, 0.97, "\n".join(text), transform=ax.transAxes, va="top", ha="left", fontsize=6.5)
    ax.legend(loc="lower right", fontsize=5.5, frameon=False)
    return theme.save(fig, out_dir, name)


def plot_sweep(sweep_dir, out_dir=None) -> list[Path]:
    sweep_dir = Path(sweep_dir)
    table = pd.read_csv(sweep_dir / f"{NAME}.csv")
    summary = json.loads((sweep_dir / f"{NAME}.json").read_text())
    return plot_forecast(table, summary, out_dir or sweep_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="sweep folder with forecast_vs_actual.csv and .json")
    ap.add_argument("--out", help="folder for forecast_vs_actual.png/.pdf (default: the sweep folder)")
    a = ap.parse_args(argv)
    for f in plot_sweep(a.dir, a.out):
        print(f"wrote {f}")


if __name__ == "__main__":
    main()
