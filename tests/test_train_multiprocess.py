"""Two processes (torchrun, gloo on CPU) keep the global batch and token budget: same result as one process."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flops_fit.train import train
from test_train_loop import make_spec, pysource  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, os, sys
from pathlib import Path
from flops_fit.train import train
m = train(json.load(open(sys.argv[1])), sys.argv[2], threads=1)
# one file per rank: two processes printing to one pipe can interleave their lines
Path(sys.argv[3], f"rank{os.environ['RANK']}.json").write_text(json.dumps(m))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("port29500")  # torchrun and accelerate launch share the default rendezvous port
def test_two_processes_match_one(pysource, tmp_path):  # noqa: F811
    spec = make_spec(pysource, steps=12, micro_batch_size=2)
    one = train(spec, tmp_path / "one", threads=1)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "child.py").write_text(CHILD)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          str(tmp_path / "child.py"), str(tmp_path / "spec.json"), str(tmp_path / "two"),
                          str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    two = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert len(two) == 2 and two[0] == two[1]  # the same dict on every process
    assert two[0]["device"].endswith("x2") and two[0]["global_batch"] == one["global_batch"]
    assert two[0]["data_units"] == one["data_units"] == spec["data_units"]
    assert two[0]["final_loss"] == pytest.approx(one["final_loss"], abs=1e-5)
