"""Seconds per experiment through Slurm, with and without job groups, against a local run (not in CI).

Needs root (or a running Slurm with a partition `cpu`): starts the one-node test Slurm of
tests/slurm_local.py. Runs, each in a fresh results folder of a workflow copy:
  15-run mock sweep (preset=quick, cluster.mock_local=false): local --cores 2 | Slurm | Slurm grouped by 5
  tiny real sweep (the 2 budgets x 3 one-layer GPTs of tests/test_slurm.py, up to collect): local --cores 2 |
  Slurm | grouped by 3

python benchmarks/slurm_overhead.py [--only mock|real]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from slurm_local import ensure_slurm  # noqa: E402

from flops_fit.forecast.machine import cpu_model  # noqa: E402

MOCK = ["preset=quick", "mode=mock", "cluster__mock_local=false"]
TINY = ["overrides=budgets.values=[4e9,8e9] planner.sizes=3 planner.spread=2 planner.min_steps=50 "
        "model.kwargs.n_layer=1 dataset.seq_len=32 training.batch_size=8 training.ckpt_every_steps=50"]


def copy_workflow(dst: Path, partition: str) -> Path:
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst / name)
    prof = dst / "profiles" / "slurm-cpu" / "config.yaml"
    prof.write_text(prof.read_text().replace('slurm_partition: ""', f'slurm_partition: "{partition}"'))
    return dst


def timed(wf: Path, args: list) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=wf, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"error: snakemake {' '.join(args)} failed:\n{r.stdout[-3000:]}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["mock", "real"])
    a = ap.parse_args()
    partition = ensure_slurm()
    cpu = cpu_model()
    print(f"CPU: {cpu}, {os.cpu_count()} cores; load average at start: {os.getloadavg()}")
    prof = ["--profile", "profiles/slurm-cpu"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp), partition)
        # the real sweep stops after collect: its 6 runs, not the fit, are what is timed
        sweeps = [("mock", "15-run mock sweep", MOCK, 15, 5, []), ("real", "tiny real sweep", TINY, 6, 3, ["--until", "collect"])]
        for key, name, cfg, n, k, until in sweeps:
            if a.only and key != a.only:
                continue
            t_local = timed(wf, [*until, "--cores", "2", "--config", *cfg, f"results_dir={tmp}/{key}-local"])
            t_slurm = timed(wf, [*until, *prof, "--config", *cfg, f"results_dir={tmp}/{key}-slurm"])
            t_group = timed(wf, [*until, *prof, "--groups", "train_run=train", "--group-components", f"train={k}",
                                 "--cores", "2", "--config", *cfg, f"results_dir={tmp}/{key}-group"])
            rows.append((name, n, t_local, t_slurm, t_group, k))
            print(f"  {name}: local {t_local:.0f} s, Slurm {t_slurm:.0f} s, grouped {t_group:.0f} s "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    print("\n| sweep | runs | local --cores 2 | Slurm, 1 job per run | Slurm, groups of k | "
          "s/run local | s/run Slurm | s/run grouped | Slurm / grouped |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, n, tl, ts, tg, k in rows:
        print(f"| {name} | {n} | {tl:.0f} s | {ts:.0f} s | {tg:.0f} s (k={k}) | {tl / n:.1f} | {ts / n:.1f} | "
              f"{tg / n:.1f} | {ts / tg:.2f}x |")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
