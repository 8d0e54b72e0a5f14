# One job per experiment. Its inputs are per-experiment only (its spec as params, the prepared data),
# so adding a budget never reruns an existing experiment. ckpt/ beside metrics.json is not an output:
# it survives a failed job and the rerun resumes from it.


wildcard_constraints:
    exp="C[^/]+",


rule train_run:
    input:
        data_input,
    output:
        metrics=f"{SWEEP}/runs/{{exp}}/metrics.json",
    log:
        f"{LOGS}/train/{{exp}}.log",
    params:
        spec=spec_param,
        runtime=RUNTIME,
        out=lambda wc, output: os.path.dirname(output.metrics),
        launch=LAUNCH,
        proc_threads=lambda wc, threads: process_threads(threads, NPROC),
    threads: TRAIN_RES["threads"]  # num_processes x cluster.threads_per_process (flops_fit.cluster)
    resources:
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=120,
        gpu=TRAIN_RES["gpu"],
        slurm_extra=SLURM_EXTRA,  # --signal=TERM@cluster.signal_seconds: checkpoint before the time limit
    conda:
        "../envs/train.yaml"
    shell:
        # exec: the launcher replaces the shell, so a SIGTERM to the job reaches the training process
        "exec {params.launch} scripts/train_run.py --spec {params.spec:q} --runtime {params.runtime:q} "
        "--out {params.out} --threads {params.proc_threads} > {log} 2>&1"
