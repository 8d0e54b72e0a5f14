"""Fit the scaling laws (rule fit): python -m flops_fit.jobs.fit --runs runs.csv --out-dir DIR --analysis JSON
--unit U [--plan plan.json]: fits.json then records which plan (hash, number of experiments) the fit saw."""
import argparse
import json

from flops_fit.cli import script
from flops_fit.stages import fit_scaling_laws


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--analysis", required=True, help="the analysis config as JSON")
    ap.add_argument("--unit", default="tokens")
    ap.add_argument("--plan", help="the plan.json the runs came from (recorded in fits.json)")
    ap.add_argument("--sweep-targets", default="[]",
                    help="the sweep's budgets.targets as JSON (used when analysis.targets is null)")
    args = ap.parse_args(argv)
    script(lambda: fit_scaling_laws(args.runs, args.out_dir, json.loads(args.analysis), unit=args.unit,
                                    plan=args.plan, sweep_targets=json.loads(args.sweep_targets)))


if __name__ == "__main__":
    main()
