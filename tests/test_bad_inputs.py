"""Bad inputs to the ff-* commands and the training job: one line naming the file/key/plugin, exit != 0
(2 for usage errors, 1 for disk problems), no traceback, nothing lost. (Workflow-level: test_bad_inputs_workflow.py.)"""
import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flops_fit.cli import analyze_main, plan_main, train_main

REPO = Path(__file__).resolve().parent.parent
QUICK = ["preset=quick", "budgets.values=[1e17,1e18]", "planner.sizes=3", "analysis.include_near_edge=true"]


def one_line_error(capsys, fn, argv, code=2):
    with pytest.raises(SystemExit) as e:
        fn(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == code, err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: "), err
    return last


@pytest.fixture
def config_copy(tmp_path, monkeypatch):
    d = tmp_path / "config"
    shutil.copytree(REPO / "config", d)
    monkeypatch.setenv("FLOPS_FIT_CONFIG_DIR", str(d))
    return d


class TestConfigValues:
    def test_malformed_yaml_names_file_and_line(self, capsys, config_copy, tmp_path):
        (config_copy / "budgets.yaml").write_text("budgets:\n  values: [1e11, 3e11\n  targets: [1]\n")
        line = one_line_error(capsys, plan_main, [f"results_dir={tmp_path}"])
        assert "budgets.yaml, line 3" in line and "malformed YAML" in line

    def test_binary_config_file(self, capsys, config_copy, tmp_path):
        (config_copy / "budgets.yaml").write_bytes(b"\xff\xfe\x00garbage\x00")
        line = one_line_error(capsys, plan_main, [f"results_dir={tmp_path}"])
        assert "config" in line

    @pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
    def test_non_finite_budget(self, capsys, tmp_path, value):
        line = one_line_error(capsys, plan_main, [*QUICK, f"budgets.values=[{value},1e18]", f"results_dir={tmp_path}"])
        assert "'budgets.values[0]'" in line and "not a finite number" in line

    def test_nan_learning_rate(self, capsys, tmp_path):
        line = one_line_error(capsys, plan_main, [*QUICK, "training.lr.base=nan", f"results_dir={tmp_path}"])
        assert "'training.lr.base'" in line

    def test_negative_budget(self, capsys, tmp_path):
        line = one_line_error(capsys, plan_main, [*QUICK, "budgets.values=[-1e18,1e18]", f"results_dir={tmp_path}"])
        assert "budgets.values" in line

    def test_override_without_equals(self, capsys, tmp_path):
        assert "is not key=value" in one_line_error(capsys, plan_main, ["preset"])

    def test_unknown_preset(self, capsys):
        assert "unknown option 'nope' for group 'preset'" in one_line_error(capsys, plan_main, ["preset=nope"])

    def test_config_dir_without_config_yaml(self, capsys, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOPS_FIT_CONFIG_DIR", str(tmp_path))
        assert "no config.yaml" in one_line_error(capsys, plan_main, [])

    def test_one_budget_sweep_refused_at_planning(self, capsys, tmp_path):
        line = one_line_error(capsys, plan_main, ["preset=quick", "budgets.values=[1e18]", f"results_dir={tmp_path}"])
        assert "budgets.values" in line and "2 budgets or more" in line
        assert not (tmp_path / "gpt-pysource-quick-mock" / "plan.json").exists()

    def test_one_size_per_budget_refused(self, capsys, tmp_path):
        line = one_line_error(capsys, plan_main, [*QUICK, "planner.sizes=1", f"results_dir={tmp_path}"])
        assert "planner.sizes" in line or "model sizes" in line


class TestDisk:
    def _fail_writes(self, monkeypatch, err):
        import os

        def boom(src, dst, *a, **k):  # every atomic write ends in os.replace: make it fail like the disk would
            raise OSError(err, os.strerror(err), str(dst))
        monkeypatch.setattr(os, "replace", boom)

    @pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC])
    def test_plan_into_unwritable_results(self, capsys, tmp_path, monkeypatch, err):
        self._fail_writes(monkeypatch, err)
        line = one_line_error(capsys, plan_main, [*QUICK, f"results_dir={tmp_path}"], code=1)
        assert "plan.json" in line and "writable" in line

    def test_planning_does_not_need_a_writable_cache(self, capsys, tmp_path, own_measure_cache):
        (tmp_path / ".cache").write_text("a file where the cache folder would go")
        plan_main([*QUICK, f"results_dir={tmp_path}", "--out", str(tmp_path / "p.json")])
        assert json.loads((tmp_path / "p.json").read_text())["experiments"]

    def test_results_dir_is_a_file(self, capsys, tmp_path):
        (tmp_path / "f").write_text("x")
        line = one_line_error(capsys, plan_main, [*QUICK, f"results_dir={tmp_path / 'f'}"], code=1)
        assert str(tmp_path / "f") in line

    def test_analyze_into_unwritable_results(self, capsys, tmp_path, monkeypatch):
        train_main([*QUICK, f"results_dir={tmp_path}"])
        self._fail_writes(monkeypatch, errno.EROFS)
        line = one_line_error(capsys, analyze_main, [*QUICK, f"results_dir={tmp_path}"], code=1)
        assert "gpt-pysource-quick-mock/" in line and "Read-only" in line


