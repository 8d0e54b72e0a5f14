"""A saved fit that evaluates itself: `FitResult` reads and writes fits.json (schema flops-fit/fits/v3; reads v2) and is the
one place for the formulas the fit owns, so no reader writes them again:

- the surface L(N, D) = E + A / N^alpha + B / D^beta (`surface_loss`, also the mock's training loss);
- its compute-optimal exponents a = beta / (alpha + beta), b = alpha / (alpha + beta) (`surface_exponents`);
- the closed-form optimum under C = kappa N D (`closed_form_optimum`; compute.py's measured fpu(N) otherwise);
- Approach 2's laws N* = k C^e, D* = k C^e, L*(C) = E + k C^-g (`FitResult.laws`).

Prediction API (point estimates, numpy broadcasting over arrays):

    fit = FitResult.load("results/sweep/fits.json")
    fit.predict_loss(N, D)          # L(N, D) of the Approach 3 surface
    N, D, L = fit.optimum(C)        # N*, D*, L* at compute C (Approach 3; approach="approach2": the power laws)
    fit.a, fit.b                    # the saved exponents (value); fit.estimate("approach3", "a") -> (value, lo, hi)

Numpy only: plots and reports read fits through it without the fitting libraries.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from flops_fit.constants import LEVEL
from flops_fit.io import BadFile, atomic_write_json, json_clean, read_json_or_explain

SCHEMA = "flops-fit/fits/v3"   # v2: fitted_budgets is a list; near_edge / two_points statuses; stderr_kind
# v3: laws, selected_law (laws chosen out of sample), holdout, rollout, predictions (flops_fit/predict/)
READS = ("flops-fit/fits/v2", SCHEMA)   # v3 only adds top-level keys: a v2 file reads the same
SURFACE_FORM = "L(N, D) = E + A/N^alpha + B/D^beta"
SURFACE_KEYS = ("E", "A", "B", "alpha", "beta")
A3_USABLE = ("ok", "hit_bound")        # Approach 3 statuses whose parameters are usable (as in the table)
A2_USABLE = ("ok", "two_points")       # Approach 2 statuses with power laws (two_points: exact, no interval)
# runs.csv's pipeline names -> the fit's short names (docs/architecture.md, "runs.csv")
PIPELINE_NAMES = {"params": "N", "data_units": "D", "final_loss": "loss", "budget_flops": "budget"}
TABLE_QUANTITIES = ("n_star", "d_star", "ratio", "loss")   # each row of the Chinchilla table: value, lo, hi


# ---- the formulas (each written once)
def surface_loss(N, D, E, A, B, alpha, beta):
    """L(N, D) = E + A / N^alpha + B / D^beta."""
    return E + A * np.asarray(N, float) ** -alpha + B * np.asarray(D, float) ** -beta


def surface_exponents(alpha, beta):
    """(a, b) with N* ~ C^a, D* ~ C^b under C = kappa N D: beta / (alpha + beta), alpha / (alpha + beta)."""
    with np.errstate(all="ignore"):
        return beta / (alpha + beta), alpha / (alpha + beta)


def closed_form_log_n(A, B, alpha, beta, logC, log_kappa):
    """ln N* minimizing the surface under C = kappa N D (Chinchilla's N* = G (C / kappa)^a, in logs)."""
    return (np.log(alpha * A) - np.log(beta * B) + beta * (logC - log_kappa)) / (alpha + beta)


def closed_form_optimum(E, A, B, alpha, beta, C, kappa):
    """(N*, D*, L*) of the surface under C = kappa N D."""
    logC, lk = np.log(np.asarray(C, float)), math.log(kappa)
    with np.errstate(all="ignore"):
        N = np.exp(closed_form_log_n(A, B, alpha, beta, logC, lk))
        D = np.exp(logC - (lk + np.log(N)))
        return N, D, surface_loss(N, D, E, A, B, alpha, beta)


def power_law(C, k, exponent):
    """Approach 2's N*(C), D*(C) = k C^exponent."""
    return k * np.asarray(C, float) ** exponent


def loss_law(C, E, k, g):
    """Approach 2's L*(C) = E + k C^-g."""
    return E + k * np.asarray(C, float) ** (-g)


def parabola(x, c0, c1, c2):
    """Approach 2's IsoFLOP profile of one budget: loss = c0 + c1 x + c2 x^2, x = log10 N (or log10 D)."""
    x = np.asarray(x, float)
    return c0 + c1 * x + c2 * x ** 2


def num(x, default=np.nan) -> float:
    """fits.json writes NaN as null; read it back as NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def est(d) -> tuple:
    """An {"value","lo","hi"} estimate as (value, lo, hi) floats (NaN where missing)."""
    d = d or {}
    return num(d.get("value")), num(d.get("lo")), num(d.get("hi"))


class FitResult:
    """fits.json as an object. `data` is the saved dict (unchanged layout); the methods evaluate what it holds."""

    def __init__(self, data: dict, path=None):
        self.data = data
        self.path = Path(path) if path is not None else None

    # ---- files
    @classmethod
    def load(cls, path) -> "FitResult":
        """Read a v2 or v3 fits.json; anything else raises BadFile with one line naming the file and the fix."""
        fix = "rerun the fit (snakemake, or ff-analyze) to rewrite it"
        data = read_json_or_explain(path, fix)
        if not isinstance(data, dict):
            raise BadFile(f"{path}: not a JSON object; {fix}")
        if data.get("schema") not in READS:
            raise BadFile(f"{path}: schema {data.get('schema')!r}, this flops-fit reads {' or '.join(READS)}; {fix}")
        return cls(data, path)

    @classmethod
    def of(cls, fits) -> "FitResult":
        """A FitResult as is, or the saved dict of a fits.json wrapped in one."""
        return fits if isinstance(fits, cls) else cls(fits or {})

    def save(self, path) -> Path:
        """Atomic write (NaN -> null)."""
        self.path = Path(path)
        return atomic_write_json(path, json_clean(self.data))

    # ---- the saved parts
    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def form(self) -> str:
        return (self.data.get("approach3") or {}).get("form") or SURFACE_FORM

    @property
    def approach2(self) -> dict:
        return self.data.get("approach2") or {}

    @property
    def approach3(self) -> dict:
        return self.data.get("approach3") or {}

    @property
    def settings(self) -> dict:
        return self.data.get("settings") or {}

    @property
    def status(self) -> str:
        return self.data.get("status", "missing")

    @property
    def targets(self) -> list:
        return [float(t) for t in self.settings.get("targets") or []]

    @property
    def level(self) -> float:
        """The interval level (e.g. 0.95) the bootstrap intervals were drawn at."""
        return num((self.settings.get("bootstrap") or {}).get("level"), LEVEL)

    def estimate(self, approach: str, key: str) -> tuple:
        """(value, lo, hi) of a saved Approach 3 parameter or exponent (approach3: E A B alpha beta a b), or of an
        Approach 2 power-law exponent (approach2: n_star, d_star) ."""
        if approach == "approach2":
            return est(((self.approach2.get("power_laws") or {}).get(key) or {}).get("exponent"))
        return est(self.approach3.get(key))

    @property
    def surface(self) -> dict:
        """The Approach 3 point estimates {E, A, B, alpha, beta} (NaN where missing)."""
        return {k: num((self.approach3.get(k) or {}).get("value")) for k in SURFACE_KEYS}

    @property
    def surface_ok(self) -> bool:
        return self.approach3.get("status") in A3_USABLE and all(np.isfinite(v) for v in self.surface.values())

    @property
    def laws_ok(self) -> bool:
        return self.approach2.get("status") in A2_USABLE

    @property
    def a(self) -> float:
        return self.estimate("approach3", "a")[0]

    @property
    def b(self) -> float:
        return self.estimate("approach3", "b")[0]

    @property
    def compute_model(self):
        """The compute model Approach 3 used (saved knots of fpu(N)); older fits: C = flops_per_nd * N * D."""
        from .compute import ComputeModel
        a3 = self.approach3
        if a3.get("compute"):
            return ComputeModel.from_dict(a3["compute"])
        return ComputeModel.constant(num(a3.get("flops_per_nd"), 6.0))

    # ---- what the fit reports, for readers (plot/, report/, forecast/ never index fits.json themselves)
    @property
    def unit(self):
        return self.data.get("unit")

    @property
    def source(self):
        return self.data.get("source")

    @property
    def warnings(self) -> list:
        return list(self.data.get("warnings") or [])

    @property
    def notes(self) -> list:
        return list(self.data.get("notes") or [])

    @property
    def excluded(self) -> list:
        return list(self.data.get("excluded") or [])

    @property
    def bootstrap(self) -> dict:
        """The bootstrap's settings (n, resampling, level)."""
        return self.settings.get("bootstrap") or {}

    @property
    def noise_sigma(self) -> float:
        """The run-to-run noise of log loss the design check measured (NaN if none)."""
        return num((self.data.get("design") or {}).get("noise_sigma"))

    @property
    def a_sd_bound(self) -> float:
        """The Cramér–Rao bound on sd(a) for this design at that noise (NaN if none)."""
        return num((self.data.get("design") or {}).get("a_sd_bound"))

    def law(self, key: str) -> dict:
        """One of Approach 2's saved power laws (n_star, d_star, l_star), as saved."""
        return (self.approach2.get("power_laws") or {}).get(key) or {}

    def law_estimate(self, key: str, param: str) -> tuple:
        """(value, lo, hi) of a parameter of a saved power law: law_estimate("l_star", "g")."""
        return est(self.law(key).get(param))

    def exponent(self, approach: str) -> tuple:
        """(a, lo, hi) of an approach whose fit is usable, else NaNs: Approach 2's N* law exponent, Approach 3's a."""
        if approach == "approach2":
            return self.estimate("approach2", "n_star") if self.laws_ok else (np.nan,) * 3
        return self.estimate("approach3", "a") if self.surface_ok else (np.nan,) * 3

    def best_exponent(self) -> tuple:
        """(approach, a, lo, hi) to act on: Approach 3's when it fitted (its bootstrap resamples runs and refits
        the whole surface, E included), else Approach 2's; ("none", nan, nan, nan) when neither has one."""
        if self.approach3.get("status") in A3_USABLE and np.isfinite(self.a):
            return ("approach3",) + self.estimate("approach3", "a")
        v = self.estimate("approach2", "n_star")
        return ("approach2",) + v if np.isfinite(v[0]) else ("none", np.nan, np.nan, np.nan)

    @property
    def budget_fits(self) -> dict:
        """Approach 2's per-budget records by budget (parabola_n, parabola_d, n_star, d_star, l_star, status)."""
        return {num(b.get("budget")): b for b in self.approach2.get("budgets") or []}

    @staticmethod
    def profile(record: dict, axis: str = "N") -> tuple:
        """((c0, c1, c2), (x_min, x_max), status) of a budget record's saved parabola in log10 N (axis "N") or
        log10 D; evaluate it with `parabola`."""
        p = record.get("parabola_n" if axis == "N" else "parabola_d") or {}
        return (tuple(num(p.get(k)) for k in ("c0", "c1", "c2")), (num(p.get("x_min")), num(p.get("x_max"))),
                p.get("status", record.get("status")))

    def table(self, approach: str | None = None):
        """The Chinchilla table's rows as a DataFrame (approach, budget, kind, warning, then value, _lo, _hi of n_star,
        d_star, ratio, loss), by budget; `approach` keeps one approach's rows."""
        from .result_frames import table_frame
        return table_frame(self.data.get("table") or [], approach)

    def table_warnings(self) -> list:
        """(approach, budget, warning) of each Chinchilla table row that carries a warning, in the saved order."""
        return [(r.get("approach"), num(r.get("budget")), r["warning"]) for r in self.data.get("table") or []
                if r.get("warning")]

    def runs_table(self, raw=None):
        """The runs as the fit saw them: runs.csv (`raw`, a DataFrame; its pipeline names renamed to the fit's)
        joined with the fit's per-run columns; without runs.csv, fits.json's own runs (result_frames.runs_frame)."""
        from .result_frames import runs_frame
        return runs_frame(self.data.get("runs") or [], raw)

    def run_compute(self):
        """The C the fit recorded per run (NaN where missing), as a float array."""
        return np.array([num(r.get("C")) for r in self.data.get("runs") or []], float)

    # ---- evaluation
    def predict_loss(self, N, D):
        """Point prediction of the loss at (N, D) from the saved Approach 3 surface."""
        return surface_loss(N, D, **self.surface)

    def laws(self, C) -> tuple:
        """Approach 2's saved laws at C: (N*, D*, L*) = (k C^e, k C^e, E + k C^-g)."""
        laws = self.approach2.get("power_laws") or {}
        C = np.asarray(C, float)
        out = []
        for key in ("n_star", "d_star"):
            law = laws.get(key) or {}
            out.append(power_law(C, num((law.get("k") or {}).get("value")), num((law.get("exponent") or {}).get("value"))))
        E, k, g = (num(((laws.get("l_star") or {}).get(x) or {}).get("value")) for x in ("E", "k", "g"))
        out.append(loss_law(C, E, k, g))
        return tuple(out)

    def optimum(self, C, approach: str = "approach3") -> tuple:
        """(N*, D*, L*) at compute C: the minimum of the saved surface under its compute model (approach3), or the
        saved power laws (approach2). Evaluation only, never a refit."""
        if approach == "approach2":
            return self.laws(C)
        s = self.surface
        return self.compute_model.optimum(s["E"], s["A"], s["B"], s["alpha"], s["beta"], C)
