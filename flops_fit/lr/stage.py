"""The calibration as a stage of files: plan it (lr_calibration_plan.json), fit its runs (lr_calibration.json).

Runs live in ``<sweep>/lr_calibration/runs/<id>/metrics.json``, trained by the same job as the sweep's runs.
"""
import math
from pathlib import Path

from flops_fit.io import BadFile, atomic_write_json, read_json

from .fit import fit_calibration
from .grid import calibration_plan, sweep_cfg
from .rule import calibration_path

RUNS = "lr_calibration/runs"
FIGURE = "lr_calibration/lr_calibration.png"


def plan_for(cfg: dict) -> dict:
    """The calibration plan of the sweep cfg configures (extended beyond last time's edge optima, if any)."""
    from flops_fit.plan import plan
    base = sweep_cfg(cfg)
    path = calibration_path(cfg)
    previous = None
    if path.is_file():
        try:
            previous = read_json(path)
        except (OSError, ValueError):
            previous = None   # a damaged calibration is rewritten by the fit; the plan starts from the configured grid
    return calibration_plan(base, plan(base), previous if isinstance(previous, dict) else None)


def fit_runs(cal_plan: dict, runs_dir, out, figure=None) -> dict:
    """Read every planned run's metrics.json, fit the cells and the rule, write lr_calibration.json (and the figure)."""
    runs_dir = Path(runs_dir)
    cells, wall, missing = [], 0.0, []
    by_id = {}
    for e in cal_plan["experiments"]:
        p = runs_dir / e["id"] / "metrics.json"
        try:
            m = read_json(p)
        except (OSError, ValueError):
            missing.append(e["id"])
            continue
        by_id[e["id"]] = m
        wall += float(m.get("wall_s") or 0.0)
    if missing:
        raise BadFile(f"{runs_dir}: {len(missing)} calibration runs have no readable metrics.json (e.g. {missing[0]}); "
                      "rerun `snakemake calibrate_lr`")
    for c in cal_plan["cells"]:
        runs = [by_id[i] for i in c["ids"]]
        lrs = [float(r["lr"]) for r in runs]
        losses = [r["final_loss"] if r.get("status") == "completed" and r.get("final_loss") is not None
                  and math.isfinite(r["final_loss"]) else None for r in runs]
        cells.append({**{k: v for k, v in c.items() if k != "ids"}, "lrs": lrs, "losses": losses,
                      "statuses": [r.get("status") for r in runs], "ids": c["ids"]})
    out_obj = fit_calibration(cells)
    out_obj.update(sweep=cal_plan["sweep"], prior=cal_plan["prior"], settings=cal_plan["settings"],
                   compute={"flops": cal_plan["flops"], "sweep_flops": cal_plan["sweep_flops"],
                            "flops_fraction": cal_plan["flops_fraction"], "wall_s": round(wall, 2)},
                   skipped=cal_plan["skipped"])
    atomic_write_json(out, out_obj)
    if figure:
        from flops_fit.plot.lr import plot_calibration
        plot_calibration(out_obj, figure)
    return out_obj


def summary(cal: dict) -> str:
    """A few lines: the fitted rule with intervals, the flagged cells, the full-length check, the compute."""
    rows = []
    if cal.get("rule"):
        r, iv = cal["rule"], cal["intervals"]
        rows.append(f"LR rule: lr = {r['base']:.3g} * ({r['ref_params']:.3g} / N)^{r['exponent_n']:.3f} * "
                    f"(D / {r['ref_tokens']:.3g})^{r['exponent_d']:+.3f} from {cal['cells_used']} cells")
        rows.append(f"  {int(100 * cal['level'])} % intervals: base [{iv['base'][0]:.3g}, {iv['base'][1]:.3g}], "
                    f"exponent_n [{iv['exponent_n'][0]:.3f}, {iv['exponent_n'][1]:.3f}], "
                    f"exponent_d [{iv['exponent_d'][0]:+.3f}, {iv['exponent_d'][1]:+.3f}]")
    else:
        rows.append(f"LR rule: not fitted ({cal.get('reason')})")
    for c in cal["cells"]:
        opt = f"{c['lr_opt']:.3g}" if c.get("lr_opt") else "-"
        rows.append(f"  cell {c['key']}{' (full length)' if c.get('full_length') else ''}: {c['status']}, "
                    f"optimum {opt}, best run {c['best_lr']:.3g}" if c.get("best_lr") else f"  cell {c['key']}: {c['status']}")
    if cal.get("edge_cells"):
        rows.append(f"  optimum at the edge of the multipliers in {', '.join(cal['edge_cells'])}: rerun calibrate_lr "
                    "to extend them (lr_calibration.extend)")
    fl = cal.get("full_length_check")
    if fl and fl.get("full_over_truncated"):
        rows.append(f"  full length {fl['key']}: optimum {fl['lr_opt']:.3g} = {fl['full_over_truncated']:.2f} x the "
                    f"truncated run's" + (f", {fl['measured_over_rule']:.2f} x the rule's" if fl.get("measured_over_rule") else ""))
    comp = cal.get("compute") or {}
    if comp.get("flops_fraction") is not None:
        rows.append(f"  compute: {comp['flops']:.3g} FLOPs, {100 * comp['flops_fraction']:.1f} % of the sweep's; "
                    f"{comp['wall_s']:.0f} s of training")
    return "\n".join(rows)
