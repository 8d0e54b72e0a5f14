"""Cluster resources of the workflow's jobs, derived from the config (the `cluster` and `training` keys).

The Snakemake rules take their threads, memory, GPUs and Slurm signal from here, so a profile only
names the partition (and account); docs/cluster.md. Runtime and priority come from the forecast
(flops_fit.forecast.resources.job_resources). Nothing here changes an experiment's result.
"""


def train_resources(cfg: dict) -> dict:
    """{'threads', 'mem_mb', 'gpu'} of one train_run job: num_processes x the per-process amounts.

    threads = processes x threads_per_process, so `--cores N` (or a node's CPUs) is never oversubscribed
    by the launcher's processes: each process gets threads // processes (process_threads)."""
    c, nproc = cfg["cluster"], int(cfg["training"]["num_processes"])
    return {
        "threads": nproc * int(c["threads_per_process"]),
        "mem_mb": nproc * int(c["mem_mb_per_process"]),
        "gpu": nproc * int(c["gpus_per_process"]),
    }


def process_threads(threads: int, nproc: int) -> int:
    """torch threads of each of `nproc` processes sharing a job's `threads` cores (at least 1)."""
    return max(1, int(threads) // max(1, int(nproc)))


def slurm_extra(cfg: dict) -> str:
    """sbatch options of a training job: SIGTERM `signal_seconds` before the time limit to every job step.

    No `B:` prefix: the signal goes to the job steps (the srun step holding the training process), not to
    the batch shell, which Snakemake's job step waits in."""
    s = int(cfg["cluster"]["signal_seconds"])
    return f"--signal=TERM@{s}" if s > 0 else ""


def local_rules(cfg: dict) -> list:
    """Rules that execute in the workflow process even under a cluster executor."""
    rules = ["plan", "collect", "fit_scaling_laws", "plot", "forecast_vs_actual", "report_front"]
    if cfg["cluster"]["prepare_local"]:
        rules.append("prepare_data")
    if cfg["mode"] == "mock" and cfg["cluster"]["mock_local"]:
        rules.append("train_run")
    return rules
