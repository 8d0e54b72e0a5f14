# Sweeps that steer themselves (docs/adaptive.md): on only with planner.adaptive or planner.extend > 0;
# otherwise this file defines nothing and the static workflow is untouched.
#
# Each budget is planned in rounds, each round a checkpoint (plan_round) that writes
# <sweep>/adaptive/<budget>/round<r>.json from the config and the metrics.json files it takes as input:
#   round 0 of the first planner.adaptive_k budgets (of every budget without planner.adaptive): no input, the prior grid;
#   round 0 of a later budget: every earlier budget's results (so budgets run one after another);
#   round r > 0: the budget's own results of rounds < r (sizes added beyond an edge, planner.extend).
# The training jobs are the usual train_run jobs; their specs come from the round files.
from flops_fit.adaptive.rounds import budget_label, budgets as _steered_budgets, is_steering, needs_earlier, round_key
from pathlib import Path

from flops_fit.io import read_json as _read_json

STEERING = is_steering(CFG)

if STEERING:
    BUDGET_OF = {budget_label(b): b for b in _steered_budgets(CFG)}
    BUDGET_ORDER = list(BUDGET_OF)

    class _RoundSpecs(dict):
        """Experiment specs of the round files, read as rounds appear (train_run's spec_param looks them up)."""

        def __missing__(self, exp):
            for path in sorted(Path(SWEEP, "adaptive").glob("*/round*.json")):
                for e in _read_json(path)["experiments"]:
                    self.setdefault(e["id"], e)
            return dict.__getitem__(self, exp)

    SPECS = _RoundSpecs()

    def _round(bud, r):
        """A round's plan; raises Snakemake's IncompleteCheckpointException until the round is planned."""
        return _read_json(checkpoints.plan_round.get(bud=bud, r=str(r)).output.plan)

    def _ids(bud, upto=None):
        """Experiment ids of a budget's rounds (< upto, or through its last round)."""
        ids, r = [], 0
        while upto is None or r < upto:
            rd = _round(bud, r)
            ids += [e["id"] for e in rd["experiments"]]
            if rd["done"]:
                break
            r += 1
        return ids

    def _metrics(ids):
        return [f"{SWEEP}/runs/{i}/metrics.json" for i in ids]

    def round_results(wildcards):
        r = int(wildcards.r)
        if r > 0:
            return _metrics(_ids(wildcards.bud, upto=r))
        i = BUDGET_ORDER.index(wildcards.bud)
        return _metrics([x for b in BUDGET_ORDER[:i] for x in _ids(b)]) if needs_earlier(CFG, i) else []

    def steered_metrics(wildcards=None):
        return _metrics([x for b in BUDGET_ORDER for x in _ids(b)])

    def all_metrics():  # replaces common.smk's list: the experiments are known only as rounds finish
        return steered_metrics

    wildcard_constraints:
        bud="C[^/]+",
        r=r"\d+",

    checkpoint plan_round:
        input:
            results=round_results,
        output:
            plan=f"{SWEEP}/adaptive/{{bud}}/round{{r}}.json",
        log:
            f"{LOGS}/adaptive/{{bud}}-round{{r}}.log",
        params:
            key=round_key(CFG),  # the plan-relevant config: a change re-plans; a new budget re-plans nothing old
            budget=lambda wc: BUDGET_OF[wc.bud],
            overrides=" ".join(f"'{o}'" for o in OVERRIDES),
        conda:
            "../../envs/core.yaml"
        shell:
            "python scripts/plan_round.py --budget {params.budget} --round {wildcards.r} --out {output.plan} "
            "{params.overrides} --results {input.results} > {log} 2>&1"
