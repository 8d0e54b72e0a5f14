"""ff-forecast and the `forecast` rule end to end: the files, the documented schema, the cache, and that
runtime/priority from forecast.json rerun nothing in a finished sweep."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, snakemake

pytestmark = pytest.mark.slow
FF_FORECAST = str(Path(sys.executable).parent / "ff-forecast")
TINY = ["preset=quickstart", "budgets.values=[3e10]", "planner.sizes=3", "analysis.include_near_edge=true", "forecast.calibration.warmup_steps=2",
        "forecast.calibration.blocks=2", "forecast.calibration.block_steps=2"]


def documented_fields() -> dict:
    """The field lists of docs/forecast.md's schema section: {"top": [...], "experiments[]": [...], ...}."""
    text = (REPO / "docs" / "forecast.md").read_text()
    section = text.split("## forecast.json", 1)[1].split("\n## ", 1)[0]
    out = {}
    for m in re.finditer(r"^- `?([a-z_.\[\]]+)`?: (.+)$", section, re.M):
        out[m.group(1)] = [f.strip() for f in m.group(2).split(",")]
    return out


def check_schema(fc: dict):
    docs = documented_fields()
    assert fc["schema"] == "flops-fit/forecast/v1"
    assert sorted(fc) == sorted(docs["top"])
    for part, fields in docs.items():
        if part == "top":
            continue
        objs = [fc]
        for name in part.split("."):
            objs = [o[name.rstrip("[]")] for o in objs]
            if name.endswith("[]"):
                objs = [x for o in objs for x in o]
        assert objs, part
        for o in objs:
            assert sorted(o) == sorted(fields), (part, sorted(set(o) ^ set(fields)))


def ff_forecast(*args, cwd):
    return subprocess.run([FF_FORECAST, *args], cwd=cwd, text=True, capture_output=True, timeout=600)


def test_ff_forecast_writes_the_documented_files_and_a_second_run_is_instant(tmp_path):
    r = ff_forecast(*TINY, f"results_dir={tmp_path}", cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep = tmp_path / "gpt-pysource-quickstart"
    fc = json.loads((sweep / "forecast.json").read_text())
    check_schema(fc)
    assert "| id | budget | N | steps |" in r.stdout and "makespan" in r.stdout  # the table is printed
    n = len(fc["experiments"])  # 2 sizes fit this budget; both are calibrated (at most 4: all)
    assert n >= 2 and fc["calibration"]["measured_sizes"] == n
    for e in fc["experiments"]:
        assert 0 < e["seconds_lo"] <= e["seconds"] <= e["seconds_hi"] and e["peak_mem_mb"] > 50 and e["fits_memory"]
    t = fc["totals"]
    assert t["lower_bound_s"] <= t["makespan_s"] + 1e-9 and t["cost"] is None
    assert "# Forecast" in (sweep / "forecast.md").read_text()
    assert not (sweep / "runs").exists()  # calibration never writes results
    # the second forecast: everything from the cache, a price gives money
    r2 = ff_forecast(*TINY, f"results_dir={tmp_path}", "forecast.price_per_device_hour=2.0", cwd=REPO)
    assert r2.returncode == 0, r2.stderr[-3000:]
    fc2 = json.loads((sweep / "forecast.json").read_text())
    assert fc2["calibration"]["measured_sizes"] == 0 and fc2["calibration"]["cached_sizes"] == n
    assert fc2["calibration"]["cost_s"] < 2.0
    assert fc2["totals"]["cost"] == pytest.approx(2.0 * fc2["totals"]["device_hours"])
    assert [e["seconds"] for e in fc2["experiments"]] == [e["seconds"] for e in fc["experiments"]]


def test_bad_forecast_option_is_one_line(tmp_path):
    r = ff_forecast("preset=quick", f"results_dir={tmp_path}", "forecast.calibration.sizes=0", cwd=REPO)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: config key 'forecast.calibration.sizes'") and "\n" not in r.stderr.strip()


def test_forecast_rule_and_resources_rerun_nothing_in_a_finished_sweep(workflow_copy):
    wf = workflow_copy
    cfg = ["--config", "preset=quick", "overrides=budgets.values=[1e17,1e18] planner.sizes=3 analysis.include_near_edge=true"]
    r = snakemake(wf, "--cores", "2", *cfg)
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = wf / "results" / "gpt-pysource-quick-mock"
    assert not (sweep / "forecast.json").exists()  # never part of `all`
    r = snakemake(wf, "--cores", "2", "forecast", *cfg)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "| id | budget |" in r.stdout  # the table, printed
    fc = json.loads((sweep / "forecast.json").read_text())
    check_schema(fc)
    assert fc["mode"] == "mock" and fc["parallelism"]["jobs"] == 2 and (sweep / "forecast.md").is_file()
    # a finished sweep with a forecast: nothing reruns; the jobs would get the forecast's runtime/priority
    r = snakemake(wf, "--cores", "2", "-n", *cfg)
    assert "Nothing to be done" in r.stdout, r.stdout[-2000:]
    r = snakemake(wf, "--cores", "2", "-n", "--forcerun", "train_run", *cfg)
    from flops_fit.forecast.resources import job_resources
    plan = {e["id"]: e for e in json.loads((sweep / "plan.json").read_text())["experiments"]}
    fcd = {e["id"]: e for e in fc["experiments"]}
    want = {i: job_resources(fcd, s) for i, s in plan.items()}
    got = re.findall(r"output: \S+/runs/(C[^/]+)/metrics.json(?: \(update\))?\n(?:.*\n)*?\s+priority: (\d+)\n\s+resources: .*runtime=(\d+)",
                     r.stdout)
    assert len(got) == len(plan), r.stdout[-2000:]
    for i, pri, runtime in got:
        assert int(pri) == want[i]["priority"] and int(runtime) == want[i]["runtime"]
