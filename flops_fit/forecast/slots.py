"""How many training jobs the workflow really runs side by side: the ETA's and the forecast's job slots.

    slots = parallel_slots(workflow, rules.train_run.rule)   # in a .smk file

Locally, Snakemake runs as many train_run jobs at once as ``--cores`` holds their threads (after
``--set-threads``); on a cluster, ``--jobs`` of them. A further resource that limits the jobs (e.g. GPUs)
is one more cap here, so every caller gets it.
"""
from .resources import rule_threads


def slots_for(*, cores, jobs, cluster: bool, threads: int) -> int:
    """The count from plain numbers: ``jobs`` on a cluster, else ``cores // threads`` (at least 1)."""
    if cluster:
        return max(1, int(jobs or 1))
    if not cores:
        return 1
    return max(1, int(cores) // max(1, int(threads or 1)))


def parallel_slots(workflow, train_rule) -> int:
    """Parallel train_run jobs of this Snakemake invocation (1 when it has no --cores, e.g. --report), capped
    by the devices' job slots where the workflow set them (`device_slots`, workflow/rules/common.smk)."""
    try:
        cluster = bool(workflow.non_local_exec)
        n = slots_for(cores=None if cluster else workflow.cores, jobs=workflow.nodes if cluster else None,
                      cluster=cluster, threads=rule_threads(train_rule))
    except Exception:  # no --cores given: Snakemake raises on the attribute
        return 1
    cap = resource_value(workflow.global_resources.get("device_slots"))
    return max(1, min(n, cap)) if cap else n


def resource_value(v) -> int:
    """A global resource's number, given as an int or as Snakemake's Resource object (None: 0)."""
    v = getattr(v, "value", v)
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0
