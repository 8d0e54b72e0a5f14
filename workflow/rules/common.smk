# Compose and validate the config, plan the sweep (the "sample sheet"), define helpers.
import json
import os
import sys
import time

from flops_fit import preflight
from flops_fit.adaptive.dag import RoundSpecs, round_ids
from flops_fit.adaptive.rounds import budget_label, budgets as steered_budgets, is_steering
from flops_fit.cluster import local_rules, process_threads, slurm_extra, train_resources
from flops_fit.config import snakemake_overrides, stable_hash
from flops_fit.lr.grid import calibration_overrides
from flops_fit.plan import sweep_dir
from flops_fit.slots import job_limit
from flops_fit.stages import split_spec

# Config errors, a plan nothing could be fitted from, an unwritable results folder: one "flops-fit: error:" line, exit 1.
# `snakemake calibrate_lr` plans with the LR rule being calibrated, as training.lr=calibrated needs its result (flops_fit.lr)
OVERRIDES = calibration_overrides(snakemake_overrides(config), sys.argv)
# The plan checks (flops_fit.plancheck) warn here, once, in the main process; a refusal stops before any job.
CFG, PLAN = preflight.workflow_plan(OVERRIDES, quiet=bool(workflow.remote_exec or workflow.subprocess_exec))
PLAN_STASH = preflight.stash_plan(PLAN)  # the plan this DAG is built from, for rule plan (plan.smk)

SWEEP = str(sweep_dir(CFG))
LOGS = f"{SWEEP}/logs"  # beside the results: two sweeps of the same name in other results_dirs never share logs
PARSED_AT = time.time()  # the config composed and the sweep planned: workflow_starts.jsonl (onstart, below)
# A steered sweep (planner.adaptive / planner.extend, workflow/rules/adaptive.smk) knows its experiments only as
# its rounds are planned: SPECS reads them from the round files as they appear.
STEERING = is_steering(CFG)
PLANNED = {e["id"]: e for e in PLAN["experiments"]}  # the static plan (a steered sweep's prior grid)
SPECS = RoundSpecs(SWEEP) if STEERING else PLANNED
# A WSD sweep's cells (planner.schedule: wsd, workflow/rules/wsd.smk) and what `all` adds for it: compute.json.
WSD_CELLS = [i for i, s in PLANNED.items() if s.get("wsd")]
WSD_TARGETS = [f"{SWEEP}/compute.json"] if WSD_CELLS else []
BUDGET_OF = {budget_label(b): b for b in steered_budgets(CFG)} if STEERING else {}  # round folder -> budget
BUDGET_ORDER = list(BUDGET_OF)  # ascending: a later budget may be planned from the earlier ones' results
DATA_DIR = PLAN["experiments"][0]["data"]["dir"]
UNIT = PLAN["experiments"][0]["unit"]
# Bookkeeping options (logging, checkpoint cadence) reach the jobs outside params: changing them reruns nothing.
# training.compile=auto reads its decision from the sweep's forecast.json; Inductor's caches are shared per results_dir.
RUNTIME = json.dumps(
    {
        **split_spec(PLAN["experiments"][0])[1],
        "forecast": f"{SWEEP}/forecast.json",
        "compile_cache": os.path.join(CFG["results_dir"], ".cache", "inductor"),
    }
)
NPROC = CFG["training"]["num_processes"]
LAUNCH = "python" if NPROC == 1 else f"accelerate launch --multi_gpu --num_processes {NPROC}"
SLOTS = f"--runs-per-gpu {CFG['cluster']['runs_per_gpu']} --devices {NPROC}"  # flops_fit.slots (train.smk)
# On a machine with GPUs (local execution), Snakemake itself starts at most as many train_run jobs as the
# devices have slots (each job takes one `device_slots`), so jobs start in its priority order (longest first)
# and none waits inside flops_fit.slots, whose wait would count as training time. `--resources device_slots=N`
# on the command line wins. On a CPU machine or a cluster there is no such limit.
DEVICE_SLOTS = 0 if workflow.non_local_exec else job_limit(CFG["cluster"]["runs_per_gpu"], NPROC)
if DEVICE_SLOTS and "device_slots" not in workflow.global_resources:
    workflow.register_resource("device_slots", DEVICE_SLOTS)
