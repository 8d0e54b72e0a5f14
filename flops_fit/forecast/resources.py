"""The one function that turns a forecast into job resources: Slurm/Snakemake `runtime` and `priority`.

`runtime` (minutes) = ceil(SAFETY x the forecast's upper seconds / 60) + MARGIN_MIN, so a time limit fits
the job with room for a noisy node; without a forecast (or for an experiment it does not cover) it is
DEFAULT_RUNTIME_MIN. `priority` orders jobs longest first (higher runs first in Snakemake), which shortens
the makespan: forecast seconds when known, else the planned FLOPs (the best proxy for time before a
calibration). Both are bookkeeping: Snakemake does not rerun a job whose resources or priority changed.
"""
import json
import math
from pathlib import Path

DEFAULT_RUNTIME_MIN = 120
SAFETY = 1.5
MARGIN_MIN = 5


def load_forecast(path) -> dict | None:
    """forecast.json as a dict keyed by experiment id, or None when there is none (or it does not parse)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return {e["id"]: e for e in data["experiments"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def job_resources(forecast: dict | None, spec: dict, *, safety=SAFETY, default_runtime=DEFAULT_RUNTIME_MIN) -> dict:
    """{'runtime': minutes, 'priority': int} for the experiment `spec` (a plan entry) under `forecast`
    (load_forecast's dict, or None)."""
    e = (forecast or {}).get(spec["id"])
    seconds = None
    if e is not None:
        seconds = e.get("seconds_hi") or e.get("seconds")
    if seconds is not None and math.isfinite(seconds) and seconds > 0:
        runtime = int(math.ceil(safety * seconds / 60.0)) + MARGIN_MIN
        priority = max(1, int(round(float(e.get("seconds") or seconds))))  # 0 would read as "no priority"
    else:
        runtime = int(default_runtime)
        priority = int(round(math.log10(max(float(spec.get("flops_planned") or spec["budget_flops"]), 1.0)) * 100))
    return {"runtime": runtime, "priority": max(priority, 0)}


def rule_threads(rule) -> int:
    """A Snakemake rule's threads after --set-threads (1 when they are a function of the job)."""
    try:
        v = rule.resources["_cores"]
    except (KeyError, TypeError, AttributeError):
        return 1
    v = getattr(v, "value", v)
    return int(v) if isinstance(v, (int, float)) else 1
