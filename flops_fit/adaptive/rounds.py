"""One planning round of one budget: a pure function of the config and the results it is given.

A steered sweep (planner.adaptive and/or planner.extend > 0) plans each budget in rounds:
- round 0: the budget's grid. The prior grid for the first planner.adaptive_k budgets (and for every budget when
  planner.adaptive is off); for later budgets a grid centred on Approach 2's prediction from all earlier budgets'
  results (steer.py). Plus planner.replicates extra seeds at the size nearest the (predicted or prior) optimum.
- round r > 0: given the budget's own results so far, sizes beyond the edge its IsoFLOP vertex is at (extend.py),
  while planner.extend allows.
A round is `done` when no later round can add anything; the budget's experiments are those of its rounds.
Each round is written to <sweep>/adaptive/<budget>/round<r>.json with the ids of the results it was based on.
"""
from pathlib import Path

import numpy as np

from flops_fit.config import stable_hash
from flops_fit.io import json_clean
from flops_fit.plan import PlanContext, fmt_sci, nearest, sweep_dir


SCHEMA = "flops-fit/adaptive-round/v1"
# config sections that decide a round's plan (budgets enter through the results each round is given)
PLAN_KEYS = ("mode", "seed", "sweep", "results_dir", "model", "dataset", "loss", "training", "mock", "planner")


def is_steering(cfg: dict) -> bool:
    pl = cfg["planner"]
    return bool(pl.get("adaptive")) or int(pl.get("extend", 0)) > 0


def budgets(cfg: dict) -> list:
    return sorted(set(float(b) for b in cfg["budgets"]["values"]))


def budget_label(budget: float) -> str:
    """Folder name of a budget's round files, e.g. C1e12, C3.162e11."""
    return f"C{fmt_sci(budget, 4)}"


def round_key(cfg: dict) -> str:
    """Hash of what decides the rounds' plans (not the budget list: adding a budget re-plans nothing old)."""
    return stable_hash({k: cfg.get(k) for k in PLAN_KEYS})


def needs_earlier(cfg: dict, index: int) -> bool:
    """Whether budget number `index` (ascending) is planned from the earlier budgets' results."""
    pl = cfg["planner"]
    return bool(pl.get("adaptive")) and index >= int(pl.get("adaptive_k", 2))


def round_path(cfg: dict, budget: float, rnd: int) -> Path:
    return sweep_dir(cfg) / "adaptive" / budget_label(budget) / f"round{int(rnd)}.json"


def plan_round(ctx: PlanContext, budget: float, rnd: int, records) -> dict:
    """The round `rnd` plan of `budget`. records: metrics.json dicts; round 0 of a budget planned from earlier
    results uses those of the earlier budgets, round r > 0 those of this budget's rounds 0..r-1."""
    # imported here: the workflow imports this module at every parse, and the fits (lmfit) cost ~2 s to import
    from .extend import extension_targets
    from .predict import predict_optimum, runs_frame
    from .steer import prior_grid, steer

    cfg = ctx.cfg
    pl = cfg["planner"]
    bs = budgets(cfg)
    if budget not in bs:
        raise ValueError(f"budget {budget:g} is not in budgets.values {bs}")
    index = bs.index(budget)
    runs = runs_frame(list(records))
    extend, reps = int(pl.get("extend", 0)), int(pl.get("replicates", 0))
    out = {"schema": SCHEMA, "key": round_key(cfg), "budget_flops": budget, "budget_index": index, "round": int(rnd),
           "adaptive": bool(pl.get("adaptive")), "adaptive_k": int(pl.get("adaptive_k", 2)), "extend": extend,
           "replicates": reps}
    if rnd == 0:
        n0 = ctx.prior(budget)
        pred = None
        if needs_earlier(cfg, index):
            earlier = runs[runs["budget"] < budget].reset_index(drop=True)
            pred = predict_optimum(earlier, budget)
            offsets = [np.log10(n / ctx.prior(b)) for b, n in pred.vertices]
            grid = steer(n0, pred, pl, anchor=float(np.mean(offsets)) if offsets else float("nan"))
        else:
            grid = prior_grid(n0, pl)
            grid_reason = (f"one of the first {out['adaptive_k']} budgets: prior grid" if pl.get("adaptive")
                           else "prior grid (planner.adaptive is off)")
            grid = type(grid)(grid.centre, grid.half_span, grid.sizes, "prior", grid_reason)
        if grid.planned_by == "prior":   # exactly the static plan's targets (the same experiment ids)
            exps, dropped = ctx.points(budget, ctx.prior_targets(budget))
        else:
            exps, dropped = ctx.points(budget, grid.targets, planned_by="adaptive")
        optimum = 10 ** pred.log10_n if pred is not None and pred.status == "ok" else n0
        if reps and exps:
            exps = exps + ctx.replicates(nearest(exps, optimum), reps)
        used = sorted(runs.loc[runs["budget"] < budget, "id"]) if pred is not None else []
        out.update(planned_by=grid.planned_by, grid=grid.as_dict(), prior_n=n0,
                   prediction=pred.as_dict() if pred is not None else None, replicates_at=optimum,
                   decision=grid.reason, done=extend == 0)
    else:
        this = runs[runs["budget"] == budget].reset_index(drop=True)
        used_ext = int((this["planned_by"] == "extension").sum())
        targets, decision = extension_targets(this, extend - used_ext)
        exps, dropped = ctx.points(budget, targets, taken=set(this["knob"].dropna()), planned_by="extension")
        if targets and not exps:
            decision["why"] += "; none feasible: " + "; ".join(d["reason"] for d in dropped)
        used = sorted(this["id"])
        out.update(planned_by="extension", edge=json_clean(dict(decision)),
                   decision=decision["why"], done=not exps or extend - used_ext - len(exps) <= 0)
    out.update(based_on=used, experiments=exps, dropped=dropped)
    return out

