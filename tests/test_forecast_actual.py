"""Forecast against actual (flops_fit.forecast.actual), the figure, and the ETA (flops_fit.forecast.eta)."""
import json
import logging
import os
import time

import pandas as pd
import pytest

from flops_fit.forecast.actual import (STARTS, TIMING, compare, mark_workflow_start, process_start_time, run_actual,
                                       segment_timer, write_forecast_vs_actual)
from flops_fit.forecast.eta import Eta
from flops_fit.forecast.schedule import list_schedule
from flops_fit.forecast.timing_log import add_eta_to_log


def _run(sweep, rid, segments=None, metrics=None):
    d = sweep / "runs" / rid
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps({"id": rid, "status": "completed", "budget_flops": 1e12,
                                                "params": 1e4, "data_units": 1e6, "final_loss": 3.0,
                                                **(metrics or {})}))
    if segments:
        (d / TIMING).write_text("".join(json.dumps({"start": a, "end": b}) + "\n" for a, b in segments))
    return d


def _forecast(sweep, seconds, makespan=None):
    fc = {"schema": "flops-fit/forecast/v1", "totals": {"makespan_s": makespan},
          "experiments": [{"id": i, "seconds": s, "seconds_lo": 0.9 * s, "seconds_hi": 1.1 * s}
                          for i, s in seconds.items()]}
    (sweep / "forecast.json").write_text(json.dumps(fc))


class TestActual:
    def test_process_start_time_is_this_process_start(self):
        import psutil  # an independent reading of the same fact (it comes with accelerate)
        t = process_start_time()
        assert t == pytest.approx(psutil.Process().create_time(), abs=1.0) and t <= time.time()

    def test_a_resumed_run_sums_its_segments(self, tmp_path):
        d = _run(tmp_path, "r1", segments=[(100.0, 130.0), (200.0, 215.0)])
        a = run_actual(d)
        assert a["actual_s"] == pytest.approx(45.0) and a["segments"] == 2 and a["source"] == "timing"

    def test_without_timing_it_falls_back_to_metrics_and_says_so(self, tmp_path):
        d = _run(tmp_path, "r1", metrics={"wall_s": 20.0, "startup_s": 2.5})
        a = run_actual(d)
        assert a["actual_s"] == pytest.approx(22.5) and a["source"] == "metrics"

    def test_segment_timer_appends_on_resume_and_restarts_on_a_fresh_run(self, tmp_path):
        d = tmp_path / "runs" / "r1"
        with pytest.raises(SystemExit):
            with segment_timer(d):
                (d / "ckpt").mkdir(parents=True)
                (d / "ckpt" / "state").write_text("x")
                raise SystemExit(143)   # killed mid-run: a checkpoint is left
        with segment_timer(d):          # resumed
            pass
        lines = [json.loads(x) for x in (d / TIMING).read_text().splitlines()]
        assert [x["outcome"] for x in lines] == ["exit 143", "ok"] and lines[1]["resumed"]
        (d / "ckpt" / "state").unlink()
        with segment_timer(d):          # no checkpoint: a fresh start, the old segments are obsolete
            pass
        assert len((d / TIMING).read_text().splitlines()) == 1

    def test_segment_timer_records_nothing_for_a_completed_run(self, tmp_path):
        d = _run(tmp_path, "r1")
        with segment_timer(d):
            pass
        assert not (d / TIMING).exists()


