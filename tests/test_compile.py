"""training.compile: auto's rule, its decision read from the forecast, the forecast's per-run choice, the two
RoPE paths, and (slow tier) compiled against eager training and a compiled run's resume."""
import json

import pytest
import torch

from flops_fit.forecast.compiled import attach, choose, compiled_model
from flops_fit.forecast.timemodel import TimeModel
from flops_fit.train.compile import decide, pays, setting
from plugins.gpt import _rope_table, _rotate_qkv, _rotate_real
from test_train_loop import pysource  # noqa: F401  (the corpus fixture)


class TestAutoRule:
    def test_compiles_only_when_the_steps_saved_outweigh_the_compile(self):
        assert pays(steps=1000, eager_step_s=0.070, compiled_step_s=0.054, compile_s=15.0)  # 16 s saved > 15 s
        assert not pays(steps=900, eager_step_s=0.070, compiled_step_s=0.054, compile_s=15.0)  # 14.4 s < 15 s
        assert not pays(steps=10 ** 6, eager_step_s=0.010, compiled_step_s=0.011, compile_s=0.0)  # slower compiled

    @pytest.mark.parametrize("value, expected", [("auto", "auto"), ("true", True), (False, False), ("False", False)])
    def test_setting_accepts_booleans_and_their_strings(self, value, expected):
        assert setting({"compile": value}) == expected

    def test_an_unknown_setting_is_one_line(self):
        with pytest.raises(ValueError, match="training.compile must be auto, true or false, not 'sometimes'"):
            setting({"compile": "sometimes"})

    def test_auto_reads_the_decision_of_its_run_from_the_forecast(self, tmp_path):
        fc = tmp_path / "forecast.json"
        fc.write_text(json.dumps({"experiments": [{"id": "a", "compile": True, "compile_reason": "x > y"},
                                                  {"id": "b", "compile": False, "compile_reason": "x <= y"}]}))
        spec = {"id": "a", "training": {"compile": "auto"}}
        assert decide(spec, fc) == (True, "auto: x > y")
        assert decide(dict(spec, id="b"), fc)[0] is False
        assert decide(dict(spec, id="c"), fc)[0] is False  # not in the forecast: eager, with the reason
        assert "run `snakemake forecast` first" in decide(spec, tmp_path / "missing.json")[1]
        assert decide({"id": "a", "training": {"compile": True}}, None) == (True, "training.compile=true")


def _point(params, fps, step, startup):
    z = [0.0, 0.0, 0.0]
    return {"params": params, "flops_per_step": fps, "step_s": [step] * 3, "eval_s": z, "ckpt_s": z,
            "startup_s": [startup] * 3, "teardown_s": z, "peak_mem_mb": 100.0}


class TestForecastChoice:
    def test_each_run_compiles_where_its_own_steps_pay_for_it(self):
        eager = [_point(1e6, 1e9, 0.010, 2.0), _point(1e8, 1e11, 0.100, 3.0)]
        compiled = [_point(1e6, 1e9, 0.008, 12.0), _point(1e8, 1e11, 0.070, 23.0)]  # compile 10 s and 20 s
        attach(eager, compiled)
        model, comp = TimeModel(eager), compiled_model(eager)
        ckpt = {"every_steps": 0, "every_s": 0}

        def run(steps, fpu_units, params):
            e = {"steps": steps, "flops_per_unit": fpu_units, "units_per_step": 1, "params": params,
                 "training": {"compile": "auto"}}
            kw = dict(steps=steps, flops_per_step=fpu_units, params=params, n_evals=1, ckpt=ckpt)
            return choose(e, model.experiment(**kw), comp.experiment(**kw), comp)

        big_long = run(1000, 1e11, 1e8)  # 1000 x 30 ms = 30 s saved > 20 s
        big_short = run(500, 1e11, 1e8)  # 15 s saved <= 20 s
        small = run(3000, 1e9, 1e6)  # 3000 x 2 ms = 6 s <= 10 s
        assert big_long[1] and not big_short[1] and not small[1]
        assert big_long[0]["terms"]["step_s"] == pytest.approx(0.070)
        assert big_short[0]["terms"]["step_s"] == pytest.approx(0.100)
        assert "30.0 s saved > 20.0 s compile" in big_long[2]

    def test_without_a_compiled_calibration_auto_stays_eager(self):
        pts = [_point(1e6, 1e9, 0.010, 2.0)]
        assert compiled_model(pts) is None
        e = {"steps": 10, "training": {"compile": "auto"}}
        f = TimeModel(pts).experiment(steps=10, flops_per_step=1e9, params=1e6, n_evals=1, ckpt={})
        assert choose(e, f, None, None)[1:] == (False, "auto: compile not calibrated here (eager)")


