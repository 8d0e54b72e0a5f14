"""Plan one round of one budget of a steered sweep (checkpoint plan_round, workflow/rules/adaptive.smk).

python scripts/plan_round.py --budget 1e12 --round 0 --out results/<sweep>/adaptive/C1e12/round0.json \
    [overrides...] --results runs/<id>/metrics.json ...
"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse
import sys

from flops_fit.adaptive.rounds import plan_round
from flops_fit.config import ConfigError, load_config
from flops_fit.io import atomic_write_json
from flops_fit.plan import PlanContext
from flops_fit.plugins import PluginError
from flops_fit.results import ResultsError, read_metrics

ap = argparse.ArgumentParser()
ap.add_argument("--budget", type=float, required=True)
ap.add_argument("--round", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("overrides", nargs="*")
ap.add_argument("--results", nargs="*", default=[], help="metrics.json files this round is based on")
args = ap.parse_args()
try:
    ctx = PlanContext(load_config(args.overrides))
    rd = plan_round(ctx, args.budget, args.round, [read_metrics(p) for p in args.results])
except (ConfigError, PluginError, ResultsError, ValueError) as e:
    sys.exit(f"error: {e}")
ctx.table.save()
atomic_write_json(args.out, rd)
print(f"budget {args.budget:g} round {args.round} ({rd['planned_by']}): {len(rd['experiments'])} experiment(s), "
      f"{'done' if rd['done'] else 'another round after these'}; {rd['decision']}; based on "
      f"{len(rd['based_on'])} result(s)")
for d in rd["dropped"]:
    print(f"dropped: target N {d['target_params']:.3g}: {d['reason']}")
