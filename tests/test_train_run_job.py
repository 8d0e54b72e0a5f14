"""flops_fit.jobs.train_run, the job the workflow starts for each run, called in this process (the workflow's own
tests start it as Snakemake does). Its process-wide parts (death signal, ignored stops) are left out here."""
import json

import pytest

import flops_fit.jobs.train_run as job
from flops_fit.config import load_config
from flops_fit.plan import plan


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(job, "die_with_parent", lambda: None)
    monkeypatch.setattr(job.signal, "signal", lambda *a: None)


def test_a_run_records_its_metrics_and_says_so_in_one_line(tmp_path, in_process, capsys):
    spec = plan(load_config(["preset=mock", f"results_dir={tmp_path}"]))["experiments"][0]
    out = tmp_path / "runs" / spec["id"]
    job.main(["--spec", json.dumps(spec), "--out", str(out), "--runtime", json.dumps({"log_every": 7})])
    m = json.loads((out / "metrics.json").read_text())
    assert m["id"] == spec["id"] and m["status"] == "completed"
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"{spec['id']}: completed final_loss=") and "device=mock" in err[-1]
    assert (out / "timing.jsonl").is_file()   # this process's wall time, for forecast_vs_actual


def test_a_spec_that_is_not_json_is_one_line_and_exit_2(tmp_path, in_process, capsys):
    with pytest.raises(SystemExit) as e:
        job.main(["--spec", "{not json", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith("flops-fit: error: "), err
