"""The planner: compute budgets -> IsoFLOP experiments. A pure function of the config.

For each budget C, target sizes are log-spaced around a prior optimum N0, from N0/spread to N0*spread,
where N0 is the size whose run of D = r*N0 data units costs C at the model's measured FLOPs per unit and
r is ``planner.tokens_per_param`` (the prior compute-optimal data units per parameter). Each target maps to a real model (the knob value whose measured ``num_params()`` is closest),
and the data units follow from the budget and the measured FLOPs per unit: D = C / flops_per_unit,
rounded to whole optimizer steps. Points that are infeasible are dropped with a reason.

Experiment IDs derive only from what determines the result (budget, model, data, loss, recipe, seed,
mode), so adding a budget never renames an old experiment and changing a hyper-parameter never reuses
an old result.
"""
import math
from pathlib import Path

import numpy as np

from .config import stable_hash
from .flops import SizeTable, knob_for_params
from .lr import identity_lr, run_lr, seed_identity_lr
from .plugins import load_plugins, measurement_cache

# Training keys that do not change a run's result (bookkeeping only): excluded from experiment IDs.
_NON_RESULT_TRAINING_KEYS = {"log_every", "ckpt_every_steps", "ckpt_every_minutes", "keep_ckpt", "num_processes",
                             "eval_every", "micro_batch_size", "compile", "forecast", "compile_cache", "log_with"}
NON_RESULT_TRAINING_KEYS = _NON_RESULT_TRAINING_KEYS   # public: stages.split_spec reads it


def fmt_sci(x: float, digits: int = 2) -> str:
    """1e12 -> '1e12', 3.16e11 -> '3.2e11', 84000 -> '8.4e4' (compact, file-name safe)."""
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def data_dir(cfg: dict) -> str:
    d = cfg["dataset"]
    return str(Path(cfg["results_dir"]) / "data" / f"{d['name']}-{stable_hash(d)}")


def sweep_dir(cfg: dict) -> Path:
    return Path(cfg["results_dir"]) / cfg["sweep"]


def prior_params(table: SizeTable, budget: float, units_per_param: float, size: dict) -> float:
    """The prior optimum N0: the size whose run of D = r*N0 units costs the budget at its measured FLOPs/unit.

    Solves C = fpu(N0) * r * N0 by fixed-point iteration on k = fpu / (6N), starting from fpu = 6N, so r
    means data units per parameter for any modality (a ViT's sample costs ~6N per patch, not 6N).
    """
    n0 = math.sqrt(budget / (6.0 * units_per_param))
    for _ in range(3):
        knob = knob_for_params(table, n0, size)
        k = table.flops_per_unit(knob) / (6.0 * table.num_params(knob))
        n0 = math.sqrt(budget / (6.0 * k * units_per_param))
    return n0


