# WSD-S sweeps (planner.schedule: wsd; docs/wsd.md). Cell k of a size is its own job that starts from cell k-1's
# kept checkpoint: its input is the parent's metrics.json, which the trainer writes only after keeping that
# checkpoint (runs/<parent>/ckpt/ stays undeclared, like every ckpt/). The job is train_run's with that one input
# added; a cell's id carries "-wsd-", and only this rule makes such ids. With no WSD cells in the plan this file
# adds nothing to the DAG (compute.json is asked for only then).


ruleorder: train_wsd_cell > train_run


use rule train_run as train_wsd_cell with:
    input:
        data_input,
        wsd_parent,
    wildcard_constraints:
        exp="C[^/]+-wsd-[0-9a-f]+",


# <sweep>/compute.json: every FLOP trained against what the same cells cost as cosine runs (flops_fit.wsd.compute)
rule wsd_compute:
    input:
        plan=rules.plan.output.plan,
        metrics=[f"{SWEEP}/runs/{i}/metrics.json" for i in WSD_CELLS],
    output:
        compute=f"{SWEEP}/compute.json",
    log:
        f"{LOGS}/wsd_compute.log",
    conda:
        "../../envs/core.yaml"
    shell:
        "python -m flops_fit.wsd.compute --plan {input.plan} --out {output.compute} {input.metrics} > {log} 2>&1"


workflow.localrules("wsd_compute", *(["train_wsd_cell"] if "train_run" in local_rules(CFG) else []))
