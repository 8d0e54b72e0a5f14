# Collect every experiment's metrics.json into one table, then fit the scaling laws.


rule collect:
    input:
        all_metrics,
    output:
        runs=f"{SWEEP}/runs.csv",
    log:
        f"{LOGS}/collect.log",
    conda:
        "../../envs/core.yaml"
    shell:
        "python scripts/collect.py --out {output.runs} {input} > {log} 2>&1"


rule fit_scaling_laws:
    input:
        runs=rules.collect.output.runs,
        plan=rules.plan.output.plan,  # fits.json records which plan (hash, experiments) the fit saw
    output:
        fits=f"{SWEEP}/fits.json",
        table_md=f"{SWEEP}/chinchilla_table.md",
        table_csv=f"{SWEEP}/chinchilla_table.csv",
        table_json=f"{SWEEP}/chinchilla_table.json",
    log:
        f"{LOGS}/fit.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    params:
        analysis=json.dumps(CFG["analysis"], sort_keys=True),
        sweep_targets=json.dumps(CFG["budgets"].get("targets", [])),
        unit=UNIT,
        out=lambda wc, output: os.path.dirname(output.fits),
    shell:
        "python scripts/fit.py --runs {input.runs} --out-dir {params.out} --analysis {params.analysis:q} "
        "--unit {params.unit} --plan {input.plan} --sweep-targets {params.sweep_targets:q} > {log} 2>&1"


# After everything else (it times the whole sweep): each run's forecast seconds (forecast.json, when the
# forecast was made) against its measured seconds, the median error and the sweep's wall-time error, and
# its figure. Without a forecast.json the table is empty and the summary says how to make one. forecast.json
# is read, not an input: making a forecast never reruns this, and a missing one never blocks a sweep.
rule forecast_vs_actual:
    input:
        runs=rules.collect.output.runs,
        fits=rules.fit_scaling_laws.output.fits,
        plots=f"{SWEEP}/plots",
    output:
        csv=f"{SWEEP}/forecast_vs_actual.csv",
        summary=f"{SWEEP}/forecast_vs_actual.json",
        fig=report(
            f"{SWEEP}/forecast_vs_actual.png",
            caption="../report/forecast_vs_actual.rst",
            category="Figures",
            labels={"figure": "forecast vs actual"},
        ),
        pdf=f"{SWEEP}/forecast_vs_actual.pdf",
    log:
        f"{LOGS}/forecast_vs_actual.log",
    conda:
        "../../envs/plot.yaml"
    params:
        sweep=lambda wc, input: os.path.dirname(input.fits),
    shell:
        "python scripts/forecast_vs_actual.py --dir {params.sweep} --last-output {input.plots} "
        "--last-output {input.fits} > {log} 2>&1"


# The report's front page (Snakefile `report:`): the answer, the design check, forecast against actual.
rule report_front:
    input:
        fits=rules.fit_scaling_laws.output.fits,
        summary=rules.forecast_vs_actual.output.summary,
        plots=f"{SWEEP}/plots",
        compute=WSD_TARGETS,  # a WSD sweep's compute.json: the front page states the saving
    output:
        front=FRONT_PAGE,
    log:
        f"{LOGS}/report_front.log",
    conda:
        "../../envs/plot.yaml"
    params:
        sweep=lambda wc, input: os.path.dirname(input.fits),
    shell:
        "python scripts/report_front.py --dir {params.sweep} --out {output.front} > {log} 2>&1"
