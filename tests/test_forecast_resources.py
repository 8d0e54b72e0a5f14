"""Forecast -> job resources (runtime in minutes, priority): the function the workflow and Slurm use."""
import json

from flops_fit.forecast.resources import DEFAULT_RUNTIME_MIN, MARGIN_MIN, job_resources, load_forecast

SPEC_SMALL = {"id": "C1e11-a", "budget_flops": 1e11, "flops_planned": 1e11}
SPEC_BIG = {"id": "C1e12-b", "budget_flops": 1e12, "flops_planned": 1e12}


class TestJobResources:
    def test_default_without_forecast(self):
        r = job_resources(None, SPEC_SMALL)
        assert r["runtime"] == DEFAULT_RUNTIME_MIN

    def test_bigger_budget_first_without_forecast(self):
        assert job_resources(None, SPEC_BIG)["priority"] > job_resources(None, SPEC_SMALL)["priority"]

    def test_runtime_from_forecast_upper_end_with_safety(self):
        fc = {"C1e11-a": {"id": "C1e11-a", "seconds": 100.0, "seconds_hi": 120.0}}
        r = job_resources(fc, SPEC_SMALL, safety=1.5)
        assert r["runtime"] == 3 + MARGIN_MIN          # ceil(1.5 * 120 / 60) = 3
        assert r["priority"] == 100

    def test_longest_forecast_gets_highest_priority(self):
        fc = {"C1e11-a": {"id": "C1e11-a", "seconds": 500.0}, "C1e12-b": {"id": "C1e12-b", "seconds": 50.0}}
        assert job_resources(fc, SPEC_SMALL)["priority"] > job_resources(fc, SPEC_BIG)["priority"]

    def test_experiment_missing_from_forecast_gets_default(self):
        assert job_resources({"other": {"seconds": 5.0}}, SPEC_SMALL)["runtime"] == DEFAULT_RUNTIME_MIN


class TestLoadForecast:
    def test_missing_or_garbage_is_none(self, tmp_path):
        assert load_forecast(tmp_path / "nope.json") is None
        (tmp_path / "f.json").write_text("{garbage")
        assert load_forecast(tmp_path / "f.json") is None

    def test_keyed_by_id(self, tmp_path):
        (tmp_path / "f.json").write_text(json.dumps({"experiments": [{"id": "x", "seconds": 3.0}]}))
        assert load_forecast(tmp_path / "f.json")["x"]["seconds"] == 3.0
