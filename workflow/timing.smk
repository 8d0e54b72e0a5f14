# Timing the sweep (docs/forecast.md): the workflow's start for forecast_vs_actual, and the ETA line.
# - onstart (main process, real runs only, after the DAG is built): append this Snakemake process's start
#   time to results/<sweep>/workflow_starts.jsonl, so the sweep's wall time includes parsing and the DAG build.
# - the ETA: a filter on Snakemake's logger appends the time left (forecast.json corrected by the finished
#   runs, list-scheduled on the slots) to each "Finished jobid: ... (Rule: train_run)" line it prints.
import time

from flops_fit.forecast.eta import Eta
from flops_fit.forecast.timing_log import add_eta_to_log

PARSED_AT = time.time()


onstart:
    from flops_fit.forecast.actual import mark_workflow_start

    mark_workflow_start(SWEEP, parsed_at=PARSED_AT)


if workflow.is_main_process:
    add_eta_to_log(Eta(SWEEP, list(SPECS), slots=(workflow.nodes if workflow.non_local_exec else workflow._cores) or 1))
