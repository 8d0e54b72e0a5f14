"""design.exponent_sd_bound: the Cramér–Rao bound on sd(a) is right (Monte Carlo, finite differences) and
behaves as a bound should (linear in sigma, shrinks with a wider design, nan when undefined)."""
import numpy as np
import pytest
from scipy.optimize import least_squares

from flops_fit.fit.design import exponent_sd_bound, jacobian

S = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
A_TRUE = S["beta"] / (S["alpha"] + S["beta"])
G = (S["alpha"] * S["A"] / (S["beta"] * S["B"])) ** (1 / (S["alpha"] + S["beta"]))  # N* = G (C/6)^a


def design(spread=4.0, budgets=np.geomspace(1e17, 1e21, 5), sizes=9):
    N = np.concatenate([G * (C / 6) ** A_TRUE * np.geomspace(1 / spread, spread, sizes) for C in budgets])
    return N, np.repeat(budgets, sizes) / (6 * N)


def log_surface(N, D, E, A, B, alpha, beta):
    return np.log(E + A * N ** -alpha + B * D ** -beta)


def test_jacobian_matches_finite_differences():
    N, D = design()
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    a, b = S["A"] * N0 ** -S["alpha"], S["B"] * D0 ** -S["beta"]
    theta = np.array([S["E"], a, b, S["alpha"], S["beta"]])  # the scaled parameters jacobian differentiates in

    def f(t):
        return np.log(t[0] + t[1] * (N / N0) ** -t[3] + t[2] * (D / D0) ** -t[4])

    num = np.stack([(f(theta + h) - f(theta - h)) / (2 * 1e-6 * max(1, abs(theta[i])))
                    for i, h in enumerate(np.eye(5) * 1e-6 * np.maximum(1, np.abs(theta)))], axis=1)
    np.testing.assert_allclose(jacobian(N, D, **S), num, rtol=1e-5, atol=1e-8)


def test_bound_matches_the_spread_of_the_maximum_likelihood_fit():
    N, D = design(spread=8.0)
    sigma, rng = 0.005, np.random.default_rng(0)
    bound = exponent_sd_bound(N, D, **S, sigma=sigma)
    truth = log_surface(N, D, **S)
    est = []
    for _ in range(100):
        y = truth + sigma * rng.standard_normal(len(N))
        r = least_squares(lambda t: log_surface(N, D, *t) - y, list(S.values()), x_scale="jac",
                          bounds=([0, 0, 0, 1e-3, 1e-3], [np.inf] * 3 + [5, 5]))
        est.append(r.x[4] / (r.x[3] + r.x[4]))
    assert np.std(est) == pytest.approx(bound, rel=0.3)


def test_bound_is_linear_in_sigma_and_shrinks_with_a_wider_design():
    N, D = design()
    b1, b2 = (exponent_sd_bound(N, D, **S, sigma=s) for s in (0.01, 0.02))
    assert b2 == pytest.approx(2 * b1, rel=1e-9)
    assert exponent_sd_bound(*design(spread=16.0), **S, sigma=0.02) < 0.6 * b2
    assert 100 * 0.674 * b2 / A_TRUE == pytest.approx(3.97, abs=0.01)  # the figure in docs/analysis.md


def test_undefined_cases_are_nan():
    N, D = design()
    assert np.isnan(exponent_sd_bound(N, D, **S, sigma=0.0))
    assert np.isnan(exponent_sd_bound(N[:4], D[:4], **S, sigma=0.02))
    assert np.isnan(exponent_sd_bound(N, D, **{**S, "A": 0.0}, sigma=0.02))
