"""Train one experiment (rule train_run). Launch with python, or `accelerate launch [--num_processes N]` for several.

python scripts/train_run.py --spec SPEC_JSON --out results/<sweep>/runs/<id> [--runtime JSON] [--threads N]
"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse
import json
import sys

from flops_fit.forecast.actual import segment_timer
from flops_fit.runner import load_spec, run_experiment

ap = argparse.ArgumentParser()
ap.add_argument("--spec", required=True, help="experiment spec: JSON string or file")
ap.add_argument("--runtime", default="{}", help="bookkeeping options (logging, checkpoints) merged into training")
ap.add_argument("--out", required=True)
ap.add_argument("--threads", type=int, default=None)
args = ap.parse_args()
spec = load_spec(args.spec)
spec["training"].update(json.loads(args.runtime))
with segment_timer(args.out):  # runs/<id>/timing.jsonl: this process's wall time, for forecast_vs_actual
    m = run_experiment(spec, args.out, threads=args.threads)
print(f"{m['id']}: {m['status']} final_loss={m['final_loss']} steps={m['steps']} {m['unit']}={m['data_units']} "
      f"wall={m['wall_s']}s device={m['device']}", file=sys.stderr)
