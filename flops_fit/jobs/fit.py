"""Fit the scaling laws (rule fit): python -m flops_fit.jobs.fit --runs runs.csv --out-dir DIR --analysis JSON
--unit U [--plan plan.json]: fits.json then records which plan (hash, number of experiments) the fit saw.
A fit that fails is recorded in fits.json (status failed, reason, fix; flops_fit.fit.failed) and exits 0."""
import argparse
import json
import sys

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

    def go():
        from flops_fit.fit.failed import record_failure
        from flops_fit.fit.table import FitError
        try:
            fit_scaling_laws(args.runs, args.out_dir, json.loads(args.analysis), unit=args.unit, plan=args.plan,
                             sweep_targets=json.loads(args.sweep_targets))
        except FitError as e:  # recorded, not raised: plots and forecast_vs_actual still run; the workflow ends != 0
            from flops_fit.stages import plan_info
            extra = {"plan": plan_info(json.loads(open(args.plan).read()), args.plan)} if args.plan else None
            fits = record_failure(args.runs, args.out_dir, str(e), unit=args.unit, extra=extra)
            print(f"flops-fit: error: {e}\nflops-fit: fix: {fits['fix']}", file=sys.stderr)

    script(go)


if __name__ == "__main__":
    main()
