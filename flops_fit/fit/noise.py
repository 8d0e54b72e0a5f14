"""Run-to-run noise measured from seed replicates (planner.replicates), instead of inferred from residuals.

Replicates are runs of one budget with the same size and data (N, D) and different seeds. Their scatter in log
loss is the run-to-run noise itself, free of the parabola's shape error. The estimate pools the groups:
s^2 = sum_g sum_i (y_gi - mean_g)^2 / sum_g (n_g - 1), y = log loss, then divides by c4(dof) so that s is
unbiased for sigma under Gaussian noise (with 10 degrees of freedom s alone is 2.5 % low).

The fits call `replicate_noise` (flops_fit/fit/analyze.py): when a table has replicate groups, this
measured noise replaces the parabola-residual estimate in the design check and in analysis.huber_delta=auto,
and so in every bootstrap replicate's Approach 3 fit (which reuses that Huber threshold).
"""
import math

import numpy as np
import pandas as pd

METHOD = ("pooled sd of log loss within seed-replicate groups (same budget, N and D), "
          "c4-corrected; {n} runs in {g} groups, {dof} degrees of freedom")


def c4(dof: int) -> float:
    """E[s] / sigma for a Gaussian sample sd with `dof` degrees of freedom."""
    return math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) * math.sqrt(2.0 / dof)


def replicate_groups(runs: pd.DataFrame) -> list:
    """Index labels of each group of >= 2 finite runs sharing (budget, N, D)."""
    loss = runs["loss"].to_numpy(float)
    ok = runs[np.isfinite(loss) & (loss > 0)]
    return [ok.index[idx] for idx in ok.groupby(["budget", "N", "D"]).indices.values() if len(idx) >= 2]


def replicate_noise(runs: pd.DataFrame):
    """(sigma, n_runs, method) from the replicate groups in `runs` (the used runs), or None without any."""
    groups = replicate_groups(runs)
    if not groups:
        return None
    y = np.log(runs["loss"].to_numpy(float))
    pos = {lab: i for i, lab in enumerate(runs.index)}
    ss, dof, n = 0.0, 0, 0
    for g in groups:
        v = y[[pos[i] for i in g]]
        ss += float(np.sum((v - v.mean()) ** 2))
        dof += len(v) - 1
        n += len(v)
    sigma = math.sqrt(ss / dof) / c4(dof)
    return sigma, n, METHOD.format(n=n, g=len(groups), dof=dof)
