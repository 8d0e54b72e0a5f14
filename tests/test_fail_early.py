"""Failing before training, not after: the plan checks (flops_fit.plancheck), budgets that yield nothing named
as typed, a failed fit that still leaves runs.csv and the figures, the stale-lock line for an absolute
results_dir, and forecast against actual under a load that changed (flops_fit.forecast.load)."""
import json

import pytest

from conftest import snakemake
from flops_fit import plancheck
from flops_fit.plancheck import Finding, exact, register, run

QUICK = ["--config", "preset=quick"]


def _plan(sizes_per_budget, *, dropped=()):
    exps = [{"budget_flops": b, "params": 1e5 * (i + 1)} for b, n in sizes_per_budget.items() for i in range(n)]
    return {"experiments": exps, "dropped": list(dropped)}


def _cfg(budgets, near_edge=False, min_steps=20):
    return {"budgets": {"values": list(budgets)}, "analysis": {"include_near_edge": near_edge},
            "planner": {"min_steps": min_steps}}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One results_dir for the ff-plan tests: the models are measured once (results/.cache)."""
    return tmp_path_factory.mktemp("results")


def lines(out, level):
    return [x for x in out.splitlines() if x.startswith(f"flops-fit: {level}:")]


class TestPlanChecks:
    def test_exact_keeps_what_the_user_typed(self):
        assert [exact(x) for x in (1.011, 1e11, 3.16e11, 1e17, 250.0)] == ["1.011", "1e11", "3.16e11", "1e17", "250.0"]

    def test_a_three_size_grid_warns_and_names_the_keys(self):
        found = run(_cfg([1e17, 1e18, 1e19]), _plan({1e17: 3, 1e18: 3, 1e19: 3}))
        assert [f.level for f in found] == ["warn"]
        assert "analysis.include_near_edge=true" in found[0].line and "planner.sizes" in found[0].line
        assert run(_cfg([1e17, 1e18, 1e19], near_edge=True), _plan({1e17: 3, 1e18: 3, 1e19: 3})) == []

    def test_refuses_only_when_nothing_could_be_fitted(self):
        found = run(_cfg([1e17, 1e18]), _plan({1e17: 3, 1e18: 3}))    # 6 runs, every vertex near an edge
        assert found[0].level == "refuse" and "nothing could be fitted" in found[0].line
        assert plancheck.refusal(run(_cfg([1e17, 1e18], near_edge=True), _plan({1e17: 3, 1e18: 3}))) is None
        assert "no feasible experiments" in plancheck.refusal(run(_cfg([1e17]), _plan({})))

    def test_a_cut_budget_names_the_dropped_points_and_the_key(self):
        drop = [{"budget_flops": 1e18, "target_params": 3e9, "reason": "outside", "key": "model.size"},
                {"budget_flops": 1e18, "target_params": 6e9, "reason": "few steps", "key": "planner.min_steps"}]
        found = run(_cfg([1e17, 1e18]), _plan({1e17: 5, 1e18: 3}, dropped=drop))
        cut = [f for f in found if "sizes planned" in f.line]
        assert len(cut) == 1 and cut[0].level == "warn"
        assert "3 of 5 sizes planned" in cut[0].line and "N 3e+09 by model.size" in cut[0].line
        assert "N 6e+09 by planner.min_steps" in cut[0].line

    def test_a_budget_typo_is_named_as_typed_with_a_guess(self):
        drop = [{"budget_flops": 1.011, "target_params": 0.1, "reason": "outside", "key": "model.size",
                 "steps": 0, "step_flops": 4.2e7}]
        found = run(_cfg([1.011, 3e11, 1e12]), _plan({3e11: 5, 1e12: 5}, dropped=drop))
        assert [f.line for f in found] == [
            "budget 1.011 FLOPs: smaller than one step of the smallest model (4.2e+07 FLOPs); did you mean 1.0e11? "
            "(budgets.values)"]

    def test_a_registered_check_runs_and_its_refusal_stops_the_plan(self):
        @register
        def epochs(cfg, plan):
            return [Finding("refuse", "dataset.max_tokens", "dataset.max_tokens: too few tokens")]
        try:
            found = run(_cfg([1e17, 1e18]), _plan({1e17: 5, 1e18: 5}))
            assert plancheck.refusal(found) == "dataset.max_tokens: too few tokens"
        finally:
            plancheck.CHECKS.remove(epochs)
        with pytest.raises(ValueError):
            Finding("error", "k", "line")

    def test_ff_plan_warns_on_three_sizes_and_exits_0(self, results, capsys):
        from flops_fit.cli import plan_main
        plan_main([f"results_dir={results}", "planner.sizes=3"])
        err = capsys.readouterr().err
        assert lines(err, "warning") == [
            "flops-fit: warning: every budget: 3 sizes or fewer, so every optimum will be near_edge and Approach 2 "
            "leaves it out: set analysis.include_near_edge=true or raise planner.sizes"]

    def test_ff_plan_names_the_typo_in_the_table_and_below_it(self, results, capsys):
        from flops_fit.cli import plan_main
        plan_main([f"results_dir={results}", "budgets.values=[1.011,3e11,1e12]"])
        out, err = capsys.readouterr()
        assert "dropped: budget 1.011, target N" in out
        assert "flops-fit: warning: budget 1.011 FLOPs: smaller than one step of the smallest model" in err
        assert "did you mean 1.0e11?" in err


@pytest.mark.slow  # each starts Snakemake on a copy of the workflow
class TestUnderSnakemake:
    def test_a_typo_is_named_under_snakemake(self, workflow_copy):
        r = snakemake(workflow_copy, "--cores", "1", "-n", *QUICK, "budgets__values=[1.018,1e17,1e19]")
        assert r.returncode == 0, r.stdout[-2000:]
        warn = [x for x in lines(r.stdout, "warning") if "1.018" in x]
        assert warn == ["flops-fit: warning: budget 1.018 FLOPs: smaller than one step of the smallest model "
                        "(3.38e+10 FLOPs); did you mean 1.0e18? (budgets.values)"], r.stdout[-2000:]

    def test_a_refused_plan_trains_nothing(self, workflow_copy):
        r = snakemake(workflow_copy, "--cores", "1", *QUICK, "budgets__values=[1e19]")
        assert r.returncode == 1
        assert lines(r.stdout, "error") == [
            "flops-fit: error: budgets.values: nothing could be fitted (sizes per budget 1e19: 5): Approach 2 needs "
            "IsoFLOP minima at 2 budgets or more (> 3 sizes each, or 3 with analysis.include_near_edge=true), "
            "Approach 3 >= 8 runs over 2 budgets or more: add budgets, or raise planner.sizes"]
        assert not list(workflow_copy.glob("results/*/runs")) and "train_run" not in r.stdout

    def test_a_failed_fit_leaves_runs_figures_and_one_line(self, workflow_copy):
        r = snakemake(workflow_copy, "--cores", "2", *QUICK, "overrides=budgets.values=[1e17,1e18] planner.sizes=3 "
                      "analysis.include_near_edge=true planner.tokens_per_param=0.05 analysis.bootstrap=5")
        sweep = workflow_copy / "results" / "gpt-pysource-quick-mock"
        assert r.returncode == 1, r.stdout[-3000:]
        assert lines(r.stdout, "error") == [
            "flops-fit: error: the fit failed (results/gpt-pysource-quick-mock/fits.json); the runs, runs.csv and "
            "the figures are kept: every budget's best run is its smallest size: raise planner.tokens_per_param "
            "(the optimum lies below the grid) or use planner.extend"]
        fits = json.loads((sweep / "fits.json").read_text())
        assert fits["status"] == "failed" and "neither approach could be fitted" in fits["reason"]
        for f in ("runs.csv", "plots/isoflop.png", "forecast_vs_actual.json", "forecast_vs_actual.png"):
            assert (sweep / f).is_file(), f


class TestFailedFit:
    def test_fix_line_reads_where_the_best_runs_lie(self):
        import pandas as pd
        rows = [(b, n, loss) for b in (1e17, 1e18) for n, loss in ((1e6, 3.0), (2e6, 3.5), (4e6, 4.0))]
        df = pd.DataFrame(rows, columns=["budget_flops", "params", "final_loss"])
        from flops_fit.fit.failed import fix_line
        assert fix_line(df).startswith("every budget's best run is its smallest size: raise planner.tokens_per_param")
        df["final_loss"] = -df["final_loss"]
        assert fix_line(df).startswith("every budget's best run is its largest size: lower planner.tokens_per_param")

    def test_workflow_outcome_only_for_a_failed_fit(self, tmp_path):
        from flops_fit.fit.failed import record_failure, workflow_outcome
        (tmp_path / "runs.csv").write_text("budget_flops,params,final_loss\n1e17,1e6,3\n1e17,2e6,4\n")
        record_failure(tmp_path / "runs.csv", tmp_path, "no fit")
        assert "raise planner.tokens_per_param" in workflow_outcome(tmp_path / "fits.json")
        (tmp_path / "fits.json").write_text(json.dumps({"status": "ok"}))
        assert workflow_outcome(tmp_path / "fits.json") is None


def test_stale_lock_line_for_an_absolute_and_a_relative_results_dir(tmp_path):
    from flops_fit.preflight import stale_lock
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text(f"{tmp_path}/res/sweep/runs.csv\n")
    for prefix in (f"{tmp_path}/res/sweep", "res/sweep"):
        line = stale_lock([prefix], argv=["--cores", "1"], cwd=str(tmp_path))
        assert line and "snakemake --unlock --cores 1" in line and "res/sweep/runs.csv" in line, prefix
    assert stale_lock([f"{tmp_path}/other"], argv=[], cwd=str(tmp_path)) is None


class TestLoad:
    def _sweep(self, tmp_path, load_cal, load_run, share=0.8):
        sweep = tmp_path
        for rid in ("a", "b"):
            d = sweep / "runs" / rid
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({"id": rid, "status": "completed", "budget_flops": 1e12,
                                                        "params": 1e4}))
            # ran in 40 s of wall time on 2 threads, 76 CPU-seconds
            (d / "timing.jsonl").write_text(json.dumps({"start": 0.0, "end": 40.0, "cpu_s": 76.0,
                                                        "load": [load_run, load_run]}) + "\n")
        # calibrated at a higher load: 93 s forecast, each process got 0.8 CPU-seconds per second
        fc = {"experiments": [{"id": i, "seconds": 93.0} for i in ("a", "b")], "totals": {},
              "calibration": {"points": [{"cpu_per_wall": share, "load": load_cal}]}}
        return sweep, fc

    def test_cpu_seconds_error_and_a_changed_load_are_reported(self, tmp_path):
        from flops_fit.forecast.actual import compare, summary_markdown
        sweep, fc = self._sweep(tmp_path, 5.0, 2.0)
        table, s = compare(sweep, fc)
        assert s["median_abs_error"] == pytest.approx(53 / 40)               # 132 % in wall-seconds
        assert s["median_abs_error_cpu"] == pytest.approx(abs(74.4 - 76) / 76)   # 2 % in CPU-seconds
        assert s["load"]["changed"] and "load 5.0 at calibration, 2.0 through the sweep" in s["load"]["note"]
        assert "0.80 CPU-seconds per second at calibration, 1.90 in the sweep" in s["load"]["note"]
        assert "In CPU-seconds" in summary_markdown(s) and "the load changed" in summary_markdown(s)

    def test_an_unchanged_load_says_nothing(self, tmp_path):
        from flops_fit.forecast.actual import compare
        sweep, fc = self._sweep(tmp_path, 2.5, 2.0, share=1.8)
        assert not compare(sweep, fc)[1]["load"]["changed"]
        sweep, fc = self._sweep(tmp_path / "b", 2.5, 2.0, share=1.2)   # same load average, another CPU share
        assert compare(sweep, fc)[1]["load"]["changed"]

    def test_segment_timer_records_cpu_seconds_and_load(self, tmp_path):
        from flops_fit.forecast.actual import segment_timer
        with segment_timer(tmp_path / "r"):
            sum(i * i for i in range(200_000))
        rec = json.loads((tmp_path / "r" / "timing.jsonl").read_text())
        assert rec["cpu_s"] > 0 and len(rec["load"]) == 2 and all(x >= 0 for x in rec["load"])

    def test_job_slots(self):
        from flops_fit.forecast.slots import slots_for
        assert slots_for(cores=2, jobs=None, cluster=False, threads=1) == 2
        assert slots_for(cores=4, jobs=None, cluster=False, threads=2) == 2
        assert slots_for(cores=1, jobs=None, cluster=False, threads=2) == 1
        assert slots_for(cores=None, jobs=30, cluster=True, threads=8) == 30
