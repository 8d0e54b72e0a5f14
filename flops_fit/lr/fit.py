"""Fit the LR calibration: a parabola in log LR per cell, then the rule's constants with intervals.

Per cell, loss against x = ln(lr): the parabola through the best run and its two neighbours gives the cell's
optimum (its vertex). Its standard error comes from that parabola's covariance (the delta method), with the loss's
scatter measured as the residual variance of wider parabolas (up to 5 points around the best run) pooled over all
cells. A cell whose best run is its lowest or highest multiplier is flagged ``edge_low`` / ``edge_high``: its
optimum is not measured (the next calibration plan extends its multipliers), and it stays out of the rule.

The rule, ln lr* = ln base - exponent_n ln(N / ref_params) + exponent_d ln(D / ref_tokens), is fitted to the
measured optima by weighted least squares (weights 1 / se^2; the covariance scaled by the reduced chi-square
when it exceeds 1), with ref_params and ref_tokens at the cells' geometric means so base is the rule's value in
the middle of the calibrated range. Intervals: 95 %, Student t on the residual degrees of freedom. Needs no torch.
"""
import math
from dataclasses import asdict, dataclass

import numpy as np

from flops_fit.constants import LEVEL

WINDOW = 5   # points around the best run the parabola sees


@dataclass(frozen=True)
class CellFit:
    status: str            # ok | edge_low | edge_high | no_curvature | too_few
    lr_opt: float          # the vertex (nan unless measured)
    log_se: float          # standard error of ln(lr_opt) (nan without a noise estimate)
    coef: tuple            # parabola in x = ln lr: c0 + c1 x + c2 x^2 (nan when not fitted)
    rss: float
    dof: int
    xtx_inv: tuple         # (X'X)^-1 of the parabola, flattened (the covariance without the noise)
    best_lr: float         # the run with the lowest loss


def _parabola(xs, ys):
    X = np.stack([np.ones_like(xs), xs, xs ** 2], axis=1)
    coef, *_ = np.linalg.lstsq(X, ys, rcond=None)
    return coef, float(np.sum((X @ coef - ys) ** 2)), len(xs) - 3, tuple(np.linalg.pinv(X.T @ X).ravel())


