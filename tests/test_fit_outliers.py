"""Outlier flags: every planted bad run is flagged with a reason; clean runs are not."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import flag_outliers, load_runs


def sweep(sigma=0.0, seed=0, sizes=9, spread=4.0):
    E, A, B, al, be = 1.69, 406.4, 410.7, 0.34, 0.28
    rng = np.random.default_rng(seed)
    rows = []
    for C in np.geomspace(1e17, 1e21, 5):
        n_star = 0.29 * (C / 6) ** (be / (al + be))
        for N in n_star * np.geomspace(1 / spread, spread, sizes):
            D = C / (6 * N)
            loss = (E + A * N ** -al + B * D ** -be) * np.exp(sigma * rng.standard_normal())
            rows.append({"id": f"r{len(rows)}", "N": N, "D": D, "loss": loss, "budget": C,
                         "status": "completed"})
    return pd.DataFrame(rows)


class TestFlagOutliers:
    @pytest.mark.parametrize("spread", [4.0, 10.0])
    def test_noise_free_sweep_has_no_flags_even_where_the_parabola_misfits(self, spread):
        flags = flag_outliers(load_runs(sweep(0.0, spread=spread)))
        assert not flags["outlier"].any(), flags.loc[flags["outlier"], ["id", "reason"]]

    def test_false_flag_rate_on_clean_noisy_sweeps_is_near_nominal(self):
        # FAMILY_ALPHA = 1 % per budget: expect ~2 flagged budgets of 200
        flagged = sum(flag_outliers(load_runs(sweep(0.01, seed=s))).groupby("budget")["outlier"].any().sum()
                      for s in range(40))
        assert flagged <= 6

    def test_planted_bad_runs_are_flagged_with_reasons(self):
        df = sweep(sigma=0.005)
        df.loc[3, "loss"] *= 1.15                     # anomalous (+15 %)
        df.loc[12, "loss"] *= 0.9                     # anomalous (-10 %)
        df.loc[20, "status"] = "diverged"
        df.loc[21, "status"] = "failed"
        df.loc[22, "loss"] = np.nan
        df = pd.concat([df, df.iloc[[30]]], ignore_index=True)               # duplicated record
        df = pd.concat([df, df.iloc[[31]].assign(loss=3.0)], ignore_index=True)  # duplicated id
        flags = flag_outliers(load_runs(df)).set_index(np.arange(len(df)))
        reasons = flags.loc[flags["outlier"], "reason"].to_dict()
        assert set(reasons) == {3, 12, 20, 21, 22, len(df) - 2, len(df) - 1}
        assert reasons[3].startswith("anomalous_loss") and reasons[12].startswith("anomalous_loss")
        assert reasons[20] == "status=diverged" and reasons[21] == "status=failed"
        assert reasons[22] == "non_finite_loss"
        assert reasons[len(df) - 2] == "duplicate of r30" and reasons[len(df) - 1] == "duplicate of r31"

    def test_anomaly_statistic_is_scale_free(self):
        df = sweep(sigma=0.005)
        df.loc[3, "loss"] *= 1.15
        z1 = flag_outliers(load_runs(df))["resid_t"]
        z2 = flag_outliers(load_runs(df.assign(loss=df["loss"] * 1000)))["resid_t"]
        np.testing.assert_allclose(z1, z2, rtol=1e-6)

    def test_small_budgets_are_not_screened(self):
        flags = flag_outliers(load_runs(sweep(sizes=4)))
        assert flags["resid_t"].isna().all() and not flags["outlier"].any()
