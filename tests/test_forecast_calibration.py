"""Calibration: the probe hook on the real loop, the choice of sizes, the cache and its key, the memory flag."""
import json

import pytest

import plugins.text as text
from flops_fit.config import load_config
from flops_fit.forecast import calibrate as cal
from flops_fit.forecast.build import build_forecast
from flops_fit.forecast.probe import Probe, truncated_spec
from flops_fit.forecast.timemodel import checkpoints, evaluations
from flops_fit.io import atomic_write_json
from flops_fit.plan import plan
from flops_fit.train import train

SEQ, BATCH = 32, 8


def tiny_spec(data_dir, steps=23, **training):
    tr = {"batch_size": BATCH, "lr": 3e-3, "min_lr_ratio": 0.1, "warmup_frac": 0.05, "weight_decay": 0.1,
          "betas": [0.9, 0.95], "grad_clip": 1.0, "precision": "auto", "eval_batches": 2, "eval_every": 0,
          "log_every": 5, "ckpt_every_steps": 200, "ckpt_every_minutes": 5.0, "keep_ckpt": False,
          "val_seed": 1234, "divergence_factor": 3.0, "num_processes": 1, **training}
    return {"id": "t", "mode": "real", "budget_flops": 1e9, "params": 1000, "size": {"d_model": 16},
            "flops_per_unit": 123.0, "unit": "tokens", "units_per_step": BATCH * SEQ, "steps": steps,
            "data_units": steps * BATCH * SEQ,
            "model": {"plugin": "plugins.gpt:GPT", "kwargs": {"n_layer": 1, "head_dim": 8, "vocab_size": 256,
                                                              "seq_len": SEQ}},
            "data": {"plugin": "plugins.text", "cfg": {"source": "stdlib", "seq_len": SEQ}, "key": "k",
                     "dir": str(data_dir)},
            "loss": {"plugin": "plugins.losses:cross_entropy"}, "training": tr, "seed": 0}


@pytest.fixture(scope="module")
def pysource(tmp_path_factory):
    d = tmp_path_factory.mktemp("pysource")
    atomic_write_json(d / "meta.json", text.prepare({"source": "stdlib", "seq_len": SEQ}, d))
    return d


class TestProbeOnTheRealLoop:
    def test_the_loop_runs_as_many_evaluations_and_checkpoints_as_the_model_counts(self, pysource, tmp_path):
        spec = tiny_spec(pysource, steps=23, eval_every=5, ckpt_every_steps=7, ckpt_every_minutes=1e6)
        probe = Probe(warmup=2, blocks=3, block_steps=5)
        train(spec, tmp_path, threads=1, probe=probe)
        assert len(probe.phases["eval"]) == evaluations(23, 5) == 5
        assert len(probe.phases["ckpt"]) == checkpoints(23, 1.0, {"every_steps": 7, "every_s": 1e8}) == 3
        assert len(probe.blocks_s) == 3 and all(b > 0 for b in probe.blocks_s)
        assert probe.warmup_s > 0

    def test_truncated_spec_keeps_the_job_and_times_one_eval_and_one_checkpoint(self, pysource):
        spec = tiny_spec(pysource, steps=5000)
        t = truncated_spec(spec, warmup=3, blocks=4, block_steps=5)
        assert t["steps"] == 23 and t["data_units"] == 23 * BATCH * SEQ
        assert t["model"] == spec["model"] and t["data"] == spec["data"] and t["training"]["batch_size"] == BATCH
        assert evaluations(23, t["training"]["eval_every"]) == 2  # one mid-run, the final one
        assert (23 - 1) // t["training"]["ckpt_every_steps"] == 1
        assert spec["steps"] == 5000  # the original is untouched


def specs_of_sizes(fps_list):
    return [{"size": {"d": i}, "flops_per_unit": f, "units_per_step": 1, "params": int(f)} for i, f in
            enumerate(fps_list)]


class TestChooseSizes:
    def test_all_when_few(self):
        specs = specs_of_sizes([1e6, 1e7, 1e8])
        assert len(cal.choose_sizes(specs, 4)) == 3

    def test_always_smallest_and_largest_and_evenly_in_log(self):
        specs = specs_of_sizes([10.0 ** (6 + 0.25 * i) for i in range(13)])  # 1e6 .. 1e9
        chosen = [cal.flops_per_step(s) for s in cal.choose_sizes(specs, 4)]
        assert chosen[0] == 1e6 and chosen[-1] == 1e9 and len(chosen) == 4
        assert chosen[1] == pytest.approx(1e7) and chosen[2] == pytest.approx(1e8)

    def test_prefers_a_cached_size_close_to_the_target(self):
        specs = specs_of_sizes([10.0 ** (6 + 0.25 * i) for i in range(13)])
        cached = {cal.size_key(specs[5])}  # 10^7.25, next to the 1e7 target
        chosen = cal.choose_sizes(specs, 4, cached=cached)
        assert specs[5] in chosen and specs[4] not in chosen