def fit_cell(lrs, losses) -> CellFit:
    """The cell's optimum from (lr, loss) pairs; runs without a finite loss (failed, diverged) are left out.

    The vertex is the parabola through the best run and its two neighbours (a small model's loss(LR) is far from a
    parabola over x16, and a wide fit's vertex can land outside the runs). The parabola through up to WINDOW points
    around the best run measures the scatter about that local shape: its residuals feed the pooled noise."""
    pts = sorted((math.log(lr), y) for lr, y in zip(lrs, losses) if y is not None and math.isfinite(y))
    nan = float("nan")
    if len(pts) < 3:
        best = math.exp(min(pts, key=lambda p: p[1])[0]) if pts else nan
        return CellFit("too_few", nan, nan, (nan,) * 3, nan, 0, (nan,) * 9, best)
    x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    i = int(np.argmin(y))
    best = float(math.exp(x[i]))
    lo = max(0, min(i - WINDOW // 2, len(x) - WINDOW))
    _, rss, dof, _ = _parabola(x[lo:lo + WINDOW], y[lo:lo + WINDOW])
    if i == 0 or i == len(x) - 1:
        coef, _, _, xtx_inv = _parabola(x[:3] if i == 0 else x[-3:], y[:3] if i == 0 else y[-3:])
        return CellFit("edge_low" if i == 0 else "edge_high", nan, nan, tuple(float(c) for c in coef), rss, dof,
                       xtx_inv, best)
    coef, _, _, xtx_inv = _parabola(x[i - 1:i + 2], y[i - 1:i + 2])
    if coef[2] <= 0:   # the middle point is the lowest, so only a tie gets here
        return CellFit("no_curvature", nan, nan, tuple(coef), rss, dof, xtx_inv, best)
    xv = -coef[1] / (2 * coef[2])
    return CellFit("ok", float(math.exp(xv)), nan, tuple(float(c) for c in coef), rss, dof, xtx_inv, best)


def with_noise(cell: CellFit, sigma2: float) -> CellFit:
    """The cell with the standard error of ln(lr_opt), for a residual variance sigma2 of the loss."""
    if cell.status != "ok" or not math.isfinite(sigma2):
        return cell
    c0, c1, c2 = cell.coef
    g = np.array([0.0, -1.0 / (2 * c2), c1 / (2 * c2 ** 2)])
    var = float(g @ (sigma2 * np.array(cell.xtx_inv).reshape(3, 3)) @ g)
    return CellFit(**{**asdict(cell), "log_se": math.sqrt(max(var, 0.0))})


def pooled_noise(cells) -> float:
    """The loss's residual variance about the parabolas, pooled over the cells that have residual dof."""
    rss = sum(c.rss for c in cells if c.dof > 0 and math.isfinite(c.rss))
    dof = sum(c.dof for c in cells if c.dof > 0 and math.isfinite(c.rss))
    return rss / dof if dof else float("nan")


@dataclass(frozen=True)
class RuleFit:
    status: str                  # ok | failed
    rule: dict | None            # base, ref_params, ref_tokens, exponent_n, exponent_d
    intervals: dict | None       # {base | exponent_n | exponent_d: [lo, hi]} at LEVEL
    stderr: dict | None
    n_cells: int
    dof: int
    reason: str | None = None


def fit_rule(params, tokens, lr_opt, log_se=None) -> RuleFit:
    """The rule through the cells' optima (N, D, lr*), weighted by 1/se^2 of ln lr* where given."""
    from scipy import stats
    n, d, y = (np.log(np.asarray(v, float)) for v in (params, tokens, lr_opt))
    k = len(y)
    if k < 3:
        return RuleFit("failed", None, None, None, k, 0, f"{k} cells with a measured optimum; the rule needs 3")
    n_ref, d_ref = float(f"{math.exp(n.mean()):.3g}"), float(f"{math.exp(d.mean()):.3g}")
    X = np.stack([np.ones(k), -(n - math.log(n_ref)), d - math.log(d_ref)], axis=1)
    if np.linalg.matrix_rank(X) < 3:
        return RuleFit("failed", None, None, None, k, 0, "the cells do not vary N and D independently; "
                       "raise lr_calibration.sizes or lr_calibration.ratios")
    se = np.asarray(log_se, float) if log_se is not None else np.full(k, np.nan)
    w = 1.0 / se ** 2 if np.all(np.isfinite(se)) and np.all(se > 0) else np.ones(k)
    W = np.diag(w)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ y
    dof = k - 3
    chi2 = float(np.sum(w * (y - X @ beta) ** 2))
    weighted = not np.all(w == 1.0)
    if dof > 0:
        scale = max(1.0, chi2 / dof) if weighted else chi2 / dof
        q = stats.t.ppf(0.5 + LEVEL / 2, dof) if (not weighted or chi2 / dof > 1) else stats.norm.ppf(0.5 + LEVEL / 2)
    elif weighted:
        scale, q = 1.0, stats.norm.ppf(0.5 + LEVEL / 2)
    else:   # three cells, no per-cell errors: an exact fit with no interval
        scale, q = float("nan"), float("nan")
    sd = np.sqrt(np.diag(cov) * scale)
    rule = {"base": float(math.exp(beta[0])), "ref_params": n_ref, "ref_tokens": d_ref,
            "exponent_n": float(beta[1]), "exponent_d": float(beta[2])}
    iv = {"base": [math.exp(beta[0] - q * sd[0]), math.exp(beta[0] + q * sd[0])],
          "exponent_n": [beta[1] - q * sd[1], beta[1] + q * sd[1]],
          "exponent_d": [beta[2] - q * sd[2], beta[2] + q * sd[2]]}
    iv = {key: [float(a), float(b)] for key, (a, b) in iv.items()}
    stderr = {"log_base": float(sd[0]), "exponent_n": float(sd[1]), "exponent_d": float(sd[2])}
    return RuleFit("ok", rule, iv, stderr, k, dof)


def fit_calibration(cells: list) -> dict:
    """cells: [{key, params, tokens, full_length, lrs, losses, ...}] -> the calibration's cells and rule.

    The full-length cell stays out of the rule: it checks the rule's extrapolation from truncated runs."""
    fits = [fit_cell(c["lrs"], c["losses"]) for c in cells]
    sigma2 = pooled_noise(fits)
    fits = [with_noise(f, sigma2) for f in fits]
    use = [i for i, (c, f) in enumerate(zip(cells, fits)) if f.status == "ok" and not c.get("full_length")]
    rf = fit_rule([cells[i]["params"] for i in use], [cells[i]["tokens"] for i in use],
                  [fits[i].lr_opt for i in use], [fits[i].log_se for i in use])
    out_cells = []
    for c, f in zip(cells, fits):
        row = {k: v for k, v in c.items()}
        row.update(status=f.status, lr_opt=_num(f.lr_opt), log_se=_num(f.log_se), best_lr=_num(f.best_lr),
                   parabola=[_num(v) for v in f.coef])
        if rf.rule:
            from .rule import rule_lr
            row["rule_lr"] = rule_lr(rf.rule, c["params"], c["tokens"])
        out_cells.append(row)
    result = {"status": rf.status, "reason": rf.reason, "rule": rf.rule, "intervals": rf.intervals, "level": LEVEL,
              "stderr": rf.stderr, "cells_used": rf.n_cells, "dof": rf.dof, "loss_noise_sd": _num(math.sqrt(sigma2))
              if math.isfinite(sigma2) else None, "cells": out_cells,
              "edge_cells": [c["key"] for c, f in zip(cells, fits) if f.status.startswith("edge")]}
    result["full_length_check"] = _full_length(out_cells, rf.rule)
    return result


def _full_length(cells, rule):
    """The full-length cell against its truncated twin and the rule: how truncation biases the optimum."""
    full = next((c for c in cells if c.get("full_length")), None)
    if full is None:
        return None
    twin = next((c for c in cells if not c.get("full_length") and c["params"] == full["params"]
                 and c.get("tokens_cell") == full.get("tokens_cell")), None)
    out = {"key": full["key"], "params": full["params"], "tokens": full["tokens"], "status": full["status"],
           "lr_opt": full["lr_opt"], "log_se": full["log_se"]}
    if rule:
        from .rule import rule_lr
        out["rule_lr"] = rule_lr(rule, full["params"], full["tokens"])
        out["rule_lr_at_truncated_d"] = rule_lr(rule, full["params"], twin["tokens"]) if twin else None
        if full["lr_opt"]:
            out["measured_over_rule"] = full["lr_opt"] / out["rule_lr"]
    if twin:
        out["truncated_key"], out["truncated_lr_opt"] = twin["key"], twin["lr_opt"]
        if full["lr_opt"] and twin["lr_opt"]:
            out["full_over_truncated"] = full["lr_opt"] / twin["lr_opt"]
    return out


def _num(v):
    return float(v) if v is not None and math.isfinite(v) else None
