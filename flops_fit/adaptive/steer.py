"""From a prediction of N*(C) to a later budget's size grid: centre, spread, hysteresis, fallback.

All in log10 N. The prior grid is planner.sizes points over [c0 - h0, c0 + h0], c0 = log10 of the prior optimum,
h0 = log10(planner.spread), step s0 = 2 h0 / (sizes - 1).
- Fallback: a prediction that failed, or whose interval is wider than twice the prior grid (the data know less
  than the prior's grid covers), keeps the prior grid, with the reason recorded; re-anchored, when at least one
  earlier budget has its vertex inside its sizes: the prior's own scaling (N0(C) from planner.tokens_per_param),
  moved by how far off it was there (`anchor`: the mean log10 N*/N0 of those budgets), at the prior spread. A
  prior 8x off in tokens per parameter is ~2.8x off in N at every budget, which one budget measures.
- Centre: the predicted optimum, snapped to whole prior grid steps from the prior centre (so the sizes stay on
  the prior grid's lattice: the same models, measured once); a predicted shift smaller than one prior grid step
  keeps the prior centre (hysteresis: noise in the early budgets does not move a grid).
- Spread: narrowed so that the truth, anywhere in the prediction's interval, still lies a full grid step inside
  the grid: h >= halfwidth (sizes - 1) / (sizes - 3); never below log10(planner.adaptive_min_spread), never
  above the prior spread, in half prior steps (so it narrows only by at least half a step: hysteresis again).
"""
import math
from dataclasses import dataclass

import numpy as np

from .predict import Prediction


@dataclass(frozen=True)
class Grid:
    centre: float       # log10 N
    half_span: float    # log10 spread
    sizes: int
    planned_by: str     # prior | adaptive
    reason: str

    @property
    def targets(self) -> np.ndarray:
        return 10.0 ** (self.centre + self.half_span * np.linspace(-1.0, 1.0, self.sizes))

    @property
    def spread(self) -> float:
        return float(10.0 ** self.half_span)

    def as_dict(self) -> dict:
        return {"centre_n": float(10 ** self.centre), "spread": self.spread, "sizes": self.sizes,
                "planned_by": self.planned_by, "reason": self.reason}


def prior_grid(n0: float, planner: dict) -> Grid:
    return Grid(math.log10(n0), math.log10(planner["spread"]), int(planner["sizes"]), "prior", "prior grid")


def steer(n0: float, pred: Prediction, planner: dict, anchor: float = float("nan")) -> Grid:
    """The grid for a later budget: the prior grid (fallback, hysteresis), the prior re-anchored on the earlier
    budgets' vertices (fallback with anchor = their mean log10 N*/N0), or one centred on the prediction."""
    prior = prior_grid(n0, planner)
    h0, n = prior.half_span, prior.sizes
    step0 = 2 * h0 / (n - 1)
    hw = pred.halfwidth
    why = None
    if pred.status != "ok" or not np.isfinite(pred.log10_n):
        why = pred.reason
    elif not np.isfinite(hw) or hw > 2 * h0:
        why = (f"the prediction N* = {10 ** pred.log10_n:.3g} is too uncertain (95% interval x/÷ {10 ** hw:.3g}, "
               f"wider than twice the prior spread {10 ** h0:.3g})")
    if why is not None:
        if np.isfinite(anchor) and abs(anchor) >= step0:
            steps = int(round(anchor / step0))
            return Grid(prior.centre + steps * step0, h0, n, "adaptive",
                        f"{why}; re-anchored the prior on {len(pred.vertices)} earlier vertex(es) (the prior's N* was "
                        f"x {10 ** -anchor:.3g} theirs): moved {steps:+d} grid steps")
        return Grid(prior.centre, h0, n, "prior", f"fallback to the prior grid: {why}")
    shift = pred.log10_n - prior.centre
    moved = abs(shift) >= step0
    steps = int(round(shift / step0)) if moved else 0
    centre = prior.centre + steps * step0
    floor = math.log10(planner.get("adaptive_min_spread", 2.0))
    need = max(floor, hw * (n - 1) / (n - 3) if n > 3 else h0)
    h = h0 - math.floor(max(h0 - need, 0.0) / (step0 / 2) + 1e-9) * (step0 / 2)   # >= need, in half steps
    narrowed = h < h0 - 1e-12
    why = []
    why.append(f"centred on the predicted N* = {10 ** pred.log10_n:.3g} (x {10 ** shift:.3g} the prior: "
               f"moved {steps:+d} grid steps)" if moved else
               f"predicted shift x {10 ** shift:.3g} is under one grid step (x {10 ** step0:.3g}): kept the prior centre")
    if narrowed:
        why.append(f"spread narrowed to {10 ** h:.3g} (95% interval x/÷ {10 ** hw:.3g}, floor "
                   f"{10 ** floor:.3g})")
    return Grid(centre, h, n, "adaptive" if (moved or narrowed) else "prior", "; ".join(why))
