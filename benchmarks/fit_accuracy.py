"""Accuracy of the compute-optimal exponent a (N* ~ C^a) from Approach 2 and 3 on synthetic
IsoFLOP sweeps with known truth.

    python benchmarks/fit_accuracy.py [--seeds 50]

Surfaces L = E + A/N^alpha + B/D^beta; per budget, sizes log-spaced from x1/spread to x spread
around the true optimum; D = C/(6N); log-loss noise N(0, sigma). Prints median and 90th-percentile
relative error |a_hat - a| / a per approach, and for reference the Gaussian maximum-likelihood
estimate (least squares on log loss, started from the truth and from the A3 fit), Approach 3 with
analysis.huber_delta=auto (delta = 1.345 x the noise estimated around the IsoFLOP parabolas), and the
Cramer-Rao bound: the smallest standard deviation any unbiased estimator of a can have on the design,
from the Fisher information of the five surface parameters under Gaussian log-loss noise, printed as
the median absolute error it implies (0.674 sd). A table of designs (budget range x size spread) shows
what a sweep would need for a given precision.
"""
import argparse
import time

import numpy as np
import pandas as pd

from scipy.optimize import least_squares

from flops_fit.fit import fit_approach2, fit_surface, load_runs
from flops_fit.fit.analyze import resolve_huber_delta
from flops_fit.fit.approach2 import log_residual_scale
from flops_fit.fit.design import exponent_sd_bound
from flops_fit.fit.result import SURFACE_KEYS, closed_form_optimum, surface_exponents, surface_loss

SURFACES = {
    "chinchilla": dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
    "symmetric": dict(E=1.69, A=400.0, B=400.0, alpha=0.30, beta=0.30),
    "asymmetric": dict(E=1.69, A=406.4, B=410.7, alpha=0.465, beta=0.155),
}
BUDGETS = np.geomspace(1e17, 1e21, 5)


def true_a(s):
    return surface_exponents(s["alpha"], s["beta"])[0]


def isoflop_sweep(s, budgets=BUDGETS, n_sizes=9, spread=4.0, sigma=0.0, seed=0, prior=None):
    """A synthetic IsoFLOP sweep as a run table (short column names). Sizes are centred on the true
    optimum, or with prior=r on a planner's guess N = sqrt(C / (6 r)) (r tokens per parameter)."""
    rng = np.random.default_rng(seed)
    surf = [s[k] for k in SURFACE_KEYS]
    centre = (lambda C: closed_form_optimum(*surf, C, 6.0)[0]) if prior is None else (lambda C: np.sqrt(C / (6 * prior)))
    N = np.concatenate([centre(C) * np.geomspace(1 / spread, spread, n_sizes) for C in budgets])
    C = np.repeat(budgets, n_sizes)
    D = C / (6 * N)
    L = surface_loss(N, D, *surf)
    L = L * np.exp(sigma * rng.standard_normal(len(L)))
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(N))], "N": N, "D": D, "loss": L, "C": C, "budget": C})


def mle_a(N, D, L, starts):
    """a from least squares on log loss (the Gaussian MLE), best of the given starts."""
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))
    lu, lv, lL = np.log(N / N0), np.log(D / D0), np.log(L)
    resid = lambda x: np.log(x[0] + x[1] * np.exp(-x[3] * lu) + x[2] * np.exp(-x[4] * lv)) - lL  # noqa: E731
    best = None
    for E, A, B, al, be in starts:
        r = least_squares(resid, [E, A * N0 ** -al, B * D0 ** -be, al, be],
                          bounds=([0, 0, 0, 1e-3, 1e-3], [np.inf, np.inf, np.inf, 5, 5]))
        best = r if best is None or r.cost < best.cost else best
    return best.x[4] / (best.x[3] + best.x[4])


def crb_median_error(s, sigma, budgets=BUDGETS, n_sizes=9, spread=4.0):
    """Median relative error of a implied by the Cramer-Rao bound (0.674 x the bound's sd, / a), for sizes
    centred on the true optimum (flops_fit.fit.design)."""
    runs = isoflop_sweep(s, budgets, n_sizes, spread)
    sd = exponent_sd_bound(runs["N"], runs["D"], *(s[k] for k in ("E", "A", "B", "alpha", "beta")), sigma)
    return 0.674 * sd / true_a(s)


