"""Outputs that must not mislead: warnings on rows outside the data's range, the status and notes of a table
without IsoFLOP budgets, its figures, column aliases, the precision statement and the end-of-workflow answer."""
import json

import numpy as np
import pandas as pd
import pytest

from flops_fit.fit import load_runs
from flops_fit.fit.analyze import TableRow, analyze
from flops_fit.fit.plausibility import row_warning, warning_notes
from flops_fit.fit.report import table_markdown, write_outputs
from flops_fit.plot import theme
from flops_fit.report.answer import edge_note, front_notes, front_warnings, precision_lines, terminal_answer


def _row(n_star, ratio, budget=1e21, kind="extrapolated"):
    nan2 = (np.nan, np.nan)
    return TableRow("approach3", budget, kind, n_star, n_star * ratio, ratio, 2.0, nan2, nan2, nan2, nan2)


def _used(ratios=(15, 1000), N=(1e7, 1e8)):
    N = np.array(N, float)
    D = N * np.array(ratios, float)
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D})


class TestRangeWarnings:
    def test_ratio_far_below_the_data_is_named(self):
        w = row_warning(_row(1e8, 0.023, budget=6e17), _used())
        assert "D*/N* = 0.023 is outside the data's range of D/N [15, 1e+03] by 652x" in w

    def test_inside_or_within_the_factor_is_quiet(self):
        assert row_warning(_row(5e7, 100, budget=6e17), _used()) == ""
        assert row_warning(_row(5e7, 6, budget=6e17), _used()) == ""      # 2.5x below 15: under the factor 3

    def test_n_star_beyond_the_extrapolation_asked_for(self):
        used = _used()
        top = used["C"].max()
        assert row_warning(_row(1e8 * 10 * 2, 100, budget=10 * top), used) == ""   # within N_max x 10
        w = row_warning(_row(1e8 * 10 * 50, 100, budget=10 * top), used)
        assert "N* = 5e+10 is outside the data's range of N [1e+07, 1e+09]" in w and "by 50x" in w
        assert "the extrapolation asked for" in w

    def test_note_names_the_row(self):
        notes = warning_notes([_row(1e8, 0.023, budget=1.5e23)], ["D*/N* = 0.023 is outside ..."])
        assert notes[0].startswith("WARNING approach3 at C = 1.5e+23: D*/N* = 0.023 is outside")


def _scattered(n=40, seed=0, names=("N", "D")):
    """Runs at 40 distinct compute budgets 0.15 decades apart: no IsoFLOP group can form."""
    rng = np.random.default_rng(seed)
    C = 10 ** (15 + 0.15 * np.arange(n))
    N = 10 ** rng.uniform(6, 8, n)
    D = C / (6 * N)
    loss = (1.7 + 400 / N ** 0.34 + 1000 / D ** 0.28) * np.exp(rng.normal(0, 0.005, n))
    return pd.DataFrame({names[0]: N, names[1]: D, "loss": loss})


@pytest.fixture(scope="module")
def approach3_only(tmp_path_factory):
    out = tmp_path_factory.mktemp("a3only")
    an = analyze(_scattered(names=("n_params", "tokens")), bootstrap=20, huber_delta="auto", sensitivity=False)
    write_outputs(an, out)
    return an, out


class TestApproach3Only:
    def test_status_ok_with_the_reason(self, approach3_only):
        an, out = approach3_only
        fits = json.loads((out / "fits.json").read_text())
        assert an.status == fits["status"] == "ok"
        assert "status ok: Approach 3 only: the table has no IsoFLOP budgets for Approach 2" in fits["notes"]

    def test_auto_delta_says_it_fell_back(self, approach3_only):
        an, _ = approach3_only
        assert an.approach3.delta == 1e-3
        assert any(n.startswith("approach3 huber_delta auto fell back to the fixed 0.001") for n in
                   table_markdown(an).replace("Note: ", "").splitlines())

    def test_aliases_named(self, approach3_only):
        an, _ = approach3_only
        assert "Note: columns read by alias: n_params as N, tokens as D" in table_markdown(an)

    @pytest.mark.slow   # four figures, PNG + PDF: 4 s at load 1.6, 20 s at load 4-7 on 2 cores
    def test_figures_drawn_without_budgets(self, approach3_only, recwarn):
        from flops_fit.plot import plot_all
        _, out = approach3_only
        names = {p.name for p in plot_all(out)}
        assert {"surface.png", "residuals.png", "scaling_laws.png"} <= names
        assert "isoflop.png" not in names
        assert any("no IsoFLOP budget groups" in str(w.message) for w in recwarn)

    def test_terminal_answer_and_front_page_notes(self, approach3_only):
        an, out = approach3_only
        lines = terminal_answer(out)
        assert 3 <= len(lines) <= 5
        assert lines[0].startswith(f"flops-fit answer: N* ~ C^a with a = {an.approach3.a:.3g} [")
        assert "warning(s)" in lines[2] and "chinchilla_table.md" in lines[3]
        fits = json.loads((out / "fits.json").read_text())
        text = "\n".join(front_notes(fits))
        assert all(n.split(":")[0].replace("_", "\\_") in text for n in fits["notes"])


