"""The device's peak, for MFU (model FLOPs utilization = achieved FLOP/s / peak FLOP/s).

The peak is measured, once per device model, and cached: a bf16 matmul (8192^3) on a CUDA device, an fp32
matmul (1024^3, best of 8, ~50 ms) on a CPU with the threads the run uses. The datasheet's dense bf16 peak
is given beside it where the device is known (DATASHEET_BF16_TFLOPS). A measured peak is what the hardware
delivers to one large matmul, so MFU against it is a fair "how close to the ceiling".

Cache: ~/.cache/flops-fit/peaks.json ($XDG_CACHE_HOME honoured; FLOPS_FIT_PEAK_CACHE names another file).
Delete an entry (or the file) to measure again, e.g. if it was first measured on a busy device.

The FLOPs an MFU divides are the plan's (flops_fit.flops): attention counted as full matmuls, ~10 % above a
causal count at seq 1024.
"""
import json
import os
import time
from pathlib import Path

from .forecast.machine import cpu_model

# dense (no sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, TFLOP/s; first match wins
DATASHEET_BF16_TFLOPS = [("H200", 989.4), ("H100 PCIe", 756.0), ("H100", 989.4), ("A100", 312.0),
                         ("L40S", 362.1), ("A10", 125.0), ("L4", 121.0)]
FLOPS_CONVENTION = "FLOPs as planned: attention counted as full matmuls (~10 % above a causal count at seq 1024)"


def datasheet_peak(name: str):
    """Dense bf16 peak (TFLOP/s) of a device name such as 'NVIDIA H100 80GB HBM3', or None if unknown."""
    for key, tflops in DATASHEET_BF16_TFLOPS:
        if key == "L4" and "L40" in name:
            continue
        if key in name:
            return tflops
    return None


def cache_path() -> Path:
    if os.environ.get("FLOPS_FIT_PEAK_CACHE"):
        return Path(os.environ["FLOPS_FIT_PEAK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flops-fit" / "peaks.json"


def matmul_cuda(torch, device, n=8192, iters=20) -> float:
    """FLOP/s of a bf16 n^3 matmul on a CUDA device (after 3 warm-up products)."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize(device)
    return 2.0 * n ** 3 * iters / (time.perf_counter() - t0)


def matmul_cpu(torch, n=1024, reps=8) -> float:
    """FLOP/s of an fp32 n^3 matmul on the CPU with torch's current threads: the best of `reps` (~50 ms)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best


def device_peak(device=None) -> dict:
    """{key, flops_per_s, dtype, source, datasheet_flops_per_s} of one device (a torch.device; None: CUDA's
    current device if there is one, else the CPU). Measured the first time its model is seen, then cached."""
    import torch
    if device is None:
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        key, dtype = f"cuda:{name}", "bf16"
        sheet = datasheet_peak(name)
    else:
        key, dtype, sheet = f"cpu:{cpu_model()} x{torch.get_num_threads()} threads", "fp32", None
    cache = _read(cache_path())
    hit = cache.get(key)
    if not (isinstance(hit, dict) and isinstance(hit.get("flops_per_s"), (int, float)) and hit["flops_per_s"] > 0):
        flops = matmul_cuda(torch, device) if device.type == "cuda" else matmul_cpu(torch)
        hit = {"flops_per_s": flops, "dtype": dtype,
               "source": f"measured {dtype} matmul " + ("8192^3" if device.type == "cuda" else "1024^3"),
               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
        _store(cache_path(), key, hit)
    return {"key": key, **hit, "datasheet_flops_per_s": sheet * 1e12 if sheet else None}


def _read(path: Path) -> dict:
    try:
        d = json.loads(path.read_text())
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: measure again and rewrite it


def _store(path: Path, key: str, entry: dict) -> None:
    """Add one entry (re-read first: jobs measuring other devices at the same time keep theirs)."""
    from .io import atomic_write_json
    try:
        atomic_write_json(path, {**_read(path), key: entry})
    except OSError:
        pass  # a read-only home: the peak is measured again next time, nothing else is lost


def mfu(flops_per_s, peak_flops_per_s):
    """achieved / peak, or None where either is unknown."""
    if not flops_per_s or not peak_flops_per_s:
        return None
    return flops_per_s / peak_flops_per_s


if __name__ == "__main__":  # python -m flops_fit.peak: this machine's peak (measured now if not cached)
    print(json.dumps(device_peak(), indent=2))
