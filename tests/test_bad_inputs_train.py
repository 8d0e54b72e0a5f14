"""Bad inputs met by a real training job: damaged data files and checkpoints, a foreign checkpoint, a plugin
raising mid-training, a loss turning NaN. One line naming the file and the fix (exit 2), or one warning line
and a clean restart, or a recorded `failed`/`diverged` run; never a traceback on the terminal."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flops_fit.runner import run_experiment
from flops_fit.train import train
from test_train_loop import make_spec, pysource  # noqa: F401  (shared spec builder and corpus fixture)

ROOT = Path(__file__).resolve().parents[1]


def _spec(data_dir, **kw):
    s = make_spec(data_dir, steps=12, d=8, **kw)
    s["config_hash"], s["params"] = "cafe0001", 1000
    return s


def _job(spec, out):
    """scripts/train_run.py, as the workflow runs it: (exit code, stderr)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_run.py"), "--spec", json.dumps(spec),
                        "--out", str(out), "--threads", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    return r.returncode, r.stderr


def _assert_one_line(err, *needles):
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("flops-fit: error:"), err
    for n in needles:
        assert n in last, last
    return last


@pytest.fixture
def data_copy(pysource, tmp_path):  # noqa: F811
    d = tmp_path / "data"
    d.mkdir()
    for f in pysource.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    return d


class TestDataFiles:
    def test_garbage_meta_json(self, data_copy, tmp_path):
        (data_copy / "meta.json").write_text("{\x00garbage")
        code, err = _job(_spec(data_copy), tmp_path / "run")
        assert code == 2
        _assert_one_line(err, str(data_copy / "meta.json"), f"delete {data_copy}", "prepare_data")

    def test_meta_json_not_an_object(self, data_copy, tmp_path):
        (data_copy / "meta.json").write_text("[1, 2]")
        code, err = _job(_spec(data_copy), tmp_path / "run")
        assert code == 2 and "not a JSON object" in _assert_one_line(err, "meta.json")

    @pytest.mark.parametrize("damage", ["empty", "truncated", "odd", "missing"])
    def test_bad_token_file(self, data_copy, tmp_path, damage):
        f = data_copy / "train.bin"
        if damage == "missing":
            f.unlink()
        else:
            keep = {"empty": 0, "truncated": f.stat().st_size // 2, "odd": f.stat().st_size - 1}[damage]
            f.write_bytes(f.read_bytes()[:keep])
        code, err = _job(_spec(data_copy), tmp_path / "run")
        assert code == 2
        _assert_one_line(err, str(f), "prepare_data")
        assert not (tmp_path / "run" / "metrics.json").exists()


def _checkpointed(pysource, run):  # noqa: F811
    """A finished run that kept its final checkpoint (keep_ckpt), and its metrics."""
    spec = _spec(pysource, keep_ckpt=True)
    return spec, train(spec, run, threads=1)


class TestCheckpoints:
    @pytest.mark.parametrize("damage", ["model.safetensors", "optimizer.bin", "ckpt.json", "state folder"])
    def test_damaged_checkpoint_moved_aside_and_run_restarts(self, pysource, tmp_path, capfd, damage):  # noqa: F811
        spec, ref = _checkpointed(pysource, tmp_path)
        ckpt = tmp_path / "ckpt"
        state = ckpt / json.loads((ckpt / "ckpt.json").read_text())["state"]
        if damage == "ckpt.json":
            (ckpt / "ckpt.json").write_text('{"step": 12, "sta')
        elif damage == "state folder":
            for f in state.iterdir():
                f.unlink()
            state.rmdir()
        else:
            f = state / damage
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])
        capfd.readouterr()
        m = train(spec, tmp_path, threads=1)
        err = capfd.readouterr().err
        warn = [line for line in err.splitlines() if "damaged checkpoint" in line]
        assert len(warn) == 1 and "ckpt.damaged" in warn[0] and "training from step 0" in warn[0]
        assert (tmp_path / "ckpt.damaged").is_dir()
        assert m["steps"] == 12 and m["final_loss"] == ref["final_loss"]  # retrained from 0: the same run

    def test_overwritten_bytes_caught_by_checksum(self, pysource, tmp_path, capfd):  # noqa: F811
        spec, ref = _checkpointed(pysource, tmp_path)
        ckpt = tmp_path / "ckpt"
        f = ckpt / json.loads((ckpt / "ckpt.json").read_text())["state"] / "model.safetensors"
        b = bytearray(f.read_bytes())
        b[-8:] = b"\x00" * 8  # same size, different weights
        f.write_bytes(bytes(b))
        train(spec, tmp_path, threads=1)
        assert "does not match its saved checksum" in capfd.readouterr().err

    def test_checkpoint_of_another_experiment_refused_in_one_line(self, pysource, tmp_path):  # noqa: F811
        spec, _ = _checkpointed(pysource, tmp_path / "run")
        other = _spec(pysource, lr=1e-2)
        code, err = _job(other, tmp_path / "run")
        assert code == 2
        _assert_one_line(err, str(tmp_path / "run" / "ckpt"), "different experiment", "move or delete")
        assert (tmp_path / "run" / "ckpt" / "ckpt.json").is_file()  # refused, not removed


RAISING = '''
import torch
from plugins.gpt import GPT as _GPT
class Flaky(_GPT):
    calls = 0
    def forward(self, batch):
        Flaky.calls += 1
        if Flaky.calls > 4:
            raise ValueError("tokenizer mismatch\\nbatch 4 has token 300 >= vocab 256")
        return super().forward(batch)
'''
NAN_LOSS = '''
from plugins.losses import cross_entropy
n = 0
def loss(outputs, batch):
    global n
    n += 1
    out = cross_entropy(outputs, batch)
    return out * float("nan") if n > 3 else out
'''


class TestTrainingFailures:
    def test_plugin_raising_mid_training_is_recorded_failed(self, pysource, tmp_path, plugin_dir):  # noqa: F811
        (plugin_dir / "ff_test_flaky.py").write_text(RAISING)
        spec = _spec(pysource)
        spec["model"]["plugin"] = "ff_test_flaky:Flaky"
        m = run_experiment(spec, tmp_path)
        assert m["status"] == "failed" and m["reason"] == "ValueError: batch 4 has token 300 >= vocab 256"
        assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "failed"

    def test_loss_turning_nan_is_recorded_diverged(self, pysource, tmp_path, plugin_dir):  # noqa: F811
        (plugin_dir / "ff_test_nanloss.py").write_text(NAN_LOSS)
        spec = _spec(pysource, log_every=1)
        spec["loss"]["plugin"] = "ff_test_nanloss:loss"
        m = run_experiment(spec, tmp_path)
        assert m["status"] == "diverged" and "non-finite train loss" in m["reason"] and m["final_loss"] is None