class TestResults:
    def test_damaged_metrics_left_out_of_analyze_with_a_warning(self, capsys, tmp_path):
        q5 = [*QUICK, "planner.sizes=5"]
        train_main([*q5, f"results_dir={tmp_path}"])
        runs = sorted((tmp_path / "gpt-pysource-quick-mock" / "runs").iterdir())
        (runs[0] / "metrics.json").write_text('{"id": "x", "sta')
        (runs[1] / "metrics.json").write_text("")
        m = json.loads((runs[5] / "metrics.json").read_text())
        del m["final_loss"]
        (runs[5] / "metrics.json").write_text(json.dumps(m))
        capsys.readouterr()
        # 7 runs left of 10: the fit itself is not what this checks (a near-edge budget is allowed in)
        analyze_main([*q5, f"results_dir={tmp_path}", "analysis.bootstrap=5", "analysis.include_near_edge=true"])
        err = capsys.readouterr().err
        assert "not valid JSON" in err and "missing field(s) final_loss" in err and "Traceback" not in err
        assert "3 of 10 planned experiments have no usable results" in err

    def test_ff_train_retrains_damaged_and_keeps_it_as_bad(self, capsys, tmp_path):
        train_main([*QUICK, f"results_dir={tmp_path}"])
        run = sorted((tmp_path / "gpt-pysource-quick-mock" / "runs").iterdir())[0]
        good = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text('{"truncated')
        capsys.readouterr()
        train_main([*QUICK, f"results_dir={tmp_path}"])
        err = capsys.readouterr().err
        assert "5 already complete, 1 to run" in err and "kept as metrics.json.bad" in err
        assert (run / "metrics.json.bad").read_text() == '{"truncated'
        assert json.loads((run / "metrics.json").read_text())["final_loss"] == good["final_loss"]

    @pytest.mark.parametrize("edit", [{"id": "C1e17-N1-deadbeef"}, {"status": "weird"}, {"final_loss": "low"},
                                      {"params": -3}, {"config_hash": "00000000"}])
    def test_invalid_or_foreign_metrics_counts_as_missing(self, tmp_path, edit):
        from flops_fit.config import load_config
        from flops_fit.plan import plan
        from flops_fit.runner import check_result, run_experiment
        spec = plan(load_config([*QUICK, f"results_dir={tmp_path}"]))["experiments"][0]
        run_experiment(spec, tmp_path / "r")
        m = json.loads((tmp_path / "r" / "metrics.json").read_text())
        (tmp_path / "r" / "metrics.json").write_text(json.dumps({**m, **edit}))
        got, problem = check_result(tmp_path / "r", spec)
        assert got is None and problem
        again = run_experiment(spec, tmp_path / "r")
        assert again["final_loss"] == m["final_loss"] and (tmp_path / "r" / "metrics.json.bad").is_file()


class TestTrainCommand:
    def test_diverged_run_does_not_crash_ff_train(self, capsys, tmp_path, monkeypatch):
        import flops_fit.mock as mock
        real = mock.simulate

        def diverging(spec):
            out = real(spec)
            if spec["params"] == min_params:
                out.update(status="diverged", final_loss=None, reason="non-finite train loss (nan) at step 10")
            return out
        from flops_fit.config import load_config
        from flops_fit.plan import plan
        min_params = min(e["params"] for e in plan(load_config([*QUICK, f"results_dir={tmp_path}"]))["experiments"])
        monkeypatch.setattr(mock, "simulate", diverging)
        train_main([*QUICK, f"results_dir={tmp_path}"])
        err = capsys.readouterr().err
        assert "diverged loss=n/a" in err and err.count("completed loss=") == 5

    def test_plugin_raising_is_recorded_failed_and_sweep_goes_on(self, capsys, tmp_path, monkeypatch):
        import flops_fit.mock as mock
        real = mock.simulate
        calls = []

        def flaky(spec):
            calls.append(spec["id"])
            if len(calls) == 2:
                raise RuntimeError("boom in the user's plugin\nCUDA error: device-side assert triggered")
            return real(spec)
        monkeypatch.setattr(mock, "simulate", flaky)
        train_main([*QUICK, f"results_dir={tmp_path}"])
        err = capsys.readouterr().err
        assert len(calls) == 6 and "1 experiment(s) failed" in err
        run = tmp_path / "gpt-pysource-quick-mock" / "runs" / calls[1]
        m = json.loads((run / "metrics.json").read_text())
        assert m["status"] == "failed" and m["reason"] == "RuntimeError: CUDA error: device-side assert triggered"
        assert "Traceback" in (run / "failure.txt").read_text()
        monkeypatch.setattr(mock, "simulate", real)  # fixed: the next ff-train tries it again
        train_main([*QUICK, f"results_dir={tmp_path}"])
        assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
        assert (run / "metrics.json.failed").is_file()


def _train_run(tmp_path, spec_arg, out):
    return subprocess.run([sys.executable, str(REPO / "scripts" / "train_run.py"), "--spec", spec_arg, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


def test_train_run_with_garbage_spec_file(tmp_path):
    (tmp_path / "spec.json").write_text("{not json")
    r = _train_run(tmp_path, str(tmp_path / "spec.json"), tmp_path / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("flops-fit: error:") and "spec.json" in r.stderr
