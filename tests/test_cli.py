"""The ff-* commands: overrides, errors as one line with exit status 2, external run tables."""
import numpy as np
import pandas as pd
import pytest

from flops_fit.cli import analyze_main, plan_main, train_main


def test_plan_prints_table_and_writes_plan(tmp_path, capsys):
    plan_main(["preset=quick", f"results_dir={tmp_path}"])
    out = capsys.readouterr().out
    assert "experiments over 3 budgets" in out and (tmp_path / "gpt-pysource-quick-mock" / "plan.json").is_file()


def test_bad_override_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        plan_main(["training.batch_size=0"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: config key 'training.batch_size'") and "\n" not in err


def test_train_rejects_unknown_ids(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["preset=quick", f"results_dir={tmp_path}", "--ids", "C1e99-nope"])
    assert "unknown experiment id" in capsys.readouterr().err


def test_analyze_external_table(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for C in [1e18, 1e19, 1e20, 1e21]:
        for N in np.geomspace(1e8, 1e10, 7) * (C / 1e20) ** 0.5:
            D = C / (6 * N)
            rows.append({"N": N, "D": D, "C": C,
                         "loss": (1.69 + 406.4 / N**0.34 + 410.7 / D**0.28) * np.exp(0.002 * rng.standard_normal())})
    pd.DataFrame(rows).to_csv(tmp_path / "published.csv", index=False)
    analyze_main([f"analysis.input={tmp_path / 'published.csv'}", "analysis.bootstrap=20", "--out", str(tmp_path / "o")])
    table = pd.read_csv(tmp_path / "o" / "chinchilla_table.csv")
    assert len(table) > 0 and (tmp_path / "o" / "fits.json").is_file()


def test_analyze_external_table_missing_column(tmp_path, capsys):
    pd.DataFrame({"N": [1, 2], "loss": [3, 4]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SystemExit) as e:
        analyze_main([f"analysis.input={tmp_path / 'bad.csv'}", "--out", str(tmp_path / "o")])
    assert e.value.code == 2 and "bad.csv" in capsys.readouterr().err
