# `snakemake --cores 2 calibrate_lr`: the LR calibration before the sweep (flops_fit/lr/, docs/training.md).
# Truncated runs at multipliers of the current rule on a few (N, D) cells of the sweep's plan, a parabola in
# log LR per cell, the rule in N and D with intervals: <sweep>/lr_calibration.json. Then a sweep with
# training.lr=calibrated plans every run's LR from it. Never a dependency of `all`. The calibration plan is
# made only when a calibration job is in the DAG (input functions), so other runs never pay for it.

from flops_fit.lr.stage import FIGURE as LR_FIGURE, RUNS as LR_RUNS


wildcard_constraints:
    cal="L[^/]+",


rule lr_calibration_plan:
    output:
        plan=f"{SWEEP}/lr_calibration_plan.json",
    log:
        f"{LOGS}/lr_calibration_plan.log",
    conda:
        "../../envs/core.yaml"
    params:
        plan_hash=lambda wc: stable_hash(lr_plan()["plan"]),
        stash=lambda wc: lr_plan()["stash"],
    shell:
        "python scripts/calibrate_lr.py record --from {params.stash} --hash {params.plan_hash} --out {output.plan} > {log} 2>&1"


rule lr_calibration_run:
    input:
        data_input,
    output:
        metrics=update(f"{SWEEP}/{LR_RUNS}/{{cal}}/metrics.json"),
    log:
        f"{LOGS}/lr_calibration/{{cal}}.log",
    conda:
        "../../envs/train.yaml"
    threads: TRAIN_RES["threads"]
    resources:
        mem_mb=TRAIN_RES["mem_mb"],
        gpu=TRAIN_RES["gpu"],
        device_slots=1,  # as train_run's (common.smk's DEVICE_SLOTS)
        slurm_extra=SLURM_EXTRA,
    params:
        spec=lambda wc: json.dumps(split_spec(lr_plan()["specs"][wc.cal])[0], sort_keys=True),
        runtime=RUNTIME,
        out=lambda wc, output: os.path.dirname(output.metrics),
        launch=LAUNCH,
        slots=SLOTS,
        proc_threads=lambda wc, threads: process_threads(threads, NPROC),
    shell:
        "exec python -m flops_fit.slots {params.slots} -- {params.launch} scripts/train_run.py --spec {params.spec:q} --runtime {params.runtime:q} "
        "--out {params.out} --threads {params.proc_threads} > {log} 2>&1"


rule calibrate_lr:
    input:
        plan=rules.lr_calibration_plan.output.plan,
        metrics=lambda wc: [f"{SWEEP}/{LR_RUNS}/{i}/metrics.json" for i in lr_plan()["specs"]],
    output:
        calibration=f"{SWEEP}/lr_calibration.json",
        figure=f"{SWEEP}/{LR_FIGURE}",
    log:
        f"{LOGS}/calibrate_lr.log",
    conda:
        "../../envs/plot.yaml"
    params:
        runs=f"{SWEEP}/{LR_RUNS}",
    shell:
        "python scripts/calibrate_lr.py fit --plan {input.plan} --runs {params.runs} --out {output.calibration} "
        "--figure {output.figure} > {log} 2>&1 && tail -n 30 {log}"
