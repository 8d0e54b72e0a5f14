"""Plan checks: what is wrong with a plan, said before anything trains, one line each naming the key to change.

A check is a function ``check(cfg, plan) -> list[Finding]``, registered with ``@register``. It must be analytic
and fast: checks run while Snakemake builds its DAG (``flops_fit.preflight.workflow_plan``) and in ``ff-plan``,
so they read the composed config and the plan dict only (no training, no fit, no plugin import).

A finding is ``warn`` (printed, the workflow goes on) or ``refuse`` (exit status 1 before any job starts).
Refuse only when nothing at all could come of the plan; anything the sweep can still learn from is a warning.

    from flops_fit.plancheck import Finding, register

    @register
    def epochs(cfg, plan):
        if too_many_epochs(cfg, plan):
            return [Finding("warn", "dataset.max_tokens", "the largest run repeats its data 4.2 times: ...")]
        return []
"""
from dataclasses import dataclass

import numpy as np

from flops_fit.constants import MIN_SIZES_PER_BUDGET

WARN, REFUSE = "warn", "refuse"
CHECKS = []


@dataclass(frozen=True)
class Finding:
    level: str  # "warn" | "refuse"
    key: str    # the config key to change, e.g. "analysis.include_near_edge"
    line: str   # one line, naming the key

    def __post_init__(self):
        if self.level not in (WARN, REFUSE):
            raise ValueError(f"Finding.level must be {WARN!r} or {REFUSE!r}, got {self.level!r}")


def register(check):
    """Add ``check(cfg, plan) -> list[Finding]`` to the checks every plan goes through (in registration order)."""
    if check not in CHECKS:
        CHECKS.append(check)
    return check


def run(cfg: dict, plan: dict) -> list:
    """Every registered check's findings, refusals first."""
    found = [f for check in CHECKS for f in (check(cfg, plan) or [])]
    return sorted(found, key=lambda f: f.level != REFUSE)


def exact(x: float) -> str:
    """A number in full precision, as short as it round-trips: 1.011 -> '1.011', 1e11 -> '1e11', 3.16e11 -> '3.16e11'."""
    x = float(x)
    s = repr(x)
    if "e" in s or (1e-3 <= abs(x) < 1e6):
        return s.replace("e+", "e")
    return np.format_float_scientific(x, unique=True, trim="-").replace("e+", "e")


def _per_budget(plan: dict) -> dict:
    out = {}
    for e in plan["experiments"]:
        out.setdefault(e["budget_flops"], []).append(e)
    return out


def _did_you_mean(budget: float, enough: float) -> str | None:
    """A typo reading of a too-small budget that is large enough: '1.011' -> '1.0e11' (a lost 'e')."""
    s = repr(float(budget))
    if "e" in s or "." not in s:
        return None
    head, frac = s.split(".")
    for i in range(1, len(frac)):
        mant, exp = f"{head}.{frac[:i]}", frac[i:]
        if exp.isdigit() and float(f"{mant}e{exp}") >= enough:
            return f"{mant}e{int(exp)}"
    return None


@register
def empty_budgets(cfg, plan):
    """Every budget of budgets.values that yields no experiment, named as typed, with the reason."""
    per = _per_budget(plan)
    out = []
    for b in sorted({float(v) for v in cfg["budgets"]["values"]}):
        if b in per:
            continue
        dropped = [d for d in plan["dropped"] if d["budget_flops"] == b]
        keys = sorted({d.get("key", "planner") for d in dropped})
        step = min((d["step_flops"] for d in dropped if d.get("step_flops")), default=None)
        if step and b < step:
            why = f"smaller than one step of the smallest model ({step:.3g} FLOPs)"
            min_steps = cfg["planner"]["min_steps"]
            guess = _did_you_mean(b, step * min_steps)
            hint = f"; did you mean {guess}?" if guess else f"; raise it to {step * min_steps:.2g} or more"
            out.append(Finding(WARN, "budgets.values", f"budget {exact(b)} FLOPs: {why}{hint} (budgets.values)"))
            continue
        why = (f"all {len(dropped)} sizes dropped by {' and '.join(keys)}" if dropped else "no size was planned")
        out.append(Finding(WARN, keys[0] if len(keys) == 1 else "budgets.values",
                           f"budget {exact(b)} FLOPs: no experiment, {why} (`ff-plan` lists the reasons)"))
    return out


