"""The example user package (examples/external_plugin/mypkg: an MLP on the sklearn digits as flat vectors,
its own loss and its own config group files) copied OUTSIDE the repository, found only through PYTHONPATH
and hydra.searchpath, runs through the whole workflow: mock mode and real training (docs/plugins.md)."""
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, snakemake

SEARCH = "hydra.searchpath=[pkg://mypkg.conf]"
EXPERIMENT = [SEARCH, "+experiment=digits_mlp"]
# The same study without any YAML file (docs/plugins.md, "Without config files").
FLAT = ["model.name=mlp", "model.plugin=mypkg.mymodel:MyNet", "model.size.knob=width", "model.size.min=2",
        "model.size.max=4096", "model.size.step=1", "~model.kwargs.n_layer", "~model.kwargs.head_dim",
        "~model.kwargs.vocab_size", "~model.kwargs.seq_len", "+model.kwargs.depth=2",
        "+model.kwargs.in_features=64", "+model.kwargs.num_classes=10",
        "dataset.name=digitsflat", "dataset.plugin=mypkg.mydata", "+dataset.num_features=64",
        "+dataset.num_classes=10", "+dataset.test_fraction=0.2", "+dataset.split_seed=0",
        "loss.plugin=mypkg.myloss:cross_entropy"]


@pytest.fixture
def user_project(tmp_path, monkeypatch):
    """examples/external_plugin copied to a temporary folder outside the repo and put on PYTHONPATH."""
    from flops_fit.plugins import _load_cached
    proj = tmp_path / "myproject"
    shutil.copytree(REPO / "examples" / "external_plugin", proj,
                    ignore=shutil.ignore_patterns("__pycache__", "results"))
    assert REPO not in proj.resolve().parents
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(proj), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(proj))
    monkeypatch.chdir(tmp_path)           # not the repo: ./config does not exist here
    _load_cached.cache_clear()
    yield proj
    _load_cached.cache_clear()
    for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        del sys.modules[name]


def test_package_is_found_outside_the_repo_and_plans(user_project):
    import mypkg
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    from flops_fit.plugins import load_plugins

    assert Path(mypkg.__file__).resolve().is_relative_to(user_project.resolve())
    cfg = load_config(EXPERIMENT)
    assert cfg["sweep"] == "mlp-digitsflat" and cfg["model"]["plugin"] == "mypkg.mymodel:MyNet"
    assert cfg["model"]["kwargs"] == {"depth": 2, "in_features": 64, "num_classes": 10}
    p = load_plugins(cfg)
    assert p.unit == "samples"
    exps = plan(cfg)["experiments"]
    assert len(exps) >= 12 and {e["unit"] for e in exps} == {"samples"}
    for e in exps:
        # measured, not assumed 6N: an MLP's first layer needs no input gradient, so fwd+bwd < 6N per sample
        assert 3 * e["params"] < e["flops_per_unit"] < 6 * e["params"], e
        assert abs(e["flops_planned"] / e["budget_flops"] - 1) < 0.01


def test_flat_overrides_give_the_same_plugins_as_the_config_files(user_project):
    from flops_fit.config import load_config
    a, b = load_config(EXPERIMENT), load_config(FLAT)
    for key in ("model", "loss"):
        assert a[key] == b[key], key
    assert {k: v for k, v in b["dataset"].items() if k in a["dataset"]} == a["dataset"]


def test_example_loader_is_deterministic_and_resumes_exactly(user_project, tmp_path):
    import torch
    from flops_fit.config import load_config
    from flops_fit.plugins import load_plugins
    from flops_fit.stages import prepare_data

    cfg = load_config(EXPERIMENT)
    p = load_plugins(cfg)
    meta = prepare_data(p.data_path, p.data_cfg, tmp_path / "data")
    assert meta["counts"] == {"train": 1438, "test": 359} and (tmp_path / "data" / "meta.json").is_file()
    kw = dict(cfg=p.data_cfg, meta=meta, data_dir=str(tmp_path / "data"), batch_size=500, seed=3)
    it = p.data.loader("train", **kw)
    stream = [next(it) for _ in range(6)]                       # 3000 samples: crosses two epoch boundaries
    resumed = next(p.data.loader("train", **kw, start=4))
    assert torch.equal(resumed["features"], stream[4]["features"]) and torch.equal(resumed["labels"], stream[4]["labels"])
    first_epoch = torch.cat([b["labels"] for b in stream])[:1438]       # one epoch = each sample once
    all_train = torch.from_numpy(np.load(tmp_path / "data" / "train_y.npy"))
    assert torch.bincount(first_epoch).tolist() == torch.bincount(all_train).tolist()
    ex = p.example_batch(4)
    assert {k: (v.shape, v.dtype) for k, v in ex.items()} == \
        {k: (v[:4].shape, v.dtype) for k, v in stream[0].items()}


