"""What a sweep costs besides its training jobs: Snakemake's start and DAG build, and the collect, fit and
plot jobs at the end. Measured by running the workflow's own scripts (fresh processes) on stand-in
results of this plan (its experiments with mock-surface losses) in a temporary folder; cached by the
analysis config, the number of experiments and budgets, and the machine. Data preparation is not in it:
the forecast prepares the data itself (calibration trains on it), so the sweep finds it done.
"""
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flops_fit import __version__
from flops_fit.config import job_env, stable_hash
from flops_fit.io import atomic_write_json, read_json


def _timed(cmd, notes) -> float:
    """Seconds the command took; a failure is noted (the sweep's own job would fail the same way)."""
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=job_env())
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or [""])[-1]
        notes.append(f"{cmd[2] if cmd[1] == '-m' else Path(cmd[1]).name} failed on stand-in results of this plan: {tail}")
    return time.perf_counter() - t


def stand_in_surface(mock: dict, exps) -> dict:
    """The mock surface with A chosen so that the middle budget's IsoFLOP minimum lies at the geometric
    centre of its planned sizes (alpha A / N^alpha = beta B / D^beta there), so the fit is the usual one."""
    import math
    budgets = sorted({e["budget_flops"] for e in exps})
    mid = [e for e in exps if e["budget_flops"] == budgets[len(budgets) // 2]]
    n = math.exp(sum(math.log(e["params"]) for e in mid) / len(mid))
    d = math.exp(sum(math.log(e["data_units"]) for e in mid) / len(mid))
    a, b = float(mock["alpha"]), float(mock["beta"])
    return dict(mock, A=b * float(mock["B"]) * n ** a / (a * d ** b))


def measure_pipeline(cfg: dict, plan: dict, machine: dict, *, cache_dir, plan_s: float, log=print) -> dict:
    """{"dag_s", "tail_s", "collect_s", "fit_s", "plot_s", "cached"} for this sweep on this machine."""
    from flops_fit.mock import simulate
    from flops_fit.runner import run_experiment
    exps = plan["experiments"]
    key = {"analysis": cfg["analysis"], "n": len(exps), "budgets": len({e["budget_flops"] for e in exps}),
           "cpu": machine["cpu"], "torch": machine["torch"], "flops_fit": __version__}
    path = Path(cache_dir) / f"pipeline-{stable_hash(key, 12)}.json"
    if path.is_file():
        try:
            out = read_json(path)
            return dict(out, dag_s=out["snakemake_s"] + plan_s, cached=True)
        except (OSError, ValueError, KeyError):
            pass
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ff-pipeline-") as tmp:
        tmp = Path(tmp)
        paths = []
        surface = stand_in_surface(cfg["mock"], exps)
        for e in exps:  # stand-in results: this plan's N and D, losses from a surface centred on the plan
            spec = copy.deepcopy(e)
            spec.update(mode="mock", mock=surface)
            run_experiment(spec, tmp / "runs" / e["id"])
            paths.append(str(tmp / "runs" / e["id"] / "metrics.json"))
        py, notes = sys.executable, []
        collect_s = _timed([py, "-m", "flops_fit.jobs.collect", "--out", str(tmp / "runs.csv"), *paths], notes)
        fit_s = _timed([py, "-m", "flops_fit.jobs.fit", "--runs", str(tmp / "runs.csv"), "--out-dir", str(tmp),
                        "--analysis", json.dumps(cfg["analysis"], sort_keys=True), "--unit", exps[0]["unit"]], notes)
        plot_s = 0.0 if notes else _timed([py, "-m", "flops_fit.jobs.plot", "--dir", str(tmp), "--out", str(tmp / "plots"),
                                           "--summary", "--table", str(tmp / "chinchilla_table.csv")], notes)
        snakemake_s = _timed([py, "-c", "import snakemake.api, snakemake.workflow"], notes)
    out = {"snakemake_s": snakemake_s, "collect_s": collect_s, "fit_s": fit_s, "plot_s": plot_s,
           "tail_s": collect_s + fit_s + plot_s, "notes": notes, "key": key, "cost_s": time.perf_counter() - t0}
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, out)
    for n in notes:
        log(f"pipeline: note: {n}")
    log(f"pipeline: collect {collect_s:.1f} s, fit {fit_s:.1f} s, plots {plot_s:.1f} s, snakemake start "
        f"{snakemake_s:.1f} s (measured in {out['cost_s']:.1f} s)")
    return dict(out, dag_s=snakemake_s + plan_s, cached=False)
