"""Collect metrics.json files into runs.csv (rule collect): python -m flops_fit.jobs.collect --out runs.csv FILES..."""
import argparse

from flops_fit.cli import script
from flops_fit.results import write_runs_csv


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("metrics", nargs="+")
    args = ap.parse_args(argv)

    def go():
        df = write_runs_csv(args.metrics, args.out)
        print(f"collected {len(df)} runs ({(df.status == 'completed').sum()} completed) into {args.out}")

    script(go)


if __name__ == "__main__":
    main()
