"""analyze(): flag outliers, fit Approach 2 and 3 on the kept runs, bootstrap, build the table."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flops_fit.adaptive.noise import replicate_noise

from .approach2 import Approach2Fit, fit_approach2, log_residual_scale
from .approach3 import DELTA, SurfaceFit, fit_surface
from .bootstrap import BootstrapResult, run_bootstrap
from .design import exponent_sd_bound
from .outliers import flag_outliers
from .table import MIN_BUDGETS, MIN_POINTS_PER_BUDGET, FitError, load_runs


@dataclass(frozen=True)
class TableRow:
    approach: str          # approach2 | approach3
    budget: float          # C in FLOPs
    kind: str              # swept | extrapolated
    n_star: float
    d_star: float
    ratio: float           # D*/N*
    loss: float
    n_star_ci: tuple       # (lo, hi); NaN without bootstrap
    d_star_ci: tuple
    ratio_ci: tuple
    loss_ci: tuple


@dataclass(frozen=True)
class Analysis:
    source: str
    unit: str
    include_outliers: bool
    targets: tuple
    runs: pd.DataFrame = field(repr=False)   # all runs + outlier, reason, resid_t(_crit), used, pred_approach2/3
    approach2: Approach2Fit = field(repr=False)
    approach3: SurfaceFit = field(repr=False)
    bootstrap: BootstrapResult = field(repr=False)
    table: tuple = field(repr=False)         # TableRow
    status: str                              # ok | partial (one approach failed)
    huber_delta_rule: str = "fixed"          # how Approach 3's Huber delta was chosen
    noise_sigma: float = float("nan")        # robust sd of log-loss residuals around the IsoFLOP parabolas
    noise_method: str = ""                   # set when the noise was measured from seed replicates (adaptive/noise.py)
    a_sd_bound: float = float("nan")         # Cramér–Rao bound on sd(a) for these runs at that noise (design.py)

    @property
    def excluded(self) -> pd.DataFrame:
        return self.runs.loc[~self.runs["used"], ["id", "reason"]]

    @property
    def swept_budgets(self) -> np.ndarray:
        return np.array([b.budget for b in self.approach2.budgets])


AUTO_DELTA_FACTOR = 1.345  # Huber's threshold for 95 % efficiency under Gaussian noise, in noise sds


def _check_delta(huber_delta):
    if huber_delta != "auto" and (isinstance(huber_delta, str) or not huber_delta > 0):
        raise ValueError(f"huber_delta must be a positive number or 'auto', got {huber_delta!r}")


def resolve_huber_delta(huber_delta, noise, source=None) -> tuple:
    """(delta, rule). noise: (sigma_hat, n) from approach2.log_residual_scale. 'auto': 1.345 x that noise sd, at
    least Chinchilla's 1e-3: near-least-squares efficiency at the data's own noise, still robust to single bad
    runs."""
    if huber_delta != "auto":
        return float(huber_delta), "fixed"
    sigma, n = noise
    if not np.isfinite(sigma):
        return DELTA, f"auto: too few runs around the IsoFLOP parabolas to estimate the noise ({n}); used {DELTA:g}"
    delta = max(AUTO_DELTA_FACTOR * sigma, DELTA)
    source = source or f"robust sd of log-loss residuals around the IsoFLOP parabolas ({n} runs)"
    return delta, f"auto: max({AUTO_DELTA_FACTOR} x sigma_hat, {DELTA:g}), sigma_hat = {sigma:.3g} = {source}"


def _table(a2, a3, boot, Cs, swept) -> tuple:
    rows = []
    for name, opt_fn, ok in (("approach2", a2.optimal, a2.status == "ok"),
                             ("approach3", a3.optimal, a3.status in ("ok", "hit_bound"))):
        key = "a2" if name == "approach2" else "a3"
        if not ok:
            continue
        N, D, L = opt_fn(np.asarray(Cs, float))
        lo, hi = boot.interval(f"{key}.opt")
        rlo, rhi = boot.interval(f"{key}.ratio")
        for j, C in enumerate(Cs):
            rows.append(TableRow(
                approach=name, budget=float(C), kind="swept" if C in swept else "extrapolated",
                n_star=float(N[j]), d_star=float(D[j]), ratio=float(D[j] / N[j]), loss=float(L[j]),
                n_star_ci=(float(lo[j, 0]), float(hi[j, 0])), d_star_ci=(float(lo[j, 1]), float(hi[j, 1])),
                ratio_ci=(float(rlo[j]), float(rhi[j])), loss_ci=(float(lo[j, 2]), float(hi[j, 2]))))
    return tuple(rows)


def analyze(runs, *, targets=(1e18, 1e21), include_outliers=False, bootstrap=200, seed=0,
            unit="tokens", huber_delta=DELTA) -> Analysis:
    """runs: a table path, DataFrame, or load_runs() output. bootstrap: replicate count (0: none).
    huber_delta: Approach 3's Huber threshold on log residuals (Chinchilla's 1e-3 by default), or 'auto'
    (1.345 x the noise sd estimated around the IsoFLOP parabolas, at least 1e-3)."""
    _check_delta(huber_delta)
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0, got {bootstrap}")
    if any(not t > 0 for t in targets):
        raise ValueError(f"targets must be positive FLOP budgets, got {targets}")
    runs = load_runs(runs)
    source = runs.attrs.get("source", "<DataFrame>")
    flagged = flag_outliers(runs)
    finite = np.isfinite(flagged["loss"].to_numpy(float))
    flagged["used"] = finite & (include_outliers | ~flagged["outlier"].to_numpy())
    used = flagged[flagged["used"]].reset_index(drop=True)
    counts = used.groupby("budget").size()
    if int((counts >= MIN_POINTS_PER_BUDGET).sum()) < MIN_BUDGETS:
        raise FitError(f"{source}: too few runs left after excluding {int((~flagged['used']).sum())} "
                       f"flagged run(s): need >= {MIN_BUDGETS} budgets with >= {MIN_POINTS_PER_BUDGET} runs")

    a2 = fit_approach2(used)
    noise = log_residual_scale(used, a2)
    # adaptive hook: seed replicates (planner.replicates) measure the noise; it replaces the residual estimate
    measured, noise_method = replicate_noise(used), ""
    if measured is not None:
        noise, noise_method = measured[:2], measured[2]
    delta, delta_rule = resolve_huber_delta(huber_delta, noise, noise_method)
    swept = sorted(float(b) for b in used["budget"].unique())
    a3 = fit_surface(used["N"], used["D"], used["loss"], used["C"], delta=delta, budgets=swept)
    Cs = sorted(set(swept) | {float(t) for t in targets})
    boot = run_bootstrap(used, a3, Cs, n=int(bootstrap), seed=seed)

    # per-run predictions for residual plots (all runs, also excluded ones)
    parab = {b.budget: b.in_n for b in a2.budgets}
    logN = np.log10(flagged["N"].to_numpy(float))
    flagged["pred_approach2"] = [parab[b].predict(x) if b in parab else np.nan
                                 for b, x in zip(flagged["budget"], logN)]
    flagged["pred_approach3"] = a3.predict(flagged["N"], flagged["D"]) if a3.n_points and np.isfinite(a3.E) else np.nan

    ok2, ok3 = a2.status == "ok", a3.status in ("ok", "hit_bound")
    sigma = noise[0]
    bound = (exponent_sd_bound(used["N"], used["D"], a3.E, a3.A, a3.B, a3.alpha, a3.beta, sigma,
                               compute=a3.compute_model, budgets=a3.budgets) if ok3 else float("nan"))
    if not (ok2 or ok3):
        raise FitError(f"{source}: neither approach could be fitted (approach2: {a2.status}, approach3: {a3.status})")
    return Analysis(source=source, unit=unit, include_outliers=bool(include_outliers),
                    targets=tuple(float(t) for t in targets), runs=flagged, approach2=a2, approach3=a3,
                    bootstrap=boot, table=_table(a2, a3, boot, Cs, set(swept)),
                    status="ok" if ok2 and ok3 else "partial", huber_delta_rule=delta_rule,
                    noise_sigma=float(sigma), a_sd_bound=bound, noise_method=noise_method)
