"""What FitResult gives the readers of fits.json (plot/, report/, forecast/): the exponent to act on, the table,
the runs as the fit used them, the per-budget parabolas, the design check; each from the saved dict only."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.fit.result import FitResult, parabola
from test_fit_result import fits_of


def _fit(**top):
    d = fits_of()
    d["approach2"]["budgets"] = [{"budget": 1e18, "status": "ok", "fitted": True,
                                  "parabola_n": {"c0": 30.0, "c1": -6.0, "c2": 0.375, "x_min": 7.0, "x_max": 9.0,
                                                 "status": "ok"},
                                  "n_star": {"value": 1e8, "lo": 8e7, "hi": 1.2e8}}]
    d["table"] = [{"approach": "approach3", "budget": 1e22, "kind": "extrapolated",
                   "n_star": {"value": 2e10, "lo": 1e10, "hi": 4e10}, "warning": "beyond the data"},
                  {"approach": "approach2", "budget": 1e18, "kind": "swept", "n_star": {"value": 1e8}}]
    d["design"] = {"noise_sigma": 0.004, "a_sd_bound": None}
    d["runs"] = [{"id": "r1", "C": 1e18, "outlier": True, "used": False, "pred_approach3": 3.1},
                 {"id": "r2", "C": 1e18, "outlier": False, "used": True, "pred_approach3": 3.0}]
    d.update(top)
    return FitResult(d)


def test_the_exponent_to_act_on_falls_back_to_approach2():
    fit = _fit()
    assert fit.best_exponent()[:2] == ("approach3", pytest.approx(0.28 / 0.62))
    fit.data["approach3"]["status"] = "failed"
    assert fit.best_exponent()[:2] == ("approach2", 0.5)
    assert np.isnan(fit.exponent("approach3")[0]) and fit.exponent("approach2")[0] == 0.5
    fit.data["approach2"]["power_laws"]["n_star"]["exponent"] = {"value": None}
    assert fit.best_exponent()[0] == "none"


def test_table_rows_warnings_and_design_read_back():
    fit = _fit()
    tab = fit.table()
    assert list(tab["budget"]) == [1e18, 1e22] and tab.loc[1, "n_star_hi"] == 4e10
    assert np.isnan(tab.loc[0, "n_star_lo"]) and len(fit.table("approach3")) == 1
    assert fit.table_warnings() == [("approach3", 1e22, "beyond the data")]
    assert fit.noise_sigma == 0.004 and np.isnan(fit.a_sd_bound)      # null in the file reads as NaN
    assert np.isnan(FitResult({}).noise_sigma) and FitResult.of(fit) is fit


def test_runs_table_renames_runs_csv_and_marks_what_the_fit_used():
    raw = pd.DataFrame({"id": ["r1", "r2", "r3"], "budget_flops": [1e18] * 3, "params": [1e7, 1e8, 1e9],
                        "data_units": [1e10, 1e9, 1e8], "final_loss": [3.2, 3.0, np.nan],
                        "status": ["completed", "completed", "diverged"]})
    runs = _fit().runs_table(raw)
    assert list(runs["N"]) == [1e7, 1e8, 1e9] and list(runs["loss"][:2]) == [3.2, 3.0]
    assert list(runs["used"]) == [False, True, False]          # r3: not in the fit, not completed
    assert list(runs["outlier"]) == [True, False, False] and runs["pred_approach3"][1] == 3.0
    assert list(FitResult({"runs": [{"id": "a", "budget": 1.0, "N": 2.0, "D": 3.0, "loss": 4.0,
                                     "status": "completed"}]}).runs_table()["used"]) == [True]


def test_the_saved_parabola_evaluates_to_its_vertex():
    fit = _fit()
    (c0, c1, c2), (lo, hi), status = fit.profile(fit.budget_fits[1e18], "N")
    assert status == "ok" and (lo, hi) == (7.0, 9.0)
    assert parabola(8.0, c0, c1, c2) == pytest.approx(30 - 48 + 24)          # vertex at x = 8
    assert parabola(8.0, c0, c1, c2) < parabola([7.5, 8.5], c0, c1, c2).min()
    assert np.isnan(fit.profile(fit.budget_fits[1e18], "D")[0]).all()
    assert fit.law_estimate("l_star", "g")[0] == 0.05 and np.isnan(fit.law_estimate("l_star", "g")[1])