def synthetic_measure(calls):
    def measure(specs, *, threads, concurrency, settings):
        calls.append([s["size"] for s in specs])
        return [{"size": s["size"], "params": s["params"], "flops_per_step": cal.flops_per_step(s),
                 "step_s": [0.9e-9 * cal.flops_per_step(s), 1e-9 * cal.flops_per_step(s),
                            1.1e-9 * cal.flops_per_step(s)],
                 "eval_s": [0.1] * 3, "ckpt_s": [0.1] * 3, "startup_s": [2.0] * 3, "teardown_s": [0.1] * 3,
                 "peak_mem_mb": 300.0 + s["params"] * 1e-3, "samples": 10, "device": "cpu", "precision": "fp32"}
                for s in specs]
    return measure


@pytest.fixture
def quickstart(tmp_path):
    cfg = load_config(["preset=quickstart", f"results_dir={tmp_path}", "forecast.pipeline=false",
                       "forecast.precision_sims=10"])  # the precision Monte Carlo is tested elsewhere
    return cfg, plan(cfg)


class TestCache:
    SETTINGS = {"sizes": 4, "warmup_steps": 5, "blocks": 5, "block_steps": 4}

    def test_second_calibration_measures_nothing(self, quickstart, tmp_path, monkeypatch):
        calls = []
        monkeypatch.setattr(cal, "_measure", synthetic_measure(calls))
        exps = quickstart[1]["experiments"]
        a = cal.calibrate(exps, cache_dir=tmp_path, threads=1, concurrency=2, settings=self.SETTINGS, log=str)
        b = cal.calibrate(exps, cache_dir=tmp_path, threads=1, concurrency=2, settings=self.SETTINGS, log=str)
        assert len(calls) == 1 and len(calls[0]) == 4
        assert a["measured_sizes"] == 4 and b["measured_sizes"] == 0 and b["cached_sizes"] == 4
        assert a["points"] == b["points"] and a["cache"] == b["cache"]
        # recalibrate measures again; another concurrency is another key
        cal.calibrate(exps, cache_dir=tmp_path, threads=1, concurrency=2, settings=self.SETTINGS, log=str,
                      recalibrate=True)
        c = cal.calibrate(exps, cache_dir=tmp_path, threads=1, concurrency=1, settings=self.SETTINGS, log=str)
        assert len(calls) == 3 and c["cache"] != a["cache"]

    def test_a_new_largest_size_is_the_only_one_measured(self, quickstart, tmp_path, monkeypatch):
        calls = []
        monkeypatch.setattr(cal, "_measure", synthetic_measure(calls))
        cfg, p = quickstart
        cal.calibrate(p["experiments"], cache_dir=tmp_path, threads=1, concurrency=2, settings=self.SETTINGS, log=str)
        bigger = plan(load_config(["preset=quickstart", f"results_dir={tmp_path}",
                                   "budgets.values=[1e11,3e11,1e12,3e12]"]))["experiments"]
        cal.calibrate(bigger, cache_dir=tmp_path, threads=1, concurrency=2, settings=self.SETTINGS, log=str)
        largest = max(bigger, key=cal.flops_per_step)["size"]
        assert largest in calls[1] and len(calls[1]) < 4

    def test_key_has_what_sets_the_numbers_and_not_the_size(self, quickstart):
        e = quickstart[1]["experiments"]
        machine = {"device": "cpu", "cpu": "X", "torch": "2.13.0"}
        key = lambda spec, **kw: cal.cache_key(spec, **{"machine": machine, "threads": 1, "processes": 1,  # noqa
                                                      "concurrency": 2, "settings": self.SETTINGS, **kw})
        k = key(e[0])
        assert k == key(e[-1])  # another size (and lr) of the same sweep: same key
        assert k != key(e[0], threads=2) and k != key(e[0], concurrency=1) and k != key(e[0], processes=2)
        assert k != key(e[0], machine={**machine, "cpu": "Y"}) and k != key(e[0], machine={**machine, "torch": "2.1"})
        other = dict(e[0], training=dict(e[0]["training"], batch_size=32))
        assert k != key(other)
        for part in ("plugins", "recipe", "device", "cpu", "torch", "threads", "processes", "concurrency"):
            assert part in k


