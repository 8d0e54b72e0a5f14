"""Forecast against actual, every sweep: results/<sweep>/forecast_vs_actual.csv (id, forecast_s, actual_s, ...)
and forecast_vs_actual.json (median absolute error, makespan error).

What "actual" means (docs/forecast.md, "Forecast against actual"):
- a run's actual time is the wall time of every process that worked on it, from the process start (the
  kernel's start time of the train_run process, so interpreter start-up and imports count) to its exit,
  summed over segments when it was interrupted and resumed. train_run appends one line per segment to
  runs/<id>/timing.jsonl (`segment_timer`); a fresh start (no checkpoint) resets it. Runs without it fall
  back to metrics.json's startup_s + wall_s (training loop time, accumulated across segments through the
  checkpoint), which misses imports and the final evaluation: labelled actual_source=metrics.
- the sweep's wall time runs from the start of the Snakemake process that trained it (recorded by the
  workflow's onstart handler in workflow_starts.jsonl: its process start, so parsing, planning and the
  DAG build count) to the last output before this comparison (the plots), data preparation, fit and plots
  included.
"""
import contextlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from flops_fit.io import atomic_write_json, atomic_write_text, json_clean
from flops_fit.slots import taken_at as slot_taken_at

from .load import calibration_cpu_per_wall, calibration_load, load_summary, run_cpu

TIMING = "timing.jsonl"
STARTS = "workflow_starts.jsonl"
COLUMNS = ["id", "forecast_s", "actual_s", "forecast_lo_s", "forecast_hi_s", "rel_error", "actual_source",
           "segments", "budget_flops", "params", "forecast_cpu_s", "actual_cpu_s", "cpu_rel_error"]


# ---- recording (train_run processes and the workflow's main process)
def process_start_time(pid="self") -> float:
    """Unix time at which this process started; the current time where that is unavailable."""
    try:
        return psutil.Process(None if pid == "self" else int(pid)).create_time()
    except (psutil.Error, ValueError):
        return time.time()


def _has_checkpoint(run_dir: Path) -> bool:
    ck = run_dir / "ckpt"
    return ck.is_dir() and any(ck.iterdir())


@contextlib.contextmanager
def segment_timer(run_dir):
    """Time one training process's work on a run into run_dir/timing.jsonl (also when it is interrupted).
    A run already complete records nothing; a fresh start (no checkpoint to resume) starts a new file."""
    from flops_fit.runner import is_complete, is_launch_main
    run_dir = Path(run_dir)
    if is_complete(run_dir) or not is_launch_main():  # one record per run, by the main process
        yield
        return
    start = max(process_start_time(), slot_taken_at())  # a wait for a device slot is not training time
    load_start = _load()
    resumed = _has_checkpoint(run_dir)
    outcome = "exception"
    try:
        yield
        outcome = "ok"
    except SystemExit as e:
        outcome = f"exit {e.code}"
        raise
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    finally:
        with contextlib.suppress(OSError):
            run_dir.mkdir(parents=True, exist_ok=True)
            with open(run_dir / TIMING, "a" if resumed else "w") as f:
                f.write(json.dumps({"start": round(start, 3), "end": round(time.time(), 3), "outcome": outcome,
                                    "resumed": resumed, "cpu_s": _cpu_seconds(),
                                    "load": [load_start, _load()]}) + "\n")


def _cpu_seconds():
    """This process's CPU time so far (user + sys, with its finished children's), psutil; None where unknown."""
    try:
        import psutil
        t = psutil.Process().cpu_times()
        return round(t.user + t.system + t.children_user + t.children_system, 3)
    except (ImportError, OSError):
        return None


def _load():
    """The 1-minute load average now (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def mark_workflow_start(sweep_dir, *, parsed_at=None) -> None:
    """Append this Snakemake process's start (and when it parsed the Snakefile) to workflow_starts.jsonl.
    Called from the workflow's onstart handler: the main process of a real (not dry) run only."""
    p = Path(sweep_dir)
    p.mkdir(parents=True, exist_ok=True)
    with open(p / STARTS, "a") as f:
        f.write(json.dumps({"process_start": round(process_start_time(), 3), "parsed": parsed_at,
                            "onstart": round(time.time(), 3), "pid": os.getpid()}) + "\n")


