"""The forecast's own line for the learning-rate calibration (`snakemake calibrate_lr`, flops_fit.lr): its
runs timed by the sweep's time model, apart from the sweep's totals, so a user sees what calibrating costs
before choosing to (docs/training.md, "Learning rate").
"""


def calibration_line(cfg: dict, plan: dict, forecast_one, totals, *, log=print) -> dict:
    """{status, runs, cells, flops, flops_fraction, totals, markdown}. forecast_one(spec) -> forecast row;
    totals(rows, priorities) -> the same totals the sweep gets. A plan the calibration cannot make is a
    reason, never a failure of the forecast."""
    try:
        from flops_fit.lr.grid import calibration_plan
        cal = calibration_plan(cfg, plan)
    except Exception as e:  # noqa: BLE001  (the sweep's forecast stands without this line)
        log(f"note: no LR calibration line: {type(e).__name__}: {e}")
        return {"status": "not planned", "reason": f"{type(e).__name__}: {e}", "markdown": ""}
    if not cal["experiments"]:
        return {"status": "not planned", "reason": "; ".join(cal["skipped"]) or "no cells", "markdown": ""}
    rows = [forecast_one(e) for e in cal["experiments"]]
    tot = totals(rows, [r["seconds"] for r in rows])
    frac = cal["flops_fraction"]
    from .report import fmt_s
    md = (f"LR calibration (`snakemake calibrate_lr`, only if you run it; not in the totals above): "
          f"{len(rows)} runs in {len(cal['cells'])} cells, {cal['flops']:.3g} FLOPs"
          + (f" ({100 * frac:.1f} % of the sweep's)" if frac else "")
          + f", makespan {fmt_s(tot['makespan_s'])} [{fmt_s(tot['makespan_s_lo'])}, {fmt_s(tot['makespan_s_hi'])}]"
          f", {tot['device_hours']:.3g} device-hours.")
    return {"status": "ok", "runs": len(rows), "cells": len(cal["cells"]), "flops": cal["flops"],
            "flops_fraction": frac, "totals": tot, "markdown": md}
