"""Draw the figures (rule plot): python scripts/plot.py --dir results/<sweep> --out results/<sweep>/plots"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse

from flops_fit.stages import visualize

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--out", required=True)
args = ap.parse_args()
for f in visualize(args.dir, args.out):
    print(f"wrote {f}")
