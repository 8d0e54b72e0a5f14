"""The plot rule and `snakemake --report` on a finished mock sweep (in a temporary copy of the workflow)."""
import re

import pytest

from conftest import snakemake

pytestmark = pytest.mark.slow
MOCK = ["--config", "mode=mock", "--cores", "2"]


def test_plot_rule_and_html_report(workflow_copy):
    wf = workflow_copy
    r = snakemake(wf, *MOCK)
    assert r.returncode == 0, r.stdout[-3000:]
    sweeps = [p for p in (wf / "results").iterdir() if (p / "plots").is_dir()]
    assert len(sweeps) == 1, sweeps
    plots = sweeps[0] / "plots"
    for stem in ("isoflop", "scaling_laws", "surface", "residuals"):      # mock: no training curves
        for ext in ("png", "pdf"):
            assert (plots / f"{stem}.{ext}").stat().st_size > 10_000, f"{stem}.{ext}"
    summary = (plots / "fit_summary.html").read_text()
    assert "Approach 3" in summary and "Design check" in summary and "Cramér–Rao" in summary
    assert (plots / "chinchilla_table.csv").read_text().startswith("approach,")

    r = snakemake(wf, "--config", "mode=mock", "--report", "report.html")
    assert r.returncode == 0, r.stdout[-3000:]
    for name in ("isoflop.png", "scaling_laws.png", "surface.png", "residuals.png", "fit_summary.html",
                 "chinchilla_table.csv"):
        assert re.search(rf"Adding {re.escape(name)}", r.stdout), (name, r.stdout[-2000:])
    html = (wf / "report.html").read_text()
    assert len(html) > 500_000                        # the figures are embedded
    assert "IsoFLOP profiles." in html and "Chinchilla table" in html and "Fit summary" in html
