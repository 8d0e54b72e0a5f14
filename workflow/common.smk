# Compose and validate the config, plan the sweep (the "sample sheet"), define helpers.
import json
import os
import sys

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
LOGS = f"logs/{CFG['sweep']}"
SPECS = {e["id"]: e for e in PLAN["experiments"]}
DATA_DIR = PLAN["experiments"][0]["data"]["dir"]
UNIT = PLAN["experiments"][0]["unit"]
# Bookkeeping options (logging, checkpoint cadence) reach the jobs outside params: changing them reruns nothing.
RUNTIME = json.dumps(split_spec(PLAN["experiments"][0])[1])
NPROC = CFG["training"]["num_processes"]
LAUNCH = "python" if NPROC == 1 else f"accelerate launch --multi_gpu --num_processes {NPROC}"
# The report's front page, written per sweep by rule report_front (workflow/analyze.smk); a placeholder until then.
FRONT_PAGE = f"{SWEEP}/report/front.rst"
REPORT_FRONT = os.path.abspath(FRONT_PAGE) if os.path.isfile(FRONT_PAGE) else "workflow/report/workflow.rst"



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
