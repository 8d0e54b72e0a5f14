"""Extend at the edge: when a budget's IsoFLOP vertex is at or near an edge of its sizes, add sizes beyond it.

The edge test is the fits' (flops_fit.fit.edge.edge_position on the budget's log10 sizes). The vertex is that
of the analysis' parabola of loss in log10 N over the budget's usable runs; a parabola with no positive
curvature (losses still falling towards an edge) points at the edge with the lowest loss. New sizes continue
the budget's grid at its own step (the median spacing of its planned target sizes, so new sizes land on the
grid's lattice): one step past the edge when the vertex is near it, or enough steps to put an outside vertex one
step inside, never more than the extension budget left. Losses with no curvature whose lowest is not at an edge
(`flat`: noise over a grid too narrow to show the bowl) widen the grid by a step on each side, the side nearer
the lowest loss first.
"""
import math

import numpy as np

from flops_fit.fit.approach2 import fit_parabola
from flops_fit.fit.edge import ABOVE, BELOW, INTERIOR, NEAR_HIGH, NEAR_LOW, edge_position, grid_step

from .predict import used_runs

FLAT = "flat"   # the losses have no curvature and their lowest is not at an edge: the grid is too narrow for the noise


def edge_of(budget_runs) -> dict:
    """{'position', 'x_star', 'step', 'x_min', 'x_max', 'how'} for one budget's runs (runs_frame rows)."""
    used = used_runs(budget_runs)
    x = np.log10(used["N"].to_numpy(float))
    y = used["loss"].to_numpy(float)
    xs = np.unique(x)
    out = {"position": "undefined", "x_star": float("nan"), "step": grid_step(xs),
           "x_min": float(xs.min()) if len(xs) else float("nan"), "x_max": float(xs.max()) if len(xs) else float("nan"),
           "how": "too few usable runs"}
    if len(xs) < 3:
        return out
    p = fit_parabola(x, y)
    if p.status in ("ok", "edge_of_grid"):
        out.update(position=edge_position(p.x_star, xs), x_star=float(p.x_star), how="parabola vertex")
        return out
    # no curvature: the losses fall towards the edge holding the lowest loss (or are flat)
    means = {v: y[x == v].mean() for v in xs}
    best = min(means, key=means.get)
    pos = ABOVE if best == xs.max() else BELOW if best == xs.min() else FLAT
    out.update(position=pos, x_star=float(best), how=f"{p.status}: lowest loss at N = {10 ** best:.3g}")
    return out


def extension_targets(budget_runs, remaining: int) -> tuple:
    """(targets, decision): sizes (N) to add beyond the edge the vertex is at, at most `remaining` of them."""
    e = edge_of(budget_runs)
    pos, step = e["position"], e["step"]
    decision = {**e, "remaining": int(remaining)}
    if pos in (INTERIOR, "undefined") or remaining <= 0 or not np.isfinite(step):
        decision["added"] = 0
        decision["why"] = ("vertex inside the sizes" if pos == INTERIOR else
                           "no extension left (planner.extend)" if remaining <= 0 else f"no vertex ({e['how']})")
        return [], decision
    t = np.log10(budget_runs["target"].to_numpy(float))   # the planned targets' lattice (the actual sizes round it)
    t_step = grid_step(t) if np.isfinite(grid_step(t)) else step
    if pos == FLAT:   # no curvature across the sizes (noise over a narrow grid): widen it on both sides
        low_first = e["x_star"] - e["x_min"] <= e["x_max"] - e["x_star"]
        sides = [-1.0, 1.0] if low_first else [1.0, -1.0]
        sides = sides[:int(min(2, remaining))]
        targets = [float(10 ** (float(t.max() if sign > 0 else t.min()) + sign * t_step)) for sign in sides]
        decision["added"] = len(targets)
        decision["why"] = (f"no curvature across the sizes ({e['how']}): {len(targets)} size(s) "
                           f"{'below and above' if len(targets) == 2 else 'below' if sides[0] < 0 else 'above'}")
        return targets, decision
    high = pos in (NEAR_HIGH, ABOVE)
    edge = e["x_max"] if high else e["x_min"]
    beyond = (e["x_star"] - edge) if high else (edge - e["x_star"])
    n_add = 1 if pos in (NEAR_HIGH, NEAR_LOW) else math.ceil(max(beyond, 0.0) / step + 1e-9) + 1
    n_add = int(min(max(n_add, 1), remaining))
    sign = 1.0 if high else -1.0
    t_edge = float(t.max() if high else t.min())
    targets = [float(10 ** (t_edge + sign * t_step * j)) for j in range(1, n_add + 1)]
    decision["added"] = n_add
    decision["why"] = (f"vertex {pos} ({e['how']}, N* ~ {10 ** e['x_star']:.3g}): {n_add} size(s) "
                       f"{'above' if high else 'below'} N = {10 ** edge:.3g}")
    return targets, decision
