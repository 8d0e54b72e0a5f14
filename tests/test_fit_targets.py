"""Targets: given, the sweep's budgets.targets, or relative to an external table's data; the demo config's never
reach an external table."""
import json

import pytest

from flops_fit.cli import analyze_main
from flops_fit.config import load_config
from flops_fit.fit.session import fit_table
from test_fit_statuses import grid


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "published.csv"
    grid(budgets=(1e18, 1e19, 1e20)).to_csv(path, index=False)
    return path


def test_config_leaves_targets_unset_by_default():
    assert load_config([])["analysis"]["targets"] is None


def test_external_table_gets_targets_relative_to_its_data(table, tmp_path):
    analyze_main([f"analysis.input={table}", "analysis.bootstrap=0", "--out", str(tmp_path)])
    s = json.loads((tmp_path / "fits.json").read_text())["settings"]
    demo = load_config([])["budgets"]["targets"]
    assert s["targets"] == pytest.approx([1e21, 1e22, 1e23]) and not set(demo) & set(s["targets"])
    assert "decades beyond the largest budget" in s["targets_rule"]


def test_given_targets_are_used_as_is(table, tmp_path):
    analyze_main([f"analysis.input={table}", "analysis.bootstrap=0", "analysis.targets=[5e20]", "--out", str(tmp_path)])
    s = json.loads((tmp_path / "fits.json").read_text())["settings"]
    assert s["targets"] == [5e20] and s["targets_rule"] == "analysis.targets"


def test_a_sweep_uses_its_budgets_targets_when_analysis_targets_is_unset(table, tmp_path):
    (an,) = fit_table(table, tmp_path, {"bootstrap": 0, "targets": None}, sweep_targets=[3e20], quiet=True)
    assert an.targets == (3e20,) and "budgets.targets" in an.targets_rule
