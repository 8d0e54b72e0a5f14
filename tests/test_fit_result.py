"""FitResult: fits.json read back as an object that evaluates the surface, the laws and the optimum."""
import json
import sys
import subprocess

import numpy as np
import pytest

from flops_fit.fit.compute import ComputeModel
from flops_fit.fit.result import FitResult, closed_form_optimum, surface_exponents, surface_loss
from flops_fit.io import BadFile
from flops_fit.mock import surface_loss as mock_loss

CHINCHILLA = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def fits_of(s=CHINCHILLA, kappa=6.0):
    a, b = surface_exponents(s["alpha"], s["beta"])
    a3 = {k: {"value": v, "lo": v * 0.9, "hi": v * 1.1} for k, v in s.items()}
    a3.update(status="ok", a={"value": a}, b={"value": b}, compute=ComputeModel.constant(kappa).to_dict())
    laws = {"n_star": {"k": {"value": 0.1}, "exponent": {"value": 0.5}},
            "d_star": {"k": {"value": 1.6}, "exponent": {"value": 0.5}},
            "l_star": {"E": {"value": 1.7}, "k": {"value": 30.0}, "g": {"value": 0.05}}}
    return {"schema": "flops-fit/fits/v2", "status": "ok", "settings": {"bootstrap": {"level": 0.9}},
            "approach2": {"status": "ok", "power_laws": laws}, "approach3": a3}


def test_optimum_minimizes_the_surface_on_the_budget():
    fit = FitResult(fits_of())
    C = np.array([1e20, 1e22])
    N, D, L = fit.optimum(C)
    assert np.allclose(6 * N * D, C, rtol=1e-12)
    assert np.allclose(L, fit.predict_loss(N, D), rtol=1e-14)
    for f in (0.9, 1.1):        # any other split of the same budget loses more
        assert np.all(fit.predict_loss(N * f, D / f) > L)
    assert fit.a == pytest.approx(0.28 / 0.62) and fit.level == 0.9


def test_closed_form_is_the_compute_models_optimum():
    s = CHINCHILLA
    got = closed_form_optimum(*s.values(), 1e21, 6.0)
    ref = ComputeModel.constant(6.0).optimum(*s.values(), np.array([1e21]))
    assert np.allclose(np.ravel(got), np.ravel(ref), rtol=1e-12)


def test_the_mock_trains_on_the_same_surface():
    N, D = np.array([1e6, 1e8]), np.array([1e9, 1e11])
    assert np.array_equal(mock_loss(N, D, noise=0.01, **CHINCHILLA), surface_loss(N, D, **CHINCHILLA))


def test_laws_evaluate_the_saved_power_laws():
    N, D, L = FitResult(fits_of()).optimum(1e20, approach="approach2")
    assert N == pytest.approx(1e9) and D == pytest.approx(1.6e10) and L == pytest.approx(1.7 + 30 * 1e20 ** -0.05)


def test_save_load_round_trip_writes_nan_as_null(tmp_path):
    d = fits_of()
    d["approach3"]["E"]["lo"] = float("nan")
    FitResult(d).save(tmp_path / "fits.json")
    assert '"lo": null' in (tmp_path / "fits.json").read_text()
    back = FitResult.load(tmp_path / "fits.json")
    assert back.surface == CHINCHILLA and np.isnan(back.estimate("approach3", "E")[1])


def test_load_says_in_one_line_what_it_cannot_read(tmp_path):
    p = tmp_path / "fits.json"
    p.write_text(json.dumps({"schema": "flops-fit/fits/v1"}))
    with pytest.raises(BadFile) as e:
        FitResult.load(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and "'flops-fit/fits/v1'" in msg and "rerun the fit" in msg


def test_reading_a_fit_needs_no_fitting_library():
    code = ("import sys; from flops_fit.fit import FitResult; import flops_fit.fit.compute; "
            "print('lmfit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
