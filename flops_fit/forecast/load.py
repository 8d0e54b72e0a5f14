"""The forecast under a load that changed: CPU-seconds beside wall-seconds, and the load on both sides.

A run's wall time grows with the machine's load (other processes take its cores); its CPU time (user + sys)
hardly does. Calibration records each job process's CPU time over its wall time (``cpu_per_wall``) and the
1-minute load average; each training process records its CPU time and the load at its start and end in
runs/<id>/timing.jsonl (``actual.segment_timer``). forecast_vs_actual then compares:

- the forecast CPU-seconds of a run = its forecast wall-seconds x the calibration's cpu_per_wall, against
  the run's measured CPU-seconds: an error that does not depend on the load;
- the load at calibration against the load through the sweep, and says so when it changed.
"""
import math
import statistics

# The load "changed" when the sweep's mean 1-minute load differs from calibration's by more than this many
# runnable processes: one process more or less is what a 2-core machine's wall times already feel.
LOAD_CHANGE = 1.0
# ... or when the CPU share the runs got (CPU-seconds per wall-second) moved by more than this factor.
SHARE_CHANGE = 1.25


def calibration_cpu_per_wall(forecast: dict | None) -> float:
    pts = ((forecast or {}).get("calibration") or {}).get("points") or []
    vals = [p["cpu_per_wall"] for p in pts if isinstance(p.get("cpu_per_wall"), (int, float))]
    return float(statistics.median(vals)) if vals else math.nan


def calibration_load(forecast: dict | None) -> float:
    """The 1-minute load during calibration: its points' ``load`` (measured at its end), else the machine's at start."""
    cal = (forecast or {}).get("calibration") or {}
    vals = [p["load"] for p in cal.get("points") or [] if isinstance(p.get("load"), (int, float))]
    if vals:
        return float(statistics.median(vals))
    la = (cal.get("machine") or {}).get("loadavg")
    return float(la[0]) if la else math.nan


def run_cpu(segments: list) -> tuple:
    """(CPU-seconds summed over a run's timing segments or NaN, the loads they recorded)."""
    cpu = [s.get("cpu_s") for s in segments]
    total = float(sum(cpu)) if cpu and all(isinstance(c, (int, float)) for c in cpu) else math.nan
    loads = [x for s in segments for x in (s.get("load") or []) if isinstance(x, (int, float))]
    return total, loads


def load_summary(cal_load: float, sweep_loads: list, cpu_error, *, cal_share=math.nan,
                 sweep_share=math.nan) -> dict:
    """{"calibration", "sweep", "cpu_share", "changed", "note"}: what the forecast_vs_actual summary says about
    load. ``*_share``: CPU-seconds per wall-second of calibration's job processes and of the sweep's runs (what
    the load left them: a change the 1-minute load average, sampled at a few instants, can miss)."""
    sweep = float(statistics.mean(sweep_loads)) if sweep_loads else math.nan
    by_load = bool(math.isfinite(cal_load) and math.isfinite(sweep) and abs(sweep - cal_load) > LOAD_CHANGE)
    ratio = sweep_share / cal_share if cal_share > 0 and math.isfinite(sweep_share) else math.nan
    by_share = bool(math.isfinite(ratio) and not 1 / SHARE_CHANGE <= ratio <= SHARE_CHANGE)
    changed = by_load or by_share
    note = None
    if changed:
        note = (f"the load changed between calibration and sweep: load {cal_load:.1f} at calibration, {sweep:.1f} "
                f"through the sweep" + (f"; a job process got {cal_share:.2f} CPU-seconds per second at calibration, "
                                        f"{sweep_share:.2f} in the sweep (wall times scale with the inverse)"
                                        if math.isfinite(ratio) else ""))
        if cpu_error is not None and math.isfinite(cpu_error):
            note += f"; the CPU-seconds error ({100 * cpu_error:.0f} %) does not depend on load"
        note += " (to forecast at the load of the sweep, set forecast.recalibrate=true and run the forecast again)"
    return {"calibration": cal_load, "sweep": sweep, "cpu_share": {"calibration": cal_share, "sweep": sweep_share},
            "changed": changed, "note": note}
