"""Does the precision forecast say what a user will see? Forecast sd of a (N* ~ C^a) and of N*(target)
against the spread over >= 100 mock sweeps of the same plan with different noise seeds.

    python benchmarks/forecast_precision.py [--sweeps 100] [--sims 200] [--case '0.5 %']

Each mock sweep goes through the whole in-process pipeline: config with seed=s (so every experiment's
noise seed changes, as in a user's sweep), plan, flops_fit.runner (mock mode writes metrics.json),
runs.csv, and the analysis (analysis.bootstrap=0: the point estimates do not depend on it). The forecast
is made once per case with its own Monte Carlo seed (flops_fit.forecast.precision, prior = the mock
surface, or the fits.json of one pilot sweep). Claim: each approach's forecast sd of a is within 25 % of
the observed spread. The Monte Carlo error of an sd from n draws is ~1/sqrt(2(n-1)) (7 % at n=100).
"""
import argparse
import platform
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
import psutil

from flops_fit.config import load_config
from flops_fit.forecast.precision import forecast_precision
from flops_fit.plan import plan, sweep_dir
from flops_fit.results import write_runs_csv
from flops_fit.runner import run_experiment
from flops_fit.stages import fit_scaling_laws

CASES = {
    "mock 5x7, 0.5 % noise": ["preset=mock"],
    "mock 5x7, 2 % noise": ["preset=mock", "mock.noise=0.02"],
    "mock 3x5, 1 % noise": ["preset=mock", "budgets.values=[1e18,1e19,1e20]", "planner.sizes=5", "mock.noise=0.01"],
}


def mock_sweep(root, name, overrides):
    cfg = load_config(["mode=mock", f"results_dir={root}", f"sweep={name}", "analysis.bootstrap=0", *overrides])
    sdir = sweep_dir(cfg)
    paths = []
    for spec in plan(cfg)["experiments"]:
        run_experiment(spec, sdir / "runs" / spec["id"])
        paths.append(sdir / "runs" / spec["id"] / "metrics.json")
    write_runs_csv(paths, sdir / "runs.csv")
    an = fit_scaling_laws(sdir / "runs.csv", sdir, cfg["analysis"], quiet=True)
    t = an.targets[0]
    nstar = {r.approach: r.n_star for r in an.table if r.budget == t}
    return {"approach2": an.approach2.n_star.exponent if an.approach2.status == "ok" else np.nan,
            "approach3": an.approach3.a if an.approach3.status in ("ok", "hit_bound") else np.nan,
            "n2": nstar.get("approach2", np.nan), "n3": nstar.get("approach3", np.nan)}, sdir / "fits.json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweeps", type=int, default=100)
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--case", default="", help="only the cases whose name contains this, e.g. '0.5 %%'")
    args = ap.parse_args()
    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    print(f"# {cpu or platform.processor()}; load average at start {[round(x, 2) for x in psutil.getloadavg()]}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, ov) in enumerate(CASES.items()):
            if args.case not in name:
                continue
            t0 = time.time()
            obs = pd.DataFrame([mock_sweep(tmp, f"c{i}s{s}", ov + [f"seed={s}"])[0]
                                for s in range(1, args.sweeps + 1)])
            t_obs = time.time() - t0
            cfg = load_config(["mode=mock", *ov])
            t0 = time.time()
            fc = forecast_precision(cfg, plan(cfg), n_sims=args.sims, seed=987654)
            t_fc = time.time() - t0
            _, pilot = mock_sweep(tmp, f"c{i}pilot", ov + ["seed=999"])
            fc_pilot = forecast_precision(cfg, plan(cfg), prior=str(pilot), n_sims=args.sims, seed=987654)
            for k, nk in (("approach2", "n2"), ("approach3", "n3")):
                spread = float(np.nanstd(obs[k], ddof=1))
                vals = obs[k].dropna().to_numpy()   # the observed sd's own sampling error: resample the sweeps
                boot = np.random.default_rng(0).choice(vals, (2000, len(vals))).std(axis=1, ddof=1)
                b_lo, b_hi = np.percentile(boot, [2.5, 97.5])
                nsd = float(np.nanstd(np.log(obs[nk]), ddof=1))
                f, fp = fc["planned"]["approaches"][k], fc_pilot["planned"]["approaches"][k]
                rows.append({"case": name, "approach": k, "sweeps": int(obs[k].notna().sum()),
                             "observed sd(a)": spread, "forecast sd(a)": f["a_sd"], "ratio": f["a_sd"] / spread,
                             "ratio 95% (sweeps resampled)": f"{f['a_sd'] / b_hi:.2f}-{f['a_sd'] / b_lo:.2f}",
                             "pilot-prior forecast": fp["a_sd"], "pilot ratio": fp["a_sd"] / spread,
                             "CR bound": fc["planned"]["cramer_rao"]["a_sd"],
                             "observed sd ln N*": nsd, "forecast sd ln N*": f["n_star"][0]["ln_sd"],
                             "N* ratio": f["n_star"][0]["ln_sd"] / nsd,
                             "within 25 %": abs(f["a_sd"] / spread - 1) <= 0.25,
                             "s obs/forecast": f"{t_obs:.0f}/{t_fc:.0f}"})
            print(f"# {name}: {args.sweeps} sweeps in {t_obs:.0f} s, forecast ({args.sims} sims) in {t_fc:.0f} s",
                  flush=True)
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))
    print(f"# load average at end {[round(x, 2) for x in psutil.getloadavg()]}")
    print("# claim (forecast sd of a within 25 % of the observed spread):",
          "MET" if df["within 25 %"].all() else "NOT MET")


if __name__ == "__main__":
    main()
