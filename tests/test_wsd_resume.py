"""A WSD cell trains from its parent cell's kept checkpoint (flops_fit.wsd.resume): it ends exactly where one
uninterrupted WSD-S run of its size would, and a kill inside its decay resumes to the same loss (CPU, 1 thread)."""
import json
import shutil
import signal
import subprocess
import sys

import pytest

from flops_fit.io import BadFile
from flops_fit.runner import run_experiment
from flops_fit.train import train
from test_train_loop import make_spec, pysource  # noqa: F401  (shared spec builder and corpus fixture)
from test_train_resume import ROOT, _curve_steps, _wait_for

DECAYS = [[45, 60], [130, 200]]   # the parent's decay, then the child's (steps 130..199)
CHILD = ("import json, sys; from flops_fit.runner import run_experiment; "
         "run_experiment(json.load(open(sys.argv[1])), sys.argv[2], threads=1)")


def cell(data_dir, k, **tr):
    end = (60, 200)[k]
    spec = make_spec(data_dir, steps=end, d=16, log_every=1, **tr)
    spec.update(id=f"C1e9-N1e4-wsd-{k}", config_hash=f"{k}" * 8, schedule="wsd", seed=7, params=10_000)
    spec["wsd"] = {"name": "wsd", "warmup": 3, "decays": DECAYS[:k + 1], "shape": "1-sqrt", "lr_factor": 0.5,
                   "cell": k, "start": (0, 60)[k], "decay_steps": DECAYS[k][1] - DECAYS[k][0], "under_floor": False,
                   "parent": "C1e9-N1e4-wsd-0" if k else None, "cosine_id": f"C1e9-N1e4-{k}", "min_steps": 10,
                   "flops_added": 0.0, "flops_inherited": 0.0}
    return spec


@pytest.fixture(scope="module")
def chain(pysource, tmp_path_factory):  # noqa: F811
    """The parent cell trained once, and its child trained without interruption."""
    runs = tmp_path_factory.mktemp("chain") / "runs"
    parent = run_experiment(cell(pysource, 0), runs / "C1e9-N1e4-wsd-0", threads=1)
    child = run_experiment(cell(pysource, 1), runs / "C1e9-N1e4-wsd-1", threads=1)
    return runs, parent, child


def test_a_cell_continues_its_parent_as_one_uninterrupted_run_would(pysource, chain, tmp_path):  # noqa: F811
    runs, parent, child = chain
    assert parent["status"] == child["status"] == "completed"
    assert (runs / "C1e9-N1e4-wsd-0" / "ckpt" / "ckpt.json").is_file()   # kept for the next cell
    assert (runs / "C1e9-N1e4-wsd-1" / "ckpt" / "ckpt.json").is_file()   # and for a larger budget later
    whole = dict(cell(pysource, 1), id="whole", wsd=dict(cell(pysource, 1)["wsd"], parent=None, start=0))
    one_run = train(whole, tmp_path, threads=1)  # the same schedule in one process, from step 0
    assert child["final_loss"] == one_run["final_loss"]  # bit-identical on CPU
    fpu, ups = child["flops_per_unit"], make_spec(pysource)["units_per_step"]
    assert child["data_units"] == 200 * ups and child["flops_inherited"] == 60 * ups * fpu
    assert child["flops_executed"] == child["flops_added"] == 140 * ups * fpu
    assert parent["flops_inherited"] == 0 and parent["flops_added"] == 60 * ups * fpu
    assert _curve_steps(runs / "C1e9-N1e4-wsd-1") == _curve_steps(tmp_path)  # the curve from step 1, once each


@pytest.mark.slow  # ~11 s under load (a subprocess trained, killed, resumed)
def test_a_kill_inside_the_decay_resumes_to_the_same_loss(pysource, chain, tmp_path):  # noqa: F811
    runs, _, child = chain
    mine = tmp_path / "runs"
    shutil.copytree(runs / "C1e9-N1e4-wsd-0", mine / "C1e9-N1e4-wsd-0")
    spec = cell(pysource, 1, ckpt_every_steps=5)
    run_dir = mine / spec["id"]
    run_dir.mkdir(parents=True)
    (run_dir / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir / "spec.json"), str(run_dir)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt_json = run_dir / "ckpt" / "ckpt.json"
    _wait_for(lambda: ckpt_json.exists() and json.loads(ckpt_json.read_text())["step"] >= 140, proc)
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    saved = json.loads(ckpt_json.read_text())
    assert DECAYS[1][0] <= saved["step"] < 200 and saved["inherited_units"] == 60 * spec["units_per_step"]
    m = run_experiment(spec, run_dir, threads=1)
    assert m["final_loss"] == child["final_loss"] and m["flops_executed"] == child["flops_executed"]
    assert _curve_steps(run_dir) == _curve_steps(runs / spec["id"])


def test_a_missing_parent_checkpoint_is_one_line_naming_the_fix(pysource, chain, tmp_path):  # noqa: F811
    runs, _, _ = chain
    mine = tmp_path / "runs"
    shutil.copytree(runs / "C1e9-N1e4-wsd-0", mine / "C1e9-N1e4-wsd-0", ignore=shutil.ignore_patterns("ckpt"))
    with pytest.raises(BadFile, match="kept checkpoint is missing or damaged; delete .*metrics.json and rerun"):
        train(cell(pysource, 1), mine / "C1e9-N1e4-wsd-1", threads=1)
