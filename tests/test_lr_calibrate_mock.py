"""ff-calibrate in one process on a mock sweep whose loss(LR) is known (lr_calibration.mock_optimum): the plan, the
runs, the fit, lr_calibration.json and its figure. Fast: mock runs take milliseconds."""
import json

import pytest

from flops_fit.lr.command import main as calibrate_main
from flops_fit.lr.rule import rule_lr

TRUE = {"base": 1.5e-2, "ref_params": 4e4, "ref_tokens": 1e6, "exponent_n": 0.3, "exponent_d": -0.05,
        "curvature": 0.05}


def _args(tmp_path, *extra):
    opt = ",".join(f"{k}:{v}" for k, v in TRUE.items())
    return ["mode=mock", "model.size.max=128", "mock.noise=0", f"results_dir={tmp_path}",
            f"lr_calibration.mock_optimum={{{opt}}}", *extra]


def test_ff_calibrate_recovers_a_known_rule_and_writes_its_files(tmp_path, capsys):
    calibrate_main(_args(tmp_path))
    out = capsys.readouterr().out
    sweep = next(tmp_path.glob("*/lr_calibration.json")).parent
    cal = json.loads((sweep / "lr_calibration.json").read_text())
    assert cal["status"] == "ok" and not cal["edge_cells"], cal.get("reason")
    for c in cal["cells"]:   # exact quadratic in ln LR: each cell's optimum is the true rule's at its (N, D)
        assert c["lr_opt"] == pytest.approx(rule_lr(TRUE, c["params"], c["tokens"]), rel=1e-6)
    rule = cal["rule"]
    assert rule["exponent_n"] == pytest.approx(0.3, abs=1e-6) and rule["exponent_d"] == pytest.approx(-0.05, abs=1e-6)
    assert (sweep / "lr_calibration" / "lr_calibration.png").stat().st_size > 10_000
    assert (sweep / "lr_calibration_plan.json").is_file() and "LR rule: lr = " in out
    assert 0 < cal["compute"]["flops_fraction"] < 0.3


def test_a_bad_multiplier_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        calibrate_main(_args(tmp_path, "lr_calibration.multipliers=[0.5,-1,2]"))
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "is not positive" in err[0], err
