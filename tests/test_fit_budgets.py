"""Budget inference for tables without a budget column (budgets.py), its overrides, and the real grid of
Porian et al. 2024 (tests/data/README.md) with its budget column dropped and C perturbed."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import analyze, load_runs
from flops_fit.fit.budgets import GAP, infer_budgets, snap_budgets

PORIAN = Path(__file__).parent / "data" / "porian2024_isoflop.csv"
CONFIG = "owt2/base/short/chinchilla/standard/val"


class TestInferBudgets:
    def test_exact_budgets_form_one_group_each_labelled_by_their_C(self):
        C = np.repeat([1e17, 2e17, 4e17], 5)
        b, info = infer_budgets(C)
        assert sorted(set(b)) == [1e17, 2e17, 4e17] and info["n_groups"] == 3 and info["n_ungrouped"] == 0

    def test_single_runs_stay_ungrouped_and_are_never_budgets(self):
        C = np.concatenate([np.repeat(1e18, 6), np.repeat(1e19, 6), [3e20], [5e15, 5.1e15]])
        b, info = infer_budgets(C)
        assert np.isnan(b[-3:]).all() and info["n_groups"] == 2 and info["n_ungrouped"] == 3
        assert info["ungrouped_small_clusters"] == 3

    def test_repeats_of_one_size_are_not_a_budget(self):
        C = np.concatenate([np.repeat([1e17, 1e18, 1e20], 6), np.repeat(1e19, 8)])
        N = np.concatenate([np.tile(np.geomspace(1e7, 1e8, 6), 3), np.repeat(3e7, 8)])  # 8 repeats of one (N, D)
        b, info = infer_budgets(C, N)
        assert info["n_groups"] == 3 and np.isnan(b[18:]).all() and info["ungrouped_few_size_clusters"] == 8
        assert infer_budgets(C)[1]["n_groups"] == 4  # without the sizes, the gap rule alone groups them

    def test_a_continuous_chain_of_C_is_not_one_budget(self):
        C = np.geomspace(1e17, 1e19, 40)   # 0.05-decade steps: below the gap, far wider than one budget
        b, info = infer_budgets(C)
        assert np.isnan(b).all() and info["n_groups"] == 0 and info["ungrouped_wide_clusters"] == 40

    def test_chance_clumps_of_a_wide_spread_are_not_kept(self):
        rng = np.random.default_rng(0)
        C = np.repeat(1e17 * 2.0 ** np.arange(12), 10) * np.exp(rng.normal(0, 0.4, 120))
        b, info = infer_budgets(C)
        assert info["n_groups"] == 0 and np.isnan(b).all()

    def test_snapping_to_given_budgets_leaves_far_runs_ungrouped(self):
        C = np.array([0.98e18, 1.03e18, 1e18, 2.1e19, 9e19])
        b, info = snap_budgets(C, [1e18, 2e19])
        assert b[:4].tolist() == [1e18, 1e18, 1e18, 2e19] and np.isnan(b[4])
        assert info["method"] == "snapped" and 10 ** GAP > 9e19 / 2e19 / 10   # 9e19 is > GAP decades from 2e19
        with pytest.raises(ValueError, match="analysis.budgets"):
            snap_budgets(C, [])


class TestOverrides:
    def test_budget_column_names_the_labels(self):
        df = pd.DataFrame({"N": [1e7, 2e7, 4e7] * 2, "D": [1e9] * 6, "loss": [3.0, 2.9, 3.0] * 2,
                           "grp": ["a"] * 3 + ["b"] * 3, "C": [1e17] * 3 + [3e17] * 3})
        runs = load_runs(df, budget_column="grp")
        assert runs.attrs["budget_info"] == {"method": "column", "column": "grp", "n_groups": 2, "n_ungrouped": 0}
        with pytest.raises(ValueError, match="analysis.budget_column 'nope' is not a column"):
            load_runs(df, budget_column="nope")

    def test_budgets_override_snaps_runs(self):
        df = pd.DataFrame({"N": [1e7, 2e7, 4e7], "D": [1e9] * 3, "loss": [3.0, 2.9, 3.0], "C": [1.01e17, 0.99e17, 1e17]})
        runs = load_runs(df, budgets=[1e17, 1e18])
        assert runs["budget"].tolist() == [1e17] * 3 and runs.attrs["budget_info"]["method"] == "snapped"


@pytest.fixture(scope="module")
def grid():
    df = pd.read_csv(PORIAN)
    return df[df["config"] == CONFIG].reset_index(drop=True)


@pytest.fixture(scope="module")
def labelled(grid):
    return analyze(grid.assign(budget=grid["C"]), bootstrap=0, sensitivity=False)


class TestRealGrid:
    """One Porian configuration: the labelled fit against the same table with its budgets inferred from C."""

    @pytest.mark.parametrize("perturb", ["none", "jitter_2pct", "lognormal_5pct"])
    def test_dropped_budget_column_recovers_the_budgets_and_the_noise(self, grid, labelled, perturb):
        rng = np.random.default_rng(1)
        C = grid["C"].to_numpy(float)
        C = {"none": C, "jitter_2pct": C * (1 + rng.uniform(-0.02, 0.02, len(C))),
             "lognormal_5pct": C * np.exp(rng.normal(0, 0.05, len(C)))}[perturb]
        an = analyze(grid.assign(C=C), bootstrap=0, sensitivity=False)
        info = an.budget_info
        assert info["method"] == "inferred" and 11 <= info["n_groups"] <= 12 and info["n_ungrouped"] == 0
        assert info["n_groups"] == labelled.budget_info["n_groups"]
        # a group's label is its geometric-mean C: 5 % scatter over >= 5 runs leaves it within ~2 % (1 sd)
        np.testing.assert_allclose(sorted(an.runs["budget"].unique()),
                                   sorted(labelled.runs["budget"].unique()), rtol=0.06)
        assert labelled.noise_sigma / 1.5 <= an.noise_sigma <= 1.5 * labelled.noise_sigma
        assert an.approach2.status == "ok"
        assert an.approach2.n_star.exponent == pytest.approx(labelled.approach2.n_star.exponent, abs=0.02)

    def test_scatter_too_wide_to_separate_skips_approach2_with_the_reason(self, grid, tmp_path):
        import json

        from flops_fit.fit import write_outputs
        rng = np.random.default_rng(2)
        an = analyze(grid.assign(C=grid["C"] * np.exp(rng.normal(0, 0.4, len(grid)))), bootstrap=5)
        assert an.budget_info["n_groups"] == 0 and an.approach2.status == "not_isoflop"
        assert an.approach3.status == "ok" and 0.4 < an.approach3.a < 0.7
        fits = json.loads(write_outputs(an, tmp_path)["fits"].read_text())
        assert fits["approach2"]["status"] == "not_isoflop" and "no IsoFLOP budget groups" in fits["approach2"]["reason"]
        assert fits["budgets"]["n_groups"] == 0 and fits["approach2"]["fitted_budgets"] == []
        md = (tmp_path / "chinchilla_table.md").read_text()
        assert "approach2 skipped: no IsoFLOP budget groups" in md and "| approach3 |" in md
        assert "| approach2 |" not in md
