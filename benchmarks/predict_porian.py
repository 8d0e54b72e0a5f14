"""Hold-out and rollout on Porian et al. (2024)'s IsoFLOP table (tests/data/porian2024_isoflop.csv), the
configurations with decay == 'chinchilla' (one run per point): hold out the top budget, then the top two; per-run
errors, coverage of the 95 % intervals, N* and L* at the held-out budgets against the held-out runs' own parabola
vertex; and the rollout over the whole configuration.

    python benchmarks/predict_porian.py          # ~10 s
"""
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from flops_fit.fit.table import load_runs
from flops_fit.predict import evaluate_laws
from flops_fit.predict.holdout import predict_holdout, training_runs
from flops_fit.predict.rollout import summarize

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "porian2024_isoflop.csv"


def fmt_tau(tau) -> str:
    """The misfit tau per rollout axis, e.g. "N 0.117, C 0.0051"."""
    if isinstance(tau, dict):
        return ", ".join(f"{k} {v:.3g}" for k, v in tau.items()) or "0"
    return f"{tau:.3g}"


def markdown(df) -> str:
    """A Markdown table (without pandas' optional tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    rows = [[str(v) for v in r] for r in df.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(r) + " |" for r in rows])


def main():
    t0 = time.time()
    d = pd.read_csv(TABLE)
    hold, opt, roll = [], [], []
    all_inside = []
    for cfg in sorted(d.loc[d["decay"] == "chinchilla", "config"].unique()):
        g = d[d["config"] == cfg].reset_index(drop=True)
        g.attrs["source"] = cfg
        runs = load_runs(g)
        bs = sorted(runs["budget"].dropna().unique())
        for k in (1, 2):
            q = f"budget >= {bs[-k] * 0.99:.6g}"
            out, s, _ = predict_holdout(runs, q, source=cfg)
            all_inside += list(out["inside"])
            hold.append({"config": cfg, "held out": f"top {k} ({len(out)} runs)", "law": s["law"],
                         "median abs err": f"{100 * s['median_abs_rel_error']:.2f} %",
                         "max abs err": f"{100 * s['max_abs_rel_error']:.2f} %", "bias": f"{100 * s['bias']:+.2f} %",
                         "inside 95 %": f"{int(out['inside'].sum())}/{len(out)}",
                         "misfit tau": fmt_tau(s['misfit_tau']), "noise sigma": f"{s['noise_sigma']:.3g}",
                         "N* rollout: chosen": (s["vertex_rollout"] or {}).get("chosen"),
                         "tau_N (law)": f"{((s['vertex_rollout'] or {}).get('methods', {}).get('law') or {}).get('tau_n', 0):.3g}"})
            for b in s["budgets"]:
                n, ls = b["n_star"], b["l_star"]
                opt.append({"config": cfg, "held out": f"top {k}", "C": f"{b['budget']:.3g}",
                            "N* predicted": f"{n['predicted']:.3g} [{n['lo']:.3g}, {n['hi']:.3g}]",
                            "N* vertex": f"{n['actual_vertex']:.3g}",
                            "N* Approach 2 law": f"{n['approach2_power_law']:.3g}",
                            "N* inside": "yes" if n["lo"] <= n["actual_vertex"] <= n["hi"] else "no",
                            "L* predicted": f"{ls['predicted']:.4g} [{ls['lo']:.4g}, {ls['hi']:.4g}]",
                            "L* vertex": f"{ls['actual_vertex']:.4g}",
                            "L* inside": "yes" if ls["lo"] <= ls["actual_vertex"] <= ls["hi"] else "no"})
        ev = evaluate_laws(training_runs(runs))
        sel = ev["selected"]
        for name, v in ev["laws"].items():
            s = summarize(v["rollout"], tau=v["tau"])
            roll.append({"config": cfg, "law": name + (" (selected)" if name == sel else ""),
                         "cuts": s["n_cuts"], "tests": s["n_tests"],
                         "weighted abs err": f"{100 * s['weighted_abs_rel_error']:.2f} %",
                         "bias": f"{100 * s['weighted_bias']:+.2f} %",
                         "ppl-ratio err": f"{100 * s['weighted_ppl_ratio_error']:.2f} %",
                         "max abs err": f"{100 * s['max_abs_rel_error']:.2f} %", "misfit tau": fmt_tau(v['tau'])})
    print(f"Porian chinchilla-decay configurations; {time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f}\n")
    print("Hold-out, per run:\n")
    print(markdown(pd.DataFrame(hold)))
    print(f"\nAll held-out runs inside their 95 % interval: {int(np.sum(all_inside))}/{len(all_inside)} "
          f"({100 * np.mean(all_inside):.0f} %)\n")
    print("N*, L* at the held-out budgets (vertex: the held-out runs' own parabola in log10 N):\n")
    print(markdown(pd.DataFrame(opt)))
    print("\nRollout (all runs of the configuration; cuts over N and C):\n")
    print(markdown(pd.DataFrame(roll)))


if __name__ == "__main__":
    main()