class TestCompare:
    def test_table_median_error_and_makespan_from_the_workflow_start(self, tmp_path):
        t0 = time.time() - 100
        (tmp_path / STARTS).write_text(json.dumps({"process_start": t0 - 500}) + "\n"   # an older invocation
                                       + json.dumps({"process_start": t0}) + "\n")
        for i, (a, b) in enumerate([(t0 + 10, t0 + 20), (t0 + 10, t0 + 30), (t0 + 20, t0 + 60)]):
            _run(tmp_path, f"r{i}", segments=[(a, b)])
        _run(tmp_path, "r9", segments=[(t0 + 60, t0 + 61)])            # not in the forecast
        _forecast(tmp_path, {"r0": 11.0, "r1": 16.0, "r2": 40.0}, makespan=80.0)
        last = tmp_path / "plots"
        last.mkdir()
        (last / "x.png").write_text("x")
        os.utime(last / "x.png", (t0 + 90, t0 + 90))
        table, summary = write_forecast_vs_actual(tmp_path, last_outputs=[last])
        csv = pd.read_csv(tmp_path / "forecast_vs_actual.csv")
        assert list(csv.columns[:3]) == ["id", "forecast_s", "actual_s"] and len(csv) == 4
        assert summary["median_abs_error"] == pytest.approx(0.1)        # errors 10 %, 20 %, 0 %
        assert summary["compared"] == 3 and summary["not_forecast"] == 1
        mk = summary["makespan"]
        assert mk["actual_s"] == pytest.approx(90.0, abs=0.01) and mk["error"] == pytest.approx(-10 / 90, abs=1e-3)
        assert mk["invocations"] == 1 and "Snakemake start" in mk["start_from"]
        assert "median absolute error per run 10.0 %" in summary["markdown"]

    def test_no_forecast_gives_an_empty_table_and_a_note_never_an_error(self, tmp_path):
        _run(tmp_path, "r0", segments=[(0.0, 1.0)])
        table, summary = write_forecast_vs_actual(tmp_path)
        assert len(pd.read_csv(tmp_path / "forecast_vs_actual.csv")) == 0
        assert not summary["forecast"] and "forecast" in summary["note"]

    def test_a_second_invocation_inside_the_sweep_is_noted(self, tmp_path):
        t0 = 1000.0
        (tmp_path / STARTS).write_text("".join(json.dumps({"process_start": t}) + "\n" for t in (t0, t0 + 50)))
        _run(tmp_path, "r0", segments=[(t0 + 5, t0 + 20), (t0 + 55, t0 + 70)])
        _forecast(tmp_path, {"r0": 30.0}, makespan=40.0)
        _, summary = compare(tmp_path, json.loads((tmp_path / "forecast.json").read_text()))
        assert summary["makespan"]["invocations"] == 2 and "2 Snakemake invocations" in summary["makespan"]["note"]

    def test_figure_is_drawn_with_and_without_a_forecast(self, tmp_path):
        from flops_fit.plot.forecast import plot_forecast
        t0 = time.time()
        for i in range(3):
            _run(tmp_path, f"r{i}", segments=[(t0, t0 + 10 + i)])
        _forecast(tmp_path, {f"r{i}": 10.0 for i in range(3)}, makespan=20.0)
        table, summary = write_forecast_vs_actual(tmp_path)
        png, pdf = plot_forecast(table, summary, tmp_path / "a")
        assert png.stat().st_size > 10_000 and pdf.exists()
        (tmp_path / "forecast.json").unlink()
        table, summary = write_forecast_vs_actual(tmp_path)
        assert plot_forecast(table, summary, tmp_path / "b")[0].stat().st_size > 1_000


