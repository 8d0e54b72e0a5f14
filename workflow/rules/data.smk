# One-time data preparation per dataset config (real mode only).


rule prepare_data:
    output:
        meta=f"{DATA_DIR}/meta.json",
    log:
        f"{CFG['results_dir']}/logs/data/{os.path.basename(DATA_DIR)}.log",
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        plugin=CFG["dataset"]["plugin"],
        cfg=json.dumps(CFG["dataset"], sort_keys=True),
        out=lambda wc, output: os.path.dirname(output.meta),
    shell:
        "python scripts/prepare_data.py --plugin {params.plugin} --cfg {params.cfg:q} --out {params.out} > {log} 2>&1"
