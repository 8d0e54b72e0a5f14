"""Run a steered sweep in-process, round by round, with the workflow's own functions (plan_round, the runner).

The Snakemake workflow (workflow/rules/adaptive.smk) runs the same rounds as checkpoints, with the sizes of a round in
parallel; this driver runs them one after another. Used by benchmarks/adaptive.py and the tests; mock mode
makes it a matter of seconds.
"""
from flops_fit.io import atomic_write_json, read_json
from flops_fit.plan import PlanContext, sweep_dir
from flops_fit.runner import run_experiment

from .rounds import budgets, needs_earlier, plan_round, round_key, round_path


def run_steered(cfg: dict, *, train=run_experiment, write=True) -> dict:
    """Plan and run every round of every budget. Returns {"rounds": [round dict, ...], "metrics": [dict, ...]}.
    A round file already on disk for the same plan-relevant config is reused (as the workflow would), so a rerun
    trains nothing finished; one written under another config is re-planned."""
    ctx = PlanContext(cfg)
    sdir = sweep_dir(cfg)
    by_budget, rounds = {}, []
    for i, budget in enumerate(budgets(cfg)):
        by_budget[budget] = []
        r = 0
        while True:
            if r == 0:
                given = [m for b in by_budget if b < budget for m in by_budget[b]] if needs_earlier(cfg, i) else []
            else:
                given = by_budget[budget]
            path = round_path(cfg, budget, r)
            rd = read_json(path) if write and path.is_file() else None
            if rd is None or rd.get("key") != round_key(cfg):
                rd = plan_round(ctx, budget, r, given)
                if write:
                    atomic_write_json(path, rd)
            rounds.append(rd)
            for spec in rd["experiments"]:
                by_budget[budget].append(train(spec, sdir / "runs" / spec["id"]))
            if rd["done"]:
                break
            r += 1
    ctx.table.save()
    return {"rounds": rounds, "metrics": [m for b in by_budget.values() for m in b]}


def current_plan(cfg: dict, prior: dict | None = None) -> dict:
    """The experiments planned so far: every round file on disk, and the prior grid (flops_fit.plan.plan, or
    `prior` when the caller has it) for budgets not planned yet. What the forecast and the ETA of a steered
    sweep use."""
    from flops_fit.plan import plan
    prior = prior or plan(cfg)
    exps, planned = [], set()
    for budget in budgets(cfg):
        r = 0
        while round_path(cfg, budget, r).is_file():
            rd = read_json(round_path(cfg, budget, r))
            exps += rd["experiments"]
            planned.add(budget)
            if rd["done"]:
                break
            r += 1
    exps += [e for e in prior["experiments"] if e["budget_flops"] not in planned]
    return {"sweep": prior["sweep"], "experiments": exps, "dropped": prior["dropped"]}
