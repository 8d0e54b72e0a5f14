# Collect every experiment's metrics.json into one table, then fit the scaling laws.


rule collect:
    input:
        all_metrics(),
    output:
        runs=f"{SWEEP}/runs.csv",
    log:
        f"{LOGS}/collect.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python scripts/collect.py --out {output.runs} {input} > {log} 2>&1"


rule fit_scaling_laws:
    input:
        runs=rules.collect.output.runs,
    output:
        fits=f"{SWEEP}/fits.json",
        table_md=f"{SWEEP}/chinchilla_table.md",
        table_csv=f"{SWEEP}/chinchilla_table.csv",
        table_json=f"{SWEEP}/chinchilla_table.json",
    log:
        f"{LOGS}/fit.log",
    params:
        analysis=json.dumps(CFG["analysis"], sort_keys=True),
        sweep_targets=json.dumps(CFG["budgets"].get("targets", [])),
        unit=UNIT,
        out=lambda wc, output: os.path.dirname(output.fits),
    threads: 1
    conda:
        "../envs/analysis.yaml"
    shell:
        "python scripts/fit.py --runs {input.runs} --out-dir {params.out} --analysis {params.analysis:q} "
        "--unit {params.unit} --sweep-targets {params.sweep_targets:q} > {log} 2>&1"