class TestEta:
    def test_list_schedule_is_longest_first(self):
        lpt = [3, 3, 2, 2, 2]
        assert list_schedule(lpt, lpt, 2)["makespan_s"] == 7 and list_schedule([], [], 2)["makespan_s"] == 0

    def test_time_left_is_the_forecast_corrected_by_finished_runs_over_the_slots(self, tmp_path):
        _run(tmp_path, "r0", segments=[(0.0, 20.0)])      # forecast 10 s, took 20 s: ratio 2
        _forecast(tmp_path, {"r0": 10.0, "r1": 10.0, "r2": 10.0, "r3": 30.0})
        e = Eta(tmp_path, ["r0", "r1", "r2", "r3"], slots=2).estimate()
        assert e["done"] == 1 and e["ratio"] == pytest.approx(2.0)
        assert e["left_s"] == pytest.approx(60.0)         # r3: 60 s on one slot, r1 + r2: 40 s on the other
        line = Eta(tmp_path, ["r0", "r1", "r2", "r3"], slots=2).line()
        assert line.startswith("ETA: 1 of 4 runs done; runs take 2.00x their forecast") and "60 s" in line

    def test_a_steered_sweep_counts_the_runs_planned_so_far_and_forecasts_the_new_ones(self, tmp_path):
        _run(tmp_path, "r0", segments=[(0.0, 10.0)])
        _forecast(tmp_path, {"r0": 10.0, "r1": 10.0})    # the prior grid: r0, r1; the sweep re-planned r1 as "new"
        fc = json.loads((tmp_path / "forecast.json").read_text())
        fc["calibration"] = {"points": [{"params": 1e4, "flops_per_step": 1e8, "step_s": [0.01] * 3, "eval_s": [0.0] * 3,
                                         "ckpt_s": [0.0] * 3, "startup_s": [2.0] * 3, "teardown_s": [0.0] * 3,
                                         "peak_mem_mb": 100.0}]}
        (tmp_path / "forecast.json").write_text(json.dumps(fc))
        new = {"id": "new", "budget_flops": 1e11, "params": 1e4, "size": {"d_model": 8}, "steps": 1000,
               "flops_planned": 1e11, "flops_per_unit": 1e6, "units_per_step": 100,
               "training": {"eval_every": 0, "ckpt_every_steps": 0, "ckpt_every_minutes": 0}}
        plan_now = [{"id": "r0"}, new]
        e = Eta(tmp_path, [], slots=1, experiments=lambda: plan_now).estimate()
        n_evals = (1000 - 1) // 250 + 1   # eval_every 0: about 4 per run, each 0 s here
        assert e["done"] == 1 and e["total"] == 2 and n_evals == 4
        assert e["left_s"] == pytest.approx(2.0 + 1000 * 0.01)   # startup + steps x step_s, from the calibration

    def test_wsd_cells_left_wait_for_their_unfinished_parents(self, tmp_path):
        _run(tmp_path, "a1", segments=[(0.0, 10.0)])      # a chain a1 -> a2 -> a3; a1 is done
        _forecast(tmp_path, {"a1": 10.0, "a2": 10.0, "a3": 10.0, "b1": 5.0})
        fc = json.loads((tmp_path / "forecast.json").read_text())
        for r in fc["experiments"]:
            r["after"] = {"a2": "a1", "a3": "a2"}.get(r["id"])
        (tmp_path / "forecast.json").write_text(json.dumps(fc))
        e = Eta(tmp_path, ["a1", "a2", "a3", "b1"], slots=3).estimate()
        assert e["done"] == 1 and e["left_s"] == pytest.approx(20.0)   # a2 then a3, however many slots

    def test_no_forecast_no_line(self, tmp_path):
        assert Eta(tmp_path, ["r0"], slots=1).line() is None

    def test_the_line_is_appended_to_snakemakes_finished_message(self, tmp_path, caplog):
        _run(tmp_path, "r0", segments=[(0.0, 10.0)])
        _forecast(tmp_path, {"r0": 10.0, "r1": 10.0})
        log = logging.getLogger("ff-test-snakemake")
        flt = add_eta_to_log(Eta(tmp_path, ["r0", "r1"], slots=1), logger_name=log.name)
        with caplog.at_level(logging.INFO, logger=log.name):
            log.info("Finished jobid: 3 (Rule: train_run)")
            log.info("Finished jobid: 4 (Rule: collect)")
        log.removeFilter(flt)
        assert "Finished jobid: 3 (Rule: train_run)\nETA: 1 of 2 runs done" in caplog.records[0].getMessage()
        assert caplog.records[1].getMessage() == "Finished jobid: 4 (Rule: collect)"