class TestMemoryFlag:
    def test_a_size_over_the_memory_limit_is_flagged(self, quickstart, tmp_path, monkeypatch):
        monkeypatch.setattr(cal, "_measure", synthetic_measure([]))
        cfg, p = quickstart
        cfg["forecast"]["memory_limit_mb"] = 400.0  # stands in for a small GPU: peak is 300 MB + 1 kB/param
        fc = build_forecast(cfg, p, log=str)
        over = {e["id"] for e in fc["experiments"] if not e["fits_memory"]}
        expected = {e["id"] for e in p["experiments"] if 300 + e["params"] * 1e-3 > 400}
        assert over == expected and over  # the largest sizes, and only they
        assert not fc["totals"]["all_fit_memory"] and fc["memory_limit_source"] == "forecast.memory_limit_mb"
        from flops_fit.forecast.report import markdown
        md = markdown(fc)
        assert "will not fit in memory" in md and "**NO**" in md

    def test_default_limit_is_the_machine_memory(self, quickstart, monkeypatch):
        monkeypatch.setattr(cal, "_measure", synthetic_measure([]))
        fc = build_forecast(*quickstart, log=str)
        assert fc["totals"]["all_fit_memory"] and fc["memory_limit_mb"] > 1000
        assert "available RAM" in fc["memory_limit_source"] or "GPU" in fc["memory_limit_source"]
        json.dumps(fc)  # JSON-able


class TestLRCalibrationLine:
    def test_the_calibration_is_priced_on_its_own_line(self, quickstart, monkeypatch):
        """`snakemake calibrate_lr`'s runs are timed by the sweep's time model, apart from the sweep's totals."""
        monkeypatch.setattr(cal, "_measure", synthetic_measure([]))
        cfg, p = quickstart
        fc = build_forecast(cfg, p, log=str)
        line = fc["lr_calibration"]
        from flops_fit.lr.grid import calibration_plan
        cp = calibration_plan(cfg, p)
        assert line["status"] == "ok" and line["runs"] == len(cp["experiments"]) > 0
        assert line["flops"] == pytest.approx(cp["flops"]) and 0 < line["flops_fraction"] < 0.3
        assert fc["totals"]["flops"] == pytest.approx(sum(e["flops_planned"] for e in p["experiments"]))
        assert 0 < line["totals"]["makespan_s"] < fc["totals"]["makespan_s"]
        from flops_fit.forecast.report import markdown, printed
        assert line["markdown"].startswith("LR calibration (`snakemake calibrate_lr`") and line["markdown"] in \
            markdown(fc) and line["markdown"] in printed(fc)

    def test_a_grid_the_calibration_cannot_plan_is_a_reason(self, quickstart, monkeypatch):
        monkeypatch.setattr(cal, "_measure", synthetic_measure([]))
        import flops_fit.lr.grid as grid

        def refuse(cfg, plan):
            raise ValueError("lr_calibration.sizes: 1 size; the rule's exponent needs at least 2")
        monkeypatch.setattr(grid, "calibration_plan", refuse)
        fc = build_forecast(*quickstart, log=str)
        line = fc["lr_calibration"]
        assert line["status"] == "not planned" and line["markdown"] == "" and "at least 2" in line["reason"]
        assert fc["totals"]["makespan_s"] > 0  # the sweep's forecast stands


class TestWSDChains:
    def test_each_cell_is_timed_alone_and_starts_after_its_parent(self, tmp_path, monkeypatch):
        """A WSD cell's job trains only its own steps, and the makespan follows each size's chain of cells."""
        monkeypatch.setattr(cal, "_measure", synthetic_measure([]))
        cfg = load_config(["preset=quickstart", f"results_dir={tmp_path}", "forecast.pipeline=false",
                           "forecast.precision_sims=10", "planner.schedule=wsd",
                           "budgets.values=[1e11,2e11,4e11,8e11]"])
        p = plan(cfg)
        fc = build_forecast(cfg, p, log=str)
        rows = {r["id"]: r for r in fc["experiments"]}
        for e in p["experiments"]:
            r = rows[e["id"]]
            assert r["after"] == e["wsd"]["parent"] and r["steps"] == e["steps"] - e["wsd"]["start"]
        chain = {}
        for e in p["experiments"]:   # plan order: a parent before its children
            chain[e["id"]] = rows[e["id"]]["seconds"] + chain.get(e["wsd"]["parent"], 0.0)
        t = fc["totals"]
        assert any(e["wsd"]["parent"] for e in p["experiments"])
        assert t["makespan_s"] >= t["lower_bound_s"] >= max(chain.values()) - 1e-9
