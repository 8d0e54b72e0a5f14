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
    priority: lambda wc: job_resources(FORECAST, SPECS[wc.exp])["priority"]  # longest first
    conda:
        "../../envs/train.yaml"
    threads: TRAIN_RES["threads"]  # num_processes x cluster.threads_per_process (flops_fit.cluster)
    resources:
        mem_mb=TRAIN_RES["mem_mb"],
        runtime=lambda wc: job_resources(FORECAST, SPECS[wc.exp])["runtime"],  # forecast x safety, else default
        gpu=TRAIN_RES["gpu"],
        device_slots=1,  # of DEVICE_SLOTS (common.smk): a GPU machine's jobs start in priority order
        slurm_extra=SLURM_EXTRA,  # --signal=TERM@cluster.signal_seconds: checkpoint before the time limit
    params:
        spec=spec_param,
        runtime=RUNTIME,
        out=lambda wc, output: os.path.dirname(output.metrics),
        launch=LAUNCH,
        slots=SLOTS,  # a device per run on a GPU machine: --runs-per-gpu k --devices num_processes
        proc_threads=lambda wc, threads: process_threads(threads, NPROC),
    shell:
        # exec: the launcher replaces the shell, so a SIGTERM to the job reaches the training process.
        # flops_fit.slots takes free device slots (CUDA_VISIBLE_DEVICES) first and execs the launcher in turn
        "exec python -m flops_fit.slots {params.slots} -- {params.launch} scripts/train_run.py --spec {params.spec:q} --runtime {params.runtime:q} "
        "--out {params.out} --threads {params.proc_threads} > {log} 2>&1"
