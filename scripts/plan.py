"""Write the sweep plan (rule plan): python scripts/plan.py --from STASH --hash H --out plan.json

STASH is the plan the workflow's DAG was built from (written at parse time by workflow/rules/common.smk), so
plan.json never comes from a config edited since. ``ff-plan`` is the command-line way to plan."""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.cli import script
from flops_fit.config import stable_hash
from flops_fit.io import read_json_or_explain
from flops_fit.stages import record_plan

ap = argparse.ArgumentParser()
ap.add_argument("--from", dest="src", required=True, help="the stashed plan of the DAG")
ap.add_argument("--hash", required=True, help="its expected hash")
ap.add_argument("--out", required=True)
args = ap.parse_args()


def go():
    p = read_json_or_explain(args.src, "rerun snakemake (it writes the plan again)")
    if stable_hash(p) != args.hash:
        raise ValueError(f"{args.src}: plan hash {stable_hash(p)} is not the DAG's {args.hash}; rerun snakemake")
    record_plan(p, args.out, log=None)
    print(f"wrote {args.out}: {len(p['experiments'])} experiments, plan {args.hash}")


script(go)