def _sweep_outputs(sweep: Path):
    plan = json.loads((sweep / "plan.json").read_text())
    metrics = [json.loads((sweep / "runs" / e["id"] / "metrics.json").read_text()) for e in plan["experiments"]]
    assert (sweep / "runs.csv").is_file() and (sweep / "chinchilla_table.md").is_file()
    fits = json.loads((sweep / "fits.json").read_text())
    assert fits
    for name in ("isoflop", "scaling_laws"):
        assert (sweep / "plots" / f"{name}.png").stat().st_size > 1000, name
    return plan, metrics


@pytest.mark.slow
def test_workflow_mock_mode_with_the_external_package(user_project, workflow_copy):
    r = snakemake(workflow_copy, "--cores", "2", "--config", "mode=mock",
                  "overrides=" + " ".join(EXPERIMENT + ["budgets.values=[1e8,1e9]", "planner.sizes=3",
                                                          "analysis.include_near_edge=true"]))   # 3 sizes: near_edge
    assert r.returncode == 0, r.stdout[-3000:]
    plan, metrics = _sweep_outputs(workflow_copy / "results" / "mlp-digitsflat-mock")
    assert len(plan["experiments"]) == 6
    assert all(m["mode"] == "mock" and m["plugins"]["model"] == "mypkg.mymodel:MyNet" for m in metrics)


@pytest.mark.slow
def test_workflow_real_training_with_the_external_package(user_project, workflow_copy):
    """prepare_data and two real train_run jobs (~100-400 steps each) through Snakemake: the fit and plots of a
    sweep are checked in mock mode above (a whole real sweep takes minutes on a shared 2-core machine)."""
    from flops_fit.config import load_config
    from flops_fit.plan import plan
    # two budgets planned (a one-budget plan is refused), two runs of the first trained
    over = EXPERIMENT + ["budgets.values=[4e7,8e7]", "planner.sizes=3", "analysis.include_near_edge=true", "planner.spread=2"]
    exps = sorted((e for e in plan(load_config(over))["experiments"] if e["budget_flops"] == 4e7),
                  key=lambda e: e["steps"])[:2]
    sweep = Path("results") / "mlp-digitsflat"
    targets = [str(sweep / "plan.json")] + [str(sweep / "runs" / e["id"] / "metrics.json") for e in exps]
    r = snakemake(workflow_copy, *targets, "--cores", "2", "--config", "overrides=" + " ".join(over))
    assert r.returncode == 0, r.stdout[-3000:]
    sweep = workflow_copy / sweep
    assert {e["id"] for e in exps} <= {e["id"] for e in json.loads((sweep / "plan.json").read_text())["experiments"]}
    meta = list((workflow_copy / "results" / "data").glob("digitsflat-*/meta.json"))
    assert len(meta) == 1 and json.loads(meta[0].read_text())["counts"] == {"train": 1438, "test": 359}
    for e in exps:
        m = json.loads((sweep / "runs" / e["id"] / "metrics.json").read_text())
        assert m["status"] == "completed" and m["mode"] == "real", m
        assert m["plugins"]["model"] == "mypkg.mymodel:MyNet" and m["unit"] == "samples"
        assert 100 <= m["steps"] == e["steps"] <= 500 and m["data_units"] == e["data_units"]
        assert math.isfinite(m["final_loss"]) and m["final_loss"] < 0.5 * math.log(10)  # learned: well below chance
        curve = (sweep / "runs" / e["id"] / "curve.jsonl").read_text().splitlines()
        assert any("val_loss" in json.loads(line) for line in curve)