# ---- reading
def _jsonl(path: Path) -> list:
    out = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def run_actual(run_dir) -> dict:
    """{actual_s, source, segments, first_start, last_end} of one finished run (NaN when unknown)."""
    run_dir = Path(run_dir)
    segs = [s for s in _jsonl(run_dir / TIMING) if "start" in s and "end" in s]
    if segs:
        return {"actual_s": float(sum(s["end"] - s["start"] for s in segs)), "source": "timing",
                "segments": len(segs), "first_start": min(s["start"] for s in segs),
                "last_end": max(s["end"] for s in segs)}
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return {"actual_s": math.nan, "source": "missing", "segments": 0, "first_start": math.nan,
                "last_end": math.nan}
    wall = float(m.get("wall_s") or 0.0) + float(m.get("startup_s") or 0.0)
    end = (run_dir / "metrics.json").stat().st_mtime
    return {"actual_s": wall if wall > 0 else math.nan, "source": "metrics", "segments": 1,
            "first_start": end - wall, "last_end": end}


def load_forecast_json(path):
    """forecast.json as a dict, or None when there is none (flops-fit/forecast/v1, docs/forecast.md)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        fc = json.loads(path.read_text())
    except ValueError:
        return None
    return fc if isinstance(fc, dict) and isinstance(fc.get("experiments"), list) else None


def _last_output(paths) -> float:
    t = math.nan
    for p in map(Path, paths):
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else []
        for f in files:
            t = np.nanmax([t, f.stat().st_mtime])
    return float(t)


def sweep_wall(sweep_dir, runs: pd.DataFrame, last_outputs) -> dict:
    """Actual wall time of the sweep: the start of the invocation that began its training -> last output."""
    starts = sorted(s["process_start"] for s in _jsonl(Path(sweep_dir) / STARTS) if "process_start" in s)
    first_run = float(np.nanmin(runs["first_start"])) if len(runs) else math.nan
    end = _last_output(last_outputs)
    if not math.isfinite(end):
        end = float(np.nanmax(runs["last_end"])) if len(runs) else math.nan
    before = [s for s in starts if math.isfinite(first_run) and s <= first_run + 1.0]
    if before:
        start, how = before[-1], "Snakemake start"
    else:
        start, how = first_run, "first run's start (no workflow start recorded, so the DAG build is excluded)"
    last_run = float(np.nanmax(runs["last_end"])) if len(runs) else math.nan
    phases = {"before_training_s": first_run - start, "training_s": last_run - first_run,
              "after_training_s": end - last_run}   # parse + DAG + data | train_run jobs | collect, fit, plots
    later = [s for s in starts if start < s < end]
    note = (f"spans {len(later) + 1} Snakemake invocations (resumed or re-run): the wall time includes the time "
            "between them" if later else None)
    return {"start": start, "end": end, "actual_s": end - start, "start_from": how, "invocations": len(later) + 1,
            "note": note, "phases": phases}


def compare(sweep_dir, forecast, last_outputs=()) -> tuple:
    """(table, summary) for the sweep's finished runs against forecast (dict or None)."""
    sweep_dir = Path(sweep_dir)
    fc = {e["id"]: e for e in (forecast or {}).get("experiments", [])}
    cpu_per_wall, sweep_loads = calibration_cpu_per_wall(forecast), []
    rows = []
    for mpath in sorted(sweep_dir.glob("runs/*/metrics.json")):
        run_dir = mpath.parent
        try:
            m = json.loads(mpath.read_text())
        except ValueError:
            continue
        act, e = run_actual(run_dir), fc.get(run_dir.name, {})
        f = float(e["seconds"]) if e.get("seconds") is not None else math.nan
        cpu, loads = run_cpu(_jsonl(run_dir / TIMING))
        sweep_loads += loads
        f_cpu = f * cpu_per_wall
        rows.append({"id": run_dir.name, "forecast_s": f, "actual_s": act["actual_s"],
                     "forecast_cpu_s": f_cpu, "actual_cpu_s": cpu, "cpu_rel_error": (f_cpu - cpu) / cpu,
                     "forecast_lo_s": float(e.get("seconds_lo") or math.nan),
                     "forecast_hi_s": float(e.get("seconds_hi") or math.nan),
                     "rel_error": (f - act["actual_s"]) / act["actual_s"], "actual_source": act["source"],
                     "segments": act["segments"], "budget_flops": m.get("budget_flops"), "params": m.get("params"),
                     "first_start": act["first_start"], "last_end": act["last_end"]})
    runs = pd.DataFrame(rows, columns=COLUMNS + ["first_start", "last_end"])
    summary = {"schema": "flops-fit/forecast_vs_actual/v1", "runs": len(runs), "forecast": forecast is not None}
    if forecast is None:
        summary["note"] = ("no forecast.json for this sweep: run `snakemake --cores 2 forecast --config ...` (or "
                           "ff-forecast) before the sweep to compare its forecast with the actual times")
        return runs[COLUMNS], summary
    both = runs[np.isfinite(runs["rel_error"])]
    err = np.abs(both["rel_error"].to_numpy(float))
    wall = sweep_wall(sweep_dir, runs, last_outputs)
    mk = (forecast.get("totals") or {}).get("makespan_s")
    summary.update({
        "compared": int(len(both)), "not_forecast": int(runs["forecast_s"].isna().sum()),
        "median_abs_error": float(np.median(err)) if len(err) else None,
        "error_definition": "|forecast_s - actual_s| / actual_s per run; median over the runs",
        "forecast_total_s": float(both["forecast_s"].sum()), "actual_total_s": float(both["actual_s"].sum()),
        "makespan": {"forecast_s": mk, "actual_s": wall["actual_s"], "start": wall["start"], "end": wall["end"],
                     "start_from": wall["start_from"], "invocations": wall["invocations"], "note": wall["note"],
                     "phases": wall["phases"],
                     "error": ((mk - wall["actual_s"]) / wall["actual_s"]
                               if mk is not None and wall["actual_s"] > 0 else None)},
        "actual_sources": runs["actual_source"].value_counts().to_dict()})
    cpu_err = np.abs(both["cpu_rel_error"].to_numpy(float))
    cpu_err = cpu_err[np.isfinite(cpu_err)]
    summary["median_abs_error_cpu"] = float(np.median(cpu_err)) if len(cpu_err) else None
    summary["cpu_error_definition"] = ("|forecast_cpu_s - actual_cpu_s| / actual_cpu_s per run, forecast_cpu_s = "
                                       "forecast_s x the calibration's CPU-seconds per wall-second; median")
    timed = both[np.isfinite(both["actual_cpu_s"].to_numpy(float))]
    sweep_share = float(timed["actual_cpu_s"].sum() / timed["actual_s"].sum()) if len(timed) else math.nan
    summary["load"] = load_summary(calibration_load(forecast), sweep_loads, summary["median_abs_error_cpu"],
                                   cal_share=cpu_per_wall, sweep_share=sweep_share)
    return runs[COLUMNS], summary


