"""Speed of Approach 3 (variable projection) against brute-force multi-start L-BFGS at the same
objective, and of the bootstrap.

    python benchmarks/fit_speed.py [--starts 300] [--boot 1000]

Table: Chinchilla-like surface, 10 budgets x 25 sizes = 250 runs, log-loss noise 0.02.
Brute force: Hoffmann et al.'s initialization grid (4,500 starts: alpha, beta in {0,.5,..,2},
e in {-1,-.5,..,1}, a, b in {0,5,..,25}; L = exp(LSE(a - alpha log N, b - beta log D, e))),
each run with scipy L-BFGS-B and an analytic gradient. --starts picks a random subset; the time
for all 4,500 is extrapolated.
"""
import argparse
import itertools
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from fit_accuracy import SURFACES, isoflop_sweep
from flops_fit.fit import fit_surface, load_runs, run_bootstrap
from flops_fit.fit.approach3 import DELTA, objective


def brute_force(N, D, L, starts):
    lN, lD, lL = np.log(N), np.log(D), np.log(L)

    def f(x):
        e, a, b, al, be = x
        T = np.stack([a - al * lN, b - be * lD, np.full_like(lN, e)])
        r = logsumexp(T, axis=0) - lL
        ar = np.abs(r)
        h = np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA)).sum()
        dr = np.clip(r, -DELTA, DELTA)               # Huber derivative
        w = softmax(T, axis=0) * dr                  # dr/dT_k weights
        g = np.array([w[2].sum(), w[0].sum(), w[1].sum(), -(w[0] * lN).sum(), -(w[1] * lD).sum()])
        return h, g

    best = None
    for x0 in starts:
        res = minimize(f, x0, jac=True, method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    e, a, b, al, be = best.x
    return best.fun, (np.exp(e), np.exp(a), np.exp(b), al, be)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--starts", type=int, default=300)
    p.add_argument("--boot", type=int, default=1000)
    args = p.parse_args()
    s = SURFACES["chinchilla"]
    runs = load_runs(isoflop_sweep(s, np.geomspace(1e17, 1e21, 10), n_sizes=25, spread=8.0, sigma=0.02, seed=0))
    N, D, L, C = (runs[c].to_numpy() for c in ("N", "D", "loss", "C"))
    print(f"{len(runs)} runs; objective = sum Huber_{DELTA:g}(log Lhat - log L)\n")

    fit_surface(N, D, L, C)  # warm-up (imports, caches)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        f = fit_surface(N, D, L, C)
        times.append(time.perf_counter() - t)
    ours = objective((f.E, f.A, f.B, f.alpha, f.beta), N, D, L)

    grid = list(itertools.product([-1, -.5, 0, .5, 1], [0, 5, 10, 15, 20, 25], [0, 5, 10, 15, 20, 25],
                                  [0, .5, 1, 1.5, 2], [0, .5, 1, 1.5, 2]))
    rng = np.random.default_rng(0)
    pick = [grid[i] for i in rng.choice(len(grid), size=min(args.starts, len(grid)), replace=False)]
    t = time.perf_counter()
    bf_obj, bf = brute_force(N, D, L, pick)
    bf_t = time.perf_counter() - t

    print("| method | time (s) | objective | alpha | beta | a |")
    print("|---|---|---|---|---|---|")
    print(f"| variable projection (median of 5) | {np.median(times):.3f} | {ours:.10g} | {f.alpha:.5f} | "
          f"{f.beta:.5f} | {f.a:.5f} |")
    print(f"| brute force, {len(pick)} L-BFGS-B starts | {bf_t:.1f} | {bf_obj:.10g} | {bf[3]:.5f} | "
          f"{bf[4]:.5f} | {bf[4] / (bf[3] + bf[4]):.5f} |")
    print(f"| brute force, all {len(grid)} starts (extrapolated) | {bf_t * len(grid) / len(pick):.0f} | | | | |")
    print(f"\nobjective gap (ours - brute force): {ours - bf_obj:+.3g} (negative: ours is lower)")

    t = time.perf_counter()
    boot = run_bootstrap(runs, f, [1e18, 1e21], n=args.boot, seed=0)
    bt = time.perf_counter() - t
    lo, hi = boot.interval("a3.params")
    print(f"\n{args.boot} bootstrap refits (Approach 2 and 3 each): {bt:.1f} s "
          f"({1000 * bt / args.boot:.1f} ms per replicate); A3 a in [{lo[5]:.4f}, {hi[5]:.4f}], "
          f"{boot.n_valid('a3.params')} valid")


if __name__ == "__main__":
    main()
