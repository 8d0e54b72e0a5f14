"""The LR calibration's Snakemake steps (workflow/rules/lr.smk); ``ff-calibrate`` does it all in one process.

python scripts/calibrate_lr.py record --from STASH --hash H --out lr_calibration_plan.json
python scripts/calibrate_lr.py fit --plan lr_calibration_plan.json --runs DIR --out lr_calibration.json --figure PNG
"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.cli import script
from flops_fit.config import stable_hash
from flops_fit.io import atomic_write_json, read_json_or_explain

ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="step", required=True)
rec = sub.add_parser("record")
rec.add_argument("--from", dest="src", required=True)
rec.add_argument("--hash", required=True)
rec.add_argument("--out", required=True)
fit = sub.add_parser("fit")
fit.add_argument("--plan", required=True)
fit.add_argument("--runs", required=True)
fit.add_argument("--out", required=True)
fit.add_argument("--figure")
args = ap.parse_args()


def go():
    if args.step == "record":
        p = read_json_or_explain(args.src, "rerun snakemake (it writes the calibration plan again)")
        if stable_hash(p) != args.hash:
            raise ValueError(f"{args.src}: plan hash {stable_hash(p)} is not the DAG's {args.hash}; rerun snakemake")
        atomic_write_json(args.out, p)
        from flops_fit.lr.grid import format_calibration_plan
        print(format_calibration_plan(p))
        return
    from flops_fit.lr.stage import fit_runs, summary
    cal_plan = read_json_or_explain(args.plan, "rerun `snakemake calibrate_lr`")
    print(summary(fit_runs(cal_plan, args.runs, args.out, args.figure)))


script(go)
