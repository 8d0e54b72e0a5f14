"""What the Snakemake files call, tested in-process: a steered sweep's round lookups (flops_fit.adaptive.dag), the
cluster resources (flops_fit.cluster), the rule jobs (flops_fit.jobs) and the forecast's stand-in surface. The
workflow runs them in its own processes, which the fast tier does not start."""
import json
import math
from types import SimpleNamespace

import pytest

from conftest import run_mock_sweep


def _round(path, ids, done):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"experiments": [{"id": i, "budget_flops": 1.0} for i in ids], "done": done}))


class TestRoundFiles:
    def test_specs_are_read_as_rounds_appear(self, tmp_path):
        from flops_fit.adaptive.dag import RoundSpecs
        _round(tmp_path / "adaptive" / "C1e17" / "round0.json", ["a", "b"], False)
        specs = RoundSpecs(tmp_path)
        assert sorted(specs) == ["a", "b"]                       # the rounds written when the DAG is built
        _round(tmp_path / "adaptive" / "C1e17" / "round1.json", ["c"], True)
        assert specs["c"]["id"] == "c"                          # a round planned since: read on demand
        with pytest.raises(KeyError):
            specs["never-planned"]

    def test_round_ids_follow_the_checkpoint_to_the_last_round(self, tmp_path):
        from flops_fit.adaptive.dag import round_ids
        files = {0: (["a", "b"], False), 1: (["c"], False), 2: (["d"], True)}
        asked = []

        class Checkpoint:  # Snakemake's checkpoints.plan_round: .get(**wildcards).output.plan
            def get(self, bud, r):
                asked.append((bud, r))
                path = tmp_path / f"{bud}-{r}.json"
                _round(path, *files[int(r)])
                return SimpleNamespace(output=SimpleNamespace(plan=str(path)))

        assert round_ids(Checkpoint(), "C1e17") == ["a", "b", "c", "d"]
        assert asked == [("C1e17", "0"), ("C1e17", "1"), ("C1e17", "2")]
        assert round_ids(Checkpoint(), "C1e17", upto=1) == ["a", "b"]


class TestClusterResources:
    def _cfg(self, **cluster):
        c = {"threads_per_process": 2, "mem_mb_per_process": 3000, "gpus_per_process": 1, "signal_seconds": 180,
             "prepare_local": True, "mock_local": True, **cluster}
        return {"cluster": c, "training": {"num_processes": 4}, "mode": "mock"}

    def test_a_job_asks_for_its_processes_times_the_per_process_amounts(self):
        from flops_fit.cluster import process_threads, train_resources
        assert train_resources(self._cfg()) == {"threads": 8, "mem_mb": 12000, "gpu": 4}
        assert process_threads(8, 4) == 2 and process_threads(1, 4) == 1

    def test_signal_and_local_rules(self):
        from flops_fit.cluster import local_rules, slurm_extra
        assert slurm_extra(self._cfg()) == "--signal=TERM@180" and slurm_extra(self._cfg(signal_seconds=0)) == ""
        assert {"prepare_data", "train_run"} <= set(local_rules(self._cfg()))
        assert "train_run" not in local_rules(self._cfg(mock_local=False))
        assert "prepare_data" not in local_rules(self._cfg(prepare_local=False))


def test_the_collect_and_fit_jobs_write_the_rule_outputs(tmp_path):
    from flops_fit.jobs import collect, fit
    cfg, plan, sdir = run_mock_sweep(tmp_path, "preset=quick", "budgets.values=[1e17,1e18,1e19]")
    metrics = [str(sdir / "runs" / e["id"] / "metrics.json") for e in plan["experiments"]]
    out = tmp_path / "job"
    collect.main(["--out", str(out / "runs.csv"), *metrics])
    assert len((out / "runs.csv").read_text().splitlines()) == len(metrics) + 1
    fit.main(["--runs", str(out / "runs.csv"), "--out-dir", str(out),
              "--analysis", json.dumps(dict(cfg["analysis"], bootstrap=5)), "--unit", "tokens"])
    assert json.loads((out / "fits.json").read_text())["approach3"]["status"] in ("ok", "hit_bound")
    assert (out / "chinchilla_table.md").is_file()


def test_the_plot_job_on_a_missing_folder_is_one_line(tmp_path, capsys):
    from flops_fit.jobs import plot
    with pytest.raises(SystemExit) as e:
        plot.main(["--dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "plots")])
    assert e.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing" in err[0], err


def test_the_forecast_stand_in_surface_puts_the_middle_budgets_minimum_at_its_sizes_centre():
    from flops_fit.forecast.pipeline import stand_in_surface
    mock = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    exps = [{"budget_flops": c, "params": n, "data_units": c / (6 * n)} for c in (1e17, 1e18, 1e19)
            for n in (1e6, 4e6, 1.6e7)]
    s = stand_in_surface(mock, exps)
    n, d = 4e6, 1e18 / (6 * 4e6)
    assert s["alpha"] * s["A"] / n ** s["alpha"] == pytest.approx(s["beta"] * s["B"] / d ** s["beta"])
    assert math.isfinite(s["A"]) and s["B"] == mock["B"]
