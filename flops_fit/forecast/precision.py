"""Precision forecast: how precisely will the planned sweep pin the exponent a (N* ~ C^a) and N* at the
target budgets, for each approach, before anything trains.

Method: a Monte Carlo of the actual estimator. The planned design (every experiment's N, D, C) is
"trained" n_sims times on a prior loss surface L(N, D) = E + A/N^alpha + B/D^beta with log-normal
noise sigma (exactly what flops_fit.mock does to a mock sweep), and each mock sweep goes through the
same analysis as a real one (flops_fit.fit.analyze: outlier screen, Approach 2, Approach 3; no bootstrap,
which does not change the point estimates). The spread of the fitted a and N*(target) over the mock
sweeps is the forecast. Beside it: the Cramér–Rao bound (flops_fit.fit.design) for the same design,
surface and noise, the smallest sd any unbiased fit could reach.

The prior (docs/forecast.md, "Precision"):
- forecast.prior=<fits.json of a previous or pilot sweep>: its Approach 3 surface and its measured noise;
- mode=mock, no prior: the sweep's own mock surface and noise (the truth of a mock sweep);
- otherwise an ASSUMPTION, labelled as such: the mock surface's exponents (config mock.*), shifted in N and
  D (at equal FLOPs) so that its compute-optimal N* at the middle budget is the planner's prior optimum,
  with 1 % noise (forecast.prior_noise), the seed noise measured on CPU sweeps.
"""
import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd

from flops_fit.fit.result import SURFACE_KEYS, FitResult, closed_form_optimum, surface_exponents
from flops_fit.io import BadFile, json_clean, read_json

DEFAULT_NOISE = 0.01
DEFAULT_SIMS = 100
APPROACHES = ("approach2", "approach3")


class PriorError(ValueError):
    """A prior that cannot be used (message: one line naming the file and what to do)."""


# ---- the design and the prior surface
def design_of(plan: dict) -> pd.DataFrame:
    """The planned runs as a run table (id, N, D, C, budget), in the units the analysis uses."""
    e = plan["experiments"]
    return pd.DataFrame({"id": [x["id"] for x in e], "N": [float(x["params"]) for x in e],
                         "D": [float(x["data_units"]) for x in e],
                         "C": [float(x.get("flops_planned") or x["budget_flops"]) for x in e],
                         "budget": [float(x["budget_flops"]) for x in e]})


def flops_per_nd(design: pd.DataFrame) -> float:
    """kappa in C = kappa N D (the compute model Approach 3 uses): the median over the planned runs."""
    return float(np.median(design["C"] / (design["N"] * design["D"])))


def optimum(surface: dict, C, kappa: float):
    """Compute-optimal N*(C) of the surface under C = kappa N D (closed form)."""
    s = {k: surface.get(k, 0.0) for k in SURFACE_KEYS}
    return closed_form_optimum(s["E"], s["A"], s["B"], s["alpha"], s["beta"], C, kappa)[0]


def exponent(surface: dict) -> float:
    return surface_exponents(surface["alpha"], surface["beta"])[0]


def prior_optimum(plan: dict, C: float) -> float:
    """The planner's prior optimum N0 at budget C: the geometric centre of each budget's target sizes
    (they are log-spaced symmetrically around N0), interpolated log-linearly in C."""
    rows = [(x["budget_flops"], x["target_params"]) for x in plan["experiments"] + plan.get("dropped", [])]
    df = pd.DataFrame(rows, columns=["C", "N"])
    centre = np.log(df["N"]).groupby(df["C"]).mean()
    lc = np.log(centre.index.to_numpy(float))
    if len(lc) == 1:
        return float(np.exp(centre.iloc[0]) * (C / centre.index[0]) ** 0.5)
    slope, icpt = np.polyfit(lc, centre.to_numpy(), 1)
    return float(np.exp(icpt + slope * math.log(C)))


def _noise_key(cfg) -> float | None:
    v = (cfg.get("forecast") or {}).get("prior_noise")
    return None if v is None else float(v)


