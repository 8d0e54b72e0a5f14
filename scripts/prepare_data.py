"""One-time data preparation (rule prepare_data): python scripts/prepare_data.py --plugin P --cfg JSON --out DIR"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse
import json

from flops_fit.cli import script
from flops_fit.stages import prepare_data

ap = argparse.ArgumentParser()
ap.add_argument("--plugin", required=True)
ap.add_argument("--cfg", required=True, help="the dataset config as JSON")
ap.add_argument("--out", required=True)
args = ap.parse_args()
script(lambda: print(json.dumps(prepare_data(args.plugin, json.loads(args.cfg), args.out), indent=1)[:2000]))
