"""Where an IsoFLOP vertex sits relative to the sizes that were run: the one edge test.

The fits use it to mark a budget `near_edge` (its optimum is an extrapolation, left out of the power laws by
default), and the adaptive planner uses the same test to decide on which side to extend a budget's grid.

A vertex is near an edge when it lies within `margin_steps` grid steps of the smallest or largest sampled
size (a grid step: the median spacing of the distinct sampled log sizes), or when its interval (e.g. the
bootstrap's) reaches that edge. Outside the sampled range it is `below` / `above`.
"""
import numpy as np

INTERIOR, NEAR_LOW, NEAR_HIGH, BELOW, ABOVE = "interior", "near_low", "near_high", "below", "above"
UNDEFINED = "undefined"  # no finite vertex, or no sampled sizes
MARGIN_STEPS = 1.0


def grid_step(x_grid) -> float:
    """Median spacing of the distinct sampled values (log10 sizes); nan with fewer than two."""
    x = np.unique(np.asarray(x_grid, float)[np.isfinite(np.asarray(x_grid, float))])
    return float(np.median(np.diff(x))) if len(x) >= 2 else float("nan")


def edge_position(x_star, x_grid, ci=None, margin_steps=MARGIN_STEPS) -> str:
    """'interior' | 'near_low' | 'near_high' | 'below' | 'above' | 'undefined' for vertex x_star (log10) on sampled x_grid.

    ci: optional (lo, hi) interval of x_star in the same units; reaching an edge counts as near it."""
    x = np.asarray(x_grid, float)
    x = x[np.isfinite(x)]
    if not np.isfinite(x_star) or len(x) == 0:
        return UNDEFINED
    lo_edge, hi_edge = float(x.min()), float(x.max())
    if x_star < lo_edge:
        return BELOW
    if x_star > hi_edge:
        return ABOVE
    margin = margin_steps * grid_step(x) if len(np.unique(x)) >= 2 else 0.0
    near_lo, near_hi = x_star - lo_edge < margin, hi_edge - x_star < margin
    if ci is not None:
        c_lo, c_hi = ci
        near_lo |= bool(np.isfinite(c_lo) and c_lo <= lo_edge)
        near_hi |= bool(np.isfinite(c_hi) and c_hi >= hi_edge)
    if near_lo and near_hi:  # a grid too narrow to tell: call it by the nearer edge
        return NEAR_LOW if x_star - lo_edge <= hi_edge - x_star else NEAR_HIGH
    return NEAR_LOW if near_lo else NEAR_HIGH if near_hi else INTERIOR


def is_interior(x_star, x_grid, ci=None, margin_steps=MARGIN_STEPS) -> bool:
    return edge_position(x_star, x_grid, ci, margin_steps) == INTERIOR