def resolve_prior(cfg: dict, plan: dict, prior=None) -> dict:
    """{surface {E, A, B, alpha, beta}, noise, label, source, assumption}. prior: None (forecast.prior or a
    default), a path to a fits.json, or a dict with the surface keys (and optionally noise)."""
    fc = cfg.get("forecast") or {}
    prior = fc.get("prior") if prior is None else prior
    noise_override = _noise_key(cfg)
    if isinstance(prior, dict):
        surf = {k: float(prior[k]) for k in SURFACE_KEYS}
        noise = noise_override or float(prior.get("noise", DEFAULT_NOISE))
        return {"surface": surf, "noise": noise, "source": "given", "assumption": True,
                "label": f"ASSUMPTION: a given surface with {100 * noise:.2g} % noise"}
    if prior:
        return _prior_from_fits(Path(prior), noise_override)
    if cfg["mode"] == "mock":
        surf = {k: float(cfg["mock"][k]) for k in SURFACE_KEYS}
        noise = noise_override or float(cfg["mock"]["noise"])
        return {"surface": surf, "noise": noise, "source": "mock", "assumption": noise_override is not None,
                "label": f"the sweep's own mock surface (config mock.*) at {100 * noise:.2g} % noise: "
                         "the truth of a mock sweep"}
    return _default_prior(cfg, plan, noise_override or DEFAULT_NOISE)


def _prior_from_fits(path: Path, noise_override) -> dict:
    try:
        fit = FitResult.load(path)
    except BadFile as e:
        raise PriorError(f"forecast.prior={e}; give a sweep's fits.json") from None
    surf = fit.surface
    if not all(math.isfinite(v) for v in surf.values()):
        raise PriorError(f"forecast.prior={path}: no Approach 3 surface in it (status "
                         f"{fit.approach3.get('status', 'missing')}); use a fits.json whose Approach 3 fit succeeded")
    if not all(v > 0 for k, v in surf.items() if k != "E"):
        raise PriorError(f"forecast.prior={path}: its Approach 3 surface has a non-positive parameter ({surf})")
    measured = fit.noise_sigma if math.isfinite(fit.noise_sigma) and fit.noise_sigma != 0 else None
    noise = noise_override or (measured if measured else DEFAULT_NOISE)
    how = ("forecast.prior_noise" if noise_override else "measured there" if measured else "default, none measured")
    return {"surface": surf, "noise": noise, "source": str(path), "assumption": False,
            "label": f"the Approach 3 surface of {path} at {100 * noise:.2g} % noise ({how}); assumes this sweep "
                     "follows the same law"}


def _default_prior(cfg, plan, noise) -> dict:
    """The mock surface's exponents placed at the planner's prior optimum (N -> N*s, D -> D/s, equal FLOPs)."""
    mock = {k: float(cfg["mock"][k]) for k in SURFACE_KEYS}
    design = design_of(plan)
    kappa = flops_per_nd(design)
    b = np.sort(design["budget"].unique())
    c_mid = float(math.sqrt(b[0] * b[-1]))
    s = float(optimum(mock, c_mid, kappa)) / prior_optimum(plan, c_mid)
    surf = dict(mock, A=mock["A"] * s ** -mock["alpha"], B=mock["B"] * s ** mock["beta"])
    return {"surface": surf, "noise": noise, "source": "default", "assumption": True,
            "label": (f"ASSUMPTION (no forecast.prior): the mock surface's exponents (alpha={mock['alpha']:g}, "
                      f"beta={mock['beta']:g}, a={exponent(mock):.3g}) with the optimum placed at the planner's "
                      f"prior N0 at C={c_mid:.3g}, {100 * noise:.2g} % noise per run. Give a pilot sweep's "
                      "fits.json as forecast.prior for a forecast you can rely on.")}


# ---- the Monte Carlo and the bound
def _targets(cfg, design) -> list:
    # the fit's rule (analysis.targets, else the sweep's budgets.targets), else the largest budget
    from flops_fit.fit.session import targets_for
    t, _ = targets_for(cfg.get("analysis") or {}, (cfg.get("budgets") or {}).get("targets"))
    return list(t or ()) or [float(design["budget"].max())]