class PlanContext:
    """What planning any budget needs, built once per config: plugins, the measured size table, the common spec."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.plugins = load_plugins(cfg)
        self.table = SizeTable(self.plugins, cache_dir=measurement_cache(cfg))
        self.pl, self.size, tr = cfg["planner"], cfg["model"]["size"], cfg["training"]
        self.units_per_step = int(self.plugins.data.units(self.plugins.example_batch(tr["batch_size"], device="meta")))
        self.result_training = {k: v for k, v in tr.items() if k not in _NON_RESULT_TRAINING_KEYS}
        p = self.plugins
        self.common = {
            "mode": cfg["mode"],
            "model": {"plugin": p.model_path, "kwargs": p.model_kwargs},
            "data": {"plugin": p.data_path, "cfg": p.data_cfg, "key": Path(data_dir(cfg)).name,
                     "dir": data_dir(cfg)},
            "loss": {"plugin": p.loss_path},
        }

    def prior(self, budget: float) -> float:
        return prior_params(self.table, budget, self.pl["tokens_per_param"], self.size)

    def prior_targets(self, budget: float) -> np.ndarray:
        """The static grid: planner.sizes targets log-spaced over prior N0 / spread .. N0 * spread."""
        pl = self.pl
        return self.prior(budget) * np.asarray(pl["spread"]) ** np.linspace(-1.0, 1.0, pl["sizes"])

    def points(self, budget: float, targets, *, taken=(), planned_by=None) -> tuple:
        """(experiments, dropped) for target sizes at one budget. taken: knob values this budget already has
        (a target mapping onto one of them is dropped as a duplicate). planned_by: recorded in each spec
        (absent for the static prior grid, so static specs are unchanged)."""
        plugins, table, size, pl = self.plugins, self.table, self.size, self.pl
        experiments, dropped, seen = [], [], set(taken)
        for target in targets:
            knob = knob_for_params(table, float(target), size)
            why = key = None
            params = table.num_params(knob)
            if knob in seen:
                why = f"maps to the same model as a neighbour ({plugins.knob}={knob}); widen planner.spread or model.size.step"
                key = "planner.spread"
            elif abs(math.log(params / target)) > math.log(1.5):
                why = (f"nearest model has {params:.3g} params ({plugins.knob}={knob}), far from target {target:.3g}: "
                       f"outside model.size [{size['min']}, {size['max']}]")
                key = "model.size"
            fpu = table.flops_per_unit(knob) if key != "planner.spread" else None
            steps = int(round(budget / (fpu * self.units_per_step))) if fpu else 0
            if why is None and steps < pl["min_steps"]:
                why = f"only {steps} optimizer steps (< planner.min_steps={pl['min_steps']}): too large for this budget"
                key = "planner.min_steps"
            if why:  # key: the config key that dropped it; step_flops: one step's FLOPs (plan checks, flops_fit.plancheck)
                dropped.append({"budget_flops": budget, "target_params": float(target), "reason": why, "key": key,
                                **({"steps": steps, "step_flops": fpu * self.units_per_step} if fpu else {})})
                continue
            seen.add(knob)
            experiments.append(_spec(self.cfg, self.common, self.result_training, budget, float(target), knob, params,
                                     fpu, self.units_per_step, steps, plugins.unit, planned_by=planned_by))
            shape = _describe(plugins, knob)
            if shape:  # the model's own words for this size (e.g. width and depth), shown in the plan table
                experiments[-1]["shape"] = shape
        return experiments, dropped

    def replicates(self, spec: dict, n: int) -> list:
        """n extra seeds of one planned experiment (replicate 1..n): the same (budget, size, data), another seed.
        The replicate index enters the experiment id's hash, so each is its own experiment."""
        knob = spec["size"][self.plugins.knob]
        return [_spec(self.cfg, self.common, self.result_training, spec["budget_flops"], spec["target_params"], knob,
                      spec["params"], spec["flops_per_unit"], self.units_per_step, spec["steps"], spec["unit"],
                      planned_by="replicate", replicate=j) for j in range(1, int(n) + 1)]


def nearest(experiments: list, n_star: float) -> dict:
    """The experiment whose size is nearest n_star in log (the replicates' size)."""
    return min(experiments, key=lambda e: (abs(math.log(e["params"] / n_star)), e["params"]))


def plan(cfg: dict) -> dict:
    """Return {"sweep", "experiments": [spec, ...], "dropped": [{budget_flops, target_params, reason}, ...]}.

    The static plan: every budget on its prior grid (plus planner.replicates extra seeds at the size nearest the
    prior optimum). An adaptive sweep (planner.adaptive, flops_fit.adaptive) plans its later budgets from earlier
    results instead, but this function still returns the prior grid for all budgets: what the forecast uses."""
    ctx = PlanContext(cfg)
    from .wsd.plan import plan_ladder, uses_ladder
    if uses_ladder(cfg):  # planner.schedule: wsd or planner.ladder (docs/wsd.md): one size ladder for all budgets
        return plan_ladder(cfg, ctx)
    experiments, dropped = [], []
    for budget in sorted(set(float(b) for b in cfg["budgets"]["values"])):
        exps, drop = ctx.points(budget, ctx.prior_targets(budget))
        reps = cfg["planner"].get("replicates", 0)
        if reps and exps:
            exps += ctx.replicates(nearest(exps, ctx.prior(budget)), reps)
        experiments += exps
        dropped += drop
    ctx.table.save()
    return {"sweep": cfg["sweep"], "experiments": experiments, "dropped": dropped}


