# Timing the sweep (docs/report.md): the workflow's start for forecast_vs_actual, and the ETA line.
# - at start (common.smk's onstart; main process, real runs only, after the DAG is built): append this Snakemake process's start
#   time to results/<sweep>/workflow_starts.jsonl, so the sweep's wall time includes parsing and the DAG build.
# - the ETA: a filter on Snakemake's logger appends the time left (forecast.json corrected by the finished
#   runs, list-scheduled on the slots) to each "Finished jobid: ... (Rule: train_run)" line it prints.
from flops_fit.forecast.eta import Eta
from flops_fit.forecast.timing_log import add_eta_to_log

# (the onstart that records the start is the workflow's one onstart handler, in common.smk)


def eta_slots():
    """Parallel train_run jobs (flops_fit.forecast.slots: --jobs on a cluster, else --cores // train_run's threads)."""
    from flops_fit.forecast.slots import parallel_slots

    return parallel_slots(workflow, rules.train_run.rule)


if workflow.is_main_process:
    if STEERING:  # later budgets are planned as the sweep runs: the ETA reads the rounds written so far
        from flops_fit.adaptive.driver import current_plan

        add_eta_to_log(Eta(SWEEP, [], slots=eta_slots(), experiments=lambda: current_plan(CFG, PLAN)["experiments"]))
    else:
        add_eta_to_log(Eta(SWEEP, list(SPECS), slots=eta_slots()))
