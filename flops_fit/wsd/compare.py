"""A WSD sweep against the cosine grid on the same cells (docs/wsd.md): compute, CPU time, per-cell loss
differences, and the paired difference of the fitted exponent a (N* ~ C^a) with a bootstrap over shared cells.

    python -m flops_fit.wsd.compare --wsd results_wsd/<sweep> --cosine results_cos/<sweep> [--boot 200]

Cells pair by (budget, size): a WSD cell stands for the cosine cell of the same budget and parameter count, whatever
that cell's recipe (so a cosine grid at another peak rate pairs too).
Each resample draws the shared cells with replacement within each budget, then fits both sweeps on the same
draw: Approach 3 (the surface, ``flops_fit.fit.fit_surface``) and Approach 2 (IsoFLOP parabolas) where it fits.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from flops_fit.fit import fit_approach2, fit_surface, load_runs


def _metrics(sweep: Path) -> pd.DataFrame:
    """The sweep's completed runs: those its plan.json lists (other folders under runs/ are an older plan's),
    seed replicates left out (a cell is one run)."""
    planned = None
    if (sweep / "plan.json").is_file():
        planned = {e["id"] for e in json.loads((sweep / "plan.json").read_text())["experiments"]}
    rows = []
    for p in sorted(sweep.glob("runs/*/metrics.json")):
        if planned is not None and p.parent.name not in planned:
            continue
        m = json.loads(p.read_text())
        if m.get("status") != "completed" or m.get("replicate"):
            continue
        timing = p.parent / "timing.jsonl"  # one line per process that trained the run (a resume adds one)
        cpu = sum(json.loads(line).get("cpu_s") or 0.0 for line in timing.read_text().splitlines()
                  if line.strip()) if timing.is_file() else 0.0
        rows.append({"id": m["id"], "key": f"{m['budget_flops']:.6g}|{m['params']:.6g}", "N": m["params"],
                     "D": m["data_units"],
                     "loss": m["final_loss"], "C": m["data_units"] * m["flops_per_unit"], "budget": m["budget_flops"],
                     "flops": m["flops_executed"], "cpu_s": cpu, "wall_s": m["wall_s"]})
    df = pd.DataFrame(rows)
    shared = df[df["key"].duplicated(keep=False)] if len(df) else df
    if len(shared):
        budget, n = shared["key"].iloc[0].split("|")
        raise ValueError(f"{sweep}: {len(shared)} runs share {shared['key'].nunique()} (budget, size) cell(s), e.g. "
                         f"budget {budget}, {n} params; compare sweeps whose plan.json has one run per cell")
    return df


def _a(df) -> tuple:
    runs = load_runs(df[["id", "N", "D", "loss", "C", "budget"]].reset_index(drop=True))
    f3 = fit_surface(runs["N"], runs["D"], runs["loss"], runs["C"])
    try:
        f2 = fit_approach2(runs, include_near_edge=True)
        a2 = f2.n_star.exponent if f2.status == "ok" else np.nan
    except Exception:  # noqa: BLE001  (a resample without a parabola at enough budgets)
        a2 = np.nan
    return a2, f3.a


def compare(wsd_dir, cos_dir, *, boot: int = 200, seed: int = 0) -> dict:
    w, c = _metrics(Path(wsd_dir)), _metrics(Path(cos_dir))
    shared = sorted(set(w["key"]) & set(c["key"]))
    wsd_only = len(w) - len(shared)
    w, c = w.set_index("key").loc[shared], c.set_index("key").loc[shared]
    cells = pd.DataFrame({"budget": c["budget"], "N": c["N"], "D": c["D"], "loss_cosine": c["loss"],
                          "loss_wsd": w["loss"].to_numpy()})
    cells["diff"] = cells["loss_wsd"] - cells["loss_cosine"]
    a_w, a_c = _a(w.reset_index()), _a(c.reset_index())
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(c["budget"].to_numpy() == b) for b in sorted(set(c["budget"]))]
    draws = []
    for _ in range(boot):
        idx = np.concatenate([rng.choice(g, len(g)) for g in groups])
        wi, ci = w.iloc[idx].reset_index(), c.iloc[idx].reset_index()
        wi["id"] = ci["id"] = [f"r{i}" for i in range(len(idx))]
        draws.append(np.subtract(_a(wi), _a(ci)))
    draws = np.array(draws).reshape(-1, 2)
    ci = {name: [float(np.nanpercentile(draws[:, j], 2.5)), float(np.nanpercentile(draws[:, j], 97.5))]
          if np.isfinite(draws[:, j]).sum() >= 10 else None for j, name in enumerate(("approach2", "approach3"))}
    return {
        "shared_cells": len(shared), "wsd_only": int(wsd_only),
        "flops": {"wsd": float(w["flops"].sum()), "cosine": float(c["flops"].sum())},
        "cpu_s": {"wsd": float(w["cpu_s"].sum()), "cosine": float(c["cpu_s"].sum())},
        "wall_s": {"wsd": float(w["wall_s"].sum()), "cosine": float(c["wall_s"].sum())},
        "a": {"wsd": {"approach2": a_w[0], "approach3": a_w[1]}, "cosine": {"approach2": a_c[0], "approach3": a_c[1]},
              "diff": {"approach2": a_w[0] - a_c[0], "approach3": a_w[1] - a_c[1]}, "diff_ci95": ci,
              "boot": boot},
        "loss_diff": {"mean": float(cells["diff"].mean()), "median": float(cells["diff"].median()),
                      "min": float(cells["diff"].min()), "max": float(cells["diff"].max()),
                      "mean_rel": float((cells["diff"] / cells["loss_cosine"]).mean())},
        "cells": cells.reset_index(drop=True).to_dict("records"),
    }


def markdown(r: dict) -> str:
    lines = ["| budget | N | D | cosine loss | WSD loss | WSD - cosine |", "|---|---|---|---|---|---|"]
    for x in sorted(r["cells"], key=lambda x: (x["budget"], x["N"])):
        lines.append(f"| {x['budget']:.2g} | {x['N']:.3g} | {x['D']:.3g} | {x['loss_cosine']:.4f} | "
                     f"{x['loss_wsd']:.4f} | {x['diff']:+.4f} |")
    a = r["a"]
    fmt = lambda v: "n/a" if v is None or not np.isfinite(v) else f"{v:.4f}"  # noqa: E731
    ci = lambda k: "n/a" if not a["diff_ci95"][k] else "[{:+.4f}, {:+.4f}]".format(*a["diff_ci95"][k])  # noqa: E731
    lines += ["", f"FLOPs trained: WSD {r['flops']['wsd']:.3g}, cosine {r['flops']['cosine']:.3g} "
              f"({r['flops']['wsd'] / r['flops']['cosine']:.3f}x); CPU time: WSD {r['cpu_s']['wsd']:.0f} s, cosine "
              f"{r['cpu_s']['cosine']:.0f} s ({r['cpu_s']['wsd'] / max(r['cpu_s']['cosine'], 1e-9):.3f}x)",
              f"loss WSD - cosine over {r['shared_cells']} shared cells: mean {r['loss_diff']['mean']:+.4f} "
              f"({100 * r['loss_diff']['mean_rel']:+.2f} %), median {r['loss_diff']['median']:+.4f}, range "
              f"[{r['loss_diff']['min']:+.4f}, {r['loss_diff']['max']:+.4f}]"]
    for k in ("approach3", "approach2"):
        lines.append(f"a ({k}): WSD {fmt(a['wsd'][k])}, cosine {fmt(a['cosine'][k])}, a_wsd - a_cosine "
                     f"{fmt(a['diff'][k])}, 95 % bootstrap over shared cells ({a['boot']} draws) {ci(k)}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wsd", required=True)
    ap.add_argument("--cosine", required=True)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--json", default=None, help="also write the comparison here")
    a = ap.parse_args(argv)
    try:
        r = compare(a.wsd, a.cosine, boot=a.boot)
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"wsd.compare: error: {e}") from None
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1, default=float))
    print(markdown(r))


if __name__ == "__main__":
    main()