@register
def cut_budgets(cfg, plan):
    """A budget that kept some sizes but lost others: which points, and the key that dropped them."""
    per = _per_budget(plan)
    out = []
    for b, exps in sorted(per.items()):
        dropped = [d for d in plan["dropped"] if d["budget_flops"] == b]
        if not dropped:
            continue
        by_key = {}
        for d in dropped:
            by_key.setdefault(d.get("key", "planner"), []).append(d)
        parts = ["N " + ", ".join(f"{d['target_params']:.3g}" for d in ds) + f" by {k}" for k, ds in sorted(by_key.items())]
        out.append(Finding(WARN, sorted(by_key)[0],
                           f"budget {exact(b)} FLOPs: {len(exps)} of {len(exps) + len(dropped)} sizes planned, "
                           f"dropped {'; '.join(parts)} (`ff-plan` lists the reasons)"))
    return out


@register
def near_edge(cfg, plan):
    """With 3 sizes or fewer per budget every IsoFLOP vertex is near an edge: Approach 2 drops such budgets."""
    if cfg["analysis"].get("include_near_edge", False):
        return []
    small = sorted(b for b, exps in _per_budget(plan).items()
                   if len({e["params"] for e in exps}) <= MIN_SIZES_PER_BUDGET)
    if not small:
        return []
    which = "every budget" if len(small) == len(_per_budget(plan)) else f"budget(s) {', '.join(map(exact, small))}"
    return [Finding(WARN, "analysis.include_near_edge",
                    f"{which}: {MIN_SIZES_PER_BUDGET} sizes or fewer, so every optimum will be near_edge and "
                    "Approach 2 leaves it out: set analysis.include_near_edge=true or raise planner.sizes")]


def fittable(cfg, plan) -> tuple:
    """(approach 2 possible, approach 3 possible) from the plan's counts alone."""
    per = _per_budget(plan)
    edge_ok = cfg["analysis"].get("include_near_edge", False)
    n_sizes = {b: len({e["params"] for e in exps}) for b, exps in per.items()}
    a2 = sum(n > MIN_SIZES_PER_BUDGET or (n == MIN_SIZES_PER_BUDGET and edge_ok) for n in n_sizes.values()) >= 2
    exps = plan["experiments"]
    a3 = len(exps) >= 8 and len({e["params"] for e in exps}) >= 3 and len(per) >= 2
    return a2, a3


@register
def nothing_to_fit(cfg, plan):
    """Refuse a plan from which neither approach could fit anything."""
    if not plan["experiments"]:
        return [Finding(REFUSE, "budgets.values", "the plan has no feasible experiments (`ff-plan` lists the reasons); "
                        "raise budgets.values or lower planner.min_steps")]
    a2, a3 = fittable(cfg, plan)
    if a2 or a3:
        return []
    per = _per_budget(plan)
    counts = ", ".join(f"{exact(b)}: {len(e)}" for b, e in sorted(per.items()))
    return [Finding(REFUSE, "budgets.values",
                    f"budgets.values: nothing could be fitted (sizes per budget {counts}): Approach 2 needs IsoFLOP "
                    f"minima at 2 budgets or more (> {MIN_SIZES_PER_BUDGET} sizes each, or "
                    f"{MIN_SIZES_PER_BUDGET} with analysis.include_near_edge=true), Approach 3 >= 8 runs over "
                    f"2 budgets or more: add budgets, or raise planner.sizes")]


def refusal(findings) -> str | None:
    """The first refusal's line, or None."""
    return next((f.line for f in findings if f.level == REFUSE), None)


@register
def epochs(cfg, plan):
    """Runs that would read their training data more than ~4 times (flops_fit.epochs)."""
    from .epochs import check_epochs
    return [Finding(WARN, "budgets.values", line) for line in check_epochs(cfg, plan)]
from flops_fit.wsd import checks as _wsd_checks  # noqa: E402,F401  (registers the WSD sweep's checks)
