"""analyze() and write_outputs(): exclusions, the include override, intervals, and the files."""
import json

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import FitError, analyze, write_outputs

TRUTH = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
A_TRUE = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])
G_TRUE = (TRUTH["alpha"] * TRUTH["A"] / (TRUTH["beta"] * TRUTH["B"])) ** (1 / (TRUTH["alpha"] + TRUTH["beta"]))


def sweep(sigma=0.005, seed=0, budgets=np.geomspace(1e17, 1e21, 5), sizes=7):
    t, rng, rows = TRUTH, np.random.default_rng(seed), []
    for C in budgets:
        for N in G_TRUE * (C / 6) ** A_TRUE * np.geomspace(0.25, 4, sizes):   # centred on the true N*
            D = C / (6 * N)
            loss = (t["E"] + t["A"] * N ** -t["alpha"] + t["B"] * D ** -t["beta"]) * np.exp(sigma * rng.standard_normal())
            rows.append({"id": f"r{len(rows)}", "budget_flops": C, "params": N, "data_units": D,
                         "final_loss": loss, "status": "completed"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def planted():
    df = sweep()
    df.loc[2, "final_loss"] *= 1.2
    df.loc[9, "status"] = "diverged"
    return df


@pytest.fixture(scope="module")
def analysis(planted):
    return analyze(planted, targets=(1e18, 1e23), bootstrap=30, seed=1)


class TestAnalyze:
    def test_flagged_runs_are_excluded_with_reasons(self, analysis):
        ex = analysis.excluded.set_index("id")["reason"].to_dict()
        assert set(ex) == {"r2", "r9"} and ex["r9"] == "status=diverged"
        assert "r2" not in analysis.approach2.budgets[0].run_ids

    def test_include_outliers_fits_flagged_runs_too(self, planted):
        an = analyze(planted, include_outliers=True, bootstrap=0)
        assert an.excluded.empty and an.runs["outlier"].sum() == 2
        assert "r2" in an.approach2.budgets[0].run_ids

    def test_both_approaches_recover_the_exponent_and_intervals_contain_it(self, analysis):
        assert analysis.status == "ok"
        assert analysis.approach2.n_star.exponent == pytest.approx(A_TRUE, rel=0.05)
        assert analysis.approach3.a == pytest.approx(A_TRUE, rel=0.05)
        lo, hi = analysis.bootstrap.interval("a3.params")
        assert lo[5] <= A_TRUE <= hi[5]

    def test_table_has_swept_and_extrapolated_rows_per_approach(self, analysis):
        kinds = {(r.approach, r.budget): r.kind for r in analysis.table}
        assert kinds[("approach2", 1e18)] == "swept" and kinds[("approach3", 1e23)] == "extrapolated"
        assert len(analysis.table) == 2 * 6
        r = analysis.table[-1]
        assert r.n_star_ci[0] <= r.n_star <= r.n_star_ci[1] and r.ratio == pytest.approx(r.d_star / r.n_star)

    def test_too_few_runs_after_exclusion_is_a_fit_error(self):
        df = sweep(budgets=[1e18, 1e19], sizes=3)
        df.loc[1, ["params", "data_units", "final_loss"]] = df.loc[0, ["params", "data_units", "final_loss"]]
        with pytest.raises(FitError, match="neither approach could be fitted on the 5 usable run"):
            analyze(df, bootstrap=0)

    def test_bad_arguments_are_value_errors(self, planted):
        with pytest.raises(ValueError):
            analyze(planted, bootstrap=-1)
        with pytest.raises(ValueError):
            analyze(planted, targets=(0,))
        with pytest.raises(ValueError, match="huber_delta"):
            analyze(planted, huber_delta=0)

    def test_huber_delta_is_the_threshold_minimized_and_recorded(self, planted, tmp_path):
        from flops_fit.fit.approach3 import objective
        an = analyze(planted, bootstrap=3, huber_delta=0.02)
        f = an.approach3
        assert f.delta == 0.02
        used = an.runs[an.runs["used"]]
        args = ([f.E, f.A, f.B, f.alpha, f.beta], used["N"], used["D"], used["loss"])
        assert f.objective == pytest.approx(objective(*args, delta=0.02), rel=1e-9)
        assert f.objective != pytest.approx(objective(*args, delta=1e-3), rel=1e-3)
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        assert fits["approach3"]["huber_delta"] == 0.02
        assert fits["approach3"]["huber_delta_rule"] == "fixed"

    def test_auto_huber_delta_follows_the_noise(self, tmp_path):
        for sigma in (0.005, 0.03):
            an = analyze(sweep(sigma=sigma, seed=3), bootstrap=0, huber_delta="auto")
            assert 0.7 * 1.345 * sigma < an.approach3.delta < 1.4 * 1.345 * sigma, (sigma, an.approach3.delta)
            assert an.huber_delta_rule.startswith("auto")
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        a3 = fits["approach3"]
        assert a3["huber_delta"] == an.approach3.delta and "sigma_hat" in a3["huber_delta_rule"]
        assert analyze(sweep(sigma=0.0), bootstrap=0, huber_delta="auto").approach3.delta == 1e-3  # floor
        with pytest.raises(ValueError, match="positive number or 'auto'"):
            analyze(sweep(), huber_delta="bogus")


class TestWriteOutputs:
    def test_writes_strict_json_and_tables_that_describe_every_run(self, analysis, tmp_path):
        paths = write_outputs(analysis, tmp_path)
        fits = json.loads(paths["fits"].read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
        assert fits["schema"] == "flops-fit/fits/v3"
        assert {r["id"] for r in fits["excluded"]} == {"r2", "r9"}
        assert len(fits["runs"]) == 35 and {"pred_approach2", "pred_approach3", "reason"} <= set(fits["runs"][0])
        b = fits["approach2"]["budgets"][0]
        assert b["status"] == "ok" and b["parabola_n"]["c2"] > 0 and b["n_star"]["lo"] is not None
        assert fits["approach3"]["a"]["value"] == pytest.approx(analysis.approach3.a)
        table = pd.read_csv(paths["table_csv"])
        assert len(table) == 12 and {"n_star_lo", "loss_hi", "kind"} <= set(table.columns)
        md = paths["table_md"].read_text()
        assert "approach3" in md and "Note: approach2 loss" not in md and "Note: design" in md
        d = fits["design"]
        # 35 residuals: a MAD-based sd scatters by ~25 % (seeds 0-11 of the clean sweep: 0.45-1.4 x sigma)
        assert 0.5 * 0.005 < d["noise_sigma"] < 1.5 * 0.005 and 0 < d["a_sd_bound"] < 0.05
        assert len(json.loads(paths["table_json"].read_text())["rows"]) == 12

    def test_table_notes_a_loss_law_pinned_at_its_bound(self, analysis):
        from dataclasses import replace
        from flops_fit.fit.report import table_markdown
        a2 = replace(analysis.approach2, l_star=replace(analysis.approach2.l_star, E=0.0, status="hit_bound"))
        md = table_markdown(replace(analysis, approach2=a2))
        assert "Note: approach2 loss" in md and "E = 0" in md
