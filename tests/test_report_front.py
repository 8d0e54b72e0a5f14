"""The report opens on the answer: a mock sweep through the workflow, then `snakemake --report`, and the
front page (Snakefile `report:`, rule report_front) states a with its interval, N*/D* at the targets, the
design check, forecast against actual and the Chinchilla table. Also: forecast_vs_actual.csv and its figure
come out of the workflow, with and without a forecast, and the ETA line shows under train_run's progress."""
import json
import re

import pandas as pd
import pytest

from conftest import snakemake

pytestmark = pytest.mark.slow
CONFIG = ["--config", "mode=mock", "planner__sizes=5", "analysis__bootstrap=20"]


def _front(html: str) -> str:
    m = re.search(r'workflow_desc = "(.*?)";\n', html, re.S)
    assert m, "no workflow description in the report"
    return json.loads(f'"{m.group(1)}"')


def test_front_page_forecast_vs_actual_and_eta(workflow_copy):
    wf = workflow_copy
    r = snakemake(wf, "--cores", "2", *CONFIG)
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = wf / "results" / "gpt-pysource-mock"
    ids = [e["id"] for e in json.loads((sweep / "plan.json").read_text())["experiments"]]
    # without a forecast: an empty table with a note, a figure that says so, never a failure
    assert pd.read_csv(sweep / "forecast_vs_actual.csv").empty
    assert "no forecast.json" in json.loads((sweep / "forecast_vs_actual.json").read_text())["note"]
    assert (sweep / "forecast_vs_actual.png").is_file() and "ETA:" not in r.stdout
    front = (sweep / "report" / "front.rst").read_text()
    assert "no forecast.json for this sweep" in front
    assert len((sweep / "workflow_starts.jsonl").read_text().splitlines()) == 1
    assert all((sweep / "runs" / i / "timing.jsonl").is_file() for i in ids)

    # a forecast (a stand-in here: 1 s per run) and three runs to redo: the ETA shows, the table fills
    fc = {"schema": "flops-fit/forecast/v1", "totals": {"makespan_s": 60.0},
          "experiments": [{"id": i, "seconds": 1.0, "seconds_lo": 0.8, "seconds_hi": 1.2} for i in ids]}
    (sweep / "forecast.json").write_text(json.dumps(fc))
    for i in ids[:3]:
        (sweep / "runs" / i / "metrics.json").unlink()
    r = snakemake(wf, "--cores", "2", *CONFIG)
    assert r.returncode == 0, r.stdout[-3000:]
    eta = re.findall(r"Finished jobid: \d+ \(Rule: train_run\)\nETA: (\d+) of (\d+) runs done", r.stdout)
    assert len(eta) == 3 and eta[-1] == (str(len(ids)), str(len(ids))), r.stdout[-3000:]
    table = pd.read_csv(sweep / "forecast_vs_actual.csv")
    assert list(table.columns[:3]) == ["id", "forecast_s", "actual_s"] and sorted(table["id"]) == sorted(ids)
    assert (table["actual_s"] > 0).all() and (table["actual_source"] == "timing").all()
    summary = json.loads((sweep / "forecast_vs_actual.json").read_text())
    assert summary["compared"] == len(ids) and summary["median_abs_error"] >= 0
    mk = summary["makespan"]
    assert mk["start_from"] == "Snakemake start" and 0 < mk["actual_s"] < 600 and mk["error"] is not None

    r = snakemake(wf, "--cores", "1", *CONFIG, "--report", "report.html")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "Adding forecast_vs_actual.png" in r.stdout
    page = _front((wf / "report.html").read_text())
    fits = json.loads((sweep / "fits.json").read_text())
    a = fits["approach3"]["a"]
    assert f"a = {a['value']:.3g} [{a['lo']:.3g}, {a['hi']:.3g}]" in page
    for text in ("Scaling law of sweep gpt-pysource-mock", "at the target budgets", "Design check:",
                 "Cramér–Rao", "Forecast against actual", f"({len(ids)} runs compared)", "median absolute error",
                 "Sweep wall time", "Chinchilla table", "extrapolated", "1e14", "Mock sweep"):
        assert text in page, text
    assert "System Message" not in page and "Unknown target" not in page   # every RST link resolved
