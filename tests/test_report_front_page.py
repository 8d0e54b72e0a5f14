"""The front page's text from a sweep's saved results (flops_fit.report.front), without Snakemake: fast."""
import json

from docutils.core import publish_parts

from conftest import run_mock_sweep
from flops_fit.report.front import _g, front_page


def test_number_format_is_compact():
    assert [_g(x) for x in (0.4684, 131.2, 5.86e9, 1e17, float("nan"))] == ["0.468", "131", "5.86e9", "1e17", "–"]
    assert _g(9.99e9, 2) == "1e10"


def test_front_page_states_the_answer_and_renders_as_rst(tmp_path):
    cfg, plan, sdir = run_mock_sweep(tmp_path, "preset=quick", "analysis.bootstrap=10", "sweep=my_sweep_")
    page = front_page(sdir)
    fits = json.loads((sdir / "fits.json").read_text())
    a = fits["approach3"]["a"]
    assert f"with a = {_g(a['value'])} [{_g(a['lo'])}, {_g(a['hi'])}]" in page
    assert "at the target budgets" in page and "1e21" in page and "Design check:" in page
    assert "Forecast against actual:** not compared yet" in page and "Mock sweep" in page
    assert "Chinchilla table" in page
    html = publish_parts(page, writer_name="html")["html_body"]     # no figure links without plots/
    assert "System Message" not in html and "Scaling law of sweep my_sweep_" in html
    assert "**Compute:**" not in page   # a cosine sweep has no compute.json
    (sdir / "compute.json").write_text(json.dumps({"total_flops": 1.19e20, "cosine_grid_flops": 2.05e20,
                                                   "ratio": 0.580, "ratio_floor": 0.5}))
    page = front_page(sdir)
    assert ("**Compute:** WSD-S: trained 1.19e+20 FLOPs for cells that cost 2.05e+20 as separate cosine runs "
            "(0.58x; floor 1 - 1/r = 0.50)") in page
    assert "System Message" not in publish_parts(page, writer_name="html")["html_body"]
