# Figures from the saved results only (no refitting).


rule plot:
    input:
        runs=rules.collect.output.runs,
        fits=rules.fit_scaling_laws.output.fits,
    output:
        plots=directory(f"{SWEEP}/plots"),
    log:
        f"{LOGS}/plot.log",
    params:
        sweep=SWEEP,
    shell:
        "python scripts/plot.py --dir {params.sweep} --out {output.plots} > {log} 2>&1"
