"""The size-ladder plan: every budget takes the rungs of one shared size ladder inside its window, so sizes recur
across budgets; with ``planner.schedule: wsd`` each size's cells become one chained WSD-S run.

Ladder: rungs ``q`` apart with ``q = spread ** (2 / (sizes - 1))`` (the spacing of a budget's own cosine grid),
anchored at the smallest budget's prior optimum N0. A budget takes the rungs within ``N0(C) / spread .. N0(C) *
spread`` (plus a quarter rung, so a rung that lands on the window's edge up to the measured FLOPs per unit is kept):
at budgets 2x apart N0 moves sqrt(2) per budget and the budgets alternate 5 and 4 sizes for ``sizes: 5``.
``planner.ladder: true`` plans the same cells as ordinary cosine runs (the cosine grid a WSD sweep is compared with).
"""
import math

from flops_fit.config import ConfigError, stable_hash
from flops_fit.plan import fmt_sci

from .compute import spacing_floor
from .cooldown import chain, cooldown_settings, decays

REFUSED = ("adaptive", "extend", "replicates")


def schedule_of(cfg: dict) -> str:
    return str(cfg["planner"].get("schedule") or "cosine")


def uses_ladder(cfg: dict) -> bool:
    return schedule_of(cfg) == "wsd" or bool(cfg["planner"].get("ladder", False))


def refuse_combinations(cfg: dict) -> None:
    """One line for planner keys that a WSD sweep cannot combine with yet."""
    if schedule_of(cfg) != "wsd":
        return
    for key in REFUSED:
        value = cfg["planner"].get(key)
        if value:
            value = str(value).lower() if isinstance(value, bool) else value
            raise ConfigError(f"planner.{key}={value} cannot be combined with planner.schedule=wsd "
                              f"(a steered or replicated WSD sweep is not designed yet): set planner.{key} to "
                              f"{'false' if key == 'adaptive' else 0}, or planner.schedule=cosine")


def ladder_targets(ctx, budgets) -> dict:
    """{budget: [rung target N, ...]} for the sorted budgets."""
    pl = ctx.pl
    q = float(pl["spread"]) ** (2.0 / (int(pl["sizes"]) - 1))
    n0 = {b: ctx.prior(b) for b in budgets}
    anchor, half = n0[budgets[0]], math.log(float(pl["spread"])) + 0.25 * math.log(q)
    lo = math.floor((math.log(min(n0.values())) - half - math.log(anchor)) / math.log(q))
    hi = math.ceil((math.log(max(n0.values())) + half - math.log(anchor)) / math.log(q))
    rungs = [anchor * q ** j for j in range(lo, hi + 1)]
    return {b: [r for r in rungs if abs(math.log(r / n0[b])) <= half + 1e-12] for b in budgets}


def plan_ladder(cfg: dict, ctx) -> dict:
    """The plan (as flops_fit.plan.plan returns it) of a ladder sweep: cosine cells, or chained WSD cells."""
    refuse_combinations(cfg)
    budgets = sorted(set(float(b) for b in cfg["budgets"]["values"]))
    experiments, dropped = [], []
    for b, targets in ladder_targets(ctx, budgets).items():
        exps, drop = ctx.points(b, targets)
        experiments += exps
        dropped += drop
    out = {"sweep": cfg["sweep"], "experiments": experiments, "dropped": dropped}
    if schedule_of(cfg) == "wsd":
        out["experiments"], more = wsd_cells(cfg, experiments)
        out["dropped"] += more
        out["wsd"] = saving(out["experiments"], budgets)
    ctx.table.save()
    return out


def saving(cells: list, budgets: list) -> dict:
    """What the plan trains against the same cells as cosine runs, and the floor 1 - 1/r of that ratio."""
    total = sum(e["wsd"]["flops_added"] for e in cells)
    cosine = sum(e["flops_planned"] for e in cells)
    spacing, floor = spacing_floor(budgets)
    ratio = total / cosine if cosine else None
    line = (f"WSD-S: {len(cells)} cells on {len({stable_hash(e['size']) for e in cells})} sizes train "
            f"{total:.3g} FLOPs, {ratio:.2f}x of the same cells as cosine runs ({cosine:.3g})"
            + (f"; budgets {spacing:.3g}x apart, floor 1 - 1/r = {floor:.2f}" if spacing else "")) if cells else ""
    return {"total_flops": total, "cosine_grid_flops": cosine, "ratio": ratio, "spacing": spacing, "floor": floor,
            "line": line}


def wsd_cells(cfg: dict, cosine: list) -> tuple:
    """(WSD cell specs, dropped) from the cosine specs of the ladder's cells: per size, one chained run."""
    cool = cooldown_settings(cfg["planner"])
    factor = float(cfg["planner"].get("wsd_lr_factor", 0.5))
    by_size = {}
    for e in cosine:
        by_size.setdefault(stable_hash(e["size"]), []).append(e)
    cells, dropped = [], []
    for exps in by_size.values():
        exps = sorted(exps, key=lambda e: e["steps"])
        by_end = {e["steps"]: e for e in exps}
        warmup, kept, lost = chain(by_end, cfg["training"]["warmup_frac"], cool)
        for end, avail in lost:
            e = by_end[end]
            dropped.append({"budget_flops": e["budget_flops"], "target_params": e["target_params"],
                            "key": "planner.cooldown.min_steps", "steps": end,
                            "step_flops": e["flops_per_unit"] * e["units_per_step"],
                            "reason": f"WSD cell under the cooldown floor: its period leaves {avail} steps for a "
                                      f"{cool['min_steps']}-step decay (planner.cooldown.min_steps; "
                                      "planner.cooldown.keep_under_floor=true trains it, flagged)"})
        root, parent = (by_end[kept[0].end] if kept else None), None
        for k, c in enumerate(kept):
            spec = _cell(cfg, by_end[c.end], root, parent, k, warmup, kept[:k + 1], c, cool, factor)
            cells.append(spec)
            parent = spec
    cells.sort(key=lambda e: (e["budget_flops"], e["params"]))
    return cells, dropped


def _cell(cfg, cos, root, parent, k, warmup, prefix, c, cool, factor) -> dict:
    """One cell's spec: the cosine cell's spec with the WSD-S schedule of its run up to here. A run has one peak
    rate: the LR rule's rate for the first cell (a rule in N and D would give each cell another), x wsd_lr_factor."""
    ups, fpu = cos["units_per_step"], cos["flops_per_unit"]
    schedule = {"name": "wsd", "warmup": warmup, "decays": decays(prefix), "shape": cool["shape"],
                "lr_factor": factor, "root": root["config_hash"]}
    if cfg["mode"] == "mock":
        schedule["mock_penalty"] = cool["mock_penalty"]
    h = stable_hash({"cell": cos["config_hash"], "schedule": schedule})
    spec = dict(cos, id=f"C{fmt_sci(cos['budget_flops'])}-N{fmt_sci(cos['params'])}-wsd-{h}", config_hash=h,
                seed=root["seed"], training=dict(cos["training"], lr=root["training"]["lr"] * factor))
    spec["schedule"] = "wsd"
    spec["wsd"] = {**schedule, "cell": k, "start": c.start, "decay_steps": c.decay, "under_floor": c.under_floor,
                   "min_steps": cool["min_steps"], "fraction": cool["fraction"],
                   "parent": parent["id"] if parent else None, "cosine_id": cos["id"],
                   "flops_added": (c.end - c.start) * ups * fpu, "flops_inherited": c.start * ups * fpu}
    return spec
