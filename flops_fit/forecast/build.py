"""Build a sweep's forecast: calibrate, apply the time model to every planned experiment, simulate the
schedule, add the sections other modules contribute (precision), write forecast.json and forecast.md.

The schema of forecast.json is in docs/forecast.md ("flops-fit/forecast/v1").
"""
import importlib
import importlib.util
import math
import time
from pathlib import Path

from flops_fit.io import atomic_write_json

from .calibrate import calibrate, flops_per_step
from .compiled import choose, compiled_model
from .resources import job_resources
from .schedule import list_schedule, lower_bound
from .timemodel import TimeModel, evaluations

SCHEMA = "flops-fit/forecast/v1"

# Sections other modules add to the forecast: (key, module, function(cfg, plan) -> dict with "markdown").
# A section whose module is not installed is skipped (its key says so), so a missing part never breaks it.
SECTIONS = [("precision", "flops_fit.forecast.precision", "forecast_precision")]


def plan_to_forecast(cfg: dict) -> dict:
    """The static plan; for a steered sweep (docs/adaptive.md) the experiments planned so far: its rounds on
    disk, and the prior grid of the budgets not planned yet (so a forecast made mid-sweep follows the fit)."""
    from flops_fit.adaptive.rounds import is_steering
    from flops_fit.plan import plan
    if is_steering(cfg):
        from flops_fit.adaptive.driver import current_plan
        return current_plan(cfg)
    return plan(cfg)


