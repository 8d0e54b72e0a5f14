"""The LR calibration plan: a few sizes x a few D/N, each trained at multipliers of the current rule, truncated.

Cells come from the sweep's own plan: ``lr_calibration.sizes`` of its distinct model sizes, log-spaced from the
smallest to the largest, each at ``lr_calibration.ratios`` data amounts D log-spaced over the D/N range the plan
spans and that its largest budget affords at that size. A cell's runs are truncated to ``step_fraction`` of the
cell's steps and keep the sweep's schedule shape (warmup fraction, cosine to the floor on the last step: each run's
schedule spans its own steps, flops_fit.train.schedule). The rule is fitted at the D actually trained.

One cell, the cheapest, is also trained at full length (``full_length_check``): its optimum, against the rule's
prediction at that D, measures how well the rule fitted on truncated runs extrapolates to the sweep's lengths.

An optimum at the edge of a cell's multipliers is flagged by the fit; the next plan adds up to ``extend``
multipliers beyond that edge (like planner.extend), so rerunning ``calibrate_lr`` extends the cell.
"""
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from .rule import CALIBRATED, round_lr, rule_lr

PLAN_FILE = "lr_calibration_plan.json"


def settings(cfg: dict) -> dict:
    return cfg["lr_calibration"]


def prior_rule(cfg: dict) -> dict:
    """The rule the multipliers scale: lr_calibration.prior, else training.lr, else (training.lr=calibrated) the
    rule the sweep has without that override: its preset's training.lr (config/preset/<name>.yaml), else its
    training group's (config/training/<group>.yaml)."""
    s = settings(cfg)
    if s.get("prior"):
        return dict(s["prior"])
    lr = cfg["training"]["lr"]
    if isinstance(lr, dict):
        return dict(lr)
    choices = cfg.get("_choices", {})
    return dict(_composed_rule(choices.get("preset"), choices.get("training", "default")))


@lru_cache(maxsize=16)
def _composed_rule(preset, group: str) -> dict:
    """The preset's training.lr merged over the training group's, as the composed config merges them (read once:
    the planner asks for each run's seed)."""
    import yaml

    from flops_fit.config import coerce_numbers, config_dir, older_lr_name
    rule = dict(yaml.safe_load((config_dir() / "training" / f"{group}.yaml").read_text())["lr"])
    if preset:
        doc = yaml.safe_load((config_dir() / "preset" / f"{preset}.yaml").read_text()) or {}
        own = (doc.get("training") or {}).get("lr")
        rule.update(own if isinstance(own, dict) else {})
    rule = coerce_numbers(rule)
    older_lr_name(rule)
    return rule


def _pick_sizes(params: list, n: int) -> list:
    """n of the distinct sizes, log-spaced from the smallest to the largest (all of them if there are at most n)."""
    sizes = sorted(set(params))
    if len(sizes) <= n:
        return sizes
    want = np.exp(np.linspace(math.log(sizes[0]), math.log(sizes[-1]), n))
    out = []
    for w in want:
        best = min((s for s in sizes if s not in out), key=lambda s: abs(math.log(s / w)))
        out.append(best)
    return sorted(out)


def cells(cfg: dict, sweep_plan: dict) -> tuple:
    """(cells, skipped): each cell {params, knob, fpu, units_per_step, steps_cell, steps}; skipped: reasons."""
    s = settings(cfg)
    exps = [e for e in sweep_plan["experiments"] if not e.get("replicate")]
    if not exps:
        return [], ["the sweep's plan has no experiments"]
    ratios = [e["data_units"] / e["params"] for e in exps]
    r_lo, r_hi = min(ratios), max(ratios)
    c_max = max(e["flops_planned"] for e in exps)
    min_full = max(cfg["planner"]["min_steps"], math.ceil(s["min_steps"] / s["step_fraction"]))
    by_params = {e["params"]: e for e in exps}
    out, skipped = [], []
    for n in _pick_sizes(list(by_params), s["sizes"]):
        e = by_params[n]
        ups, fpu = e["units_per_step"], e["flops_per_unit"]
        lo = max(r_lo * n, min_full * ups)
        hi = min(r_hi * n, c_max / fpu)
        if hi < lo:
            skipped.append(f"N {n:.3g}: no D/N in the plan's range [{r_lo:.3g}, {r_hi:.3g}] affords "
                           f"{min_full} steps within the largest budget")
            continue
        k = s["ratios"] if hi / lo >= 1.5 else 1
        ds = np.exp(np.linspace(math.log(lo), math.log(hi), k)) if k > 1 else [math.sqrt(lo * hi)]
        for d in ds:
            steps_cell = max(min_full, int(round(d / ups)))
            steps = max(1, int(math.floor(steps_cell * s["step_fraction"])))
            out.append({"params": n, "knob": e["size"], "fpu": fpu, "units_per_step": ups,
                        "steps_cell": steps_cell, "steps": steps})
    return out, skipped


def multipliers(cell_key: str, base: list, previous: dict | None, extend: int) -> list:
    """The cell's multipliers: the configured ones, plus up to ``extend`` beyond an edge the last fit flagged."""
    ms = sorted(float(m) for m in base)
    prev = next((c for c in (previous or {}).get("cells", []) if c.get("key") == cell_key), None)
    if not prev or extend <= 0:
        return ms
    had = sorted(float(m) for m in prev.get("multipliers", ms))
    step = (ms[-1] / ms[0]) ** (1.0 / (len(ms) - 1))
    low = [m for m in had if m < ms[0] * 0.999]
    high = [m for m in had if m > ms[-1] * 1.001]
    if prev.get("status") == "edge_low" and len(low) < extend:
        low = low + [min(had) / step]
    if prev.get("status") == "edge_high" and len(high) < extend:
        high = high + [max(had) * step]
    return sorted(set(low) | set(ms) | set(high))