def simulate(design: pd.DataFrame, surface: dict, noise: float, *, targets, n_sims=DEFAULT_SIMS, seed=0,
             huber_delta=1e-3, unit="tokens") -> dict:
    """Fit n_sims mock sweeps of the design; per approach the fitted a and ln N*(target) of each sweep."""
    from flops_fit.fit import FitError, analyze
    from flops_fit.fit.result import surface_loss

    rng = np.random.default_rng(seed)
    clean = surface_loss(design["N"].to_numpy(), design["D"].to_numpy(), *(surface[k] for k in SURFACE_KEYS))
    a = {k: np.full(n_sims, np.nan) for k in APPROACHES}
    lnN = {k: np.full((n_sims, len(targets)), np.nan) for k in APPROACHES}
    failed = 0
    for i in range(n_sims):
        runs = design.assign(loss=clean * np.exp(noise * rng.standard_normal(len(design))), status="completed")
        try:
            an = analyze(runs, targets=tuple(targets), bootstrap=0, huber_delta=huber_delta, unit=unit)
        except (FitError, ValueError):
            failed += 1
            continue
        if an.approach2.status == "ok":
            a["approach2"][i] = an.approach2.n_star.exponent
        if an.approach3.status in ("ok", "hit_bound"):
            a["approach3"][i] = an.approach3.a
        for r in an.table:
            if r.budget in targets:
                lnN[r.approach][i, targets.index(r.budget)] = math.log(r.n_star)
    return {"a": a, "ln_n_star": lnN, "failed": failed, "n_sims": n_sims}


def _sd(x) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1)) if len(x) >= 10 else float("nan")


def cramer_rao(design, surface, noise, targets, kappa) -> dict:
    """The Cramér–Rao bound on sd(a) (flops_fit.fit.design) and, by the same Fisher information, on
    sd(ln N*(target)) (the delta method through N* = G (C/kappa)^a)."""
    from flops_fit.fit.design import exponent_sd_bound, jacobian
    N, D = design["N"].to_numpy(), design["D"].to_numpy()
    sd_a = exponent_sd_bound(N, D, *(surface[k] for k in SURFACE_KEYS), noise)
    out = {"a_sd": sd_a, "ln_n_star_sd": [float("nan")] * len(targets)}
    if not math.isfinite(sd_a):
        return out
    J = jacobian(N, D, *(surface[k] for k in SURFACE_KEYS))
    fisher_inv = np.linalg.inv(J.T @ J) * noise ** 2
    N0, D0 = np.exp(np.mean(np.log(N))), np.exp(np.mean(np.log(D)))

    def ln_nstar(th, C):   # in jacobian's parameters (E, a', b', alpha, beta), a' = A N0^-alpha, b' = B D0^-beta
        _, ap, bp, al, be = th
        return float(np.log(optimum({"A": ap * N0 ** al, "B": bp * D0 ** be, "alpha": al, "beta": be}, C, kappa)))

    th0 = np.array([surface["E"], surface["A"] * N0 ** -surface["alpha"], surface["B"] * D0 ** -surface["beta"],
                    surface["alpha"], surface["beta"]])
    for j, C in enumerate(targets):
        g = np.zeros(5)
        for k in range(1, 5):
            h = 1e-6 * abs(th0[k])
            up, dn = th0.copy(), th0.copy()
            up[k] += h
            dn[k] -= h
            g[k] = (ln_nstar(up, C) - ln_nstar(dn, C)) / (2 * h)
        out["ln_n_star_sd"][j] = float(np.sqrt(g @ fisher_inv @ g))
    return out