def errors(s, sigma, seeds, n_sizes=9, spread=4.0, budgets=BUDGETS, mle=False, prior=None):
    a = true_a(s)
    e2, e3, e3a, em = [], [], [], []
    for seed in range(seeds):
        runs = load_runs(isoflop_sweep(s, budgets, n_sizes, spread, sigma, seed, prior))
        f2 = fit_approach2(runs)
        f3 = fit_surface(runs["N"], runs["D"], runs["loss"], runs["C"])
        e2.append(abs(f2.n_star.exponent - a) / a if f2.status == "ok" else np.inf)
        e3.append(abs(f3.a - a) / a)
        delta = resolve_huber_delta("auto", log_residual_scale(runs, f2))[0]
        f3a = fit_surface(runs["N"], runs["D"], runs["loss"], runs["C"], delta=delta)
        e3a.append(abs(f3a.a - a) / a)
        if mle:
            starts = [tuple(s[k] for k in ("E", "A", "B", "alpha", "beta")), (f3.E, f3.A, f3.B, f3.alpha, f3.beta)]
            em.append(abs(mle_a(runs["N"].to_numpy(), runs["D"].to_numpy(), runs["loss"].to_numpy(), starts) - a) / a)
    return np.array(e2), np.array(e3), np.array(em), np.array(e3a)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=50)
    args = p.parse_args()
    t0 = time.perf_counter()
    print(f"5 budgets x 9 sizes (x1/4..x4 around the true optimum), {args.seeds} seeds; "
          "relative error of a, median / p90 (%)\n")
    print("| surface | sigma | true a | A2 median | A2 p90 | A3 median | A3 p90 | A3 delta=auto median | "
          "A3 delta=auto p90 | MLE median | MLE p90 | Cramer-Rao median |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, s in SURFACES.items():
        for sigma in (0.005, 0.02, 0.05):
            e2, e3, em, e3a = errors(s, sigma, args.seeds, mle=True)
            q = lambda e, p: 100 * np.percentile(e, p)  # noqa: E731
            print(f"| {name} | {sigma} | {true_a(s):.4f} | {q(e2, 50):.2f} | {q(e2, 90):.2f} | "
                  f"{q(e3, 50):.2f} | {q(e3, 90):.2f} | {q(e3a, 50):.2f} | {q(e3a, 90):.2f} | "
                  f"{q(em, 50):.2f} | {q(em, 90):.2f} | "
                  f"{100 * crb_median_error(s, sigma):.2f} |", flush=True)
    print("\nWhat a 5 x 9 design needs: Cramer-Rao median error of a (%), Chinchilla-like surface, sigma 0.02.")
    print("Rows: budget range (5 budgets, log-spaced); columns: size spread (x1/s..x s around the optimum).")
    spreads = (4, 8, 16, 32)
    print("| budgets | " + " | ".join(f"x{sp}" for sp in spreads) + " |")
    print("|---|" + "---|" * len(spreads))
    for lo, hi in ((1e17, 1e21), (1e17, 1e23), (1e15, 1e25)):
        cells = [100 * crb_median_error(SURFACES["chinchilla"], 0.02, np.geomspace(lo, hi, 5), 9, sp) for sp in spreads]
        print(f"| {lo:.0e}-{hi:.0e} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    print("\nWider spreads, same 5 budgets x 9 sizes, Chinchilla-like surface, sigma 0.02: relative error of a, "
          "median / p90 (%)")
    print("| spread | A2 median | A2 p90 | A3 median | A3 p90 | A3 delta=auto median | MLE median "
          "| Cramer-Rao median |")
    print("|---|---|---|---|---|---|---|---|")
    for sp in (4.0, 8.0, 16.0):
        e2, e3, em, e3a = errors(SURFACES["chinchilla"], 0.02, args.seeds, spread=sp, mle=True)
        q = lambda e, p: 100 * np.percentile(e, p)  # noqa: E731
        print(f"| x{sp:g} | {q(e2, 50):.2f} | {q(e2, 90):.2f} | {q(e3, 50):.2f} | {q(e3, 90):.2f} | "
              f"{q(e3a, 50):.2f} | {q(em, 50):.2f} | "
              f"{100 * crb_median_error(SURFACES['chinchilla'], 0.02, spread=sp):.2f} |", flush=True)
    print("\nMock-sweep design: 5 budgets x 7 sizes, spread x4 each side, Chinchilla-like surface;")
    print("centred on the truth, or on a prior of 20 tokens/param (N = sqrt(C/120)), as a planner would")
    print("| centre | sigma | A2 median | A2 p90 | A3 median | A3 p90 |")
    print("|---|---|---|---|---|---|")
    for prior in (None, 20.0):
        for sigma in (0.0, 0.002, 0.005):
            e2, e3, _, _ = errors(SURFACES["chinchilla"], sigma, args.seeds, n_sizes=7, spread=4.0, prior=prior)
            q = lambda e, p: 100 * np.percentile(e, p)  # noqa: E731
            label = "truth" if prior is None else "20 tok/param"
            print(f"| {label} | {sigma} | {q(e2, 50):.2f} | {q(e2, 90):.2f} | {q(e3, 50):.2f} | "
                  f"{q(e3, 90):.2f} |", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
