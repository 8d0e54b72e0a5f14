"""Two sweeps of the same plan, one LR each: the loss change per run and the paired change in a.

    python -m flops_fit.lr.compare A/runs.csv B/runs.csv     # B against A, e.g. calibrated against default

The runs are matched on (budget, params). a is Approach 3's (flops_fit.fit.approach3) on each sweep's completed runs;
its change is bootstrapped over the shared cells: each replicate resamples the (budget, params) cells with
replacement and refits both sweeps on the same cells, so the noise both share (which sizes, which budgets) cancels.
"""
import argparse
import math

import numpy as np
import pandas as pd


def paired(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    keep = ["budget_flops", "params", "data_units", "flops_per_unit", "final_loss", "lr", "status"]
    a = runs_a[keep].rename(columns={"final_loss": "loss_a", "lr": "lr_a", "status": "status_a"})
    b = runs_b[keep[:2] + ["final_loss", "lr", "status"]].rename(
        columns={"final_loss": "loss_b", "lr": "lr_b", "status": "status_b"})
    m = a.merge(b, on=["budget_flops", "params"]).sort_values(["budget_flops", "params"]).reset_index(drop=True)
    m["change_pct"] = 100 * (m["loss_b"] / m["loss_a"] - 1)
    return m


def _a(df, loss_col):
    from flops_fit.fit.approach3 import fit_surface
    ok = df[np.isfinite(df[loss_col].astype(float))]
    f = fit_surface(ok["params"].values, ok["data_units"].values, ok[loss_col].values.astype(float),
                    (ok["data_units"] * ok["flops_per_unit"]).values, budgets=sorted(df["budget_flops"].unique()))
    return f.a if f.status in ("ok", "hit_bound") else float("nan")


def compare(runs_a: pd.DataFrame, runs_b: pd.DataFrame, *, n_boot: int = 200, seed: int = 0) -> dict:
    m = paired(runs_a, runs_b)
    both = m[(m["status_a"] == "completed") & (m["status_b"] == "completed")]
    a_a, a_b = _a(both, "loss_a"), _a(both, "loss_b")
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        s = both.iloc[rng.integers(0, len(both), len(both))]
        d = _a(s, "loss_b") - _a(s, "loss_a")
        if math.isfinite(d):
            diffs.append(d)
    lo, hi = (np.percentile(diffs, [2.5, 97.5]) if diffs else (float("nan"),) * 2)
    return {"runs": m, "a_a": a_a, "a_b": a_b, "diff": a_b - a_a, "diff_interval": [float(lo), float(hi)],
            "boot": len(diffs), "mean_change_pct": float(both["change_pct"].mean()),
            "better": int((both["change_pct"] < 0).sum()), "shared": len(both)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs_a")
    ap.add_argument("runs_b")
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args(argv)
    r = compare(pd.read_csv(args.runs_a), pd.read_csv(args.runs_b), n_boot=args.boot)
    print("| budget | N | D/N | LR A | LR B | loss A | loss B | change |")
    print("|---|---|---|---|---|---|---|---|")
    for _, x in r["runs"].iterrows():
        print(f"| {x['budget_flops']:.0e} | {x['params']:.3g} | {x['data_units'] / x['params']:.0f} | {x['lr_a']:.3g} | "
              f"{x['lr_b']:.3g} | {x['loss_a']:.4f} | {x['loss_b']:.4f} | {x['change_pct']:+.1f} % |")
    print(f"\nshared runs: {r['shared']}, lower loss with B: {r['better']}, mean change {r['mean_change_pct']:+.2f} %")
    print(f"a: A {r['a_a']:.3f}, B {r['a_b']:.3f}; B - A = {r['diff']:+.3f}, 95 % paired bootstrap over the shared "
          f"cells [{r['diff_interval'][0]:+.3f}, {r['diff_interval'][1]:+.3f}] ({r['boot']} replicates)")


if __name__ == "__main__":
    main()