def test_budget_colors_empty():
    assert theme.budget_colors([]) == {}


class TestAliases:
    def test_common_names_accepted(self):
        df = pd.DataFrame({"n_params": [1e7, 2e7, 4e7], "n_tokens": [1e9] * 3, "loss": [3.0] * 3,
                           "compute": [6e16, 1.2e17, 2.4e17]})
        runs = load_runs(df)
        assert runs["N"].tolist() == [1e7, 2e7, 4e7] and runs["C"].tolist() == [6e16, 1.2e17, 2.4e17]
        assert runs.attrs["aliases"] == {"n_params": "N", "n_tokens": "D", "compute": "C"}
        assert load_runs(df.rename(columns={"n_tokens": "tokens", "compute": "flops"})).attrs["aliases"] == {
            "n_params": "N", "tokens": "D", "flops": "C"}

    def test_missing_column_lists_the_aliases(self):
        with pytest.raises(ValueError, match=r"missing column\(s\) D \(or data_units or tokens or n_tokens\)"):
            load_runs(pd.DataFrame({"N": [1.0], "loss": [3.0]}))


class TestPrecision:
    def test_edge_of_own_interval_is_explained(self):
        assert edge_note(0.5, 0.4, 0.6) == ""
        assert "at the edge of its interval [0.491, 1.13]" in edge_note(0.506, 0.491, 1.127)
        assert "outside its interval" in edge_note(0.3, 0.4, 0.6)

    def test_one_number_and_a_pointer_to_designs(self):
        fits = {"approach3": {"status": "ok", "a": {"value": 0.506, "lo": 0.491, "hi": 1.127}},
                "design": {"a_sd_bound": 0.021}, "settings": {"bootstrap": {"level": 0.95}}}
        forecast = {"precision": {"planned": {"approaches": {"approach3": {"a_sd": 0.024}}},
                                  "designs": [{"design": {"name": "wide"}, "device_hours": 2.5,
                                               "approaches": {"approach3": {"a_sd": 0.011}}}]}}
        lines = precision_lines(fits, forecast)
        assert lines[0] == "Act on a = 0.506 [0.491, 1.13] (Approach 3's 95 % bootstrap interval over the runs)."
        assert "design bound (±0.021" in lines[1] and "forecast (±0.024" in lines[1]
        assert "at the edge of" in lines[2]
        assert lines[3] == "To narrow it: design wide forecasts sd(a) = 0.011, 2.5 device-hours (forecast.designs)."
        assert "forecast.designs" in precision_lines(fits, None)[-1]

    def test_front_page_warnings(self):
        fits = {"warnings": ["D*/N* = 0.023 is outside the data's range of D/N [15, 1e+03] by 652x"],
                "table": [{"approach": "approach2", "budget": 1.5e23,
                           "warning": "D*/N* = 0.023 is outside the data's range of D/N [15, 1e+03] by 652x"}]}
        text = "\n".join(front_warnings(fits, None))
        assert "**Warning (1): rows of the table lie outside the data's range:**" in text
        assert "approach2 at C = 1.5e+23: D\\*/N\\* = 0.023 is outside the data's range" in text


