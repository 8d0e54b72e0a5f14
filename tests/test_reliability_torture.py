"""The torture benchmark's seeded small form (benchmarks/torture.py): kills at random points of a mock
sweep, each followed by a rerun of the same command: nothing retrained, lost or changed."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import torture  # noqa: E402


@pytest.mark.slow  # two kills of a mock workflow and their reruns: a minute
def test_two_random_kills_lose_and_retrain_nothing(tmp_path, capsys):
    code = torture.main(["--points", "2", "--real-points", "0", "--seed", "3", "--small",
                         "--workdir", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert "completed experiments retrained 0, results lost 0" in out and "tables different 0" in out, out
    assert code == 0, out
