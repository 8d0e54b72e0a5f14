"""The WSD-S plan (flops_fit.wsd.plan): a size ladder of chained cells, its identity, its extension, its floor,
its refusals, and what it leaves unchanged (cosine plans keep their ids)."""
import pytest

from flops_fit import plancheck
from flops_fit.config import ConfigError, load_config
from flops_fit.plan import format_plan, plan
from flops_fit.preflight import workflow_plan

B5 = "budgets.values=[1e18,2e18,4e18,8e18,1.6e19]"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("results")   # one size cache for the module: re-planning is cheap


def cfg_of(results, *over):
    return load_config(["preset=mock", f"results_dir={results}", *over])


@pytest.fixture(scope="module")
def wsd5(results):
    cfg = cfg_of(results, B5, "planner.schedule=wsd")
    return cfg, plan(cfg)


def test_cosine_ids_are_unchanged(results):
    # ids of main's plans before WSD existed: the new planner keys stay out of every cosine id
    p = plan(load_config(["preset=quickstart", f"results_dir={results}"]))
    assert [e["id"] for e in p["experiments"][:3]] == ["C1e11-N2.5e3-33bb9165", "C1e11-N5.7e3-0411e4e0",
                                                       "C1e11-N1.4e4-e7a45727"]
    assert all("wsd" not in e and "schedule" not in e for e in p["experiments"])
    assert "wsd" not in p


def test_cells_chain_per_size_and_save_compute(wsd5, results):
    cfg, p = wsd5
    cells = p["experiments"]
    assert cells and all("-wsd-" in e["id"] and e["schedule"] == "wsd" for e in cells)
    by_id = {e["id"]: e for e in cells}
    for e in cells:
        w = e["wsd"]
        if w["parent"] is None:
            assert w["cell"] == 0 and w["start"] == 0 and w["flops_inherited"] == 0
        else:
            parent = by_id[w["parent"]]
            assert parent["size"] == e["size"] and parent["budget_flops"] < e["budget_flops"]
            assert w["start"] == parent["steps"] and w["cell"] == parent["wsd"]["cell"] + 1
            assert w["decays"][:-1] == parent["wsd"]["decays"] and e["seed"] == parent["seed"]
        start, end = w["decays"][-1]
        assert end == e["steps"] and end - start == w["decay_steps"] >= cfg["planner"]["cooldown"]["min_steps"]
        assert w["flops_added"] == pytest.approx((e["steps"] - w["start"]) * e["units_per_step"] * e["flops_per_unit"])
    assert p["wsd"]["ratio"] <= 0.6  # budgets 2x apart: one run per size instead of one per cell
    assert "WSD-S:" in format_plan(p) and f"{p['wsd']['ratio']:.2f}x" in format_plan(p)
    # the cosine grid of the same cells: same (budget, size) pairs, ordinary ids, peak lr / wsd_lr_factor
    cos = plan(cfg_of(results, B5, "planner.ladder=true"))["experiments"]
    assert [(e["budget_flops"], e["params"]) for e in cos] == [(e["budget_flops"], e["params"]) for e in cells]
    assert {e["id"] for e in cos} == {e["wsd"]["cosine_id"] for e in cells}
    assert all(w["training"]["lr"] == pytest.approx(0.5 * c["training"]["lr"]) for w, c in zip(cells, cos))
    # sizes recur: most cells continue a run
    assert sum(e["wsd"]["parent"] is not None for e in cells) >= len(cells) // 2


def test_a_larger_budget_extends_the_runs_without_renaming_a_cell(wsd5, results):
    _, p = wsd5
    more = plan(cfg_of(results, "budgets.values=[1e18,2e18,4e18,8e18,1.6e19,3.2e19]", "planner.schedule=wsd"))
    old, new = {e["id"] for e in p["experiments"]}, {e["id"]: e for e in more["experiments"]}
    assert old <= set(new)  # every trained cell keeps its id: nothing is retrained
    added = [e for i, e in new.items() if i not in old]
    assert added and all(e["budget_flops"] == 3.2e19 for e in added)
    continued = [e for e in added if e["wsd"]["parent"]]
    assert continued and all(e["wsd"]["parent"] in old for e in continued)  # from the last cell's kept state


def test_a_budget_between_cells_renames_only_the_later_cells_of_its_sizes(wsd5, results):
    _, p = wsd5
    mid = plan(cfg_of(results, "budgets.values=[1e18,2e18,4e18,6e18,8e18,1.6e19]", "planner.schedule=wsd"))
    new = {e["id"] for e in mid["experiments"]}
    kept = [e for e in p["experiments"] if e["id"] in new]
    lost = [e for e in p["experiments"] if e["id"] not in new]
    assert all(e["budget_flops"] < 6e18 for e in kept if e["budget_flops"] < 6e18)
    assert {e["id"] for e in p["experiments"] if e["budget_flops"] <= 4e18} <= new  # earlier cells kept
    assert lost and all(e["budget_flops"] > 6e18 for e in lost)  # later cells continue a new decay: retrained


