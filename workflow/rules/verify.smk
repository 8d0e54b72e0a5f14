# `snakemake --cores 2 verify --config target=<C>`: one run at the predicted N*(C), D*(C) of the selected law
# (fits.json), its predicted loss with the interval against the actual loss (verify.json, the front page,
# verify/predicted_vs_actual.png). Never part of `rule all`. flops_fit/predict/verify.py, docs/predict.md.

import shlex


rule verify:
    input:
        fits=rules.fit_scaling_laws.output.fits,
        data=data_input,
    output:
        verify=f"{SWEEP}/verify.json",
    log:
        f"{LOGS}/verify.log",
    conda:
        "../../envs/train.yaml"
    threads: TRAIN_RES["threads"]
    resources:
        mem_mb=TRAIN_RES["mem_mb"],
        gpu=TRAIN_RES["gpu"],
    params:
        target=CFG.get("target"),  # a new target reruns the verification
        overrides=" ".join(shlex.quote(o) for o in OVERRIDES),
    shell:
        "python scripts/verify.py --fits {input.fits} --out {output.verify} --threads {threads} "
        "{params.overrides} > {log} 2>&1"
