"""Intervals that match their estimates.

`replicate_laws` redoes Approach 2's power laws in every bootstrap replicate through exactly the budgets the
full fit used (bootstrap.py's replicates use every budget whose replicate vertex happens to be in range). A
replicate set wider than the fit's gave the `nan [27.3, 27.34]` loss column: the full L*(C) law had < 3 budgets
(nan), while replicates that recovered a third, edge-of-grid budget had a finite law. Through fewer than 3
fitted budgets there is no interval at all.

`outside_note` says why a point estimate lies outside its own percentile interval (the bootstrap distribution
is shifted away from the estimate: the estimator is biased or the sample is at a boundary).
"""
import numpy as np

from flops_fit.constants import MIN_SIZES_PER_BUDGET

from .powerlaw import loss_law_fast, power_law_fast
from .result import loss_law, power_law

MIN_FOR_INTERVAL = MIN_SIZES_PER_BUDGET


def replicate_laws(samples: dict, budgets, fitted, Cs) -> None:
    """Overwrite samples a2.laws / a2.opt / a2.ratio (in place) from the replicate vertices a2.budgets
    (n, n_budgets, 3) through the fitted budgets only; NaN when fewer than MIN_FOR_INTERVAL are fitted."""
    vert = samples["a2.budgets"]
    n = vert.shape[0]
    Cs = np.asarray(Cs, float)
    budgets = np.asarray(budgets, float)
    mask = np.isin(budgets, np.asarray(fitted, float))
    laws = np.full((n, 7), np.nan)
    opt = np.full((n, len(Cs), 3), np.nan)
    if mask.sum() >= MIN_FOR_INTERVAL:
        C = budgets[mask]
        with np.errstate(all="ignore"):
            for i in range(n):
                v = vert[i][mask]
                if not np.all(np.isfinite(v)):   # a fitted budget's vertex left its range in this replicate
                    continue
                kn, a = power_law_fast(C, v[:, 0])
                kd, b = power_law_fast(C, v[:, 1])
                E, k, g = loss_law_fast(C, v[:, 2])
                laws[i] = kn, a, kd, b, E, k, g
                opt[i] = np.stack([power_law(Cs, kn, a), power_law(Cs, kd, b), loss_law(Cs, E, k, g)], -1)
    samples["a2.laws"], samples["a2.opt"] = laws, opt
    samples["a2.ratio"] = opt[..., 1] / opt[..., 0]


def outside_note(value, lo, hi, samples=None) -> str:
    """'' when value lies in [lo, hi] (or there is no interval); else one sentence saying why it does not."""
    if not (np.isfinite(value) and np.isfinite(lo) and np.isfinite(hi)):
        return ""
    tol = 1e-9 * max(abs(value), abs(lo), abs(hi))   # a round-off (lo == hi == value up to 1e-15) is inside
    if lo - tol <= value <= hi + tol:
        return ""
    side = "below" if value < lo else "above"
    frac = ""
    if samples is not None:
        s = np.asarray(samples, float)
        s = s[np.isfinite(s)]
        if len(s):
            other = np.mean(s > value if side == "below" else s < value)
            frac = f" ({100 * other:.0f} % of replicates on the other side)"
    return (f"estimate {side} its bootstrap interval: the replicate distribution is shifted away from the "
            f"full-data estimate{frac} (estimator bias on resampled data, or a boundary); read the interval as "
            "the spread, not as centred on the estimate")
