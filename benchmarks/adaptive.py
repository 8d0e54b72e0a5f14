"""Sweeps that steer themselves, on mock sweeps with a prior wrong by 8x in tokens per parameter.

    python benchmarks/adaptive.py [--seeds 30] [--extend 3] [--replicates 2]

The mock preset (Chinchilla's surface, budgets 1e17..1e21, planner.sizes=7) with planner.spread=2 and a prior of
r_true x 8 (too few parameters) or r_true / 8 (too many), r_true being the surface's compute-optimal tokens per
parameter at these budgets (geometric mean). For each noise seed (config `seed`: every run's seed changes) it runs
  static     the prior grid (flops_fit.plan.plan, the static workflow path);
  +extend    the static sweep with planner.extend (the steered rounds, adaptive off);
  adaptive   planner.adaptive (k = 2) with planner.extend;
and, for reference, the static sweep at the right prior. Every sweep is planned and run in-process with the
functions the workflow uses (plan / plan_round, the runner's mock, the fits' analyze). It prints, per design:
how many budgets have an interior IsoFLOP vertex (Approach 2's parabola in log N has its vertex inside the
sizes and the fits' edge test calls it `interior`, i.e. at least a grid step from either edge),
the median relative error of a (Approach 2 and 3), and the total compute (every run trained). Then, with
planner.replicates, the noise measured from the replicates against the mock's true noise.
"""
import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flops_fit.adaptive.driver import run_steered  # noqa: E402
from flops_fit.config import load_config  # noqa: E402
from flops_fit.fit import analyze  # noqa: E402
from flops_fit.fit.edge import edge_position  # noqa: E402
from flops_fit.fit.result import SURFACE_KEYS, closed_form_optimum  # noqa: E402
from flops_fit.mock import true_exponents  # noqa: E402
from flops_fit.plan import plan, sweep_dir  # noqa: E402
from flops_fit.results import collect  # noqa: E402
from flops_fit.runner import run_experiment  # noqa: E402


def r_true(cfg) -> float:
    """Compute-optimal D/N of the mock surface at the sweep's budgets (C = 6ND), geometric mean."""
    m = cfg["mock"]
    surf = [m[k] for k in SURFACE_KEYS]
    rs = [(C / 6) / closed_form_optimum(*surf, C, 6.0)[0] ** 2 for C in cfg["budgets"]["values"]]
    return float(np.exp(np.mean(np.log(rs))))


def sweep(root, design, r, seed, extend, replicates):
    ov = ["preset=mock", f"results_dir={root}", f"sweep={design}-r{r:.4g}-s{seed}-rep{replicates}", f"seed={seed}",
          f"planner.tokens_per_param={r}", "planner.spread=2", f"planner.replicates={replicates}"]
    if design == "static":
        cfg = load_config(ov)
        sdir = sweep_dir(cfg)
        metrics = [run_experiment(s, sdir / "runs" / s["id"]) for s in plan(cfg)["experiments"]]
    else:
        ov += [f"planner.extend={extend}", f"planner.adaptive={'true' if design == 'adaptive' else 'false'}"]
        cfg = load_config(ov)
        sdir = sweep_dir(cfg)
        metrics = run_steered(cfg)["metrics"]
    df = collect([sdir / "runs" / m["id"] / "metrics.json" for m in metrics])
    return cfg, metrics, df


