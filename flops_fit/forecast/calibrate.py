"""Calibration: time the real training loop on this machine for a few of the plan's model sizes, at the
concurrency the sweep will run, in fresh processes (flops_fit/forecast/probe.py); cache the numbers.

The cache (results/.cache/calibration-<key>.json) is keyed by what determines the numbers: plugins (paths,
kwargs, data config, source of the plugins and of the helpers beside them), recipe (every training key but the
size-dependent lr), units per step, mode, device and CPU model, torch and flops-fit versions, threads,
processes per job, concurrency and the calibration's own step counts. Within a key, each size is measured
once; a later forecast measures only sizes it has not seen. Nothing is written into runs/ and nothing counts
as a result.
"""
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from flops_fit import __version__
from flops_fit.config import job_env, stable_hash
from flops_fit.io import atomic_write_json, read_json

from . import compiled
from .machine import machine_info


class CalibrationError(RuntimeError):
    """A calibration process failed (message: one line naming the size and the cause)."""


def size_key(spec) -> str:
    return json.dumps(spec["size"], sort_keys=True)


def flops_per_step(spec) -> float:
    return float(spec["flops_per_unit"]) * float(spec["units_per_step"])


def _plugin_files_hash(spec) -> str:
    """The plugins' source hash, as the probe verdict uses it (an edited model file, or a helper beside it,
    means new numbers). A plugin that does not import here hashes by its path only."""
    from flops_fit.plugins import PluginError, load_object, plugin_source_hash
    paths = {role: spec[role]["plugin"] for role in ("model", "data", "loss")}
    try:
        return plugin_source_hash([load_object(path, role) for role, path in paths.items()])
    except PluginError:
        return hashlib.sha256("|".join(paths.values()).encode()).hexdigest()[:16]


def cache_key(spec, *, machine, threads, processes, concurrency, settings) -> dict:
    """Everything the calibration numbers depend on (not the model size: sizes are entries under the key)."""
    training = {k: v for k, v in spec["training"].items() if k not in ("lr", "log_with")}  # trackers: not timed
    return {
        "mode": spec["mode"],
        "plugins": {"model": spec["model"], "data": {k: v for k, v in spec["data"].items() if k != "dir"},
                    "loss": spec["loss"], "files": _plugin_files_hash(spec)},
        "recipe": training, "units_per_step": spec["units_per_step"],
        "device": machine["device"], "cpu": machine["cpu"], "torch": machine["torch"], "flops_fit": __version__,
        "threads": threads, "processes": processes, "concurrency": concurrency, "settings": settings,
    }


def choose_sizes(experiments, n: int, cached=()) -> list:
    """One spec per chosen distinct size: always the smallest and largest FLOPs per step, all when there are
    at most n, else n-2 more near evenly spaced log(FLOPs per step) (a cached size close enough is preferred)."""
    by_size = {}
    for e in experiments:
        by_size.setdefault(size_key(e), e)
    specs = sorted(by_size.values(), key=flops_per_step)
    if len(specs) <= max(n, 2):
        return specs
    import math
    logs = [math.log(flops_per_step(s)) for s in specs]
    chosen = [0, len(specs) - 1]
    gap = (logs[-1] - logs[0]) / (n - 1)
    for j in range(1, n - 1):
        t = logs[0] + j * gap
        near = sorted(range(len(specs)), key=lambda i: abs(logs[i] - t))
        pick = next((i for i in near if size_key(specs[i]) in cached and abs(logs[i] - t) < gap / 2), near[0])
        if pick not in chosen:
            chosen.append(pick)
    return [specs[i] for i in sorted(chosen)]