def test_a_cell_under_the_cooldown_floor_is_flagged_and_left_out(results):
    cfg = cfg_of(results, "budgets.values=[1e17,2e17,4e17]", "planner.schedule=wsd",
                 "planner.cooldown.min_steps=20000")
    p = plan(cfg)
    lost = [d for d in p["dropped"] if d["key"] == "planner.cooldown.min_steps"]
    assert lost and not any(e["wsd"]["under_floor"] for e in p["experiments"])
    lines = [f.line for f in plancheck.run(cfg, p) if f.key == "planner.cooldown.min_steps"]
    assert any("under the cooldown floor of 20000 steps left out" in line for line in lines), lines
    kept = plan(cfg_of(results, "budgets.values=[1e17,2e17,4e17]", "planner.schedule=wsd",
                       "planner.cooldown.min_steps=20000", "planner.cooldown.keep_under_floor=true"))
    flagged = [e for e in kept["experiments"] if e["wsd"]["under_floor"]]
    # every cell is planned now; a kept cell also shortens the period of the next one, which may then be flagged too
    assert len(kept["experiments"]) == len(p["experiments"]) + len(lost) and len(flagged) >= len(lost)
    assert all(e["wsd"]["decay_steps"] < 20000 for e in flagged)
    assert any(f.key == "planner.cooldown.keep_under_floor" for f in plancheck.run(cfg, kept))


@pytest.mark.parametrize("key,value", [("adaptive", "true"), ("extend", "2"), ("replicates", "3")])
def test_steering_or_replicates_with_wsd_is_refused_in_one_line(results, key, value, capsys):
    over = [f"budgets.values=[1e18,2e18,4e18]", "planner.schedule=wsd", f"planner.{key}={value}"]
    with pytest.raises(ConfigError, match=f"planner.{key}={value} cannot be combined with planner.schedule=wsd"):
        plan(cfg_of(results, *over))
    with pytest.raises(SystemExit) as e:
        workflow_plan(["preset=mock", f"results_dir={results}", *over])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flops-fit: error: planner.") and "planner.schedule=wsd" in err[0]


def test_budgets_far_apart_get_a_warning_with_the_floor(results):
    cfg = cfg_of(results, "budgets.values=[1e17,1e18,1e19]", "planner.schedule=wsd")
    lines = [f.line for f in plancheck.run(cfg, plan(cfg)) if "1 - 1/r = 0.90" in f.line]
    assert len(lines) == 1 and "budgets.values" in lines[0]


def test_one_run_has_one_peak_rate_under_a_rule_in_n_and_d(results):
    p = plan(cfg_of(results, "budgets.values=[1e18,2e18,4e18]", "planner.schedule=wsd", "training.lr.exponent_d=0.2"))
    by_id = {e["id"]: e for e in p["experiments"]}
    chained = [e for e in p["experiments"] if e["wsd"]["parent"]]
    assert chained and all(e["training"]["lr"] == by_id[e["wsd"]["parent"]]["training"]["lr"] for e in chained)


def test_a_mock_cell_is_the_surface_plus_the_stated_cooldown_penalty(wsd5):
    """flops_fit.wsd.mock: L = E + (L_surface - E)(1 + p), p = mock_penalty (1 + shortfall below the floor)."""
    from flops_fit.fit.result import surface_loss
    from flops_fit.mock import simulate
    from flops_fit.wsd.mock import penalty
    cfg, p = wsd5
    for e in p["experiments"][:4]:
        spec = dict(e, mock=dict(e["mock"], noise=0.0))
        m, w = spec["mock"], spec["wsd"]
        base = float(surface_loss(e["params"], e["data_units"], m["E"], m["A"], m["B"], m["alpha"], m["beta"]))
        out = simulate(spec)
        assert out["final_loss"] == pytest.approx(m["E"] + (base - m["E"]) * (1 + penalty(w)), rel=1e-12)
        assert out["flops_executed"] == w["flops_added"] and out["flops_inherited"] == w["flops_inherited"]
    w = dict(p["experiments"][0]["wsd"], mock_penalty=0.01, min_steps=100)
    assert penalty(dict(w, decay_steps=100)) == pytest.approx(0.01)
    assert penalty(dict(w, decay_steps=50)) == pytest.approx(0.015)   # half the floor: shortfall 0.5
