"""Bad inputs under the workflow: no traceback, one `flops-fit:` line naming the culprit below Snakemake's
banner, the exit code stated; damaged results count as missing (a dry run moves nothing)."""
import json
import re
import shutil

import pytest

from conftest import snakemake

CFG = ["--config", "preset=quick", "overrides=budgets.values=[1e17,1e18] planner.sizes=3 analysis.include_near_edge=true analysis.bootstrap=5"]
SWEEP = "results/gpt-pysource-quick-mock"


def flops_fit_line(out):
    assert "Traceback" not in out, out[-3000:]
    lines = [line for line in out.splitlines() if line.startswith("flops-fit: error:")]
    assert len(lines) == 1, out[-3000:]
    return lines[0]


@pytest.mark.slow  # each starts Snakemake on a copy of the workflow (~5-15 s)
class TestParseTime:
    def test_malformed_yaml(self, workflow_copy):
        (workflow_copy / "config" / "budgets.yaml").write_text("budgets:\n  values: [1e11, 3e11\n  targets: [1]\n")
        r = snakemake(workflow_copy, "--cores", "1", "-n")
        assert r.returncode == 1
        assert "budgets.yaml, line 3, column 10: malformed YAML" in flops_fit_line(r.stdout)

    @pytest.mark.parametrize("values,needle", [("[nan,1e18]", "not a finite number"),
                                               ("[1e18]", "2 budgets or more")])
    def test_bad_budgets(self, workflow_copy, values, needle):
        r = snakemake(workflow_copy, "--cores", "1", "-n", "--config", "preset=quick", f"budgets__values={values}")
        assert r.returncode == 1 and needle in flops_fit_line(r.stdout)

    def test_stale_snakemake_lock_says_what_to_run(self, workflow_copy):
        locks = workflow_copy / ".snakemake" / "locks"
        locks.mkdir(parents=True)
        (locks / "0.output.lock").write_text(f"{workflow_copy}/{SWEEP}/runs.csv\n")
        r = snakemake(workflow_copy, "--cores", "1", *CFG)
        line = flops_fit_line(r.stdout)
        assert r.returncode == 1 and "snakemake --unlock --cores 1 --config preset=quick" in line
        assert (locks / "0.output.lock").exists()  # never cleared automatically

    def test_garbage_meta_json_in_real_mode(self, workflow_copy):
        from flops_fit.config import load_config
        from flops_fit.plan import data_dir
        d = workflow_copy / data_dir(load_config(["preset=quickstart"]))
        d.mkdir(parents=True)
        (d / "meta.json").write_text("{\"vocab")
        r = snakemake(workflow_copy, "--cores", "1", "-n", "--config", "preset=quickstart")
        line = flops_fit_line(r.stdout)
        assert r.returncode == 1 and "meta.json: not valid JSON" in line and "prepare_data rebuilds it" in line


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory):
    """A completed small mock sweep through the workflow (copied per test)."""
    from conftest import REPO
    wf = tmp_path_factory.mktemp("done") / "wf"
    wf.mkdir()
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, wf / name)
    r = snakemake(wf, "--cores", "2", *CFG)
    assert r.returncode == 0, r.stdout[-3000:]
    return wf


@pytest.mark.slow  # done_sweep: a mock sweep through the workflow
def test_damaged_results_count_as_missing_and_a_dry_run_moves_nothing(done_sweep, tmp_path):
    wf = tmp_path / "wf"
    shutil.copytree(done_sweep, wf, symlinks=True)
    sweep = wf / SWEEP
    runs = sorted((sweep / "runs").glob("*/metrics.json"))
    keep = {m: m.read_bytes() for m in runs[2:]}
    runs[0].write_text('{"id": "trunc')                                   # truncated
    m = json.loads(runs[1].read_text())
    del m["data_units"]
    runs[1].write_text(json.dumps(m))                                     # field missing
    (sweep / "runs.csv").write_text("\x00\x01garbage,\n\"unterminated")  # garbage runs.csv
    (sweep / "fits.json").write_text("")                                  # empty fits.json
    dry = snakemake(wf, "--cores", "2", "-n", *CFG)
    assert dry.returncode == 0 and "Traceback" not in dry.stdout
    assert dry.stdout.count("a real run keeps it as") == 4
    assert not list(sweep.rglob("*.bad"))                                 # -n moved nothing
    r = snakemake(wf, "--cores", "2", *CFG)
    assert r.returncode == 0, r.stdout[-3000:]
    assert (runs[0].parent / "metrics.json.bad").read_text() == '{"id": "trunc'
    assert (runs[1].parent / "metrics.json.bad").is_file() and (sweep / "runs.csv.bad").is_file()
    for p in runs[:2]:
        assert json.loads(p.read_text())["status"] == "completed"         # retrained
    assert {m: m.read_bytes() for m in runs[2:]} == keep                  # the others untouched
    assert "final_loss" in (sweep / "runs.csv").read_text() and json.loads((sweep / "fits.json").read_text())["plan"]


@pytest.mark.slow
def test_adding_a_budget_plans_without_a_writable_cache(done_sweep, tmp_path, own_measure_cache):
    wf = tmp_path / "wf"
    shutil.copytree(done_sweep, wf, symlinks=True)
    shutil.rmtree(wf / "results" / ".cache", ignore_errors=True)
    (wf / "results" / ".cache").write_text("not a folder")
    r = snakemake(wf, "--cores", "2", "-n", "--config", "preset=quick",
                  "overrides=budgets.values=[1e17,1e18,1e19] planner.sizes=3 analysis.include_near_edge=true analysis.bootstrap=5")
    assert r.returncode == 0, r.stdout[-3000:]
    assert re.search(r"train_run\s+3\b", r.stdout), r.stdout[-3000:]  # only the new budget's runs


@pytest.mark.parametrize("argv,executes", [(["sm", "--cores", "2"], True), (["sm", "-n"], False),
                                           (["sm", "-pn", "--cores", "2"], False), (["sm", "--dry-run"], False),
                                           (["sm", "--report", "r.html"], False), (["sm", "--unlock"], False),
                                           (["sm", "-j4", "-p"], True)])
def test_only_runs_that_execute_jobs_move_damaged_files(argv, executes):
    from flops_fit.preflight import executes_jobs
    assert executes_jobs(argv) is executes
