"""Forecast against actual (rule forecast_vs_actual): python scripts/forecast_vs_actual.py --dir results/<sweep>
[--last-output PATH ...]: writes forecast_vs_actual.{csv,json} and the figure forecast_vs_actual.{png,pdf}."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.forecast.actual import write_forecast_vs_actual
from flops_fit.plot.forecast import plot_forecast

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True, help="sweep folder")
ap.add_argument("--forecast", help="forecast.json (default: <dir>/forecast.json)")
ap.add_argument("--last-output", action="append", default=[], help="the sweep's last outputs (files or folders)")
args = ap.parse_args()
table, summary = write_forecast_vs_actual(args.dir, args.forecast, last_outputs=args.last_output)
print(summary["markdown"])
for f in plot_forecast(table, summary, args.dir):
    print(f"wrote {f}")
