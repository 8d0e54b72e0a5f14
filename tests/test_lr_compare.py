"""The paired comparison of two sweeps of one plan (default LR rule against calibrated)."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.lr.compare import compare, paired
from flops_fit.mock import surface_loss

SURFACE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def runs(scale_small=1.0, seed=0):
    """A 3-budget x 5-size IsoFLOP table on a known surface; scale_small multiplies the loss of the smaller half."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in (1e18, 1e19, 1e20):
        n0 = (c / 120) ** 0.5
        for n in n0 * 4.0 ** np.linspace(-1, 1, 5):
            d = c / (6 * n)
            loss = surface_loss(n, d, **SURFACE) * np.exp(0.002 * rng.standard_normal())
            loss *= scale_small if n < n0 else 1.0
            rows.append({"budget_flops": c, "params": n, "data_units": d, "flops_per_unit": 6 * n, "final_loss": loss,
                         "lr": 1e-3, "status": "completed"})
    return pd.DataFrame(rows)


def test_the_same_sweep_twice_changes_nothing():
    r = compare(runs(), runs(), n_boot=5)
    assert r["diff"] == 0 and r["diff_interval"] == [0, 0]
    assert (r["runs"]["change_pct"] == 0).all() and r["shared"] == 15


def test_lower_loss_at_small_sizes_moves_the_optimum_down():
    r = compare(runs(), runs(scale_small=0.97), n_boot=5)
    assert r["better"] == 6 and r["mean_change_pct"] == pytest.approx(-3 * 6 / 15, abs=0.01)
    assert r["diff"] < 0 and r["a_a"] == pytest.approx(0.28 / 0.62, abs=0.05)


def test_runs_are_matched_on_budget_and_size():
    a, b = runs(), runs().iloc[::-1]
    m = paired(a, b)
    assert len(m) == 15 and (m["loss_a"] == m["loss_b"]).all()