def calibration_plan(cfg: dict, sweep_plan: dict, previous: dict | None = None) -> dict:
    """The calibration's experiments (specs the trainer runs as it runs the sweep's), its cells and settings.

    previous: the last lr_calibration.json, whose edge flags extend the multipliers of their cells."""
    from flops_fit.config import stable_hash
    from flops_fit.plan import PlanContext, fmt_sci

    s, prior = settings(cfg), prior_rule(cfg)
    base_cfg = dict(cfg, training=dict(cfg["training"], lr=prior))   # the cells' specs, as a sweep on the prior rule
    ctx = PlanContext(base_cfg)
    chosen, skipped = cells(cfg, sweep_plan)
    if chosen and s["full_length_check"]:
        cheapest = min(chosen, key=lambda c: c["steps_cell"] * c["units_per_step"] * c["fpu"])
        chosen.append(dict(cheapest, steps=cheapest["steps_cell"], full_length=True))
    out_cells, experiments = [], []
    for c in chosen:
        budget = c["steps_cell"] * c["units_per_step"] * c["fpu"]
        specs, dropped = ctx.points(budget, [c["params"]])
        if not specs:
            skipped.append(f"N {c['params']:.3g}: {dropped[0]['reason'] if dropped else 'not planned'}")
            continue
        cell_spec, steps = specs[0], c["steps"]
        tokens = steps * c["units_per_step"]
        key = f"N{fmt_sci(c['params'], 3)}-D{fmt_sci(tokens, 3)}"
        ms = multipliers(key, s["multipliers"], previous, s["extend"])
        center = rule_lr(prior, c["params"], tokens)
        ids = []
        for m in ms:
            lr = round_lr(m * center)
            h = stable_hash({"cell": cell_spec["config_hash"], "steps": steps, "lr": lr})
            spec = dict(cell_spec, training=dict(cell_spec["training"], lr=lr), steps=steps, data_units=tokens,
                        flops_planned=tokens * c["fpu"], budget_flops=tokens * c["fpu"], config_hash=h,
                        id=f"L{fmt_sci(c['params'])}-D{fmt_sci(tokens)}-x{m:.3g}-{h}", lr_source="calibration",
                        planned_by="lr_calibration", lr_multiplier=m, lr_cell=key)
            if cfg["mode"] == "mock" and s.get("mock_optimum"):
                spec["mock_lr"] = dict(s["mock_optimum"])   # the mock's known loss(LR): flops_fit.lr.synthetic
            experiments.append(spec)
            ids.append(spec["id"])
        out_cells.append({"key": key, "params": c["params"], "size": cell_spec["size"], "tokens": tokens,
                          "steps": steps, "steps_cell": c["steps_cell"], "tokens_cell": c["steps_cell"] * c["units_per_step"],
                          "full_length": bool(c.get("full_length")), "prior_lr": center, "multipliers": ms, "ids": ids})
    ctx.table.save()
    sweep_flops = sum(e["flops_planned"] for e in sweep_plan["experiments"])
    cal_flops = sum(e["flops_planned"] for e in experiments)
    return {"sweep": cfg["sweep"], "prior": prior, "settings": {k: v for k, v in s.items() if k != "prior"},
            "cells": out_cells, "skipped": skipped, "experiments": experiments,
            "flops": cal_flops, "sweep_flops": sweep_flops,
            "flops_fraction": cal_flops / sweep_flops if sweep_flops else None}


def plan_path(cfg: dict) -> Path:
    return Path(cfg["results_dir"]) / cfg["sweep"] / PLAN_FILE


def sweep_cfg(cfg: dict) -> dict:
    """The config the calibration plans from: training.lr=calibrated stands for the prior rule (the grid is the same)."""
    if cfg["training"]["lr"] == CALIBRATED:
        return dict(cfg, training=dict(cfg["training"], lr=prior_rule(cfg)))
    return cfg


def format_calibration_plan(p: dict) -> str:
    rows = [f"LR calibration of {p['sweep']}: {len(p['cells'])} cells, {len(p['experiments'])} runs, "
            f"{p['flops']:.3g} FLOPs = {100 * (p['flops_fraction'] or 0):.1f} % of the sweep's {p['sweep_flops']:.3g}"]
    rows.append(f"{'cell':<22} {'params':>9} {'tokens':>10} {'D/N':>7} {'steps':>6} {'of':>6} {'prior lr':>9}  multipliers")
    for c in p["cells"]:
        rows.append(f"{c['key']:<22} {c['params']:>9.3g} {c['tokens']:>10.3g} {c['tokens'] / c['params']:>7.1f} "
                    f"{c['steps']:>6} {c['steps_cell']:>6} {c['prior_lr']:>9.3g}  "
                    + " ".join(f"{m:g}" for m in c["multipliers"]) + ("  (full length)" if c["full_length"] else ""))
    rows += [f"skipped: {r}" for r in p["skipped"]]
    return "\n".join(rows)


def calibration_overrides(overrides: list, argv) -> list:
    """`snakemake calibrate_lr` (or a calibration file as target) with training.lr=calibrated: drop that override,
    so the workflow plans with the rule being calibrated instead of asking for the calibration it is about to make."""
    targets = ("calibrate_lr", "lr_calibration_plan")
    files = ("lr_calibration.json", PLAN_FILE, "lr_calibration.png")
    if not any(a in targets or a.endswith(files) or "/lr_calibration/runs/" in a for a in argv[1:]):
        return overrides
    return [o for o in overrides if o.replace(" ", "") != f"training.lr={CALIBRATED}"]
