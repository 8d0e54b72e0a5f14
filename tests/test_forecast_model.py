"""The forecast's time model, evaluation/checkpoint counts and list scheduling, on synthetic numbers."""
import math

import pytest

from flops_fit.forecast.schedule import list_schedule, lower_bound
from flops_fit.forecast.timemodel import TimeModel, checkpoints, evaluations


def point(n, fps, step, *, spread=0.1, eval_s=0.5, ckpt_s=0.2, startup=2.0, mem=400.0):
    lmh = lambda x: [x * (1 - spread), x, x * (1 + spread)]  # noqa: E731
    return {"params": n, "flops_per_step": fps, "step_s": lmh(step), "eval_s": lmh(eval_s), "ckpt_s": lmh(ckpt_s),
            "startup_s": lmh(startup), "teardown_s": [0.1, 0.1, 0.1], "peak_mem_mb": mem}


# step time: overhead-bound at the small end (slope 0.5 in log-log), compute-bound at the large end (slope 1)
POINTS = [point(1e4, 1e8, 0.010, mem=400), point(1e5, 1e10, 0.100, mem=500), point(1e6, 1e12, 10.0, mem=1400)]


class TestTimeModel:
    def test_exact_at_calibrated_sizes(self):
        m = TimeModel(POINTS)
        for p in POINTS:
            lo, mid, hi = m.quantity("step_s", flops_per_step=p["flops_per_step"], params=p["params"])
            assert mid == pytest.approx(p["step_s"][1]) and lo == pytest.approx(p["step_s"][0])
            assert hi == pytest.approx(p["step_s"][2])

    def test_piecewise_linear_in_log_log_between_sizes(self):
        m = TimeModel(POINTS)
        # halfway in log F between 1e8 and 1e10: the geometric mean of 0.01 and 0.1
        assert m.quantity("step_s", flops_per_step=1e9, params=3e4)[1] == pytest.approx(math.sqrt(0.01 * 0.1))
        assert m.quantity("step_s", flops_per_step=1e11, params=3e5)[1] == pytest.approx(1.0)

    def test_extrapolation_slope_is_clipped_to_0_and_1(self):
        m = TimeModel(POINTS)
        # above: the end segment's slope (log 100 / log 100 = 1) is kept; 10x the FLOPs -> 10x the time
        assert m.quantity("step_s", flops_per_step=1e13, params=1e7)[1] == pytest.approx(100.0)
        steep = TimeModel([point(1e4, 1e8, 0.01), point(1e5, 1e9, 1.0)])  # slope 2 between them
        assert steep.quantity("step_s", flops_per_step=1e10, params=1e6)[1] == pytest.approx(10.0)  # slope 1
        falling = TimeModel([point(1e4, 1e8, 0.02), point(1e5, 1e9, 0.01)])  # noisy: time falls with size
        assert falling.quantity("step_s", flops_per_step=1e7, params=1e3)[1] == pytest.approx(0.02)  # slope 0

    def test_single_point_constant_below_proportional_above(self):
        m = TimeModel([point(1e5, 1e10, 0.1)])
        assert m.quantity("step_s", flops_per_step=1e9, params=1e4)[1] == pytest.approx(0.1)
        assert m.quantity("step_s", flops_per_step=4e10, params=4e5)[1] == pytest.approx(0.4)

    def test_experiment_is_the_sum_of_its_terms(self):
        m = TimeModel(POINTS)
        f = m.experiment(steps=1000, flops_per_step=1e10, params=1e5, n_evals=5, ckpt={"every_steps": 200})
        # 2 s start-up + 0.1 s teardown + 1000 x 0.1 s + 5 x 0.5 s + 4 checkpoints x 0.2 s
        assert f["seconds"] == pytest.approx(2.1 + 100 + 2.5 + 0.8)
        assert f["terms"]["n_ckpts"] == 4 and f["terms"]["n_evals"] == 5
        assert f["seconds_lo"] < f["seconds"] < f["seconds_hi"]
        assert f["seconds_lo"] == pytest.approx(0.9 * (2 + 100 + 2.5 + 0.8) + 0.1)

    def test_memory_is_linear_in_params(self):
        m = TimeModel(POINTS)
        assert m.peak_mem_mb(5.5e5) == pytest.approx(950.0)
        assert m.peak_mem_mb(2e6) == pytest.approx(2400.0)  # the end segment, extended
        assert m.peak_mem_mb(10) == pytest.approx(400.0)    # never below the smallest

    def test_mock_jobs_cost_their_process_whatever_the_size(self):
        m = TimeModel([point(1e4, 1e8, 0.0, startup=0.8)], mock=True)
        small = m.experiment(steps=10, flops_per_step=1e8, params=1e4, n_evals=1, ckpt={})
        big = m.experiment(steps=10**6, flops_per_step=1e14, params=1e9, n_evals=9, ckpt={"every_steps": 10})
        assert small["seconds"] == pytest.approx(0.8) and big["seconds"] == pytest.approx(0.8)

    def test_no_points_is_an_error(self):
        with pytest.raises(ValueError):
            TimeModel([])


