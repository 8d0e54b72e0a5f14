"""flops_fit.wsd.compare: a WSD sweep against a cosine grid, cells paired by (budget, size)."""
import json

import numpy as np
import pytest

from flops_fit.wsd.compare import compare, main, markdown

E, A, B, ALPHA, BETA = 1.7, 400.0, 410.0, 0.34, 0.28


def _sweep(root, name, penalty, budgets=(1e18, 2e18, 4e18), sizes=(3e7, 6e7, 1.2e8, 2.4e8, 4.8e8)):
    for b in budgets:
        for n in sizes:
            d = b / (6 * n)
            loss = (E + A / n ** ALPHA + B / d ** BETA) * (1 + penalty)
            run = root / name / "runs" / f"{name}-C{b:g}-N{n:g}"   # ids differ between the sweeps
            run.mkdir(parents=True)
            (run / "metrics.json").write_text(json.dumps({
                "id": run.name, "status": "completed", "params": n, "data_units": d, "flops_per_unit": 6 * n,
                "final_loss": loss, "budget_flops": b, "flops_executed": 6 * n * d, "wall_s": 1.0}))
    return root / name


def test_cells_pair_by_budget_and_size_and_a_uniform_factor_moves_no_exponent(tmp_path):
    cos, wsd = _sweep(tmp_path, "cos", 0.0), _sweep(tmp_path, "wsd", 0.01)
    r = compare(wsd, cos, boot=20)
    assert r["shared_cells"] == 15 and r["wsd_only"] == 0
    assert np.allclose([c["diff"] / c["loss_cosine"] for c in r["cells"]], 0.01)
    assert abs(r["a"]["diff"]["approach2"]) < 0.02   # a 1 % loss factor does not move the IsoFLOP minima
    assert "| 1e+18 | 3e+07 |" in markdown(r) and "a_wsd - a_cosine" in markdown(r)


def test_runs_outside_the_plan_are_left_out_and_two_runs_of_one_cell_are_one_line(tmp_path, capsys):
    cos, wsd = _sweep(tmp_path, "cos", 0.0), _sweep(tmp_path, "wsd", 0.01)
    ids = sorted(p.name for p in (cos / "runs").iterdir())
    (cos / "plan.json").write_text(json.dumps({"experiments": [{"id": i} for i in ids[1:]]}))
    assert compare(wsd, cos, boot=0)["shared_cells"] == 14   # the run the plan does not list is an older plan's
    extra = _sweep(tmp_path / "again", "cos", 0.02)          # the same cells once more, under other ids
    for run in (extra / "runs").iterdir():
        run.rename(wsd / "runs" / f"again-{run.name}")
    with pytest.raises(SystemExit) as e:
        main(["--wsd", str(wsd), "--cosine", str(cos)])
    assert str(e.value).startswith(f"wsd.compare: error: {wsd}: 30 runs share 15 (budget, size) cell(s), e.g. ")