def score(cfg, metrics, df, k):
    truth = true_exponents(cfg["mock"])["a"]
    compute = sum(m["flops_executed"] for m in metrics)
    try:
        an = analyze(df, bootstrap=0, targets=())
    except Exception:   # too few usable budgets for any fit: every vertex off its grid
        return dict(interior=0, interior_late=0, err2=np.nan, err3=np.nan, compute=compute, noise=np.nan,
                    noise_measured=False)
    interior = []
    runs = an.runs
    for b in an.approach2.budgets:
        x = np.log10(runs.loc[runs["budget"] == b.budget, "N"].to_numpy(float))
        ok = b.in_n.status == "ok" and edge_position(b.in_n.x_star, x) == "interior"
        interior.append(ok)
    a2 = an.approach2.n_star.exponent if an.approach2.status == "ok" else np.nan
    a3 = an.approach3.a if an.approach3.status in ("ok", "hit_bound") else np.nan
    return dict(interior=sum(interior), interior_late=sum(interior[k:]), err2=abs(a2 - truth) / truth,
                err3=abs(a3 - truth) / truth, compute=compute, noise=an.noise_sigma,
                noise_measured=bool(an.noise_method))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--extend", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--noise-only", action="store_true", help="only the measured-noise part")
    ap.add_argument("--root", help="results folder (reuse one to reuse its measured model sizes)")
    args = ap.parse_args()
    t0 = time.time()
    root = args.root or tempfile.mkdtemp(prefix="ff-adaptive-bench-")
    base = load_config(["preset=mock"])
    rt, nb, k = r_true(base), len(base["budgets"]["values"]), 2
    print(f"mock preset: {nb} budgets {base['budgets']['values']}, planner.sizes={base['planner']['sizes']}, "
          f"spread 2, noise {base['mock']['noise']}, true a = {true_exponents(base['mock'])['a']:.4f}, "
          f"r_true = {rt:.3g} tokens/param; {args.seeds} noise seeds; extend={args.extend}, k={k}")
    rows = []
    cases = [("right prior", rt, ("static",)), ("prior r x 8 (N too small)", rt * 8, ("static", "extend", "adaptive")),
             ("prior r / 8 (N too large)", rt / 8, ("static", "extend", "adaptive"))]
    for label, r, designs in ([] if args.noise_only else cases):
        for design in designs:
            res = [score(*sweep(root, design, r, s, args.extend, 0)[:3], k) for s in range(args.seeds)]
            rows.append((label, design, res))
    print(f"\n{'prior':<27} {'design':<9} {'interior vertex':>16} {'after k':>9} {'all-late seeds':>14} "
          f"{'med err a (A2)':>14} {'med err a (A3)':>14} {'compute (FLOPs)':>16} {'vs static':>9}")
    static_compute = {}
    for label, design, res in rows:
        inter = np.mean([x["interior"] for x in res])
        late = np.mean([x["interior_late"] for x in res])
        all_late = sum(x["interior_late"] == nb - k for x in res)
        e2, e3 = (np.array([x[key] for x in res]) for key in ("err2", "err3"))
        comp = np.mean([x["compute"] for x in res])
        if design == "static":
            static_compute[label] = comp
        fails = int(np.isnan(e2).sum())
        med2 = f"{100 * np.nanmedian(e2):.1f}%" + (f" ({fails} n/a)" if fails else "") if fails < len(e2) else "n/a"
        print(f"{label:<27} {design:<9} {inter:>10.2f} / {nb} {late:>5.2f}/{nb - k} {all_late:>8}/{len(res)} "
              f"{med2:>14} {100 * np.nanmedian(e3):>13.1f}% {comp:>16.4g} {comp / static_compute[label]:>8.2f}x")
    print("interior vertex: mean over seeds of the budgets whose Approach 2 vertex is ok and `interior` by the fits' "
          "edge test; after k: the same for budgets k+1..; all-late seeds: seeds where every budget after the "
          f"first k is interior. med err a: median |a_hat - a| / a over seeds (n/a: fewer than 2 usable budgets).")

    # measured noise from replicates
    if args.replicates:
        true = base["mock"]["noise"]
        for label, r, design in (("prior r x 8", rt * 8, "adaptive"), ("right prior", rt, "static")):
            res = [score(*sweep(root, design, r, s, args.extend, args.replicates)[:3], k) for s in range(args.seeds)]
            sig = np.array([x["noise"] for x in res])
            measured = sum(x["noise_measured"] for x in res)
            print(f"\nreplicates={args.replicates} ({design}, {label}): measured noise mean {sig.mean():.5f} vs true "
                  f"{true:.5f} ({100 * (sig.mean() / true - 1):+.1f}%), per-seed sd {sig.std(ddof=1):.5f} "
                  f"({100 * sig.std(ddof=1) / true:.0f}% of the truth), range [{sig.min():.5f}, {sig.max():.5f}], "
                  f"{args.seeds} seeds ({measured} measured from replicates)")
    print(f"\n{time.time() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
