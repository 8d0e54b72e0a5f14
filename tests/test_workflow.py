"""The Snakemake workflow end to end on a mock sweep: runs, reruns nothing, adds only new work."""
import json
import re

import pytest

from conftest import snakemake

pytestmark = pytest.mark.slow
MOCK = ["--config", "mode=mock", "--cores", "2"]


def job_counts(out: str) -> dict:
    """Parse Snakemake's 'Job stats' table of a dry run into {rule: count}."""
    counts = {}
    m = re.search(r"Job stats:\n(.*?)\n\s*total", out, re.S)
    for line in (m.group(1).splitlines() if m else []):
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_mock_sweep_end_to_end_and_incremental_reruns(workflow_copy):
    wf = workflow_copy
    r = snakemake(wf, *MOCK)
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = wf / "results" / "gpt-pysource-mock"
    plan = json.loads((sweep / "plan.json").read_text())
    n = len(plan["experiments"])
    assert n >= 15
    assert len(list((sweep / "runs").glob("*/metrics.json"))) == n
    for name in ("runs.csv", "fits.json", "chinchilla_table.md", "chinchilla_table.csv"):
        assert (sweep / name).stat().st_size > 100, name
    assert list((sweep / "plots").glob("*.png"))

    # rerun: nothing to do
    r = snakemake(wf, *MOCK, "-n")
    assert "Nothing to be done" in r.stdout, r.stdout[-2000:]

    # a budget added to config/budgets.yaml: only its experiments, then the downstream stages
    budgets = wf / "config" / "budgets.yaml"
    budgets.write_text(budgets.read_text().replace("values: [1.0e11, 3.0e11, 1.0e12]",
                                                   "values: [1.0e11, 3.0e11, 1.0e12, 3.0e12]"))
    r = snakemake(wf, *MOCK, "-n")
    counts = job_counts(r.stdout)
    assert 4 <= counts.get("train_run", 0) <= 7, counts
    assert counts.get("collect") == 1 and counts.get("fit_scaling_laws") == 1
    to_train = set(re.findall(r"output: results/gpt-pysource-mock/runs/(C[^/]+)/metrics.json", r.stdout))
    assert len(to_train) == counts["train_run"] and all(i.startswith("C3e12-") for i in to_train), to_train
    r = snakemake(wf, *MOCK)
    assert r.returncode == 0, r.stdout[-3000:]
    assert len(list((sweep / "runs").glob("*/metrics.json"))) == n + counts["train_run"]

    # one result deleted: only it and the downstream fit rerun
    victim = sorted((sweep / "runs").glob("*/metrics.json"))[2]
    victim.unlink()
    r = snakemake(wf, *MOCK, "-n")
    counts = job_counts(r.stdout)
    assert counts.get("train_run") == 1 and counts.get("fit_scaling_laws") == 1, counts
    assert victim.parent.name in r.stdout


def test_bad_override_stops_with_one_line(workflow_copy):
    r = snakemake(workflow_copy, "-n", "--cores", "1", "--config", "training__batch_size=-3")
    assert r.returncode != 0
    assert "error: config key 'training.batch_size'" in r.stdout


def test_image_preset_runs_the_same_workflow_in_mock_mode(workflow_copy):
    """ViT + digits through the same rules (no modality-specific code): plan, runs, fit, plots."""
    r = snakemake(workflow_copy, "--cores", "2", "--config", "preset=images", "mode=mock")
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = workflow_copy / "results" / "vit-digits-images-mock"
    plan = json.loads((sweep / "plan.json").read_text())
    assert plan["experiments"][0]["unit"] == "samples"
    assert len(list((sweep / "runs").glob("*/metrics.json"))) == len(plan["experiments"]) >= 12
    assert (sweep / "fits.json").is_file() and list((sweep / "plots").glob("*.png"))


def test_cifar_plans_offline(workflow_copy):
    """Planning needs no data: model=vit dataset=cifar builds its DAG offline (training would need the data)."""
    r = snakemake(workflow_copy, "-n", "--cores", "1", "--config", "preset=images", "dataset=cifar")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "prepare_data" in r.stdout and "train_run" in r.stdout


def test_vit_on_cifar_files_through_the_real_workflow(workflow_copy, tmp_path):
    """model=vit dataset=cifar, real training, on small files in CIFAR-10's official python format."""
    from test_image_data import _write_cifar_folder
    _write_cifar_folder(tmp_path / "cifar-10-batches-py", n_per_batch=40, n_test=40)
    r = snakemake(workflow_copy, "--cores", "2", "--config", "preset=images", "dataset=cifar",
                  "dataset__source=cifar_dir", f"dataset__path={tmp_path / 'cifar-10-batches-py'}",
                  "training__batch_size=16", "training__eval_batches=2",
                  "overrides=planner.sizes=3 planner.min_steps=30 planner.tokens_per_param=1 "
                  "budgets.values=[2e9,4e9,8e9] analysis.bootstrap=20")
    assert r.returncode == 0, r.stdout[-4000:]
    sweep = workflow_copy / "results" / "vit-cifar-images"
    runs = list((sweep / "runs").glob("*/metrics.json"))
    assert len(runs) >= 6
    m = json.loads(runs[0].read_text())
    assert m["mode"] == "real" and m["unit"] == "samples" and m["status"] in ("completed", "diverged")
    assert (sweep / "fits.json").is_file() and list((sweep / "plots").glob("*.png"))
