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
