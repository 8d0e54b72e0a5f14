"""Forecast the sweep (rule forecast): python scripts/forecast.py --out results/<sweep> [overrides...]

Calibrates on this machine (cached), writes forecast.json and forecast.md, prints the table."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse
import sys

from flops_fit.config import ConfigError, load_config
from flops_fit.forecast.build import plan_to_forecast, run_forecast
from flops_fit.forecast.calibrate import CalibrationError

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("overrides", nargs="*")
args = ap.parse_args()
try:
    cfg = load_config(args.overrides)
    run_forecast(cfg, plan_to_forecast(cfg), args.out)
except (ConfigError, CalibrationError, ValueError) as e:
    sys.exit(f"error: {e}")
