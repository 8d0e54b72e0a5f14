# Record the plan (the DAG itself comes from the same pure function in common.smk).


rule plan:
    output:
        plan=f"{SWEEP}/plan.json",
    log:
        f"{LOGS}/plan.log",
    params:
        plan_hash=stable_hash(PLAN),
        overrides=" ".join(f"'{o}'" for o in OVERRIDES),
    conda:
        "../envs/core.yaml"
    shell:
        "python scripts/plan.py --out {output.plan} {params.overrides} > {log} 2>&1"
