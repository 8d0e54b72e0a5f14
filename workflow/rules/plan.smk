# Record the plan the DAG was built from: common.smk plans once, at parse time, and stashes that plan
# under .snakemake/flops-fit/; this job copies it (checking its hash), so plan.json always describes the
# experiments this run trains and fits, even if config/ is edited while it runs. (A `run:` block would
# not do: Snakemake 9 runs it in a subprocess that parses the Snakefile, and so the config, again.)


rule plan:
    output:
        plan=f"{SWEEP}/plan.json",
    log:
        f"{LOGS}/plan.log",
    conda:
        "../../envs/core.yaml"
    params:
        plan_hash=stable_hash(PLAN),
        stash=PLAN_STASH,
    shell:
        "python scripts/plan.py --from {params.stash} --hash {params.plan_hash} --out {output.plan} > {log} 2>&1"