def calibrate(experiments, *, cache_dir, threads, concurrency, settings, recalibrate=False, log=print) -> dict:
    """Calibration points for the plan (see module doc); returns {"points", "key", "cache", "cost_s", ...}."""
    t0 = time.perf_counter()
    machine = machine_info()
    spec0 = experiments[0]
    processes = int(spec0["training"].get("num_processes") or 1)
    key = cache_key(spec0, machine=machine, threads=threads, processes=processes, concurrency=concurrency,
                    settings=settings)
    path = Path(cache_dir) / f"calibration-{stable_hash(key, 12)}.json"
    cache = {"key": key, "sizes": {}}
    if path.is_file() and not recalibrate:
        try:
            cache = read_json(path)
        except (OSError, ValueError):
            pass
    if spec0["mode"] == "mock":
        chosen = [spec0]
    else:
        chosen = choose_sizes(experiments, int(settings["sizes"]), cached=set(cache["sizes"]))
    todo = [s for s in chosen if size_key(s) not in cache["sizes"]]
    if todo:
        log(f"calibration: timing {len(todo)} size(s) {[s['size'] for s in todo]} in {concurrency} fresh "
            f"process(es) side by side, {threads} thread(s) each ...")
        measure = _measure_mock if spec0["mode"] == "mock" else _measure
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        measured = measure(todo, threads=threads, concurrency=concurrency, settings=settings)
        if spec0["mode"] == "real" and compiled.wanted(spec0, settings, machine):
            log(f"calibration: timing the same size(s) compiled (training.compile=auto) ...")
            compiled.attach(measured, _measure(compiled.with_setting(todo, True, Path(cache_dir) / "inductor"), threads=threads,
                                               concurrency=concurrency, settings=settings))
        for spec, point in zip(todo, measured):
            point.update(measured=stamp, loadavg=machine["loadavg"])
            cache["sizes"][size_key(spec)] = point
            log(f"  {spec['size']} N={spec['params']:.3g}: step {point['step_s'][1] * 1e3:.2f} ms "
                f"[{point['step_s'][0] * 1e3:.2f}, {point['step_s'][2] * 1e3:.2f}], start-up "
                f"{point['startup_s'][1]:.2f} s, eval {point['eval_s'][1]:.2f} s, peak {point['peak_mem_mb']:.0f} MB")
        atomic_write_json(path, cache)
    points = [cache["sizes"][size_key(s)] for s in chosen]
    cost = time.perf_counter() - t0
    return {"points": points, "key": key, "cache": str(path), "cost_s": cost, "measured_sizes": len(todo),
            "cached_sizes": len(chosen) - len(todo), "machine": machine, "concurrency": concurrency,
            "threads": threads, "processes": processes, "settings": settings}


def _run_group(cmds, log_dir, usage=None) -> list:
    """Start the commands side by side; return each one's (returncode, exit epoch seconds, log tail).
    usage: a list each process's (CPU-seconds user + sys, wall-seconds) is appended to."""
    results = [None] * len(cmds)

    def wait(i, proc, logf, t0):
        _, status, ru = os.wait4(proc.pid, 0)
        rc = proc.returncode = os.waitstatus_to_exitcode(status)
        t = time.time()
        logf.close()
        results[i] = (rc, t)
        if usage is not None:
            usage.append((ru.ru_utime + ru.ru_stime, t - t0))

    threads = []
    for i, cmd in enumerate(cmds):
        logf = open(Path(log_dir) / f"slot{i}.log", "w")
        argv = cmd()
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=job_env())
        th = threading.Thread(target=wait, args=(i, proc, logf, time.time()))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    out = []
    for i, (rc, t) in enumerate(results):
        tail = (Path(log_dir) / f"slot{i}.log").read_text(errors="replace").strip().splitlines()
        out.append((rc, t, tail[-1] if tail else ""))
    return out


def _lmh(xs):
    return [min(xs), statistics.median(xs), max(xs)]


