"""Speed of Approach 3 (variable projection) against brute-force multi-start L-BFGS at the same
objective, and of the bootstrap: the batched path (bootstrap.run_bootstrap) against the per-replicate
loop it replaced (bootstrap_loop.run_bootstrap_loop), in one run.

    python benchmarks/fit_speed.py [--starts 300] [--boot 1000] [--check 50] [--old-seeds 2]

Bootstrap checks: (1) interval endpoints of the batched and the loop path on the same draws (same seed), and
of each path between seeds 0 and 1 (the Monte Carlo error); (2) on every k-th replicate (--check of them), a
full search (fit_surface, 48 x 48 grid, 3 starts + the warm start) on its resample: no replicate may end more
than 1e-9 relative above it. Every timing line carries the 1-minute load average (the machine is shared).

Table: Chinchilla-like surface, 10 budgets x 25 sizes = 250 runs, log-loss noise 0.02.
Brute force: Hoffmann et al.'s initialization grid (4,500 starts: alpha, beta in {0,.5,..,2},
e in {-1,-.5,..,1}, a, b in {0,5,..,25}; L = exp(LSE(a - alpha log N, b - beta log D, e))),
each run with scipy L-BFGS-B and an analytic gradient. --starts picks a random subset; the time
for all 4,500 is extrapolated.
"""
import argparse
import itertools
import os
import platform
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from fit_accuracy import SURFACES, isoflop_sweep
from flops_fit.fit import fit_surface, load_runs, run_bootstrap
from flops_fit.fit.approach3 import DELTA, objective
from flops_fit.fit.bootstrap import draw_weights
from flops_fit.fit.bootstrap_loop import run_bootstrap_loop
from flops_fit.forecast import machine


cpu_model = machine.cpu_model   # the one CPU-model reader


def load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


ENDPOINTS = [("a2 a", "a2.laws", (1,)), ("a2 b", "a2.laws", (3,)), ("a2 N*(1e21)", "a2.opt", (1, 0)),
             ("a2 L*(1e21)", "a2.opt", (1, 2)), ("a3 alpha", "a3.params", (3,)), ("a3 beta", "a3.params", (4,)),
             ("a3 a", "a3.params", (5,)), ("a3 N*(1e18)", "a3.opt", (0, 0)), ("a3 N*(1e21)", "a3.opt", (1, 0)),
             ("a3 D*(1e21)", "a3.opt", (1, 1)), ("a3 L*(1e21)", "a3.opt", (1, 2))]


def endpoints(boot):
    out = []
    for _, key, ix in ENDPOINTS:
        lo, hi = boot.interval(key)
        out.append((float(lo[ix]), float(hi[ix])))
    return np.array(out)


def bootstrap_section(runs, f, n, n_check, old_seeds):
    Cs = [1e18, 1e21]
    print(f"\n## Bootstrap: {n} replicates on {len(runs)} runs ({cpu_model()}, {os.cpu_count()} cores)\n")
    new, t_new = {}, {}
    for seed in (0, 1):
        new[seed], t_new[seed] = timed(run_bootstrap, runs, f, Cs, n=n, seed=seed)
        print(f"batched (run_bootstrap), seed {seed}: {t_new[seed]:.2f} s ({load()}); "
              f"{new[seed].info}")
    old, t_old = {}, {}
    for seed in range(old_seeds):
        old[seed], t_old[seed] = timed(run_bootstrap_loop, runs, f, Cs, n=n, seed=seed)
        print(f"loop (run_bootstrap_loop), seed {seed}: {t_old[seed]:.2f} s ({load()})")
    if old:
        print(f"\nspeed-up, same run: {t_old[0] / t_new[0]:.1f}x (seed 0)")

    e_new = {k: endpoints(v) for k, v in new.items()}
    e_old = {k: endpoints(v) for k, v in old.items()}
    print("\nInterval endpoints (95 %), relative differences |x - y| / |y|:\n")
    head = "| quantity | batched seed 0 [lo, hi] | batched vs loop, seed 0 | batched: seed 0 vs 1 |"
    if len(old) > 1:
        head += " loop: seed 0 vs 1 |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    worst = []
    for i, (name, _, _) in enumerate(ENDPOINTS):
        rel = lambda x, y: np.abs(x - y) / np.abs(y)  # noqa: E731
        cells = [f"[{e_new[0][i, 0]:.4g}, {e_new[0][i, 1]:.4g}]"]
        same = rel(e_new[0][i], e_old[0][i]) if old else (np.nan, np.nan)
        cells.append("%.1e, %.1e" % tuple(same))
        mc_new = rel(e_new[1][i], e_new[0][i])
        cells.append("%.1e, %.1e" % tuple(mc_new))
        if len(old) > 1:
            mc_old = rel(e_old[1][i], e_old[0][i])
            cells.append("%.1e, %.1e" % tuple(mc_old))
            worst.append((np.max(mc_new / mc_old), np.max(same / mc_old)))
        print(f"| {name} | " + " | ".join(cells) + " |")
    if worst:
        w = np.array(worst)
        print(f"\nbatched seed 0 vs 1 over loop seed 0 vs 1, worst endpoint: {w[:, 0].max():.2f}x; "
              f"batched vs loop on the same draws over loop seed 0 vs 1, worst: {w[:, 1].max():.2e}x")

    # full searches on a sample of replicates
    budgets = np.array(sorted(runs["budget"].unique()), float)
    groups = [np.flatnonzero(runs["budget"].to_numpy() == b) for b in budgets]
    N, D, L, C = (runs[c].to_numpy(float) for c in ("N", "D", "loss", "C"))
    W = draw_weights(groups, len(N), n, 0)
    step = max(1, n // max(n_check, 1))
    excess = []
    t = time.perf_counter()
    for i in range(0, n, step)[:n_check]:
        idx = np.repeat(np.arange(len(N)), W[i].astype(int))
        g = fit_surface(N[idx], D[idx], L[idx], C[idx], extra_starts=[(f.E, f.A, f.B, f.alpha, f.beta)],
                        delta=f.delta)
        excess.append((new[0].samples["a3.objective"][i] - g.objective) / g.objective)
    excess = np.array(excess)
    print(f"\nfull search on {len(excess)} replicates' resamples ({time.perf_counter() - t:.1f} s): replicate "
          f"objective - full search, relative: max {excess.max():+.2e}, min {excess.min():+.2e}; "
          f"{int((excess > 1e-9).sum())} above 1e-9")


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
    p.add_argument("--check", type=int, default=50, help="replicates checked against a full search")
    p.add_argument("--old-seeds", type=int, default=2, help="seeds run through the old loop (0 to skip)")
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

    if args.boot:
        bootstrap_section(runs, f, args.boot, args.check, args.old_seeds)


if __name__ == "__main__":
    main()