class TestRope:
    def test_real_and_complex_rotations_agree(self):
        torch.manual_seed(0)
        rope = _rope_table(64, 16)
        qkv = torch.randn(2, 64, 3, 4, 16)
        torch.testing.assert_close(_rotate_real(qkv, rope), _rotate_qkv(qkv, rope), rtol=1e-6, atol=1e-6)
        assert torch.equal(_rotate_real(qkv, rope)[:, :, 2], qkv[:, :, 2])  # v passes exactly

    def test_the_compute_dtype_path_is_within_bf16_rounding(self):
        torch.manual_seed(0)
        rope = _rope_table(64, 16)
        qkv = torch.randn(2, 64, 3, 4, 16)
        ref = _rotate_qkv(qkv, rope)
        got = _rotate_real(qkv.bfloat16(), rope)
        assert got.dtype == torch.bfloat16
        assert (got.float() - ref).abs().max() / ref.abs().max() < 2 ** -7  # two bf16 roundings


def _spec(data_dir, **tr):
    from test_train_loop import make_spec
    return make_spec(data_dir, steps=24, **tr)


@pytest.mark.slow
class TestCompiledTraining:
    """Compiling even a tiny model takes ~10-20 s on a 2-core CPU: the slow tier."""

    def test_compiled_and_eager_give_the_same_loss(self, pysource, tmp_path):  # noqa: F811
        from flops_fit.train import train
        try:
            comp = train(_spec(pysource, compile=True), tmp_path / "c")
        except Exception as e:  # noqa: BLE001
            pytest.skip(f"torch.compile does not work here: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
        eager = train(_spec(pysource, compile=False), tmp_path / "e")
        assert comp["compiled"] and not eager["compiled"] and comp["compile_s"] > 0 and eager["compile_s"] == 0
        assert comp["final_loss"] == pytest.approx(eager["final_loss"], rel=1e-3)  # float tolerance

    def test_a_compiled_run_resumes_from_its_checkpoint(self, pysource, tmp_path):  # noqa: F811
        import os
        import signal

        from flops_fit.train import train

        class StopAt:  # the trainer's timing hook, used here to send SIGTERM after step 12
            def begin(self):
                pass

            def step(self, n):
                if n == 12:
                    os.kill(os.getpid(), signal.SIGTERM)

            def phase(self, name):
                import contextlib
                return contextlib.nullcontext()

        spec = _spec(pysource, compile=True)
        with pytest.raises(SystemExit):
            train(spec, tmp_path / "run", probe=StopAt())
        info = json.loads((tmp_path / "run" / "ckpt" / "ckpt.json").read_text())
        assert info["step"] == 12 and info["compile_s"] > 0
        resumed = train(spec, tmp_path / "run")
        whole = train(_spec(pysource, compile=False), tmp_path / "whole")
        # the first segment's compile time is carried over; the second compiles anew, from the warm compile caches,
        # so it may add ~0 s (metrics.json rounds to ms)
        assert resumed["steps"] == 24 and resumed["compile_s"] >= round(info["compile_s"], 3)
        assert resumed["final_loss"] == pytest.approx(whole["final_loss"], rel=1e-3)
