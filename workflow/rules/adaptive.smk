# Sweeps that steer themselves (docs/adaptive.md): on only with planner.adaptive or planner.extend > 0;
# otherwise this file defines nothing and the static workflow is untouched.
#
# Each budget is planned in rounds, each round a checkpoint (plan_round) that writes
# <sweep>/adaptive/<budget>/round<r>.json from the config and the metrics.json files it takes as input:
#   round 0 of the first planner.adaptive_k budgets (of every budget without planner.adaptive): no input, the prior grid;
#   round 0 of a later budget: every earlier budget's results (so budgets run one after another);
#   round r > 0: the budget's own results of rounds < r (sizes added beyond an edge, planner.extend).
# The training jobs are the usual train_run jobs; their specs come from the round files.
from flops_fit.adaptive.rounds import needs_earlier, round_key

# STEERING, SPECS (specs read from the round files), BUDGET_OF, BUDGET_ORDER and all_metrics: common.smk.
if STEERING:

    def round_results(wildcards):
        """The metrics.json files a round is planned from (see above)."""
        r = int(wildcards.r)
        if r > 0:
            return metrics_files(round_ids(checkpoints.plan_round, wildcards.bud, upto=r))
        i = BUDGET_ORDER.index(wildcards.bud)
        if not needs_earlier(CFG, i):
            return []
        return metrics_files([x for b in BUDGET_ORDER[:i] for x in round_ids(checkpoints.plan_round, b)])

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
        conda:
            "../../envs/core.yaml"
        params:
            key=round_key(CFG),  # the plan-relevant config: a change re-plans; a new budget re-plans nothing old
            budget=lambda wc: BUDGET_OF[wc.bud],
            overrides=" ".join(f"'{o}'" for o in OVERRIDES),
        shell:
            "python scripts/plan_round.py --budget {params.budget} --round {wildcards.r} --out {output.plan} "
            "{params.overrides} --results {input.results} > {log} 2>&1"