def _measure(specs, *, threads, concurrency, settings) -> list:
    """Run `concurrency` probe processes side by side, each timing every size in `specs` (smallest first);
    return one calibration point per size, aggregated over the processes."""
    nproc = int(specs[0]["training"].get("num_processes") or 1)
    with tempfile.TemporaryDirectory(prefix="ff-calib-") as tmp:
        tmp = Path(tmp)
        atomic_write_json(tmp / "specs.json", specs)
        launch = [sys.executable, "-m"] if nproc == 1 else \
            [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(nproc), "-m"]

        def cmd(slot):
            return lambda: launch + [
                "flops_fit.forecast.probe", "--specs", str(tmp / "specs.json"), "--out", str(tmp / "out"),
                "--t0", repr(time.time()), "--slot", str(slot), "--of", str(concurrency),
                "--threads", str(threads), "--warmup", str(settings["warmup_steps"]),
                "--blocks", str(settings["blocks"]), "--block-steps", str(settings["block_steps"]),
                "--barrier", str(tmp / "barrier")]
        usage = []
        runs = _run_group([cmd(i) for i in range(concurrency)], tmp, usage)
        for rc, _, tail in runs:
            if rc != 0:
                raise CalibrationError(f"calibration of {[s['size'] for s in specs]} failed: {tail}")
        recs = [read_json(p) for p in sorted((tmp / "out").glob("slot*-rank*.json"))]
    rank0 = [r for r in recs if r["rank"] == 0]
    # A job is a fresh process: its start-up is the first size's (interpreter, imports, first-time setup:
    # plugin imports, Accelerator, data) plus what its own model adds to the setup. That addition is a later
    # size's (warm) setup over the smallest warm setup (the sizes run smallest first).
    first_s = [r["sizes"][0]["begin_s"] for r in rank0]
    warm = [[q["setup_s"] for q in r["sizes"][1:]] for r in rank0]
    teardown = [max(runs[r["slot"]][1] - r["done"], 0.0) for r in rank0]
    points = []
    for i, spec in enumerate(specs):
        per = [r["sizes"][i] for r in recs]
        per0 = [r["sizes"][i] for r in rank0]
        blocks = [b for q in per for b in q["blocks_s"]]
        step_mid = statistics.median(blocks)
        startup = [f + (max(q["setup_s"] - min(w), 0.0) if i else 0.0)
                   + max(q["warmup_s"] - q["warmup_steps"] * step_mid, 0.0)
                   for f, w, q in zip(first_s, warm, per0)]
        points.append({
            "size": spec["size"], "params": spec["params"], "flops_per_step": flops_per_step(spec),
            "step_s": [min(blocks), step_mid, max(blocks)],
            "eval_s": _lmh([e for q in per0 for e in q["eval_s"]] or [0.0]),
            "ckpt_s": _lmh([c for q in per0 for c in q["ckpt_s"]] or [0.0]),
            "startup_s": _lmh(startup), "teardown_s": _lmh(teardown), "first_start_s": statistics.median(first_s),
            "peak_mem_mb": max(q["peak_mem_mb"] for q in per), "samples": len(blocks),
            "device": per0[0]["device"], "precision": per0[0]["precision"], **_cpu_and_load(usage)})
    return points


def _cpu_and_load(usage) -> dict:
    """The calibration processes' CPU-seconds per wall-second and the 1-minute load as they end (forecast.load)."""
    wall = sum(w for _, w in usage)
    return {"cpu_per_wall": round(sum(c for c, _ in usage) / wall, 4) if wall > 0 else None,
            "load": round(os.getloadavg()[0], 2)}


def _measure_mock(specs, *, threads, concurrency, settings) -> list:
    """Mock mode: what a job costs is its process (start, simulate, write metrics); time a few rounds of
    `concurrency` real train_run.py processes on the mock spec."""
    import resource
    spec = specs[0]
    walls, usage = [], []
    with tempfile.TemporaryDirectory(prefix="ff-calib-") as tmp:
        tmp = Path(tmp)
        atomic_write_json(tmp / "spec.json", spec)
        for r in range(max(1, int(settings.get("mock_rounds", 3)))):
            starts = {}

            def cmd(slot, r=r):
                def make():
                    starts[slot] = time.time()
                    return [sys.executable, "-m", "flops_fit.jobs.train_run", "--spec", str(tmp / "spec.json"),
                            "--out", str(tmp / f"run{r}-{slot}"), "--threads", str(threads)]
                return make
            runs = _run_group([cmd(i) for i in range(concurrency)], tmp, usage)
            for slot, (rc, t, tail) in enumerate(runs):
                if rc != 0:
                    raise CalibrationError(f"mock calibration failed: {tail}")
                walls.append(t - starts[slot])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    zero = [0.0, 0.0, 0.0]
    return [{"size": spec["size"], "params": spec["params"], "flops_per_step": flops_per_step(spec),
             "step_s": zero, "eval_s": zero, "ckpt_s": zero, "startup_s": _lmh(walls), "teardown_s": zero,
             "peak_mem_mb": peak, "samples": len(walls), "device": "mock", "precision": "none", **_cpu_and_load(usage)}]
