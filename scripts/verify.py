"""Train one run at the predicted optimum of a target budget and compare (rule verify):
python scripts/verify.py --fits results/<sweep>/fits.json --out results/<sweep>/verify.json [Hydra overrides...]"""
import _repo  # noqa: F401  (puts the repo on sys.path: flops_fit and plugins import without an install)
import argparse
import json
from pathlib import Path

from flops_fit.cli import script

ap = argparse.ArgumentParser()
ap.add_argument("--fits", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--threads", type=int, default=None)
ap.add_argument("overrides", nargs="*", help="the workflow's Hydra overrides (target=<C> among them)")
args = ap.parse_args()


def go():
    from flops_fit.config import load_config
    from flops_fit.predict.verify import run_verify
    cfg = load_config(args.overrides)
    if cfg.get("target") is None:
        raise ValueError("verify needs a target budget: snakemake verify --config target=<C in FLOPs>")
    sweep = Path(args.fits).parent
    v = run_verify(cfg, json.loads(Path(args.fits).read_text()), float(cfg["target"]), sweep, args.out,
                   threads=args.threads)
    print(f"verify C={v['C']:.3g}: N={v['N']:.3g} D={v['D']:.3g} predicted {v['predicted']:.4g} "
          f"[{v['lo']:.4g}, {v['hi']:.4g}], actual {v['actual']}, inside: {v['inside']}")
    from flops_fit.plot import theme
    from flops_fit.plot.data import load_sweep
    from flops_fit.plot.holdout import plot_holdout
    theme.apply()
    sw = load_sweep(sweep)
    plot_holdout(sw, sweep / "verify", theme.budget_colors(sw.runs["budget"].dropna().unique()))
    front = sweep / "report" / "front.rst"
    if front.is_file():   # the front page shows the comparison (its rule does not wait for a verification)
        from flops_fit.report.front import write_front_page
        write_front_page(sweep, front)


script(go)
