"""load_runs: pipeline and short column names, defaults, and one-line errors for bad tables."""
import json

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import load_runs


def short_table(n_budgets=2, per=3):
    rows = []
    for b in range(n_budgets):
        C = 10.0 ** (18 + b)
        for N in np.geomspace(1e7, 1e8, per):
            rows.append({"N": N, "D": C / (6 * N), "loss": 3.0})
    return pd.DataFrame(rows)


class TestLoadRuns:
    def test_pipeline_columns_are_renamed_and_budget_kept(self):
        df = pd.DataFrame({"id": list("abcdefgh"), "budget_flops": [1e18] * 4 + [1e19] * 4,
                           "params": [1e7, 2e7, 4e7, 8e7] * 2, "data_units": [1e9] * 8,
                           "final_loss": [3.0] * 8, "status": ["completed"] * 7 + ["Diverged"],
                           "flops_executed": [1.01e18] * 4 + [np.nan] * 4})
        runs = load_runs(df)
        assert list(runs.columns) == ["id", "C", "budget", "N", "D", "loss", "status"]
        assert runs["budget"].tolist() == [1e18] * 4 + [1e19] * 4
        assert runs["C"].tolist() == [1.01e18] * 4 + [1e19] * 4   # executed FLOPs, else the budget
        assert runs["status"].iloc[-1] == "diverged"

    def test_missing_C_defaults_to_6ND_and_budgets_are_inferred_from_C(self):
        df = short_table()
        df["D"] *= 1 + 0.01 * np.arange(len(df)) / len(df)   # C within 1 % of the budget
        runs = load_runs(df)
        np.testing.assert_allclose(runs["C"], 6 * runs["N"] * runs["D"])
        np.testing.assert_allclose(sorted(runs["budget"].unique()), [1e18, 1e19], rtol=0.01)   # geometric-mean C
        assert runs.attrs["budget_info"]["method"] == "inferred" and runs.attrs["budget_info"]["n_groups"] == 2
        assert runs["id"].tolist()[:2] == ["run0", "run1"]

    def test_reads_csv_and_jsonl(self, tmp_path):
        df = short_table()
        df.to_csv(tmp_path / "runs.csv", index=False)
        (tmp_path / "runs.jsonl").write_text("\n".join(json.dumps(r) for r in df.to_dict("records")))
        a, b = load_runs(tmp_path / "runs.csv"), load_runs(tmp_path / "runs.jsonl")
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs["source"].endswith("runs.csv")

    def test_nan_loss_is_kept_for_flagging(self):
        df = short_table(per=4)
        df.loc[0, "loss"] = np.nan
        assert np.isnan(load_runs(df)["loss"].iloc[0])

    @pytest.mark.parametrize("mutate, message", [
        (lambda df: df.drop(columns="loss"), "missing column(s) loss (or final_loss)"),
        (lambda df: df.assign(N=-df["N"]), "non-positive N"),
        (lambda df: df.assign(loss=0.0), "non-positive loss"),
        (lambda df: df.assign(D="x"), "column D has a missing or non-numeric value"),
        (lambda df: df.iloc[:0], "no rows"),
    ])
    def test_bad_table_raises_one_line_error_naming_the_problem(self, tmp_path, mutate, message):
        path = tmp_path / "bad.csv"
        mutate(short_table()).to_csv(path, index=False)
        with pytest.raises(ValueError) as e:
            load_runs(path)
        assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)

    def test_unknown_format_and_missing_file_are_errors(self, tmp_path):
        (tmp_path / "runs.txt").write_text("N D loss\n")
        with pytest.raises(ValueError, match="unknown table format"):
            load_runs(tmp_path / "runs.txt")
        with pytest.raises(ValueError, match="no such file"):
            load_runs(tmp_path / "nope.csv")
