# One job per experiment. Its inputs are per-experiment only (its spec as params, the prepared data),
# so adding a budget never reruns an existing experiment. ckpt/ beside metrics.json is not an output:
# it survives a failed job and the rerun resumes from it. update(): Snakemake never deletes an existing
# metrics.json before the job (e.g. one finished by a job orphaned by a killed workflow, which the next
# run forces as "incomplete"): the runner keeps a valid result instead of retraining it. `exec`: the
# shell's PID is the launcher's, so stop signals reach training (docs/training.md, "Signals").


wildcard_constraints:
    exp="C[^/]+",

# results/<sweep>/forecast.json (from `snakemake forecast`), if there is one: each job's runtime (minutes,
# forecast x safety factor) and priority (longest first). Bookkeeping only: changing them reruns nothing.
from flops_fit.forecast.resources import job_resources, load_forecast

FORECAST = load_forecast(f"{SWEEP}/forecast.json")


rule train_run:
    input:
        data_input,
    output:
        metrics=update(f"{SWEEP}/runs/{{exp}}/metrics.json"),
    log:
        f"{LOGS}/train/{{exp}}.log",
    params:
        spec=spec_param,
        runtime=RUNTIME,
        out=lambda wc, output: os.path.dirname(output.metrics),
        launch=LAUNCH,
    threads: 1
    priority: lambda wc: job_resources(FORECAST, SPECS[wc.exp])["priority"]
    resources:
        mem_mb=4000,
        runtime=lambda wc: job_resources(FORECAST, SPECS[wc.exp])["runtime"],
        gpu=0,
    conda:
        "../envs/train.yaml"
    shell:
        "exec {params.launch} scripts/train_run.py --spec {params.spec:q} --runtime {params.runtime:q} "
        "--out {params.out} --threads {threads} > {log} 2>&1"