def _spec(cfg, common, result_training, budget, target, knob, params, fpu, units_per_step, steps, unit, *,
          planned_by=None, replicate=0) -> dict:
    size = {cfg["model"]["size"]["knob"]: knob}
    identity = {"budget": budget, "size": size, **common, "training": result_training, "seed": cfg["seed"],
                "units_per_step": units_per_step}
    identity["data"] = {k: v for k, v in common["data"].items() if k != "dir"}
    if cfg["mode"] == "mock":
        identity["mock"] = cfg["mock"]
    if replicate:  # only replicates carry it: every existing experiment keeps its id
        identity["replicate"] = int(replicate)
    lr, lr_source = run_lr(cfg, params, steps * units_per_step)  # flops_fit.lr: the rule in N and D, or calibrated
    identity["training"] = dict(result_training, lr=identity_lr(cfg["training"]["lr"], lr))  # the id follows the LR
    seed_lr = seed_identity_lr(cfg, params, steps * units_per_step)  # calibrated: seeded as under the prior rule
    seed_h = None if seed_lr is None else stable_hash(dict(identity, training=dict(result_training, lr=seed_lr)))
    if seed_h:
        identity["seed_from"] = seed_h
    h = stable_hash(identity)
    training = dict(cfg["training"], lr=lr)
    spec = {
        "id": f"C{fmt_sci(budget)}-N{fmt_sci(params)}-{h}",
        "sweep": cfg["sweep"], "budget_flops": budget, "target_params": target, "params": params, "size": size,
        "flops_per_unit": fpu, "unit": unit, "units_per_step": units_per_step, "steps": steps,
        "data_units": steps * units_per_step, "flops_planned": steps * units_per_step * fpu,
        **common, "training": training,
        "seed": (cfg["seed"] * 1_000_003 + int(seed_h or h, 16)) % 2**31,
        "config_hash": h, "lr_source": lr_source,   # bookkeeping: out of the id and of the job's params
    }
    if cfg["mode"] == "mock":
        spec["mock"] = dict(cfg["mock"])
    if planned_by:  # how the run was planned (prior | adaptive | extension | replicate); absent: the prior grid
        spec["planned_by"] = planned_by
    if replicate:
        spec["replicate"] = int(replicate)
    return spec


def _describe(plugins, knob):
    describe = getattr(plugins.model_cls, "describe", None)
    return describe(**plugins.model_kwargs, **{plugins.knob: int(knob)}) if callable(describe) else None


def format_plan(p: dict) -> str:
    """A readable table of the plan (and of what was dropped, with reasons)."""
    from .epochs import corpus_units, epochs_cell
    exps = p["experiments"]
    corpus = corpus_units(p)
    rows = [f"sweep {p['sweep']}: {len(exps)} experiments over "
            f"{len({e['budget_flops'] for e in exps})} budgets"]
    if exps:
        knob = next(iter(exps[0]["size"]))
        unit = exps[0]["unit"]
        rows.append(f"{'id':<28} {'budget':>8} {knob:>8} {'params':>9} {unit:>10} {unit + '/N':>8} "
                    f"{'steps':>7} {'FLOPs/unit':>10} {'lr':>8} {'epochs':>7}"
                    + (f" {'shape':>10}" if "shape" in exps[0] else ""))
        for e in exps:
            rows.append(f"{e['id']:<28} {e['budget_flops']:>8.2g} {e['size'][knob]:>8} {e['params']:>9.3g} "
                        f"{e['data_units']:>10.3g} {e['data_units'] / e['params']:>8.1f} {e['steps']:>7} "
                        f"{e['flops_per_unit']:>10.3g} {e['training']['lr']:>8.2g} {epochs_cell(e, corpus):>7}"
                        + (f" {e.get('shape', ''):>10}" if "shape" in exps[0] else ""))
        rows.append("FLOPs per unit: measured forward+backward on the meta device; attention counted as full matmuls.")
        rows += [f"epochs: planned {unit} / the training split's {corpus:,}" if corpus else
                 "epochs: ? until the data is prepared"]  # the warning above 4 epochs is a plan check (plancheck)
    if p.get("wsd"):  # planner.schedule: wsd (flops_fit.wsd.plan): what the schedule saves
        rows.append(p["wsd"]["line"])
    from .plancheck import exact
    for d in p["dropped"]:
        rows.append(f"dropped: budget {exact(d['budget_flops'])}, target N {d['target_params']:.3g}: {d['reason']}")
    return "\n".join(rows)


def format_findings(findings) -> str:
    """The plan checks' findings (flops_fit.plancheck), one line each, as ff-plan and the workflow print them."""
    return "\n".join(f"flops-fit: {'error' if f.level == 'refuse' else 'warning'}: {f.line}" for f in findings)
