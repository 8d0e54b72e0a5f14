"""Collect metrics.json files into runs.csv (rule collect): python scripts/collect.py --out runs.csv FILES..."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.cli import script
from flops_fit.results import write_runs_csv

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("metrics", nargs="+")
args = ap.parse_args()


def go():
    df = write_runs_csv(args.metrics, args.out)
    print(f"collected {len(df)} runs ({(df.status == 'completed').sum()} completed) into {args.out}")


script(go)