class TestRepeats:
    def _table(self, spread):
        rows = []
        for C in (1e17, 1e18, 1e19):
            for N in np.geomspace(C ** 0.5 / 300, C ** 0.5 / 30, 5):
                D = C / (6 * N)
                base = 1.7 + 400 / N ** 0.34 + 1000 / D ** 0.28
                for k, ev in enumerate(("web", "code", "books")):
                    rows.append({"N": N, "D": D, "loss": base * (1 + spread * k), "eval_set": ev, "C": C})
        return pd.DataFrame(rows)

    def test_eval_sets_are_not_seeds(self):
        from flops_fit.fit.repeats import repeats_note, seedless_repeats
        runs = load_runs(self._table(0.25))
        assert runs.attrs["repeat_columns"] == ["eval_set"]
        groups = seedless_repeats(runs)
        assert len(groups) == 15
        note = repeats_note(groups, runs.attrs["repeat_columns"])
        assert note.startswith("repeats that are not seeds: 15 group(s) of runs with the same (N, D) differ in loss "
                               "by more than 10 %")
        assert "not used as seed replicates" in note and 'analysis.query (e.g. "eval_set == ...")' in note
        assert "group_by=eval_set" in note

    def test_repeats_of_one_point_make_no_budget(self):
        """A table of distinct (N, D) points, each scored on 8 evaluation sets, with no budget column: each
        point's 8 rows share one C, but one size is not an IsoFLOP budget (the gap rule alone made 24)."""
        rng = np.random.default_rng(1)
        N = np.geomspace(1e7, 1e9, 24)
        D = 20 * N * np.exp(rng.normal(0, 1.0, 24))
        rows = [{"N": n, "D": d, "loss": (1.7 + 400 / n ** 0.34 + 1000 / d ** 0.28) * (1 + 0.07 * k), "eval_set": k}
                for n, d in zip(N, D) for k in range(8)]
        runs = load_runs(pd.DataFrame(rows))
        info = runs.attrs["budget_info"]
        assert info["n_groups"] == 0 and info["ungrouped_few_size_clusters"] >= 100, info
        assert runs["budget"].isna().all()
        from flops_fit.fit.budgets import infer_budgets
        assert infer_budgets(runs["C"])[1]["n_groups"] >= 10  # C alone: the repeats looked like budgets

    def test_seed_noise_is_kept(self):
        from flops_fit.fit.repeats import seedless_repeats
        assert seedless_repeats(load_runs(self._table(0.005))) == []


class TestSmallBudgets:
    def test_three_sizes_and_a_flat_profile(self, tmp_path):
        rows = []
        for C in (1e17, 1e18, 1e19, 1e20):
            for N in np.geomspace(C ** 0.5 / 300, C ** 0.5 / 30, 3):
                D = C / (6 * N)
                rows.append({"N": N, "D": D, "C": C, "loss": 1.7 + 400 / N ** 0.34 + 1000 / D ** 0.28})
        for N in np.geomspace(1e9, 1e10, 5):      # a flat, slightly concave profile
            rows.append({"N": N, "D": 1e21 / (6 * N), "C": 1e21, "loss": 2.5 - 1e-3 * np.log10(N / 3e9) ** 2})
        an = analyze(pd.DataFrame(rows), bootstrap=20, include_near_edge=True, sensitivity=False)
        write_outputs(an, tmp_path)
        fits = json.loads((tmp_path / "fits.json").read_text())
        by = {b["budget"]: b for b in fits["approach2"]["budgets"]}
        three = by[1e18]
        assert three["n_star"]["lo"] is None and "note" not in three["n_star"]
        assert three["vertex_note"].startswith("3 sizes or fewer: the parabola goes through every point")
        flat = by[1e21]
        assert flat["status"] == "non_positive_curvature" and flat["n_star"]["value"] is None
        assert flat["vertex_note"].startswith("no minimum: the profile is flat or bends down")
        notes = " ".join(fits["notes"])
        assert "have no bootstrap interval on their optimum: a parabola through 3 points" in notes
        assert "1 budget(s) have no minimum (1e+21)" in notes and "shifted" not in notes

    def test_round_off_is_inside_the_interval(self):
        from flops_fit.fit.intervals import outside_note
        assert outside_note(1.0 + 2e-15, 1.0, 1.0) == ""
        assert outside_note(1.1, 1.0, 1.05) != ""


def test_approach2_at_the_edge_is_explained_beside_approach3():
    fits = {"approach3": {"status": "ok", "a": {"value": 0.47, "lo": 0.138, "hi": 0.836}},
            "approach2": {"power_laws": {"n_star": {"exponent": {"value": 0.506, "lo": 0.491, "hi": 1.127}}}}}
    lines = precision_lines(fits, None)
    assert lines[1].startswith("Approach 2's a = 0.506 is at the edge of its interval [0.491, 1.13]")
