"""MFU on every run (flops_fit.peak, runner.utilization) and the sweep's utilization (flops_fit.utilization)."""
import json
import time

import pytest

from flops_fit.peak import datasheet_peak, device_peak
from flops_fit.runner import run_experiment, utilization
from flops_fit.utilization import sweep_utilization
from test_train_loop import make_spec, pysource  # noqa: F401


def test_a_real_cpu_run_reports_mfu_between_0_and_1(pysource, tmp_path):  # noqa: F811
    # FLOPs per token of this model as the planner counts them (6N-like; any positive count gives an MFU)
    m = run_experiment(make_spec(pysource, steps=20, d=32) | {"flops_per_unit": 6 * 2.0e4, "config_hash": "h",
                                                               "params": 20000},
                       tmp_path / "run", threads=1)
    assert m["status"] == "completed"
    assert m["peak_source"] == "measured fp32 matmul 1024^3" and m["peak_flops_per_s"] > 1e9
    assert m["achieved_flops_per_s"] == pytest.approx(m["flops_executed"] / m["wall_s"])
    assert 0 < m["mfu"] < 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["mfu"] == m["mfu"]


def test_the_peak_is_measured_once_per_device_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOPS_FIT_PEAK_CACHE", str(tmp_path / "peaks.json"))
    t = time.perf_counter()
    first = device_peak("cpu")
    measured_s = time.perf_counter() - t
    t = time.perf_counter()
    again = device_peak("cpu")
    assert measured_s < 1.0 and time.perf_counter() - t < 0.05  # fast, then cached
    assert again == first and first["key"] in json.loads((tmp_path / "peaks.json").read_text())
    (tmp_path / "peaks.json").write_text("{damaged")  # a damaged cache: measured again, not a crash
    assert device_peak("cpu")["flops_per_s"] > 0


def test_datasheet_peaks_are_labelled_by_device_name():
    assert datasheet_peak("NVIDIA H100 80GB HBM3") == 989.4 and datasheet_peak("NVIDIA H100 PCIe") == 756.0
    assert datasheet_peak("NVIDIA L40S") == 362.1 and datasheet_peak("NVIDIA L4") == 121.0
    assert datasheet_peak("Intel(R) Xeon(R)") is None


def test_compile_time_is_not_counted_and_mock_runs_have_no_mfu():
    out = {"flops_executed": 1e12, "wall_s": 12.0, "compile_s": 2.0, "peak_flops_per_s": 1e12}
    u = utilization(out, "real")
    assert u["achieved_flops_per_s"] == pytest.approx(1e11) and u["mfu"] == pytest.approx(0.1)
    assert utilization({**out, "compile_s": None}, "real")["mfu"] == pytest.approx(1e12 / 12 / 1e12)
    assert utilization(out, "mock")["mfu"] is None and utilization(out, "mock")["achieved_flops_per_s"] is None


def _metrics(path, dev, t0, t1, flops, peak=1e12, device="cuda:NVIDIA H200"):
    path.mkdir(parents=True)
    iso = lambda t: f"2026-01-01T00:{t // 60:02d}:{t % 60:02d}.000+00:00"  # noqa: E731
    (path / "metrics.json").write_text(json.dumps({
        "mode": "real", "visible_devices": dev, "started": iso(t0), "finished": iso(t1), "flops_executed": flops,
        "peak_flops_per_s": peak, "peak_source": "measured bf16 matmul 8192^3", "device": device}))


def test_sweep_utilization_is_flops_over_makespan_devices_and_peak(tmp_path):
    # two devices for 100 s at 1e12 FLOP/s each could do 2e14; the runs did 5e13
    _metrics(tmp_path / "runs" / "a", "0", 0, 100, 3e13)
    _metrics(tmp_path / "runs" / "b", "1", 10, 60, 1e13)
    _metrics(tmp_path / "runs" / "c", "1", 60, 90, 1e13)
    u = sweep_utilization(tmp_path)
    assert u["devices"] == 2 and u["device_ids"] == ["0", "1"] and u["makespan_s"] == 100
    assert u["utilization"] == pytest.approx(5e13 / (100 * 2 * 1e12))


def test_cpu_sweep_counts_the_runs_side_by_side(tmp_path):
    for i, (t0, t1) in enumerate([(0, 50), (0, 50), (50, 100)]):  # two at once at most
        _metrics(tmp_path / "runs" / str(i), None, t0, t1, 1e12, peak=1e11, device="cpu (1 threads)")
    u = sweep_utilization(tmp_path)
    assert u["devices"] == 2 and u["utilization"] == pytest.approx(3e12 / (100 * 2 * 1e11))
    assert sweep_utilization(tmp_path / "nothing") is None


def test_the_forecast_counts_the_device_slots_and_expects_an_mfu():
    from flops_fit.forecast.build import expected_mfu, slots_for
    gpu = {"gpus": 8, "cores": 32}
    assert slots_for({}, gpu, 1)["jobs"] == 8 and slots_for({}, gpu, 1, runs_per_gpu=2)["jobs"] == 16
    assert slots_for({}, gpu, 2, runs_per_gpu=2)["jobs"] == 8 and slots_for({}, gpu, 4)["jobs"] == 2
    rows = [{"flops": 1e12, "terms": {"train_s": 8.0, "eval_s": 1.0, "ckpt_s": 1.0}}]
    peak = expected_mfu(rows, "real", 1, 1)
    assert rows[0]["mfu"] == pytest.approx(1e12 / 10.0 / peak["per_job_flops_per_s"])
    assert "full matmuls" in peak["flops_convention"] and expected_mfu(rows, "mock", 1, 1) is None


@pytest.mark.slow  # a mock sweep planned and fitted in-process (~15 s at load 7)
def test_the_report_front_page_shows_the_sweeps_device_use(tmp_path):
    from conftest import run_mock_sweep
    from flops_fit.report.front import front_page
    _, _, sdir = run_mock_sweep(tmp_path, "preset=mock", "analysis.bootstrap=10")
    assert "Device use" not in front_page(sdir)  # a mock sweep executes no FLOPs
    for i, path in enumerate(sorted(sdir.glob("runs/*/metrics.json"))):  # the same runs, as if trained on 2 GPUs
        m = json.loads(path.read_text())
        m.update(mode="real", visible_devices=str(i % 2), started="2026-01-01T00:00:00.000+00:00",
                 finished="2026-01-01T00:01:40.000+00:00", peak_flops_per_s=1e18, mfu=0.2,
                 peak_source="measured bf16 matmul 8192^3")
        path.write_text(json.dumps(m))
    u = sweep_utilization(sdir)
    page = front_page(sdir)
    assert f"**{100 * u['utilization']:.0f} %** busy" in page and "device(s) 0, 1" in page
    assert "median 20 %" in page and "attention counted as full matmuls" in page
