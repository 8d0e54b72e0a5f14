# Figures and the report's fit summary, from the saved results only (no refitting).
# `snakemake --report results/report.html` collects what is marked report(...) here: every figure in
# plots/ (PNG; the PDF beside it is for papers), the fit summary page and the Chinchilla table.
# Everything lives in the one directory output, so `rule all` (which asks for plots/) builds it all.

FIT_ITEMS = {"fit_summary": "Fit summary", "chinchilla_table": "Chinchilla table"}


def _report_category(wildcards):
    return "Fit" if wildcards.name in FIT_ITEMS else "Figures"


def _report_labels(wildcards):
    if wildcards.name in FIT_ITEMS:
        return {"item": FIT_ITEMS[wildcards.name]}
    return {"figure": wildcards.name.replace("_", " ")}


rule plot:
    input:
        runs=rules.collect.output.runs,
        fits=rules.fit_scaling_laws.output.fits,
        table_csv=rules.fit_scaling_laws.output.table_csv,
    output:
        plots=report(
            directory(f"{SWEEP}/plots"),
            patterns=["{name}.png", "{name}.html", "{name}.csv"],
            caption="report/plots.rst",
            category=_report_category,
            labels=_report_labels,
        ),
    log:
        f"{LOGS}/plot.log",
    params:
        sweep=SWEEP,
        repo=workflow.basedir,   # flops_fit importable without an install (conda envs), as scripts/_repo.py does
    conda:
        "../envs/plot.yaml"
    shell:
        "(python scripts/plot.py --dir {params.sweep} --out {output.plots}"
        " && PYTHONPATH={params.repo:q}${{PYTHONPATH:+:$PYTHONPATH}} python -m flops_fit.plot.summary"
        " --dir {params.sweep} --out {output.plots}/fit_summary.html"
        " && cp {input.table_csv} {output.plots}/chinchilla_table.csv) > {log} 2>&1"
