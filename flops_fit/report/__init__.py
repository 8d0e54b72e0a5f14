"""The HTML report's front page (flops_fit.report.front), for Snakemake's workflow-level `report:`."""
