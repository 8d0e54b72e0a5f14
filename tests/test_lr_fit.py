"""The LR calibration's fit: per-cell parabola in log LR, edge flags, the rule's constants with intervals."""
import math

import numpy as np
import pytest

from flops_fit.lr.fit import fit_calibration, fit_cell, fit_rule
from flops_fit.lr.grid import multipliers
from flops_fit.lr.rule import rule_lr

MULTS = [0.25, 0.5, 1.0, 2.0, 4.0]


def synthetic_cells(truth, prior, *, noise=0.002, seed=0, sizes=(3e3, 2e4, 1.5e5), tokens=(1e5, 1e6), curvature=0.08):
    """Cells on a grid of (N, D): loss = 3 + curvature * ln(lr / lr*)^2 + noise, lr* from the true rule; the
    multipliers scale the prior rule (so the optimum sits off-centre, as it would in a real calibration)."""
    rng = np.random.default_rng(seed)
    cells = []
    for n in sizes:
        for d in tokens:
            center = rule_lr(prior, n, d)
            lrs = [m * center for m in MULTS]
            best = rule_lr(truth, n, d)
            losses = [3.0 + curvature * math.log(lr / best) ** 2 + noise * rng.standard_normal() for lr in lrs]
            cells.append({"key": f"N{n:g}-D{d:g}", "params": n, "tokens": d, "lrs": lrs, "losses": losses,
                          "prior_lr": center})
    return cells


PRIOR = {"base": 1e-2, "ref_params": 4e4, "exponent_n": 0.25, "exponent_d": 0.0}


class TestFitCell:
    def test_parabola_recovers_known_minimum(self):
        lrs = [1e-3 * m for m in MULTS]
        losses = [2.0 + 0.1 * math.log(lr / 1.3e-3) ** 2 for lr in lrs]
        f = fit_cell(lrs, losses)
        assert f.status == "ok"
        assert f.lr_opt == pytest.approx(1.3e-3, rel=1e-6)

    @pytest.mark.parametrize("opt, status", [(1e-2, "edge_high"), (1e-4, "edge_low")])
    def test_edge_optimum_is_flagged(self, opt, status):
        lrs = [1e-3 * m for m in MULTS]
        f = fit_cell(lrs, [2.0 + 0.1 * math.log(lr / opt) ** 2 for lr in lrs])
        assert f.status == status
        assert math.isnan(f.lr_opt)

    def test_flat_or_concave_loss_has_no_optimum(self):
        lrs = [1e-3 * m for m in MULTS]
        f = fit_cell(lrs, [2.0 - 0.01 * math.log(lr / 1e-3) ** 2 for lr in lrs])
        assert f.status in ("no_curvature", "edge_low", "edge_high")
        assert math.isnan(f.lr_opt)

    def test_diverged_runs_are_left_out(self):
        lrs = [1e-3 * m for m in MULTS]
        losses = [2.0 + 0.1 * math.log(lr / 1.3e-3) ** 2 for lr in lrs]
        losses[-1] = None
        f = fit_cell(lrs, losses)
        assert f.status == "ok" and f.lr_opt == pytest.approx(1.3e-3, rel=1e-6)


class TestFitRule:
    @pytest.mark.parametrize("exponent_d", [0.3, -0.2, 0.0])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_recovers_the_exponents_with_either_sign_of_exponent_d(self, exponent_d, seed):
        truth = {"base": 1e-2, "ref_params": 2e4, "ref_tokens": 3e5, "exponent_n": 0.3, "exponent_d": exponent_d}
        cal = fit_calibration(synthetic_cells(truth, PRIOR, seed=seed))
        assert cal["status"] == "ok" and not cal["edge_cells"]
        iv = cal["intervals"]
        for k in ("exponent_n", "exponent_d"):
            assert iv[k][0] <= truth[k] <= iv[k][1], (k, iv[k], truth[k])
            assert iv[k][1] - iv[k][0] < 0.2, "an interval that wide would contain anything"
        # the fitted rule gives the true optimum in each cell within the noise
        for c in cal["cells"]:
            assert c["rule_lr"] == pytest.approx(rule_lr(truth, c["params"], c["tokens"]), rel=0.1)

    def test_exact_data_gives_the_exact_rule(self):
        truth = {"base": 1e-2, "ref_params": 2e4, "ref_tokens": 3e5, "exponent_n": 0.4, "exponent_d": -0.15}
        cal = fit_calibration(synthetic_cells(truth, PRIOR, noise=0.0))
        assert cal["rule"]["exponent_n"] == pytest.approx(0.4, abs=1e-6)
        assert cal["rule"]["exponent_d"] == pytest.approx(-0.15, abs=1e-6)

    def test_an_edge_cell_stays_out_of_the_rule(self):
        truth = {"base": 1e-2, "ref_params": 2e4, "ref_tokens": 3e5, "exponent_n": 0.4, "exponent_d": 0.1}
        cells = synthetic_cells(truth, PRIOR, noise=0.0)
        c = cells[0]   # every multiplier far above the optimum
        best = rule_lr(truth, c["params"], c["tokens"])
        c["lrs"] = [lr * 20 for lr in c["lrs"]]
        c["losses"] = [3.0 + 0.08 * math.log(lr / best) ** 2 for lr in c["lrs"]]
        cal = fit_calibration(cells)
        assert cal["edge_cells"] == [cells[0]["key"]]
        assert cal["cells"][0]["status"] == "edge_low"
        assert cal["cells_used"] == len(cells) - 1
        assert cal["rule"]["exponent_d"] == pytest.approx(0.1, abs=1e-6)

    def test_too_few_cells_is_a_failure_with_a_reason(self):
        r = fit_rule([1e3, 1e4], [1e5, 1e6], [1e-2, 5e-3])
        assert r.status == "failed" and "3" in r.reason

    def test_collinear_cells_are_refused(self):
        r = fit_rule([1e3, 1e4, 1e5], [1e5, 1e6, 1e7], [1e-2, 5e-3, 2e-3])   # D/N fixed: N and D move together
        assert r.status == "failed" and "independently" in r.reason


class TestExtend:
    def test_edge_cell_gets_one_more_multiplier_per_rerun_up_to_extend(self):
        prev = {"cells": [{"key": "c", "status": "edge_high", "multipliers": MULTS}]}
        ms = multipliers("c", MULTS, prev, extend=2)
        assert ms == MULTS + [8.0]
        prev = {"cells": [{"key": "c", "status": "edge_high", "multipliers": ms}]}
        assert multipliers("c", MULTS, prev, extend=2) == MULTS + [8.0, 16.0]
        prev = {"cells": [{"key": "c", "status": "edge_high", "multipliers": MULTS + [8.0, 16.0]}]}
        assert multipliers("c", MULTS, prev, extend=2) == MULTS + [8.0, 16.0]

    def test_an_extension_is_kept_once_the_cell_is_measured(self):
        prev = {"cells": [{"key": "c", "status": "ok", "multipliers": [0.125] + MULTS}]}
        assert multipliers("c", MULTS, prev, extend=2) == [0.125] + MULTS
        assert multipliers("other", MULTS, prev, extend=2) == MULTS
