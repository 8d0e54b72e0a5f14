"""analyze(): flag outliers, fit Approach 2 and 3 on the kept runs, bootstrap, mark budgets near the edge of their
grids, refit Approach 2's laws through the fitted budgets, check the objective's influence, build the table."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flops_fit.constants import RELATIVE_TARGET_DECADES

from .approach2 import Approach2Fit, fit_approach2, fit_laws, log_residual_scale, with_edges
from .approach3 import DELTA, SurfaceFit, fit_surface
from .bootstrap import BootstrapResult, run_bootstrap
from .design import exponent_sd_bound
from .intervals import replicate_laws
from .noise import replicate_noise
from .outliers import MIN_SCREEN_POINTS, flag_outliers
from .plausibility import table_warnings
from .repeats import repeats_note, seedless_repeats
from .sensitivity import LEAST_SQUARES_DELTA, disagreement, objective_sensitivity
from .table import FitError, load_runs


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
    noise_method: str = ""                   # set when the noise was measured from seed replicates (noise.py)
    a_sd_bound: float = float("nan")         # Cramér–Rao bound on sd(a) for these runs at that noise (design.py)
    targets_rule: str = "given"              # where the targets came from
    include_near_edge: bool = False
    independent_runs: bool = True            # user-declared: are the runs independent (bootstrap's assumption)?
    budget_info: dict = field(default_factory=dict)   # how runs were grouped into budgets (budgets.py)
    dropped: dict = field(default_factory=dict)       # rows whose loss was missing / non-numeric, by reason
    query: str | None = None                          # analysis.query that selected the rows
    unscreened: tuple = ()                   # (budget, clean runs) of budgets too small for the outlier screen
    sensitivity: dict = field(default_factory=dict)   # Approach 3's a under three objectives (sensitivity.py)
    agreement: dict = field(default_factory=dict)     # Approach 2 vs 3 on a (sensitivity.disagreement)
    warnings: tuple = ()                     # per table row: '' or why it lies outside the data (plausibility.py)
    aliases: dict = field(default_factory=dict)       # column alias used -> short name (table.ALIASES)
    status_note: str = ""                    # e.g. "Approach 3 only" for a table with no IsoFLOP budgets
    repeats: str = ""                        # note on (N, D) repeats that are not seed replicates (repeats.py)

    @property
    def excluded(self) -> pd.DataFrame:
        return self.runs.loc[~self.runs["used"], ["id", "reason"]]

    @property
    def swept_budgets(self) -> np.ndarray:
        return np.array([b.budget for b in self.approach2.budgets])

    @property
    def fitted_budgets(self) -> tuple:
        return self.approach2.fitted


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
        return DELTA, (f"auto fell back to the fixed {DELTA:g}: too few runs around IsoFLOP parabolas to estimate "
                       f"the noise ({n}); set analysis.huber_delta to choose")
    delta = max(AUTO_DELTA_FACTOR * sigma, DELTA)
    source = source or f"robust sd of log-loss residuals around the IsoFLOP parabolas ({n} runs)"
    return delta, f"auto: max({AUTO_DELTA_FACTOR} x sigma_hat, {DELTA:g}), sigma_hat = {sigma:.3g} = {source}"


def default_targets(runs) -> tuple:
    """A decade, two and three beyond the largest budget (the largest C when no run is in a budget)."""
    b = runs["budget"].to_numpy(float)
    top = np.nanmax(b) if np.isfinite(b).any() else float(runs["C"].max())
    return tuple(float(top * 10.0 ** k) for k in RELATIVE_TARGET_DECADES)


def _table(a2, a3, boot, Cs_all, Cs, fitted) -> tuple:
    rows = []
    pick = [Cs_all.index(c) for c in Cs]
    for name, opt_fn, ok in (("approach2", a2.optimal, a2.has_laws),
                             ("approach3", a3.optimal, a3.status in ("ok", "hit_bound"))):
        key = "a2" if name == "approach2" else "a3"
        if not ok:
            continue
        N, D, L = opt_fn(np.asarray(Cs, float))
        lo, hi = (x[pick] for x in boot.interval(f"{key}.opt"))
        rlo, rhi = (x[pick] for x in boot.interval(f"{key}.ratio"))
        for j, C in enumerate(Cs):
            rows.append(TableRow(
                approach=name, budget=float(C), kind="swept" if C in fitted else "extrapolated",
                n_star=float(N[j]), d_star=float(D[j]), ratio=float(D[j] / N[j]), loss=float(L[j]),
                n_star_ci=(float(lo[j, 0]), float(hi[j, 0])), d_star_ci=(float(lo[j, 1]), float(hi[j, 1])),
                ratio_ci=(float(rlo[j]), float(rhi[j])), loss_ci=(float(lo[j, 2]), float(hi[j, 2]))))
    return tuple(rows)


def _vertex_ci(boot, n_budgets) -> list:
    """Per budget the bootstrap interval of log10 N* over the replicates that have a vertex. Replicate vertices
    outside the sampled sizes are kept (batched.parabola_vertices), so an interval reaching the edge shows as such.
    Replicates without a vertex (a resample with < 3 distinct sizes, or no curvature) are left out: with 5 runs
    about 10 % of resamples have < 3 distinct sizes whatever the vertex; their share is reported per budget."""
    if boot.n == 0 or n_budgets == 0:
        return [(np.nan, np.nan)] * n_budgets
    lo, hi = boot.interval("a2.budgets")
    with np.errstate(divide="ignore", invalid="ignore"):
        return [(float(np.log10(lo[j, 0])), float(np.log10(hi[j, 0]))) for j in range(n_budgets)]


def _unscreened(flagged) -> tuple:
    clean = flagged[flagged["reason"] == ""]
    counts = clean.groupby("budget").size()
    return tuple((float(b), int(n)) for b, n in counts.items() if n < MIN_SCREEN_POINTS)


def analyze(runs, *, targets=None, include_outliers=False, bootstrap=200, seed=0, unit="tokens",
            huber_delta=DELTA, include_near_edge=False, independent_runs=True, sensitivity=True,
            targets_rule=None, query=None, budget_column=None, budgets=None) -> Analysis:
    """runs: a table path, DataFrame, or load_runs() output. bootstrap: replicate count (0: none).
    targets: prediction budgets; None: 1, 2 and 3 decades beyond the largest budget.
    huber_delta: Approach 3's Huber threshold on log residuals (Chinchilla's 1e-3 by default), or 'auto'
    (1.345 x the noise sd estimated around the IsoFLOP parabolas, at least 1e-3).
    include_near_edge: also fit Approach 2's laws through budgets whose vertex is near the edge of their grid.
    independent_runs: the user's statement that runs are independent (False: e.g. checkpoints of one run).
    query / budget_column / budgets: passed to load_runs when runs is not already a loaded table."""
    _check_delta(huber_delta)
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0, got {bootstrap}")
    if targets is not None and any(not t > 0 for t in targets):
        raise ValueError(f"targets must be positive FLOP budgets, got {targets}")
    if not (isinstance(runs, pd.DataFrame) and "budget_info" in runs.attrs):
        runs = load_runs(runs, query=query, budget_column=budget_column, budgets=budgets)
    source = runs.attrs.get("source", "<DataFrame>")
    if targets is None:
        targets, targets_rule = default_targets(runs), targets_rule or (
            "default: 1, 2 and 3 decades beyond the largest budget (set analysis.targets to choose)")
    targets_rule = targets_rule or "given"
    flagged = flag_outliers(runs)
    finite = np.isfinite(flagged["loss"].to_numpy(float))
    flagged["used"] = finite & (include_outliers | ~flagged["outlier"].to_numpy())
    used = flagged[flagged["used"]].reset_index(drop=True)
    info = runs.attrs.get("budget_info") or {}
    not_isoflop = ("" if np.isfinite(used["budget"].to_numpy(float)).any() else
                   f"no IsoFLOP budget groups ({info.get('method', 'inferred')}: {info.get('rule', '')}): "
                   "Approach 2 needs runs grouped by budget; Approach 3 fits all runs")

    a2 = fit_approach2(used, include_near_edge)
    noise = log_residual_scale(used, a2)
    # seed replicates (planner.replicates) measure the noise; it replaces the residual estimate
    measured, noise_method = replicate_noise(used), ""
    seedless = seedless_repeats(used)
    if seedless:            # repeats whose losses differ far beyond seed noise: not seeds (repeats.py)
        measured = None
    if measured is not None:
        noise, noise_method = measured[:2], measured[2]
    delta, delta_rule = resolve_huber_delta(huber_delta, noise, noise_method)
    # a, b of Approach 3 are read over the budget groups (all distinct C of the runs when there are none)
    swept = sorted(float(b) for b in used["budget"].unique() if np.isfinite(b)) or None
    a3 = fit_surface(used["N"], used["D"], used["loss"], used["C"], delta=delta, budgets=swept)
    ok3 = a3.status in ("ok", "hit_bound")
    if not (a2.has_laws or ok3):
        hint = (" With 3 sizes per budget every optimum is near_edge: add sizes or budgets, or set "
                "analysis.include_near_edge=true" if any(b.status == "near_edge" for b in a2.budgets) else "")
        raise FitError(f"{source}: neither approach could be fitted on the {len(used)} usable run(s) "
                       f"({int((~flagged['used']).sum())} excluded): approach2: {not_isoflop or a2.reason}; "
                       f"approach3: {a3.status} (needs >= 8 runs with >= 3 distinct N and D).{hint}")
    group_budgets = [b.budget for b in a2.budgets]
    Cs_all = sorted(set(group_budgets) | {float(t) for t in targets})
    boot = run_bootstrap(used, a3, Cs_all, n=int(bootstrap), seed=seed)

    # near_edge with the vertices' bootstrap intervals, then the laws through the fitted budgets only
    budgets_fit = with_edges(a2.budgets, _vertex_ci(boot, len(a2.budgets)))
    a2 = fit_laws(budgets_fit, include_near_edge, reason=not_isoflop)
    replicate_laws(boot.samples, group_budgets, a2.fitted if a2.status == "ok" else (), Cs_all)
    Cs = sorted(set(a2.fitted) | {float(t) for t in targets})

    # per-run predictions for residual plots (all runs, also excluded ones)
    parab = {b.budget: b.in_n for b in a2.budgets}
    logN = np.log10(flagged["N"].to_numpy(float))
    flagged["pred_approach2"] = [parab[b].predict(x) if b in parab else np.nan
                                 for b, x in zip(flagged["budget"], logN)]
    flagged["pred_approach3"] = a3.predict(flagged["N"], flagged["D"]) if a3.n_points and np.isfinite(a3.E) else np.nan

    sigma = noise[0]
    bound = (exponent_sd_bound(used["N"], used["D"], a3.E, a3.A, a3.B, a3.alpha, a3.beta, sigma,
                               compute=a3.compute_model, budgets=a3.budgets) if ok3 else float("nan"))
    sens, agree = {}, {}
    if ok3 and sensitivity:
        sens = objective_sensitivity(used, {"huber_1e-3": DELTA, "auto": resolve_huber_delta("auto", noise)[0],
                                            "least_squares": LEAST_SQUARES_DELTA}, fitted=a3)
    if ok3 and a2.status == "ok":
        from .bootstrap import A3_KEYS
        llo, lhi = boot.interval("a2.laws")
        plo, phi = boot.interval("a3.params")
        ia = A3_KEYS.index("a")
        agree = disagreement(a2.n_star.exponent, (llo[1], lhi[1]), a3.a, (plo[ia], phi[ia]))
    table = _table(a2, a3, boot, Cs_all, Cs, set(a2.fitted))
    if a2.status == "ok" and ok3:
        status, status_note = "ok", ""
    elif not_isoflop and a3.status == "ok":
        status, status_note = "ok", "Approach 3 only: the table has no IsoFLOP budgets for Approach 2"
    else:
        status, status_note = "partial", ""
    return Analysis(source=source, unit=unit, include_outliers=bool(include_outliers),
                    targets=tuple(float(t) for t in targets), runs=flagged, approach2=a2, approach3=a3,
                    bootstrap=boot, table=table, status=status, status_note=status_note,
                    warnings=table_warnings(table, used),
                    repeats=repeats_note(seedless, runs.attrs.get("repeat_columns") or []), aliases=dict(runs.attrs.get("aliases") or {}),
                    huber_delta_rule=delta_rule,
                    noise_sigma=float(sigma), a_sd_bound=bound, targets_rule=targets_rule,
                    include_near_edge=bool(include_near_edge), independent_runs=bool(independent_runs),
                    budget_info=dict(info), dropped=dict(runs.attrs.get("dropped") or {}),
                    query=runs.attrs.get("query"), unscreened=_unscreened(flagged), sensitivity=sens,
                    agreement=agree, noise_method=noise_method)
