"""Write the sweep plan (rule plan): python scripts/plan.py --out plan.json [overrides...]"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.config import load_config
from flops_fit.stages import write_plan

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("overrides", nargs="*")
args = ap.parse_args()
write_plan(load_config(args.overrides), args.out)
