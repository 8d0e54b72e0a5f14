"""flops_fit.predict: laws, intervals, rollout, selection, hold-out, analysis.predict (docs/predict.md)."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit.result import FitResult
from flops_fit.predict import evaluate_laws, fit_law, loss_interval, rollout
from flops_fit.predict.session import parse_predict
from flops_fit.stages import fit_scaling_laws   # the fit stage: the fit, then its predictions (fits.json)

CHIN = (1.69, 406.4, 410.7, 0.34, 0.28)
ASYM = (1.69, 11220.0, 63.4, 0.50, 0.20)
SYM = (1.69, 406.4 * 1e9 ** -0.03, 410.7 * 2e10 ** 0.03, 0.31, 0.31)


def isoflop(truth=CHIN, sigma=0.01, seed=0, budgets=(1e17, 1e18, 1e19, 1e20, 1e21), sizes=7, spread=4.0):
    E, A, B, al, be = truth
    G = ((al * A) / (be * B)) ** (1 / (al + be))
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        for N in G * (C / 6) ** (be / (al + be)) * np.geomspace(1 / spread, spread, sizes):
            D = C / (6 * N)
            rows.append({"N": N, "D": D, "C": C, "budget": C,
                         "loss": (E + A * N ** -al + B * D ** -be) * np.exp(sigma * rng.standard_normal())})
    return pd.DataFrame(rows)


class TestLaws:
    @pytest.mark.parametrize("name", ["chinchilla", "chinchilla_ls", "chinchilla_ls_mw"])
    def test_recovers_known_surface_without_noise(self, name):
        t = isoflop(sigma=0.0)
        fit = fit_law(t["N"], t["D"], t["loss"], name)
        p = fit.params
        assert fit.ok and abs(p["alpha"] - 0.34) < 1e-3 and abs(p["beta"] - 0.28) < 1e-3

    def test_shared_form_ties_the_exponents_and_fits_five_runs(self):
        t = isoflop(SYM, sigma=0.005).iloc[[0, 8, 16, 24, 30]]
        fit = fit_law(t["N"], t["D"], t["loss"], "shared_ls")
        assert fit.ok and fit.params["alpha"] == fit.params["beta"] and fit.dof == 1
        wide = loss_interval(fit, [1e11], [2e12])
        assert wide["q"] > 12   # one degree of freedom: Student-t's 97.5 % point is 12.7, an honest width

    def test_too_few_runs_is_a_status(self):
        t = isoflop().iloc[:4]
        assert fit_law(t["N"], t["D"], t["loss"], "chinchilla").status == "too_few_points"


class TestIntervals:
    def test_interval_is_on_the_loss_scale_and_widens_with_distance(self):
        t = isoflop()
        fit = fit_law(t["N"], t["D"], t["loss"], "chinchilla")
        near = loss_interval(fit, [1e9], [2e10])
        far = loss_interval(fit, [1e12], [2e13])
        for iv in (near, far):
            assert iv["lo"][0] < iv["predicted"][0] < iv["hi"][0] and 1.5 < iv["predicted"][0] < 5
        assert far["sd_param"][0] > near["sd_param"][0]
        with_misfit = loss_interval(fit, [1e12], [2e13], tau=0.05, distance=[1.0])
        assert with_misfit["hi"][0] > far["hi"][0]


class TestRollout:
    def test_rollout_on_a_table_with_three_sizes(self):
        rows = [{"N": N, "D": N * m, "loss": 1.69 + 406.4 * N ** -0.34 + 410.7 * (N * m) ** -0.28}
                for N in (1e7, 3e7, 1e8) for m in (5, 10, 20, 40, 80, 160)]
        t = pd.DataFrame(rows)
        t["budget"] = np.nan
        ro = rollout(t, "shared_ls")
        assert set(ro["axis"]) == {"N", "D"}
        assert (ro.loc[ro["axis"] == "N", "N"] == 1e8).all()          # the one size above the only N cut
        assert ro.groupby(["axis", "cut"])["weight"].sum().round(12).eq(1).all()
        assert np.isfinite(ro["rel_error"]).all()

    def test_selection_picks_true_form_and_simpler_one_when_equal(self):
        assert not evaluate_laws(isoflop(ASYM, seed=1))["laws"]["chinchilla"]["fit"].law.shared
        ev = evaluate_laws(isoflop(ASYM, seed=1))
        assert ev["selected"].startswith("chinchilla"), ev["reason"]
        ev = evaluate_laws(isoflop(SYM, seed=1))
        assert ev["selected"].startswith("shared"), ev["reason"]


def _table(tmp_path, groups=("a",)):
    frames = []
    for i, g in enumerate(groups):
        t = isoflop(seed=i, budgets=(1e17, 1e18, 1e19, 1e20, 1e21, 1e22))
        t["config"] = g
        frames.append(t)
    df = pd.concat(frames, ignore_index=True)
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    return path


class TestHoldout:
    def test_holdout_csv_columns_and_scale(self, tmp_path):
        out = tmp_path / "out"
        fit_scaling_laws(_table(tmp_path), out, {"holdout": "budget >= 1e22", "bootstrap": 0,
                                                 "predict": [{"C": 1e23}]}, quiet=True)
        h = pd.read_csv(out / "holdout.csv")
        for col in ("N", "D", "loss", "predicted", "lo", "hi", "rel_error", "C", "budget"):
            assert col in h.columns
        assert len(h) == 7 and (h["budget"] == 1e22).all()
        assert ((h["lo"] < h["predicted"]) & (h["predicted"] < h["hi"])).all()
        assert (h["rel_error"].abs() < 0.05).all()                   # linear scale: predicted ~ loss
        assert np.allclose(h["rel_error"], h["predicted"] / h["loss"] - 1)
        fits = json.loads((out / "fits.json").read_text())
        s = fits["holdout"]
        assert fits["schema"] == "flops-fit/fits/v3" and s["n_held_out"] == 7 and s["n_train"] == 35
        assert {"median_abs_rel_error", "max_abs_rel_error", "bias", "coverage"} <= set(s)
        assert fits["selected_law"]["name"] in fits["laws"] and "approach3" in fits
        p = fits["predictions"]["items"][0]
        assert p["n_star"]["lo"] < p["n_star"]["value"] < p["n_star"]["hi"]
        a2 = p["n_star_approach2"]                       # the budget rollout's other method, beside the law's
        assert a2["lo"] < a2["value"] < a2["hi"] and fits["vertex_rollout"]["chosen"] in ("law", "approach2")
        from flops_fit.predict import predict_from_fits
        again = predict_from_fits(fits, [{"C": 1e23}, {"N": 1e10, "D": 2e11}])   # from fits.json alone
        assert np.isclose(again[0]["n_star"]["hi"], p["n_star"]["hi"], rtol=1e-9)
        assert again[1]["loss"]["lo"] < again[1]["loss"]["value"] < again[1]["loss"]["hi"]
        fit = FitResult.load(out / "fits.json")                  # the same, in Python, from the reader object
        assert fit.predict(C=1e23) == again[0] and fit.predict([{"N": 1e10, "D": 2e11}]) == [again[1]]
        run = fit.predict(N=1e10, D=2e11)
        E, A, B, al, be = CHIN
        assert run["loss"]["lo"] < E + A * 1e10 ** -al + B * 2e11 ** -be < run["loss"]["hi"]   # the true loss
        assert run["sd_log"]["total"] ** 2 == pytest.approx(sum(run["sd_log"][k] ** 2 for k in
                                                                ("param", "noise", "misfit")))
        with pytest.raises(ValueError, match=r"predict\[0\]: keys \['N'\]: give N and D") as e:
            fit.predict(N=1e10)
        assert "\n" not in str(e.value)
        old = FitResult({k: v for k, v in fits.items() if k not in ("laws", "selected_law")}, out / "v2.json")
        with pytest.raises(ValueError, match="v2.json: no selected law with saved parameters"):
            old.predict(C=1e23)

    def test_one_holdout_file_per_group(self, tmp_path):
        out = tmp_path / "out"
        fit_scaling_laws(_table(tmp_path, ("a", "b")), out,
                         {"holdout": "budget >= 1e22", "group_by": "config", "bootstrap": 0, "rollout": True},
                         quiet=True)
        for g in ("a", "b"):
            assert len(pd.read_csv(out / g / "holdout.csv")) == 7
            assert (out / g / "rollout.csv").is_file()
            assert json.loads((out / g / "fits.json").read_text())["rollout"]["all"]["n_tests"] > 0

    def test_holdout_query_that_matches_nothing_is_one_line(self, tmp_path):
        with pytest.raises(ValueError, match="analysis.holdout 'N > 1e30' matches no run"):
            fit_scaling_laws(_table(tmp_path), tmp_path / "o", {"holdout": "N > 1e30", "bootstrap": 0}, quiet=True)


class TestPredictInputs:
    @pytest.mark.parametrize("spec, msg", [
        ("1e21", "expected a list"),
        ([5], r"analysis.predict\[0\]: expected a mapping"),
        ([{"N": 1e9}], r"analysis.predict\[0\]: keys \['N'\]: give N and D"),
        ([{"C": 1e21, "N": 1}], "give N and D"),
        ([{"C": -1}], r"C=-1 must be a positive finite number"),
        ([{"N": "big", "D": 1e10}], "N='big' must be a positive"),
    ])
    def test_bad_inputs_one_line_each(self, spec, msg):
        with pytest.raises(ValueError, match=msg) as e:
            parse_predict(spec)
        assert "\n" not in str(e.value)

    def test_cli_bad_predict_exits_2_with_one_line(self, tmp_path):
        path = _table(tmp_path)
        r = subprocess.run([sys.executable, "-c", "from flops_fit.cli import analyze_main; analyze_main()",
                            f"analysis.input={path}", "analysis.predict=[{N: 1e9}]", "analysis.bootstrap=0",
                            "--out", str(tmp_path / "o")], capture_output=True, text=True)
        assert r.returncode == 2
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and "analysis.predict[0]" in lines[0], r.stderr


@pytest.mark.slow
def test_known_truth_coverage_and_selection_12_seeds():
    """Nominal 95 % intervals for held-out larger runs (7 at 1e22 per seed) hold 85-99 % of them over 12 seeds
    (the >= 200-seed table is in docs/predict.md); the true form is chosen where |alpha - beta| = 0.3. The wrong
    (shared-exponent) form is not blown up to cover everything: its misfit tau is per axis and set by coverage (one
    tau over N and C, by mean square, held 100 % of these runs)."""
    from flops_fit.predict.rollout import distance
    inside, wrong, five = [], [], 0
    for seed in range(12):
        t = isoflop(ASYM, seed=seed)
        held = isoflop(ASYM, seed=1000 + seed, budgets=(1e22,))
        ev = evaluate_laws(t)
        dist = distance(t, held["N"], held["D"], held["C"], by_axis=True)
        for name, out in ((ev["selected"], inside), ("shared_ls", wrong)):
            v = ev["laws"][name]
            iv = loss_interval(v["fit"], held["N"], held["D"], tau=v["tau"], distance=dist)
            out += list((held["loss"] >= iv["lo"]) & (held["loss"] <= iv["hi"]))
        five += not ev["laws"][ev["selected"]]["fit"].law.shared
    assert 0.85 <= np.mean(inside) <= 0.995
    assert 0.85 <= np.mean(wrong) < 1.0, np.mean(wrong)
    assert five >= 10


@pytest.mark.slow
def test_verify_trains_the_predicted_optimum_on_mock(tmp_path):
    """The verify path on mode=mock: the run is planned at the selected law's N*(C), predicted, then 'trained'
    (its loss drawn from the mock surface), and verify.json compares the two."""
    from flops_fit.config import load_config
    from flops_fit.predict.verify import run_verify
    cfg = load_config(["preset=quick", f"results_dir={tmp_path}", "target=1e20"])
    t = isoflop(sigma=0.005, budgets=(1e17, 1e18, 1e19))
    fit_scaling_laws(t, tmp_path / "sweep", {"bootstrap": 0}, quiet=True)
    fits = json.loads((tmp_path / "sweep" / "fits.json").read_text())
    v = run_verify(cfg, fits, 1e20, tmp_path / "sweep", tmp_path / "sweep" / "verify.json")
    saved = json.loads((tmp_path / "sweep" / "verify.json").read_text())
    assert saved["actual"] == v["actual"] and saved["status"] == "completed"
    assert v["lo"] < v["predicted"] < v["hi"] and abs(v["rel_error"]) < 0.05
    assert 0.3 < v["N"] / v["n_star_predicted"] < 3       # the planner's nearest real model to N*
    assert abs(v["spec"]["flops_planned"] / 1e20 - 1) < 0.05


def test_holdout_with_a_five_run_fit_set_uses_a_few_parameter_form(tmp_path):
    """A 5-run fit set (four sizes at M = 20, one small model at M = 320) predicts larger runs: Approach 3 needs 8
    runs, the shared-exponent form needs 5, and its interval is honest about one degree of freedom."""
    E, A, B, al = SYM[:4]
    rng = np.random.default_rng(3)
    rows = [(N, 20 * N) for N in (1e7, 3e7, 1e8, 3e8)] + [(1e7, 320 * 1e7)] + \
        [(N, m * N) for N in (1e9, 3e9) for m in (5, 20, 80)] + [(N, 40 * N) for N in (2e7, 5e7, 2e8)]
    t = pd.DataFrame([{"N": N, "D": D, "loss": (E + A * N ** -al + B * D ** -al) * np.exp(0.003 * rng.standard_normal())}
                      for N, D in rows])
    path = tmp_path / "grid.csv"
    t.to_csv(path, index=False)
    out = tmp_path / "out"
    fit_scaling_laws(path, out, {"holdout": "N >= 1e9 or (D / N > 30 and D / N < 50)", "bootstrap": 0}, quiet=True)
    s = json.loads((out / "fits.json").read_text())["holdout"]
    h = pd.read_csv(out / "holdout.csv")
    assert s["n_train"] == 5 and s["law"].startswith("shared") and len(h) == 9
    assert (h["lo"] < h["loss"]).all() and (h["loss"] < h["hi"]).all()


def test_holdout_query_passes_through_snakemake_config_to_hydra():
    from flops_fit.config import load_config, snakemake_overrides
    cfg = load_config(snakemake_overrides({"preset": "mock", "analysis__holdout": "budget >= 1e21 and N > 1e8",
                                           "analysis__predict": "[{N:1e9,D:2e10},{C:1e21}]", "target": 1e22}))
    assert cfg["analysis"]["holdout"] == "budget >= 1e21 and N > 1e8" and cfg["target"] == 1e22
    assert parse_predict(cfg["analysis"]["predict"]) == [{"N": 1e9, "D": 2e10}, {"C": 1e21}]