class TestCounts:
    @pytest.mark.parametrize("steps,every,n", [(100, 0, 4), (103, 0, 5), (23, 5, 5), (20, 5, 4), (1, 0, 1)])
    def test_evaluations_follow_the_loop(self, steps, every, n):
        assert evaluations(steps, every) == n

    def test_checkpoints_by_steps_never_on_the_last(self):
        assert checkpoints(1000, 100.0, {"every_steps": 200, "every_s": 300}) == 4
        assert checkpoints(1000, 100.0, {"every_steps": 200, "every_s": 300, "final": True}) == 5

    def test_time_checkpoints_when_steps_are_slow(self):
        # 200 steps take 200 s > 60 s: a save every 60 s of training as well
        assert checkpoints(1000, 1000.0, {"every_steps": 200, "every_s": 60}) == 1000 // 60 + 4


class TestListSchedule:
    def test_longest_first_on_two_slots(self):
        r = list_schedule([1, 2, 3, 4], priorities=[1, 2, 3, 4], slots=2)
        assert r["order"] == [3, 2, 1, 0] and r["makespan_s"] == 5

    def test_plan_order_breaks_ties_and_order_matters(self):
        # plan order, no priorities: the long job last -> 1+1 then 4 on one slot
        assert list_schedule([1, 1, 1, 4], slots=2)["makespan_s"] == 5
        assert list_schedule([1, 1, 1, 4], priorities=[0, 0, 0, 9], slots=2)["makespan_s"] == 4

    def test_a_job_starts_after_the_job_it_follows(self):
        # two chains of WSD cells (0 -> 1 -> 2 and 3 -> 4) on 3 slots: the chains, not the slots, set the makespan
        d, after = [2, 3, 4, 1, 1], [None, 0, 1, None, 3]
        r = list_schedule(d, priorities=d, slots=3, after=after)
        assert r["makespan_s"] == 9 and r["start_s"] == [0, 2, 5, 0, 1]
        assert list_schedule(d, priorities=d, slots=3)["makespan_s"] == 4   # as if the cells were independent
        assert lower_bound(d, 3, after) == 9 and lower_bound(d, 3) == 4
        # a free slot waits for a ready job; the higher-priority ready job goes first
        r = list_schedule([5, 1, 1], priorities=[1, 9, 8], slots=2, after=[None, 0, None])
        assert r["order"] == [2, 0, 1] and r["start_s"] == [0, 5, 0] and r["makespan_s"] == 6
        with pytest.raises(ValueError, match="cycle"):
            list_schedule([1, 1], slots=2, after=[1, 0])

    def test_lower_bound(self):
        assert lower_bound([1, 1, 1, 4], 2) == 4
        assert lower_bound([3, 3, 3, 3], 2) == 6
        for slots in (1, 2, 3):
            d = [5, 3, 8, 1, 2, 7]
            assert list_schedule(d, d, slots)["makespan_s"] >= lower_bound(d, slots)


class TestSections:
    def test_missing_section_is_not_available_and_a_failing_one_is_reported(self, monkeypatch):
        from flops_fit.forecast.build import run_section
        assert run_section("flops_fit.forecast.no_such_part", "f", {}, {})["status"] == "not available"
        msgs = []
        r = run_section("json", "loads", {}, {}, log=msgs.append)  # loads({}, {}) raises TypeError
        assert r["status"] == "failed" and "TypeError" in r["error"] and msgs

    def test_a_present_section_is_called_with_cfg_and_plan(self, tmp_path, monkeypatch):
        from flops_fit.forecast.build import run_section
        (tmp_path / "ff_test_section.py").write_text(
            "def forecast_part(cfg, plan):\n    return {'markdown': '## Part', 'n': len(plan['experiments'])}\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        r = run_section("ff_test_section", "forecast_part", {}, {"experiments": [1, 2]})
        assert r == {"markdown": "## Part", "n": 2}
