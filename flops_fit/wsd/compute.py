"""Honest accounting of a WSD sweep: ``<results_dir>/<sweep>/compute.json``.

Each cell's metrics.json records ``flops_added`` (what its job trained: ``flops_executed``) and ``flops_inherited``
(what its parent cells trained before it). ``total_flops`` is every FLOP trained (the sum of flops_added);
``cosine_grid_flops`` what the same cells cost as separate cosine runs (the sum of data_units x flops_per_unit).
For a size present at K budgets r x apart the ratio per size is ~(1 - 1/r) / (1 - r^-K), never below 1 - 1/r.
"""
import json
from pathlib import Path

from flops_fit.io import atomic_write_json

SCHEMA = "flops-fit/compute/v1"


def cell_fields(spec: dict, out: dict) -> dict:
    """What a WSD cell's metrics.json adds to the ordinary fields (flops_fit.runner)."""
    w = spec["wsd"]
    return {"schedule": "wsd", "flops_added": float(out.get("flops_executed") or 0.0),
            "flops_inherited": float(out.get("flops_inherited") or 0.0),  # the trainer's (a failed cell: 0)
            "cell": w["cell"], "parent": w["parent"], "cooldown_steps": w["decay_steps"],
            "under_floor": w["under_floor"], "cosine_id": w["cosine_id"]}


def spacing_floor(budgets) -> tuple:
    """(r, 1 - 1/r): the widest ratio between neighbouring budgets, and the floor of the WSD/cosine FLOP ratio
    it allows; (None, None) for a single budget."""
    budgets = sorted(budgets)
    spacing = max((b / a for a, b in zip(budgets, budgets[1:])), default=None)
    return spacing, (1.0 - 1.0 / spacing if spacing else None)


def summarize(specs: list, metrics: list) -> dict:
    """compute.json's content from the plan's cell specs and their metrics.json dicts (same order or any)."""
    by_id = {m["id"]: m for m in metrics}
    cells, planned_total, planned_cosine = [], 0.0, 0.0
    for s in specs:
        m = by_id.get(s["id"], {})
        cosine = float(s["data_units"]) * float(s["flops_per_unit"])
        planned_total += s["wsd"]["flops_added"]
        planned_cosine += cosine
        cells.append({"id": s["id"], "budget_flops": s["budget_flops"], "params": s["params"],
                      "data_units": s["data_units"], "status": m.get("status"), "cosine_flops": cosine,
                      "flops_added": m.get("flops_added", m.get("flops_executed")),
                      "flops_inherited": m.get("flops_inherited"), "wall_s": m.get("wall_s"),
                      "under_floor": s["wsd"]["under_floor"]})
    total = sum(c["flops_added"] or 0.0 for c in cells)
    cosine = sum(c["cosine_flops"] for c in cells)
    spacing, floor = spacing_floor({s["budget_flops"] for s in specs})
    return {
        "schema": SCHEMA, "total_flops": total, "cosine_grid_flops": cosine,
        "ratio": total / cosine if cosine else None,
        "planned": {"total_flops": planned_total, "cosine_grid_flops": planned_cosine,
                    "ratio": planned_total / planned_cosine if planned_cosine else None},
        "budget_spacing": spacing, "ratio_floor": floor,
        "cells": cells, "sizes": len({json.dumps(s["size"], sort_keys=True) for s in specs}),
        "note": "total_flops: every FLOP trained (each cell's flops_added); cosine_grid_flops: the same cells as "
                "separate cosine runs (data_units x flops_per_unit each)",
    }


def write_compute(plan_path, metrics_paths, out) -> dict:
    """Rule wsd_compute: summarize the plan's WSD cells and their results into ``out`` (atomic)."""
    plan = json.loads(Path(plan_path).read_text())
    specs = [e for e in plan["experiments"] if e.get("wsd")]
    metrics = [json.loads(Path(p).read_text()) for p in metrics_paths]
    summary = summarize(specs, metrics)
    atomic_write_json(out, summary)
    return summary


def saving_line(summary: dict) -> str:
    """One line for the report and the terminal: what the WSD sweep trained against the cosine grid."""
    return (f"WSD-S: trained {summary['total_flops']:.3g} FLOPs for cells that cost {summary['cosine_grid_flops']:.3g} "
            f"as separate cosine runs ({summary['ratio']:.2f}x; floor 1 - 1/r = {summary['ratio_floor']:.2f})")


def main(argv=None) -> None:
    import argparse
    ap = argparse.ArgumentParser(description="Write a WSD sweep's compute.json (rule wsd_compute).")
    ap.add_argument("--plan", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("metrics", nargs="*")
    a = ap.parse_args(argv)
    print(saving_line(write_compute(a.plan, a.metrics, a.out)))


if __name__ == "__main__":
    main()