def summary_markdown(summary: dict) -> str:
    if not summary.get("forecast"):
        return f"**Forecast against actual:** {summary['note']}.\n"
    mae, mk = summary.get("median_abs_error"), summary["makespan"]
    head = (f"**Forecast against actual** ({summary['compared']} runs compared"
            + (f", {summary['not_forecast']} not in the forecast" if summary["not_forecast"] else "") + "): ")
    lines = [head + (f"median absolute error per run {100 * mae:.1f} %." if mae is not None else "no run compared.")]
    if summary.get("median_abs_error_cpu") is not None:
        lines.append(f"In CPU-seconds (user + sys, independent of load): {100 * summary['median_abs_error_cpu']:.1f} %.")
    if (summary.get("load") or {}).get("note"):
        lines.append(f"Note: {summary['load']['note']}.")
    if mk.get("error") is not None:
        lines.append(f"Sweep wall time: forecast {mk['forecast_s'] / 60:.1f} min, actual {mk['actual_s'] / 60:.1f} min "
                     f"(error {100 * mk['error']:+.1f} %; from the {mk['start_from']} to the plots).")
    ph = mk.get("phases") or {}
    if all(isinstance(ph.get(k), float) and math.isfinite(ph[k]) for k in ("before_training_s", "training_s",
                                                                            "after_training_s")):
        lines.append(f"Of the actual: {ph['before_training_s']:.0f} s before the first run (parsing, planning, DAG, "
                     f"data), {ph['training_s']:.0f} s of training, {ph['after_training_s']:.0f} s collect, fit "
                     "and plots.")
    if mk.get("note"):
        lines.append(f"Note: the sweep {mk['note']}.")
    return " ".join(lines) + "\n"


def write_forecast_vs_actual(sweep_dir, forecast_path=None, *, last_outputs=(), out_csv=None, out_json=None):
    """Write forecast_vs_actual.csv and .json beside the sweep's results; returns (table, summary).
    Without a forecast.json the table has no rows and the summary says how to make one (never an error)."""
    sweep_dir = Path(sweep_dir)
    forecast = load_forecast_json(forecast_path or sweep_dir / "forecast.json")
    table, summary = compare(sweep_dir, forecast, last_outputs)
    if forecast is None:
        table = table.iloc[0:0]
    summary["markdown"] = summary_markdown(summary)
    atomic_write_text(out_csv or sweep_dir / "forecast_vs_actual.csv", table.to_csv(index=False, float_format="%.4g"))
    atomic_write_json(out_json or sweep_dir / "forecast_vs_actual.json", json_clean(summary))
    return table, summary