def precision_of(design, prior, *, targets, n_sims, seed, huber_delta, unit) -> dict:
    """One design's forecast: per approach sd and bias of a and of ln N*(target), beside the bound."""
    surf, noise = prior["surface"], prior["noise"]
    kappa = flops_per_nd(design)
    sims = simulate(design, surf, noise, targets=targets, n_sims=n_sims, seed=seed, huber_delta=huber_delta,
                    unit=unit)
    a_true = exponent(surf)
    ln_true = np.log(optimum(surf, targets, kappa))
    res = {}
    for k in APPROACHES:
        a = sims["a"][k]
        ok = np.isfinite(a)
        sd = _sd(a)
        res[k] = {"a_sd": sd, "a_sd_se": sd / math.sqrt(2 * max(1, ok.sum() - 1)) if ok.sum() else float("nan"),
                  "a_bias": float(np.nanmean(a) - a_true) if ok.any() else float("nan"),
                  "a_fitted": int(ok.sum()),
                  "n_star": [{"target": t, "ln_sd": _sd(sims["ln_n_star"][k][:, j]),
                              "ln_bias": (float(np.nanmean(sims["ln_n_star"][k][:, j]) - ln_true[j])
                                          if np.isfinite(sims["ln_n_star"][k][:, j]).any() else float("nan"))}
                             for j, t in enumerate(targets)]}
    cr = cramer_rao(design, surf, noise, targets, kappa)
    return {"runs": int(len(design)), "budgets": int(design["budget"].nunique()),
            "sizes_per_budget": int(round(len(design) / design["budget"].nunique())),
            "flops": float(design["C"].sum()), "n_sims": n_sims, "failed": sims["failed"], "a_true": a_true,
            "n_star_true": [float(x) for x in np.exp(ln_true)], "approaches": res,
            "cramer_rao": {"a_sd": cr["a_sd"],
                           "n_star": [{"target": t, "ln_sd": s} for t, s in zip(targets, cr["ln_n_star_sd"])]}}


# ---- alternative designs and the entry point
def design_variant(cfg: dict, variant: dict) -> dict:
    """cfg with a design variant applied: {budgets: [...], sizes: int, spread: float, name: str}."""
    unknown = set(variant) - {"name", "budgets", "sizes", "spread"}
    if unknown:
        raise PriorError(f"forecast.designs: unknown key(s) {sorted(unknown)} in {variant}; "
                         "use name, budgets, sizes, spread")
    c = copy.deepcopy(cfg)
    if "budgets" in variant:
        c["budgets"]["values"] = [float(b) for b in variant["budgets"]]
    if "sizes" in variant:
        c["planner"]["sizes"] = int(variant["sizes"])
    if "spread" in variant:
        c["planner"]["spread"] = float(variant["spread"])
    return c


def forecast_precision(cfg: dict, plan: dict, prior=None, *, n_sims=None, seed=None, device_hours=None) -> dict:
    """The precision forecast of cfg's planned design (and of forecast.designs alternatives), JSON-able,
    with a "markdown" section for forecast.md. device_hours: optional callable(plan) -> device-hours (the
    time forecast), used to put a cost beside each alternative design."""
    from .precision_md import markdown
    fc = cfg.get("forecast") or {}
    n_sims = int(n_sims if n_sims is not None else fc.get("precision_sims", DEFAULT_SIMS))
    seed = int(seed if seed is not None else cfg.get("seed", 0))
    pri = resolve_prior(cfg, plan, prior)
    an = cfg.get("analysis") or {}
    kw = {"n_sims": n_sims, "seed": seed, "huber_delta": an.get("huber_delta", 1e-3),
          "unit": plan["experiments"][0]["unit"]}
    design = design_of(plan)
    targets = _targets(cfg, design)
    out = {"method": "Monte Carlo of the analysis (flops_fit.fit.analyze, no bootstrap) on mock sweeps of the "
                     "planned design at the prior surface; Cramer-Rao bound (flops_fit.fit.design) beside it",
           "prior": pri, "targets": targets, "planned": precision_of(design, pri, targets=targets, **kw)}
    if device_hours is not None:
        out["planned"]["device_hours"] = float(device_hours(plan))
    variants = []
    for v in fc.get("designs") or []:
        from flops_fit.plan import plan as make_plan
        p2 = make_plan(design_variant(cfg, v))
        if not p2["experiments"]:
            variants.append({"design": v, "error": "no feasible experiments"})
            continue
        r = precision_of(design_of(p2), pri, targets=targets, **kw)
        r["design"] = v
        if device_hours is not None:
            r["device_hours"] = float(device_hours(p2))
        variants.append(r)
    out["designs"] = variants
    out = json_clean(out)
    out["markdown"] = markdown(out)
    return out
