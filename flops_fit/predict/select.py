"""Choose a law for per-run losses out of sample: by its rollout error, with a parsimony rule.

Score: the rollout's weighted mean |log(predicted / actual)| (rollout.py), every cut counting the same.
Parsimony rule: among the laws with the fewest parameters (the shared-exponent forms) take the best score, s.
A law with more parameters replaces s only if its score is lower than s's by more than the noise of that
difference: twice the standard error of the per-cut differences (paired on the same cuts and test runs), i.e.
    score(s) - score(b) > 2 SE(per-cut score(s) - score(b)).
(With one SE, the 5-parameter form won 20 % of 200 seeds on a surface with alpha = beta, docs/predict.md.)
Between laws with the same number of parameters (objectives, weightings) the lower score wins.
Each law's misfit tau per axis (rollout.misfit_tau) comes from the same rollout.
"""
import numpy as np
import pandas as pd

from flops_fit.constants import LEVEL

from .laws import LAWS, fit_law
from .rollout import misfit_tau, rollout, summarize

SE_FACTOR = 2.0
PARSIMONY_RULE = ("keep the law with the fewest parameters (best rollout score among them) unless one with more "
                  "parameters lowers the rollout's weighted mean |log error| by more than twice the standard error "
                  "of the per-cut differences")


def _per_cut(ro):
    ro = ro.assign(aerr=ro["log_error"].abs() * ro["weight"])
    return ro.groupby(["axis", "cut"])["aerr"].sum()   # weights sum to 1 per cut


def score(ro) -> float:
    return float(_per_cut(ro).mean()) if len(ro) else np.inf


def compare(ro_simple, ro_other) -> tuple:
    """(score difference simple - other, its standard error) on the cuts both have."""
    a, b = _per_cut(ro_simple), _per_cut(ro_other)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return np.nan, np.nan
    d = (a[common] - b[common]).to_numpy(float)
    se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.inf
    return float(d.mean()), se


def choose(rollouts: dict) -> tuple:
    """(selected name, reason) from {name: rollout frame}."""
    scored = {k: score(ro) for k, ro in rollouts.items() if len(ro)}
    if not scored:
        return None, "no law could be rolled out (too few runs or distinct sizes for a cut)"
    pmin = min(LAWS[k].n_params for k in scored)
    simple = min((k for k in scored if LAWS[k].n_params == pmin), key=scored.get)
    best = min(scored, key=scored.get)
    if LAWS[best].n_params == pmin:
        return simple, f"{simple}: lowest rollout error among the simplest forms ({scored[simple]:.4g})"
    diff, se = compare(rollouts[simple], rollouts[best])
    if np.isfinite(diff) and diff > SE_FACTOR * se:
        return best, (f"{best}: rollout error {scored[best]:.4g} against {scored[simple]:.4g} for the simpler "
                      f"{simple}, better by {diff:.3g} > 2 x its standard error {se:.3g}")
    noise = (f"2 x the standard error {se:.3g}" if np.isfinite(se) else
             "its noise (one common cut: no standard error to beat)")
    return simple, (f"{simple}: the simpler form; {best}'s rollout error {scored[best]:.4g} against "
                    f"{scored[simple]:.4g} is not better by more than {noise}")


def evaluate_laws(runs: pd.DataFrame, names=None, *, noise=None, level=LEVEL, loss_unit="nats") -> dict:
    """Fit, roll out and score each law on runs (columns N, D, loss[, C, budget]); choose one.
    Returns {laws: {name: {fit, tau, rollout (frame), summary, score}}, selected, reason}."""
    names = list(names or LAWS)
    out = {}
    for name in names:
        ro = rollout(runs, name, noise=noise, level=level)
        tau = misfit_tau(ro, level)   # {axis: tau}
        fit = fit_law(runs["N"], runs["D"], runs["loss"], name, noise=noise)
        out[name] = {"fit": fit, "tau": tau, "rollout": ro, "score": score(ro),
                     "summary": summarize(ro, tau=0.0, level=level, loss_unit=loss_unit)}
    usable = {k: v["rollout"] for k, v in out.items() if v["fit"].ok and len(v["rollout"])}
    selected, reason = choose(usable)
    if selected is None:   # no rollout possible: the default form if it fitted, else any that did
        fitted = [k for k, v in out.items() if v["fit"].ok]
        selected = "chinchilla" if "chinchilla" in fitted else (fitted[0] if fitted else None)
        reason = reason + (f"; using {selected} without an out-of-sample misfit term" if selected else "")
    return {"laws": out, "selected": selected, "reason": reason, "rule": PARSIMONY_RULE}
