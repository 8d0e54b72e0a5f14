"""Known truth for flops_fit.predict: do nominal 95 % intervals for held-out larger runs hold ~95 % of them, and does
the out-of-sample selection pick the true form?

Per seed: a 5 x 7 IsoFLOP grid (budgets 1e17..1e21, 7 sizes from x1/4 to x4 around the true optimum, D = C / 6N)
with 1 % log-normal noise is fitted; the held-out runs are 7 sizes at 1e22 (a decade beyond, fresh noise).
Each candidate law predicts them with its interval (its own rollout misfit tau included); the selected law too,
and its N* interval at 1e22 (with N*'s misfit tau_N from the rollout over budgets) is checked against the true N*.

    python benchmarks/predict_coverage.py --seeds 200           # ~0.5 s per seed and surface on a 2-core CPU
"""
import argparse
import os
import time

import numpy as np
import pandas as pd

from flops_fit.fit.compute import ComputeModel
from flops_fit.fit.result import closed_form_optimum, surface_loss
from flops_fit.predict import evaluate_laws, loss_interval, optimum_interval
from flops_fit.predict.rollout import distance
from flops_fit.predict.vertices import summarize_vertices, vertex_rollout

SURFACES = {   # E, A, B, alpha, beta
    "chinchilla (alpha - beta = 0.06)": (1.69, 406.4, 410.7, 0.34, 0.28),
    "symmetric (alpha = beta = 0.31)": (1.69, 406.4 * 1e9 ** -0.03, 410.7 * 2e10 ** 0.03, 0.31, 0.31),
    "asymmetric (alpha - beta = 0.30)": (1.69, 11220.0, 63.4, 0.50, 0.20),
}
BUDGETS = (1e17, 1e18, 1e19, 1e20, 1e21)
HELD = (1e22,)


def true_optimum(E, A, B, al, be, C):
    return closed_form_optimum(E, A, B, al, be, C, 6.0)[0]


def grid(truth, sigma, seed, budgets=BUDGETS, sizes=7, spread=4.0):
    E, A, B, al, be = truth
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        for N in true_optimum(*truth, C) * np.geomspace(1 / spread, spread, sizes):
            D = C / (6 * N)
            L = surface_loss(N, D, E, A, B, al, be) * np.exp(sigma * rng.standard_normal())
            rows.append({"N": N, "D": D, "C": C, "budget": C, "loss": L})
    return pd.DataFrame(rows)


def one_seed(truth, sigma, seed):
    train = grid(truth, sigma, seed)
    held = grid(truth, sigma, 10_000 + seed, budgets=HELD)
    ev = evaluate_laws(train)
    dist = distance(train, held["N"], held["D"], held["C"])
    out = {}
    for name, v in ev["laws"].items():
        iv = loss_interval(v["fit"], held["N"], held["D"], tau=v["tau"], distance=dist)
        out[name] = np.mean((held["loss"] >= iv["lo"]) & (held["loss"] <= iv["hi"]))
    sel = ev["selected"]
    v = ev["laws"][sel]
    iv = loss_interval(v["fit"], held["N"], held["D"], tau=v["tau"], distance=dist)
    out["selected"] = np.mean((held["loss"] >= iv["lo"]) & (held["loss"] <= iv["hi"]))
    out["selected_abs_err"] = float(np.median(np.abs(iv["predicted"] / held["loss"] - 1)))
    compute = ComputeModel.constant(6.0)
    vs = summarize_vertices(vertex_rollout(train, v["fit"].law, compute))
    tau_n = (vs["methods"].get("law") or {}).get("tau_n", 0.0)
    opt = optimum_interval(v["fit"], compute, list(HELD), tau_n=tau_n)
    n_true = true_optimum(*truth, HELD[0])
    out["nstar_covered"] = float(opt["n_star"]["lo"][0] <= n_true <= opt["n_star"]["hi"][0])
    out["sel_name"] = sel
    out["sel_five"] = float(not v["fit"].law.shared)
    return out


def markdown(df) -> str:
    """A Markdown table (without pandas' optional tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    rows = [[str(v) for v in r] for r in df.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(r) + " |" for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--surfaces", default="all")
    args = ap.parse_args()
    t0 = time.time()
    rows = []
    for sname, truth in SURFACES.items():
        if args.surfaces != "all" and args.surfaces not in sname:
            continue
        res = [one_seed(truth, args.sigma, s) for s in range(args.seeds)]
        df = pd.DataFrame(res)
        laws = [c for c in df.columns if c not in ("selected", "selected_abs_err", "nstar_covered", "sel_name",
                                                     "sel_five")]
        row = {"surface": sname, "seeds": args.seeds}
        row.update({f"cov {k}": f"{100 * df[k].mean():.1f}" for k in laws})
        row["cov selected"] = f"{100 * df['selected'].mean():.1f}"
        row["selected: 5-param form"] = f"{100 * df['sel_five'].mean():.0f} %"
        row["selected median abs err"] = f"{100 * df['selected_abs_err'].median():.2f} %"
        row["N* covered"] = f"{100 * df['nstar_covered'].mean():.0f} %"
        row["most selected"] = ", ".join(f"{k} {v}" for k, v in df["sel_name"].value_counts().head(3).items())
        rows.append(row)
        print(sname, "done", f"{time.time() - t0:.0f}s", flush=True)
    table = pd.DataFrame(rows)
    print(f"\nsigma={args.sigma}, {args.seeds} seeds per surface, held-out: 7 runs at 1e22 per seed; "
          f"{time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f}")
    print(markdown(table))


if __name__ == "__main__":
    main()