# Cluster side (flops_fit.cluster, docs/cluster.md): per-job resources from the config; light rules and
# mock runs execute in the workflow process under any executor (cluster.mock_local=false sends mock runs out).
TRAIN_RES = train_resources(CFG)
SLURM_EXTRA = slurm_extra(CFG)
workflow.localrules(*local_rules(CFG))
# The report's front page, written per sweep by rule report_front (workflow/rules/analyze.smk); a placeholder until then.
FRONT_PAGE = f"{SWEEP}/report/front.rst"
REPORT_FRONT = os.path.abspath(FRONT_PAGE) if os.path.isfile(FRONT_PAGE) else "workflow/report/workflow.rst"

# In the main process of a run that executes jobs (not Slurm jobs, which parse this file again, nor
# --report, --unlock, ...): a stale Snakemake lock left by a killed run gets one line saying what to
# run; a result file that does not parse or validate counts as missing (set aside as .bad; a dry run
# only says what the real run will do).
if not (workflow.remote_exec or workflow.subprocess_exec):
    _dry = workflow.dryrun or not preflight.executes_jobs(sys.argv)
    if not _dry and "--nolock" not in sys.argv:
        _stale = preflight.stale_lock([SWEEP, DATA_DIR, LOGS])
        if _stale:
            preflight.fail(_stale)
    preflight.check_results({**PLANNED, **SPECS}, SWEEP, dry_run=_dry)  # and the rounds planned so far
    preflight.check_tables(SWEEP, dry_run=_dry)
    if CFG["mode"] == "real":
        preflight.check_data(DATA_DIR)


# Snakemake keeps one onstart handler per workflow: everything that runs at start goes here.
onstart:
    # SIGTERM/SIGINT of the workflow reach the running jobs: they checkpoint and stop (flops_fit.signals)
    from flops_fit.signals import forward_stop_signals
    from flops_fit.forecast.actual import mark_workflow_start

    forward_stop_signals()
    # the sweep's start, for forecast_vs_actual (docs/report.md)
    mark_workflow_start(SWEEP, parsed_at=PARSED_AT)


def spec_param(wildcards):
    """The experiment's result-relevant spec as JSON: a changed spec reruns that job only."""
    return json.dumps(split_spec(SPECS[wildcards.exp])[0], sort_keys=True)


def data_input(wildcards):
    return [f"{DATA_DIR}/meta.json"] if CFG["mode"] == "real" else []


def metrics_files(ids):
    return [f"{SWEEP}/runs/{i}/metrics.json" for i in ids]


def all_metrics(wildcards=None):
    """Every experiment's metrics.json, as an input function: the plan's, or in a steered sweep each budget's
    rounds' as its plan_round checkpoints finish (adaptive.smk)."""
    if STEERING:
        return metrics_files([i for b in BUDGET_ORDER for i in round_ids(checkpoints.plan_round, b)])
    return metrics_files(SPECS)


# Report items of the plot stage (workflow/rules/plot.smk): figures, the fit summary page, the Chinchilla table.
FIT_ITEMS = {"fit_summary": "Fit summary", "chinchilla_table": "Chinchilla table"}


def _report_category(wildcards):
    return "Fit" if wildcards.name in FIT_ITEMS else "Figures"


def _report_labels(wildcards):
    if wildcards.name in FIT_ITEMS:
        return {"item": FIT_ITEMS[wildcards.name]}
    return {"figure": wildcards.name.replace("_", " ")}


# A WSD cell's job starts from its parent cell's kept checkpoint: its input is the parent's metrics.json (wsd.smk).
def wsd_parent(wildcards):
    parent = SPECS[wildcards.exp]["wsd"]["parent"]
    return [f"{SWEEP}/runs/{parent}/metrics.json"] if parent else []


# The LR calibration's plan (lr.smk), made only when a calibration job is in the DAG.
_LR = {}


def lr_plan():
    """The calibration plan (flops_fit.lr.grid), made once per parse, stashed like the sweep's plan."""
    if not _LR:
        from flops_fit.lr.stage import plan_for

        _LR["plan"] = plan_for(CFG)
        _LR["specs"] = {e["id"]: e for e in _LR["plan"]["experiments"]}
        _LR["stash"] = preflight.stash_plan(_LR["plan"])
    return _LR
