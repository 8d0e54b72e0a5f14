# The forecast of the sweep's time, memory and cost: `snakemake --cores 2 forecast --config ...`.
# Never an input of training nor of `rule all`. A training-class job: it runs the real training loop
# briefly (calibration), so it gets train_run's threads and resources (under a cluster profile, the same
# hardware); it times `forecast.concurrency` processes side by side (default: the jobs the sweep will run
# here, --cores // train_run threads; set 1 when every job gets its own node). docs/forecast.md.


from flops_fit.forecast.resources import rule_threads

TRAIN_THREADS = rule_threads(rules.train_run.rule)  # after --set-threads
FORECAST_OVERRIDES = list(OVERRIDES)
try:
    _CORES = workflow.cores
except Exception:  # no --cores (--report, --lint): Snakemake raises on the attribute
    _CORES = None
if CFG["forecast"].get("cores") is None and _CORES:
    FORECAST_OVERRIDES.append(f"forecast.cores={int(_CORES)}")
if CFG["forecast"].get("threads") is None:
    FORECAST_OVERRIDES.append(f"forecast.threads={TRAIN_THREADS}")


rule forecast:
    input:
        data_input,
    output:
        forecast=f"{SWEEP}/forecast.json",
        md=f"{SWEEP}/forecast.md",
    log:
        f"{LOGS}/forecast.log",
    conda:
        "../../envs/train.yaml"
    threads: TRAIN_THREADS
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=0,
    params:
        plan_hash=stable_hash(PLAN),  # a changed plan or forecast config reruns the forecast
        forecast_cfg=json.dumps(CFG["forecast"], sort_keys=True),
        overrides=" ".join(f"'{o}'" for o in FORECAST_OVERRIDES),
        out=lambda wc, output: os.path.dirname(output.forecast),
    shell:
        "python scripts/forecast.py --out {params.out} {params.overrides} 2>&1 | tee {log}"
