"""Mock training: the loss of an experiment comes from a known surface, so the analysis can be checked.

L(N, D) = E + A / N^alpha + B / D^beta, multiplied by exp(noise * z) with z ~ N(0, 1) seeded by the
experiment's seed (log-normal noise: the analysis works on log loss). A labelled feature for fast
pipeline tests; it never stands in for real training (metrics say mode "mock", device "mock").
"""
import math

import numpy as np

from flops_fit.fit.result import surface_exponents
from flops_fit.fit.result import surface_loss as _surface


def surface_loss(N, D, *, E, A, B, alpha, beta, **_):
    """The mock surface's loss (extra keys such as noise ignored)."""
    return _surface(N, D, E, A, B, alpha, beta)


def true_exponents(mock: dict) -> dict:
    """Compute-optimal exponents of the surface: N* ~ C^a, D* ~ C^b."""
    a, b = surface_exponents(mock["alpha"], mock["beta"])
    return {"a": a, "b": b}


def simulate(spec: dict) -> dict:
    """The metrics fields real training would report, from the mock surface."""
    if spec.get("wsd"):  # a WSD cell: the surface plus a stated cooldown penalty (flops_fit.wsd.mock)
        from .wsd.mock import simulate_cell
        return simulate_cell(spec)
    m = spec["mock"]
    rng = np.random.default_rng(spec["seed"])
    loss = float(surface_loss(spec["params"], spec["data_units"], **m) * math.exp(m["noise"] * rng.standard_normal()))
    if spec.get("mock_lr"):   # an LR calibration run: a known loss(LR) (flops_fit.lr.synthetic)
        from flops_fit.lr.synthetic import lr_loss_factor
        loss *= lr_loss_factor(spec)
    return {
        "status": "completed", "final_loss": loss, "steps": spec["steps"], "data_units": spec["data_units"],
        "flops_executed": spec["data_units"] * spec["flops_per_unit"], "wall_s": 0.0, "units_per_s": None,
        "device": "mock", "precision": "none", "global_batch": spec["training"]["batch_size"], "reason": None,
    }
