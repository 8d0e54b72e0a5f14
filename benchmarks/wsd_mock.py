"""Mock WSD-S sweeps against the cosine grid on the same cells: compute, and the error of a (N* ~ C^a).

    python benchmarks/wsd_mock.py [--seeds 30]

The project's planner plans the mock preset (Chinchilla's surface, config/mock/chinchilla.yaml) at 5 budgets 2x apart
(1e18 .. 1.6e19) twice: planner.schedule=wsd, and planner.ladder=true (the same cells as cosine runs). Per seed, every
cosine cell's loss is the surface times exp(noise z); every WSD cell's loss is flops_fit.wsd.mock.cell_loss: the
reducible loss raised by the cooldown penalty p, times exp(noise z') (independent draws). Scenarios:
- "uniform p": p = planner.cooldown.mock_penalty (0.01) for every cell. A penalty proportional to L - E scales A and B
  alike, so it moves the loss but not the optimum: a is unbiased by construction, only noise and design differ.
- "short decays": p = 0.03 x sqrt(median decay / decay): cells with short decays (the wide models') lose more, the
  under-cooling the floor guards against; this one can bias a.
Approach 2 (IsoFLOP parabolas) and Approach 3 (the surface) are the project's fits (flops_fit.fit). Prints the
FLOP ratio total_flops / cosine_grid_flops and a table of |a_hat - a_true| (median, p90) and the paired mean of
a_wsd - a_cosine, with a bootstrap 95 % interval over seeds.
"""
import argparse
import tempfile
import time

import numpy as np
import pandas as pd

from flops_fit.config import load_config
from flops_fit.fit import fit_approach2, fit_surface, load_runs
from flops_fit.mock import true_exponents
from flops_fit.plan import plan
from flops_fit.wsd.mock import cell_loss

BUDGETS = "budgets.values=[1e18,2e18,4e18,8e18,1.6e19]"


def plans(results):
    base = ["preset=mock", f"results_dir={results}", BUDGETS]
    wsd = plan(load_config(base + ["planner.schedule=wsd"]))
    cos = plan(load_config(base + ["planner.ladder=true"]))
    return load_config(base)["mock"], wsd, cos


def table(specs, losses):
    return pd.DataFrame({"id": [e["id"] for e in specs], "N": [e["params"] for e in specs],
                         "D": [e["data_units"] for e in specs], "loss": losses,
                         "C": [e["flops_planned"] for e in specs], "budget": [e["budget_flops"] for e in specs]})


def fit_a(df):
    runs = load_runs(df)
    f2 = fit_approach2(runs)
    f3 = fit_surface(runs["N"], runs["D"], runs["loss"], runs["C"])
    return (f2.n_star.exponent if f2.status == "ok" else np.nan), f3.a


def cosine_losses(mock, specs, noise, rng):
    from flops_fit.mock import surface_loss
    return [float(surface_loss(e["params"], e["data_units"], **mock)) * np.exp(noise * rng.standard_normal())
            for e in specs]


def wsd_losses(mock, specs, noise, rng, scenario):
    med = np.median([e["wsd"]["decay_steps"] for e in specs])
    out = []
    for e in specs:
        p = 0.01 if scenario == "uniform p" else 0.03 * np.sqrt(med / e["wsd"]["decay_steps"])
        spec = dict(e, mock=dict(mock, noise=noise), wsd=dict(e["wsd"], mock_penalty=p, min_steps=1))
        out.append(cell_loss(spec, rng.standard_normal()))
    return out


def boot_ci(x, rng, n=2000):
    x = np.asarray(x)[np.isfinite(x)]
    means = [rng.choice(x, len(x)).mean() for _ in range(n)]
    return np.percentile(means, [2.5, 97.5])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=30)
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as results:
        mock, wsd, cos = plans(results)
    a_true = true_exponents(mock)["a"]
    w, c = wsd["experiments"], cos["experiments"]
    assert [(e["budget_flops"], e["params"]) for e in w] == [(e["budget_flops"], e["params"]) for e in c]
    s = wsd["wsd"]
    print(f"{len(w)} cells on {len({str(e['size']) for e in w})} sizes, budgets 1e18..1.6e19 2x apart; "
          f"total_flops / cosine_grid_flops = {s['total_flops']:.3g} / {s['cosine_grid_flops']:.3g} = "
          f"{s['ratio']:.3f} (floor 1 - 1/r = {s['floor']:.2f}); true a = {a_true:.4f}; {args.seeds} seeds\n")
    print("| noise | WSD penalty | approach | cosine |a err| median | p90 | WSD |a err| median | p90 | "
          "a_wsd - a_cos mean [95 % CI] |")
    print("|---|---|---|---|---|---|---|---|")
    rng_ci = np.random.default_rng(0)
    for noise, scenario in ((0.005, "uniform p"), (0.005, "short decays"), (0.02, "uniform p")):
        ac, aw = [], []
        for seed in range(args.seeds):
            rng = np.random.default_rng([seed, int(noise * 1e4)])
            ac.append(fit_a(table(c, cosine_losses(mock, c, noise, rng))))
            aw.append(fit_a(table(w, wsd_losses(mock, w, noise, rng, scenario))))
        ac, aw = np.array(ac), np.array(aw)
        for j, name in enumerate(("A2", "A3")):
            ec, ew, d = np.abs(ac[:, j] - a_true), np.abs(aw[:, j] - a_true), aw[:, j] - ac[:, j]
            q = lambda e, p: np.nanpercentile(e, p)  # noqa: E731
            lo, hi = boot_ci(d, rng_ci)
            print(f"| {noise} | {scenario} | {name} | {q(ec, 50):.4f} | {q(ec, 90):.4f} | {q(ew, 50):.4f} | "
                  f"{q(ew, 90):.4f} | {np.nanmean(d):+.4f} [{lo:+.4f}, {hi:+.4f}] |")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
