# Compose and validate the config, plan the sweep (the "sample sheet"), define helpers.
import json
import os
import sys

from flops_fit.cluster import local_rules, process_threads, slurm_extra, train_resources
from flops_fit.config import ConfigError, load_config, snakemake_overrides, stable_hash
from flops_fit.plan import plan, sweep_dir
from flops_fit.plugins import PluginError
from flops_fit.stages import split_spec

OVERRIDES = snakemake_overrides(config)
try:
    CFG = load_config(OVERRIDES)
    PLAN = plan(CFG)
except (ConfigError, PluginError) as e:
    sys.exit(f"error: {e}")
if not PLAN["experiments"]:
    sys.exit("error: the plan has no feasible experiments (see `ff-plan` for the reasons); "
             "raise budgets.values or lower planner.min_steps")

SWEEP = str(sweep_dir(CFG))
LOGS = f"{SWEEP}/logs"  # beside the results: two sweeps of the same name in other results_dirs never share logs
SPECS = {e["id"]: e for e in PLAN["experiments"]}
DATA_DIR = PLAN["experiments"][0]["data"]["dir"]
UNIT = PLAN["experiments"][0]["unit"]
# Bookkeeping options (logging, checkpoint cadence) reach the jobs outside params: changing them reruns nothing.
RUNTIME = json.dumps(split_spec(PLAN["experiments"][0])[1])
NPROC = CFG["training"]["num_processes"]
LAUNCH = "python" if NPROC == 1 else f"accelerate launch --multi_gpu --num_processes {NPROC}"
# Cluster side (flops_fit.cluster, docs/cluster.md): per-job resources from the config; light rules and
# mock runs execute in the workflow process under any executor (cluster.mock_local=false sends mock runs out).
TRAIN_RES = train_resources(CFG)
SLURM_EXTRA = slurm_extra(CFG)
workflow.localrules(*local_rules(CFG))



def spec_param(wildcards):
    """The experiment's result-relevant spec as JSON: a changed spec reruns that job only."""
    return json.dumps(split_spec(SPECS[wildcards.exp])[0], sort_keys=True)


def data_input(wildcards):
    return [f"{DATA_DIR}/meta.json"] if CFG["mode"] == "real" else []


def all_metrics():
    return [f"{SWEEP}/runs/{i}/metrics.json" for i in SPECS]


# Report items of the plot stage (workflow/plot.smk): figures, the fit summary page, the Chinchilla table.
FIT_ITEMS = {"fit_summary": "Fit summary", "chinchilla_table": "Chinchilla table"}


def _report_category(wildcards):
    return "Fit" if wildcards.name in FIT_ITEMS else "Figures"


def _report_labels(wildcards):
    if wildcards.name in FIT_ITEMS:
        return {"item": FIT_ITEMS[wildcards.name]}
    return {"figure": wildcards.name.replace("_", " ")}
