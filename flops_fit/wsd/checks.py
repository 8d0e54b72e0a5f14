"""Plan checks of a WSD sweep (flops_fit.plancheck): cells under the cooldown floor, and budgets spaced too far
apart for the schedule to save much."""
from flops_fit.plancheck import WARN, Finding, exact, register


@register
def wsd_cooldown_floor(cfg, plan):
    """Cells whose period cannot hold a decay of planner.cooldown.min_steps: left out (default) or trained flagged."""
    if not any(e.get("wsd") for e in plan["experiments"]):
        return []
    floor = cfg["planner"].get("cooldown", {}).get("min_steps")
    lost = [d for d in plan["dropped"] if d.get("key") == "planner.cooldown.min_steps"]
    kept = [e for e in plan["experiments"] if e.get("wsd", {}).get("under_floor")]
    out = []
    if lost:
        cells = ", ".join(f"N {d['target_params']:.3g} at {exact(d['budget_flops'])}" for d in lost)
        out.append(Finding(WARN, "planner.cooldown.min_steps",
                           f"{len(lost)} WSD cell(s) under the cooldown floor of {floor} steps left out of the sweep "
                           f"and its fit ({cells}): lower planner.cooldown.min_steps, or set "
                           "planner.cooldown.keep_under_floor=true to train them flagged"))
    if kept:
        cells = ", ".join(e["id"] for e in kept)
        out.append(Finding(WARN, "planner.cooldown.keep_under_floor",
                           f"{len(kept)} WSD cell(s) under the cooldown floor of {floor} steps are trained with a "
                           f"shorter decay and fitted (planner.cooldown.keep_under_floor=true): {cells}"))
    return out


@register
def wsd_spacing(cfg, plan):
    """Budgets more than 2x apart: sizes recur at few budgets, so a WSD sweep costs nearly the cosine grid."""
    s = plan.get("wsd")
    if not s or not s.get("spacing") or s["spacing"] <= 2.0 + 1e-9:
        return []
    return [Finding(WARN, "budgets.values",
                    f"planner.schedule=wsd with budgets up to {s['spacing']:.3g}x apart: the cells cost "
                    f"{s['ratio']:.2f}x of the same cells as cosine runs (never below 1 - 1/r = {s['floor']:.2f}); "
                    "space budgets.values 2x apart or closer for the saving")]
