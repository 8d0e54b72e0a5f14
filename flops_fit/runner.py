"""Run one experiment (mock or real) and write its metrics.json atomically, only at the end.

Called by the per-experiment Snakemake rule through scripts/train_run.py, and by ``ff-train``.
A completed result is never redone; an interrupted real run resumes from its checkpoint (flops_fit.train).
"""
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .io import atomic_write_json, read_json

METRICS = "metrics.json"


def is_complete(run_dir) -> bool:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return False
    try:
        return read_json(path).get("status") in ("completed", "diverged")
    except (OSError, ValueError):
        return False


def run_experiment(spec: dict, run_dir, *, threads=None, force=False) -> dict:
    """Train (or simulate) ``spec`` into ``run_dir``; return the metrics written to run_dir/metrics.json."""
    run_dir = Path(run_dir)
    if not force and is_complete(run_dir):
        return read_json(run_dir / METRICS)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = _now()
    t0 = time.time()
    is_main = True
    if spec["mode"] == "mock":
        from .mock import simulate
        out = simulate(spec)
        torch_version = None
    else:
        import torch
        from accelerate import PartialState

        from .train import train
        out = train(spec, run_dir, threads=threads)
        is_main = PartialState().is_main_process
        torch_version = torch.__version__
    metrics = {
        "id": spec["id"], "status": out["status"], "mode": spec["mode"], "budget_flops": spec["budget_flops"],
        "params": spec["params"], "data_units": out["data_units"], "unit": spec["unit"],
        "flops_per_unit": spec["flops_per_unit"], "flops_executed": out["flops_executed"],
        "final_loss": out["final_loss"], "steps": out["steps"], "global_batch": out["global_batch"],
        "lr": spec["training"]["lr"], "seed": spec["seed"], "wall_s": out.get("wall_s") or round(time.time() - t0, 3),
        "units_per_s": out.get("units_per_s"), "device": out.get("device"), "precision": out.get("precision"),
        "size": spec["size"],
        "plugins": {"model": spec["model"]["plugin"], "data": spec["data"]["plugin"], "loss": spec["loss"]["plugin"]},
        "config_hash": spec["config_hash"], "versions": {"flops_fit": __version__, "torch": torch_version},
        "started": started, "finished": _now(), "reason": out.get("reason"),
        "startup_s": out.get("startup_s"),  # process setup before the first step (real runs)
        # how the run was planned (docs/adaptive.md): prior | adaptive | extension | replicate
        "planned_by": spec.get("planned_by", "prior"), "replicate": spec.get("replicate", 0),
        "target_params": spec.get("target_params"),
    }
    if is_main:
        atomic_write_json(run_dir / METRICS, metrics)
        atomic_write_json(run_dir / "spec.json", spec)
    return metrics


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_spec(arg: str) -> dict:
    """A spec given as a JSON string or as a path to a JSON file."""
    arg = arg.strip()
    return json.loads(arg) if arg.startswith("{") else read_json(arg)
