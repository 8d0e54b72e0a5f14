"""A mock WSD cell: the known surface's loss plus a stated cooldown penalty (docs/wsd.md).

L_cell = (E + (L_surface(N, D) - E) * (1 + p)) * exp(noise * z), with p = mock_penalty * (1 + shortfall) and
shortfall = max(0, 1 - decay_steps / planner.cooldown.min_steps): an in-run decay of a WSD-S run lands a little above
a full cosine run of the same (N, D) (Hägele et al. 2024 report parity for 10-20 % cooldowns, Wen et al. a small gap
for the decays inside WSD-S), and more so when the decay is shorter than the floor. z ~ N(0, 1) is seeded by the
cell's id hash, so each cell draws its own noise.
"""
import math

import numpy as np

from flops_fit.fit.result import surface_loss


def penalty(w: dict) -> float:
    floor = max(1, int(w.get("min_steps") or 1))
    shortfall = max(0.0, 1.0 - int(w["decay_steps"]) / floor)
    return float(w.get("mock_penalty", 0.0)) * (1.0 + shortfall)


def cell_loss(spec: dict, z: float) -> float:
    m, w = spec["mock"], spec["wsd"]
    base = float(surface_loss(spec["params"], spec["data_units"], m["E"], m["A"], m["B"], m["alpha"], m["beta"]))
    return (m["E"] + (base - m["E"]) * (1.0 + penalty(w))) * math.exp(m["noise"] * z)


def simulate_cell(spec: dict) -> dict:
    """The metrics fields of a mock WSD cell: its loss, and only the FLOPs it added as executed."""
    z = np.random.default_rng(int(spec["config_hash"], 16)).standard_normal()
    return {
        "status": "completed", "final_loss": cell_loss(spec, z), "steps": spec["steps"],
        "data_units": spec["data_units"], "flops_executed": spec["wsd"]["flops_added"],
        "flops_inherited": spec["wsd"]["flops_inherited"], "wall_s": 0.0, "units_per_s": None, "device": "mock",
        "precision": "none", "global_batch": spec["training"]["batch_size"], "reason": None,
    }
