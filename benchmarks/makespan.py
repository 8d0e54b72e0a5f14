"""Makespan with longest-first priorities (from forecast.json) against without (the workflow's default
order, biggest budget first), in alternating pairs of fresh sweeps on the same machine.

Each sweep trains everything from scratch in a fresh copy of the workflow (the plan's size cache and the
prepared data are shared, as on a machine that ran the forecast). The training makespan is the first
train_run job's start to the last one's end (their log files). Each is compared with the lower bound
max(total work / slots, longest job) and with the list-scheduling simulation (flops_fit.forecast.schedule)
on that sweep's measured job durations, in the order it used.

    python benchmarks/makespan.py --pairs 3                              # the quickstart: 6 sweeps x ~12.5 min quiet (75 min)
    python benchmarks/makespan.py --pairs 1 --config preset=quickstart 'overrides=budgets.values=[3e10,1e11]'
"""
import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from _sweeprun import config_args, fresh_workflow, job_times, machine_line, read_json, snakemake

from flops_fit.forecast.resources import job_resources, load_forecast
from flops_fit.forecast.schedule import list_schedule, lower_bound


def one_sweep(root: Path, base: Path, cfg: list, cores: int, forecast_json: Path | None, sweep: str,
              target: str) -> dict:
    wf = fresh_workflow(root, share_cache_from=base)
    if forecast_json:
        (wf / "results" / sweep).mkdir(parents=True, exist_ok=True)
        shutil.copy(forecast_json, wf / "results" / sweep / "forecast.json")
    wall = snakemake(wf, "--cores", str(cores), "plan", target, *cfg, log=wf / "sweep.out")  # plan.json too
    times = job_times(wf, sweep)
    plan = read_json(wf / "results" / sweep / "plan.json")["experiments"]
    fc = load_forecast(wf / "results" / sweep / "forecast.json")
    ids = [e["id"] for e in plan]
    durations = [times[i][1] - times[i][0] for i in ids]
    priorities = [job_resources(fc, e)["priority"] for e in plan]
    makespan = max(t[1] for t in times.values()) - min(t[0] for t in times.values())
    sim = list_schedule(durations, priorities, cores)["makespan_s"]
    shutil.rmtree(wf, ignore_errors=True)
    return {"makespan": makespan, "wall": wall, "bound": lower_bound(durations, cores), "sim": sim,
            "work": sum(durations)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", nargs="*", default=["preset=quickstart"], help="snakemake --config entries")
    ap.add_argument("--cores", type=int, default=2, help="snakemake --cores (train_run has 1 thread: the slots)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--target", default="collect", help="snakemake target of each sweep (collect: all training "
                                                         "jobs, no fit or plots; all: the whole workflow)")
    args = ap.parse_args()
    cfg = config_args(args.config or ["preset=quickstart"])
    with tempfile.TemporaryDirectory(prefix="ff-makespan-") as tmp:
        tmp = Path(tmp)
        base = fresh_workflow(tmp / "base")
        print(machine_line(), "(before the forecast)")
        # the forecast's priorities only: no pipeline timing (the sweeps here stop at collect)
        snakemake(base, "--cores", str(args.cores), "forecast", *cfg[:1], *cfg[1:], "forecast__pipeline=false",
                  log=base / "forecast.out")
        fc_path = next((base / "results").glob("*/forecast.json"))
        sweep = fc_path.parent.name
        fc = read_json(fc_path)
        print(f"forecast: makespan {fc['totals']['makespan_s']:.1f} s on {fc['parallelism']['jobs']} slots "
              f"(lower bound {fc['totals']['lower_bound_s']:.1f} s)")
        print(f"\n{'pair':>4} {'order':<14} {'makespan s':>10} {'bound s':>8} {'/bound':>7} {'sim s':>7} {'/sim':>6} "
              f"{'work s':>7} {'wall s':>7}  load")
        res = {"longest-first": [], "default": []}
        for k in range(args.pairs):
            for name in (("longest-first", "default") if k % 2 == 0 else ("default", "longest-first")):
                r = one_sweep(tmp / f"{name}-{k}", base, cfg, args.cores,
                              fc_path if name == "longest-first" else None, sweep, args.target)
                res[name].append(r)
                import os
                print(f"{k + 1:>4} {name:<14} {r['makespan']:>10.1f} {r['bound']:>8.1f} {r['makespan'] / r['bound']:>7.3f} "
                      f"{r['sim']:>7.1f} {r['makespan'] / r['sim']:>6.3f} {r['work']:>7.1f} {r['wall']:>7.1f}  "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
        lf = [r["makespan"] for r in res["longest-first"]]
        df = [r["makespan"] for r in res["default"]]
        ratios = [a / b for a, b in zip(lf, df)]
        print(f"\nmedian makespan: longest-first {statistics.median(lf):.1f} s, default {statistics.median(df):.1f} s; "
              f"per pair longest-first / default: {', '.join(f'{x:.3f}' for x in ratios)}")
        for name, rs in res.items():
            print(f"{name}: makespan / lower bound median {statistics.median(r['makespan'] / r['bound'] for r in rs):.3f}, "
                  f"/ simulation median {statistics.median(r['makespan'] / r['sim'] for r in rs):.3f}")
        print(machine_line(), "(end)")


if __name__ == "__main__":
    main()
