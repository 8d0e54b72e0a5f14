# flops-fit: an IsoFLOP scaling-law sweep as a Snakemake workflow. Wiring only; logic lives in flops_fit/.
#
#   snakemake --cores 2                                   # the sweep configured in config/ (offline quickstart)
#   snakemake --cores 2 --config preset=mock              # a mock sweep (known loss surface, seconds)
#   snakemake --cores 2 --config model=vit dataset=digits # choose config groups
#   snakemake --cores 2 --config training__batch_size=8   # any key: dots written as "__"
#   snakemake --cores 2 --config overrides="budgets.values=[1e12,3e12] planner.sizes=9"
#
# The config is composed from config/ with Hydra (flops_fit.config); --config entries are overrides.

from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/common.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/adaptive.smk"  # planner.adaptive / planner.extend only; defines nothing otherwise
include: "workflow/rules/wsd.smk"  # planner.schedule: wsd only (chained cells, compute.json); defines nothing otherwise
include: "workflow/rules/analyze.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/timing.smk"
include: "workflow/rules/forecast.smk"  # `snakemake forecast`: never a dependency of training or of `all`
include: "workflow/rules/verify.smk"  # `snakemake verify --config target=<C>`: one run at the predicted optimum
include: "workflow/rules/lr.smk"  # `snakemake calibrate_lr`: the LR rule in N and D, fitted before the sweep


report: REPORT_FRONT  # the report opens on the answer: results/<sweep>/report/front.rst (rule report_front)


rule all:
    default_target: True
    input:
        rules.plan.output.plan,
        all_metrics,  # listed here too, so a deleted result file is retrained (and everything after it)
        rules.fit_scaling_laws.output.fits,
        rules.plot.output.plots,
        rules.forecast_vs_actual.output.csv,
        rules.report_front.output.front,
        WSD_TARGETS,  # <sweep>/compute.json of a WSD sweep (workflow/rules/wsd.smk); none otherwise


# Snakemake keeps one onsuccess handler per workflow: everything that runs at the end goes here.
# - A fit that failed was recorded (fits.json status failed) so the figures and forecast_vs_actual were still
#   made; the workflow then ends != 0 on the one line that names the fix (flops_fit.fit.failed).
# - Otherwise the answer where the user looks: after Snakemake's summary, from the saved results only.
onsuccess:
    from flops_fit.fit.failed import workflow_outcome

    _failed = workflow_outcome(f"{SWEEP}/fits.json")
    if _failed:
        preflight.fail(_failed)
    if os.path.isfile(f"{SWEEP}/fits.json"):
        try:
            from flops_fit.report.answer import terminal_answer

            print("\n".join(terminal_answer(SWEEP)))
            if os.path.isfile(f"{SWEEP}/compute.json"):  # a WSD sweep: what it trained against the cosine grid
                from flops_fit.wsd.compute import saving_line

                print(saving_line(json.load(open(f"{SWEEP}/compute.json"))))
        except Exception as e:  # the results are written; only the summary failed
            print(
                f"flops-fit: the answer could not be printed ({type(e).__name__}: {e}); "
                f"python -m flops_fit.report.answer --dir {SWEEP}"
            )
