"""Forecast against actual on a small real sweep.

In a fresh copy of the workflow: `snakemake --cores C forecast` (calibration included, cold cache), then
the sweep itself (`snakemake --cores C`), then the repeat noise: 3 experiments near the median duration rerun
back to back, each as `jobs` copies side by side (the sweep's concurrency), with the job's own command.
Prints per experiment the forecast [range] against the actual job time (its log file's creation to its
last write), the median absolute error, the sweep's wall-time error (workflow start to its last output:
DAG build, data preparation, fit and plots included), the calibration time, the repeat noise, the load
average and the CPU model.

    python benchmarks/forecast_accuracy.py                                    # the quickstart (~6-8 min quiet)
    python benchmarks/forecast_accuracy.py --config preset=fashion            # images (~12 min)
    python benchmarks/forecast_accuracy.py --config preset=quickstart 'overrides=budgets.values=[1e11,3e11]'
Targets: median |error| <= max(10 %, 1.5 x repeat noise); sweep wall time within 15 %; calibration <= 30 s.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sweeprun import config_args, fresh_workflow, job_times, last_output, machine_line, read_json, snakemake


def rerun(wf: Path, spec: dict, copies: int, threads: int) -> list:
    """The job's own command, `copies` processes side by side, into scratch folders; their wall seconds."""
    from flops_fit.stages import split_spec
    core, runtime = split_spec(spec)
    procs = []
    for i in range(copies):
        cmd = [sys.executable, "scripts/train_run.py", "--spec", json.dumps(core), "--runtime", json.dumps(runtime),
               "--out", str(wf / "scratch" / f"{spec['id']}-{i}"), "--threads", str(threads)]
        procs.append((time.perf_counter(), subprocess.Popen(cmd, cwd=wf, stdout=subprocess.DEVNULL,
                                                            stderr=subprocess.DEVNULL)))
    out = [None] * len(procs)
    while any(o is None for o in out):  # poll: each copy's own end, whichever finishes first
        for i, (t0, p) in enumerate(procs):
            if out[i] is None and p.poll() is not None:
                if p.returncode != 0:
                    sys.exit(f"rerun of {spec['id']} failed")
                out[i] = time.perf_counter() - t0
        time.sleep(0.05)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", nargs="*", default=["preset=quickstart"], help="snakemake --config entries")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="experiments rerun for the repeat noise (0: skip)")
    ap.add_argument("--keep", help="run in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="ff-fcbench-")
    wf = fresh_workflow(Path(args.keep or tmp.name) / "wf")
    cfg = config_args(args.config)
    print(machine_line(), "(before)")
    t_fc = snakemake(wf, "--cores", str(args.cores), "forecast", *cfg, log=wf / "forecast.out")
    sweep_dir = next((wf / "results").glob("*/forecast.json")).parent
    fc = read_json(sweep_dir / "forecast.json")
    sweep = fc["sweep"]
    t0 = time.time()
    snakemake(wf, "--cores", str(args.cores), *cfg, log=wf / "sweep.out")
    wall = last_output(wf, sweep) - t0
    print(machine_line(), "(after the sweep)")
    times = job_times(wf, sweep)
    rows = []
    for e in fc["experiments"]:
        start, end = times[e["id"]]
        actual = end - start
        rows.append((e, actual, e["seconds"] / actual - 1))
    print(f"\n{'id':<28} {'N':>9} {'steps':>6} {'forecast [range] s':>24} {'actual s':>9} {'error':>7} in-range")
    for e, actual, err in rows:
        inside = e["seconds_lo"] <= actual <= e["seconds_hi"]
        print(f"{e['id']:<28} {e['params']:>9.3g} {e['steps']:>6} {e['seconds']:>8.1f} [{e['seconds_lo']:6.1f}, "
              f"{e['seconds_hi']:6.1f}] {actual:>9.1f} {err:>+7.1%} {'yes' if inside else 'no'}")
    med = statistics.median(abs(r[2]) for r in rows)
    inside = sum(e["seconds_lo"] <= a <= e["seconds_hi"] for e, a, _ in rows)

    noise = None
    if args.repeats:
        plan = {e["id"]: e for e in read_json(sweep_dir / "plan.json")["experiments"]}
        by_time = sorted(rows, key=lambda r: r[1])
        mid = len(by_time) // 2
        pick = by_time[max(0, mid - 1):mid - 1 + args.repeats] if len(by_time) >= args.repeats else by_time
        rel = []
        jobs, threads = fc["parallelism"]["jobs"], fc["parallelism"]["threads"]
        for e, actual, _ in pick:
            walls = rerun(wf, plan[e["id"]], jobs, threads)
            rel += [abs(w / actual - 1) for w in walls]
            print(f"repeat {e['id']}: sweep {actual:.1f} s, reruns {', '.join(f'{w:.1f}' for w in walls)} s")
        noise = statistics.median(rel)
    cal = fc["calibration"]
    t = fc["totals"]
    target = max(0.10, 1.5 * noise) if noise is not None else 0.10
    print(f"\nper experiment: median |error| {med:.1%} (target <= {target:.1%}: "
          f"{'met' if med <= target else 'NOT met'}); {inside}/{len(rows)} actual times inside the forecast range")
    if noise is not None:
        print(f"repeat noise (median |rerun / sweep - 1|, {len(rel)} reruns): {noise:.1%}")
    err_wall = t["sweep_s"] / wall - 1
    print(f"sweep wall time: forecast {t['sweep_s']:.1f} s [{t['sweep_s_lo']:.1f}, {t['sweep_s_hi']:.1f}] "
          f"(makespan {t['makespan_s']:.1f} s + pipeline), actual {wall:.1f} s: error {err_wall:+.1%} (target 15 %: "
          f"{'met' if abs(err_wall) <= 0.15 else 'NOT met'})")
    print(f"calibration: {cal['cost_s']:.1f} s ({cal['measured_sizes']} sizes x {cal['concurrency']} processes; "
          f"target <= 30 s on the quickstart); the whole forecast job {t_fc:.1f} s (DAG build, data, pipeline "
          f"timing included); calibration load average {cal['machine']['loadavg']}")
    print(machine_line(), "(end)")


if __name__ == "__main__":
    main()
