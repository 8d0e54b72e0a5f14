"""Benchmark: plan a 1,000-experiment sweep and build the Snakemake DAG for it (`snakemake -n`).

Target: <= 10 s on a 2-core CPU machine. Prints a table with cold (no size cache) and warm
(size/FLOP cache in results/.cache filled) timings. Run: python benchmarks/plan_dag.py
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BUDGETS = np.logspace(11, 14, 106)
OVERRIDES = ["mode=mock", "planner.sizes=10", "planner.min_steps=10",
             "budgets.values=[" + ",".join(f"{b:.4g}" for b in BUDGETS) + "]"]


def timed(cmd, cwd):
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, text=True, capture_output=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return time.perf_counter() - t, r.stdout + r.stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp)
        for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
            src = REPO / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, wf / name)
        rows = []
        for label in ("cold", "warm"):
            t_dag, out = timed([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--quiet", "rules",
                                "--config", "overrides=" + " ".join(OVERRIDES)], wf)
            t_plan, out = timed(["ff-plan", *OVERRIDES, "--out", str(wf / "plan.json")], wf)
            n = int(out.split(" experiments")[0].split()[-1])
            rows.append((label, n, t_plan, t_dag))
        print(f"{'cache':<6} {'experiments':>11} {'ff-plan (s)':>12} {'snakemake -n (s)':>17}")
        for label, n, tp, td in rows:
            print(f"{label:<6} {n:>11} {tp:>12.1f} {td:>17.1f}")
        print("cold: empty size/FLOP cache (results/.cache). snakemake -n runs first and includes its own planning;")
        print("ff-plan also prints the 1,000-row table and writes plan.json.")


if __name__ == "__main__":
    main()
