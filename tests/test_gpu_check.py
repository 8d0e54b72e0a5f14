"""benchmarks/gpu_check.py's CPU-side logic: the datasheet table and the clear exit without CUDA."""
import importlib.util
import subprocess
import sys

import pytest
import torch

from conftest import REPO

spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


@pytest.mark.parametrize("name, tflops", [("NVIDIA H100 80GB HBM3", 989.4), ("NVIDIA H100 PCIe", 756.0),
                                          ("NVIDIA H200", 989.4), ("NVIDIA A100-SXM4-80GB", 312.0),
                                          ("NVIDIA A10G", 125.0), ("NVIDIA L40S", 362.1), ("NVIDIA L4", 121.0),
                                          ("Tesla T4", None)])
def test_datasheet_peak_names_known_devices_and_no_others(name, tflops):
    assert gpu_check.datasheet_peak(name) == tflops


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_without_cuda_it_exits_with_one_clear_line():
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py")], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("gpu_check: no CUDA device") and len(r.stderr.strip().splitlines()) == 1


def test_unknown_part_is_one_line():
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--only", "mfu,speed"], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 1 and r.stderr.strip() == "gpu_check: unknown part(s) ['speed']; choose from " \
        "peak,mfu,precision,small,sweep"


@pytest.mark.slow
def test_dry_run_goes_through_every_part_on_cpu(tmp_path):
    """The check's own code paths at tiny CPU shapes: the real trainer's MFU row, mock sweeps through snakemake
    with slots and the forecast, the utilization and throughput rows, the table, the kept files."""
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--dry-run", "--only",
                        "peak,mfu,sweep,precision", "--keep",
                        str(tmp_path)], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    table = r.stdout[r.stdout.index("| check | result | note |"):]
    for check in ("measured matmul peak", "trainer 0M d16 L1 eager", "sweep 10 runs, runs_per_gpu=2",
                  "bf16 vs fp32 final loss"):
        assert f"| {check} |" in table, table
    assert "FAILED" not in table and "| checkpoint save 0M + AdamW |" in table
    import tarfile
    with tarfile.open(tmp_path / "gpu_check.tar.gz") as tar:
        names = tar.getnames()
    assert any(n.startswith("sweep-rpg2/") and n.endswith("/forecast.json") for n in names), names
    assert any(n.startswith("sweep-rpg2/") and n.endswith("/metrics.json") for n in names), names
