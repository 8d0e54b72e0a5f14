"""What machine the forecast is for: device, CPU model, torch version, memory, load (docs/forecast.md)."""
import os
import platform

import psutil


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def mem_available_mb() -> float | None:
    try:
        return psutil.virtual_memory().available / 2**20
    except (psutil.Error, OSError):
        return None


def machine_info() -> dict:
    """{"device", "cpu", "torch", "cores", "gpus", "device_mem_mb", "loadavg"}; device_mem_mb is one GPU's total
    memory on CUDA, the available RAM on CPU (what a job can use now)."""
    import torch
    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if cuda else 0
    if cuda:
        props = torch.cuda.get_device_properties(0)
        device, mem = f"cuda:{props.name}", props.total_memory / 2**20
    else:
        device, mem = "cpu", mem_available_mb()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"device": device, "cpu": cpu_model(), "torch": torch.__version__, "cores": os.cpu_count() or 1,
            "gpus": gpus, "device_mem_mb": mem, "loadavg": load}