def slots_for(fc: dict, machine: dict, nproc: int, runs_per_gpu: int = 1) -> dict:
    """Parallel jobs the sweep will run and the cores/GPUs behind them."""
    threads = int(fc.get("threads") or 1)
    if machine["gpus"]:
        gpus = int(fc.get("gpus") or machine["gpus"])
        # the device slots (flops_fit.slots): runs_per_gpu runs on each GPU, num_processes GPUs per run
        jobs = int(fc.get("jobs") or max(1, gpus * max(1, runs_per_gpu) // max(1, nproc)))
        per_job = {"gpus": nproc}
    else:
        cores = int(fc.get("cores") or machine["cores"])
        jobs = int(fc.get("jobs") or max(1, cores // threads))
        per_job = {"threads": threads}
    conc = int(fc.get("concurrency") or jobs)
    return {"jobs": jobs, "threads": threads, "concurrency": conc, "per_job": per_job}


def build_forecast(cfg: dict, plan: dict, *, log=print) -> dict:
    t0 = time.perf_counter()
    fc = cfg.get("forecast") or {}
    exps = plan["experiments"]
    if not exps:
        raise ValueError("the plan has no feasible experiments: nothing to forecast (see `ff-plan`)")
    from flops_fit.stages import ensure_data
    from .machine import machine_info
    machine = machine_info()
    nproc = int(exps[0]["training"].get("num_processes") or 1)
    par = slots_for(fc, machine, nproc, int((cfg.get("cluster") or {}).get("runs_per_gpu") or 1))
    if exps[0]["mode"] == "real":
        ensure_data(exps[0])
    settings = dict(fc.get("calibration") or {})
    cal = calibrate(exps, cache_dir=Path(cfg["results_dir"]) / ".cache", threads=par["threads"],
                    concurrency=par["concurrency"], settings=settings, recalibrate=bool(fc.get("recalibrate")),
                    log=log)
    model = TimeModel(cal["points"], mock=exps[0]["mode"] == "mock")
    comp_model = None if exps[0]["mode"] == "mock" else compiled_model(cal["points"])
    pipe = None
    if fc.get("pipeline", True):
        from flops_fit.plan import plan as make_plan
        from .pipeline import measure_pipeline
        t_plan = time.perf_counter()
        make_plan(cfg)  # what Snakemake does at parse time (sizes cached by now)
        pipe = measure_pipeline(cfg, plan, machine, cache_dir=Path(cfg["results_dir"]) / ".cache",
                                plan_s=time.perf_counter() - t_plan, log=log)
    limit = fc.get("memory_limit_mb")
    limit_src = "forecast.memory_limit_mb"
    if not limit:
        limit = (machine["device_mem_mb"] or math.inf) / max(1, par["concurrency"])
        limit_src = ("one GPU's memory" if machine["gpus"] else "available RAM") + \
            (f" / {par['concurrency']} concurrent jobs" if par["concurrency"] > 1 else "")
    devices_per_job = nproc if machine["gpus"] else par["threads"]
    rows = [experiment_forecast(e, model, limit, comp_model) for e in exps]
    peak = expected_mfu(rows, exps[0]["mode"], nproc if machine["gpus"] else 1, par["threads"], log=log)
    priorities = [job_resources({r["id"]: r for r in rows}, e)["priority"] for e in exps]
    price = fc.get("price_per_device_hour")
    totals = _totals(rows, priorities, par["jobs"], devices_per_job, price, following(rows))
    extra = (pipe["dag_s"] + pipe["tail_s"]) if pipe else 0.0
    for suffix in ("", "_lo", "_hi"):  # the whole sweep: DAG build + training makespan + collect, fit, plots
        totals["sweep_s" + suffix] = totals["makespan_s" + suffix] + extra
    budgets = []
    for b in sorted({r["budget_flops"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["budget_flops"] == b]
        budgets.append({"budget_flops": b, "experiments": len(idx),
                        **_totals([rows[i] for i in idx], [priorities[i] for i in idx], par["jobs"],
                                  devices_per_job, price, following([rows[i] for i in idx]))})
    out = {
        "schema": SCHEMA, "sweep": plan["sweep"], "mode": exps[0]["mode"], "experiments": rows, "budgets": budgets,
        "totals": totals,
        "parallelism": {**par, "devices_per_job": devices_per_job,
                        "device_unit": "GPU" if machine["gpus"] else "core", "processes_per_job": nproc},
        "memory_limit_mb": None if math.isinf(limit) else limit, "memory_limit_source": limit_src, "peak": peak,
        "calibration": _calibration_summary(cal),
        "pipeline": None if pipe is None else {k: pipe[k] for k in
                                               ("dag_s", "tail_s", "collect_s", "fit_s", "plot_s", "notes", "cached")},
    }
    from .lr_line import calibration_line
    out["lr_calibration"] = calibration_line(
        cfg, plan, lambda e: experiment_forecast(e, model, limit, comp_model),
        lambda r, pr: _totals(r, pr, par["jobs"], devices_per_job, price), log=log)
    for key, module, func in SECTIONS:
        out[key] = run_section(module, func, cfg, plan, log=log)
    out["forecast_s"] = time.perf_counter() - t0
    return out


def expected_mfu(rows, mode, devices_per_job, threads, *, log=print):
    """Each row's expected MFU: its FLOPs / (training + evaluation + checkpoint seconds) / the peak of a job's
    devices (flops_fit.peak, as runs measure it); the peak's record, or None for a mock sweep or no torch."""
    for r in rows:
        r["mfu"] = None
    if mode != "real":
        return None
    try:
        import torch
        from flops_fit.peak import FLOPS_CONVENTION, device_peak
        if not torch.cuda.is_available():
            torch.set_num_threads(max(1, int(threads)))  # the CPU peak of the threads a job trains with
        peak = device_peak()
    except Exception as e:  # noqa: BLE001  (the time forecast stands without it)
        log(f"warning: no device peak for the expected MFU: {type(e).__name__}: {e}")
        return None
    per_job = peak["flops_per_s"] * devices_per_job
    for r in rows:
        busy = r["terms"]["train_s"] + r["terms"]["eval_s"] + r["terms"]["ckpt_s"]
        r["mfu"] = r["flops"] / busy / per_job if busy > 0 else None
    return {**peak, "per_job_flops_per_s": per_job, "flops_convention": FLOPS_CONVENTION}


def run_section(module: str, func: str, cfg, plan, log=print) -> dict:
    """One contributed section; a missing module is "not available", a failing one is reported, not fatal
    (the time forecast stands on its own)."""
    if importlib.util.find_spec(module) is None:
        return {"status": "not available", "markdown": ""}
    try:
        return getattr(importlib.import_module(module), func)(cfg, plan)
    except Exception as e:  # noqa: BLE001  (any failure of a contributed section)
        log(f"warning: {module}.{func} failed: {type(e).__name__}: {e}")
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "markdown": ""}


def experiment_forecast(e: dict, model: TimeModel, limit, comp_model=None) -> dict:
    tr = e["training"]
    n_evals = evaluations(int(e["steps"]), int(tr.get("eval_every") or 0))
    ckpt = {"every_steps": tr.get("ckpt_every_steps") or 0, "every_s": 60.0 * float(tr.get("ckpt_every_minutes") or 0),
            "final": bool(tr.get("keep_ckpt"))}
    wsd = e.get("wsd") or {}  # a WSD cell's job trains only its own steps, from its parent's state (docs/wsd.md)
    steps = int(e["steps"]) - int(wsd.get("start", 0))
    kw = dict(steps=steps, flops_per_step=flops_per_step(e), params=e["params"], n_evals=n_evals, ckpt=ckpt)
    eager = model.experiment(**kw)
    f, do_compile, why = choose(e, eager, comp_model.experiment(**kw) if comp_model else None, comp_model)
    mem = model.peak_mem_mb(e["params"])
    return {"id": e["id"], "budget_flops": e["budget_flops"], "params": e["params"], "size": e["size"],
            "steps": steps, "flops": wsd.get("flops_added", e["flops_planned"]), "seconds": f["seconds"], "seconds_lo": f["seconds_lo"],
            "seconds_hi": f["seconds_hi"], "peak_mem_mb": mem, "fits_memory": bool(mem <= limit),
            "terms": f["terms"], "compile": do_compile, "compile_reason": why, "after": wsd.get("parent")}


def following(rows) -> list:
    """Per row, the index of the row whose job it follows (a WSD cell's parent, when planned alongside), or None."""
    at = {r["id"]: i for i, r in enumerate(rows)}
    return [at.get(r.get("after")) for r in rows]


def _totals(rows, priorities, slots, devices_per_job, price, after=None) -> dict:
    out = {"flops": sum(r["flops"] for r in rows)}
    for suffix in ("", "_lo", "_hi"):
        d = [r["seconds" + suffix] for r in rows]
        out["makespan_s" + suffix] = list_schedule(d, priorities, slots, after)["makespan_s"]
        out["device_hours" + suffix] = sum(d) * devices_per_job / 3600.0
    out["lower_bound_s"] = lower_bound([r["seconds"] for r in rows], slots, after)
    out["cost"] = None if price is None else out["device_hours"] * float(price)
    out["cost_lo"] = None if price is None else out["device_hours_lo"] * float(price)
    out["cost_hi"] = None if price is None else out["device_hours_hi"] * float(price)
    out["all_fit_memory"] = all(r["fits_memory"] for r in rows)
    return out


def _calibration_summary(cal: dict) -> dict:
    keep = ("size", "params", "flops_per_step", "step_s", "eval_s", "ckpt_s", "startup_s", "teardown_s",
            "peak_mem_mb", "samples", "measured", "loadavg", "device", "precision", "compiled",
            "cpu_per_wall", "load")
    return {"cache": cal["cache"], "cost_s": cal["cost_s"], "measured_sizes": cal["measured_sizes"],
            "cached_sizes": cal["cached_sizes"], "concurrency": cal["concurrency"], "threads": cal["threads"],
            "processes": cal["processes"], "settings": cal["settings"], "machine": cal["machine"],
            "points": [{k: p.get(k) for k in keep} for p in cal["points"]]}


def write_forecast(fc: dict, out_dir) -> tuple:
    from .report import markdown
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "forecast.json", fc)
    md = out_dir / "forecast.md"
    tmp = md.with_suffix(".md.tmp")
    tmp.write_text(markdown(fc))
    tmp.replace(md)
    return out_dir / "forecast.json", md


def run_forecast(cfg: dict, plan: dict, out_dir, *, quiet=False) -> dict:
    """The forecast stage (ff-forecast and the `forecast` rule): build, write, print the table."""
    import sys
    from .report import printed
    log = (lambda *a, **k: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    fc = build_forecast(cfg, plan, log=log)
    paths = write_forecast(fc, out_dir)
    if not quiet:
        print(printed(fc))
        print(f"wrote {paths[0]} and {paths[1]}", file=sys.stderr)
    return fc
