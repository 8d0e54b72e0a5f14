# Record the plan the DAG was built from (common.smk plans once, at parse time): plan.json always
# describes the experiments this run trains and fits, even if config/ is edited while it runs. `run:`
# writes the in-memory PLAN, so it is never re-composed from a config that changed since.


rule plan:
    output:
        plan=f"{SWEEP}/plan.json",
    log:
        f"{LOGS}/plan.log",
    params:
        plan_hash=stable_hash(PLAN),
    run:
        from flops_fit.stages import record_plan

        record_plan(PLAN, output.plan, log[0])
