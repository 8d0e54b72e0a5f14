"""Where each cell of one size's run decays: warmup, then per cell a decay of a fraction of its period
(the steps since the previous cell), at least ``planner.cooldown.min_steps`` optimizer steps.

A cell whose period cannot hold the floor (first cell: after the warmup) is *under the floor*: by default it is not
planned (the run goes on through that budget without a decay; the plan's ``dropped`` lists it with the key
``planner.cooldown.min_steps``); with ``planner.cooldown.keep_under_floor: true`` it is planned with a decay over its
whole period and flagged ``under_floor`` in its spec and metrics.json.
"""
from dataclasses import dataclass

from flops_fit.train.schedule import warmup_steps


@dataclass(frozen=True)
class Cell:
    end: int           # cumulative optimizer steps at the cell (its data size / units per step)
    start: int         # the previous cell's end (0 for the first)
    decay: int         # decay steps, ending at `end`
    under_floor: bool  # the period could not hold the floor's decay


def cooldown_settings(planner: dict) -> dict:
    """The planner's cooldown block with its defaults (the schema's)."""
    c = dict(planner.get("cooldown") or {})
    return {"fraction": float(c.get("fraction", 0.2)), "min_steps": int(c.get("min_steps", 50)),
            "shape": str(c.get("shape", "1-sqrt")), "keep_under_floor": bool(c.get("keep_under_floor", False)),
            "mock_penalty": float(c.get("mock_penalty", 0.01))}


def chain(ends, warmup_frac: float, cool: dict):
    """(warmup, kept cells, [(dropped end, steps its period had for a decay), ...]) for one size's cells at cumulative steps ``ends`` (any order).

    The warmup is the cosine run's of the first kept cell: ``warmup_steps(end_1, warmup_frac)``."""
    ends = sorted(set(int(e) for e in ends))
    frac, floor, keep = cool["fraction"], cool["min_steps"], cool["keep_under_floor"]
    cells, dropped, warmup, prev = [], [], 0, 0
    for end in ends:
        w = warmup_steps(end, warmup_frac) if not cells else warmup
        avail = end - prev - (w if not cells else 0)
        under = avail < floor
        if avail < 1 or (under and not keep):
            dropped.append((end, max(0, avail)))
            continue
        decay = min(avail, max(floor, int(round(frac * (end - prev)))))
        cells.append(Cell(end=end, start=prev, decay=decay, under_floor=under))
        warmup, prev = w, end
    return warmup, cells, dropped


def decays(cells) -> list:
    """[[start, end), ...] of the decays of these cells (the schedule's argument, flops_fit.train.schedule)."""
    return [[c.end - c.decay, c.end] for c in cells]
