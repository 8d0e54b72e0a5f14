# Figures and the report's fit summary, from the saved results only (no refitting).
# `snakemake --report results/report.html` collects what is marked report(...) here: every figure in
# plots/ (PNG; the PDF beside it is for papers), the fit summary page and the Chinchilla table.
# Everything lives in the one directory output, so `rule all` (which asks for plots/) builds it all.


rule plot:
    input:
        runs=rules.collect.output.runs,
        fits=rules.fit_scaling_laws.output.fits,
        table_csv=rules.fit_scaling_laws.output.table_csv,
    output:
        plots=report(
            directory(f"{SWEEP}/plots"),
            patterns=["{name}.png", "{name}.html", "{name}.csv"],
            caption="../report/plots.rst",
            category=_report_category,
            labels=_report_labels,
        ),
    log:
        f"{LOGS}/plot.log",
    conda:
        "../../envs/plot.yaml"
    params:
        sweep=lambda wc, input: os.path.dirname(input.runs),
    shell:
        "python scripts/plot.py --dir {params.sweep} --out {output.plots} --summary --table {input.table_csv}"
        " > {log} 2>&1"
