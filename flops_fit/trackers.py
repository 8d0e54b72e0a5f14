"""Experiment trackers (TensorBoard, Weights & Biases, MLflow, ...) through Accelerate's trackers.

``training.log_with: [tensorboard, wandb]`` turns them on; off by default, and bookkeeping only (not in the
experiment id). One tracker run per experiment, named by its id and grouped by sweep:
- TensorBoard: event files in ``<sweep>/tensorboard/<id>/``; a resumed run writes with ``purge_step`` at
  its checkpoint, so the steps it re-does replace the ones logged after that checkpoint.
- W&B: project ``$WANDB_PROJECT`` (default ``flops-fit``), group = sweep, name and run id = the experiment
  id with ``resume="allow"``: a resumed run continues its W&B run. ``WANDB_MODE=offline`` works offline.
- MLflow: experiment = sweep, run name = id. Other Accelerate trackers: project name = id.
Hyper-parameters (N, D, budget, lr, seed...) go in as the run's config; scalars at every curve point:
train and val loss, lr, units (tokens), units per second and MFU when the record has them.

This module's import is light (no torch): ``check`` runs when the config is validated.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import time
from pathlib import Path

# tracker name -> the package it needs (Accelerate's names; the extra that installs the common ones: trackers)
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow", "comet_ml": "comet_ml",
            "aim": "aim", "clearml": "clearml", "dvclive": "dvclive", "swanlab": "swanlab", "trackio": "trackio"}


def check(names) -> None:
    """Raise ValueError (one line) for an unknown tracker or one whose package is not installed."""
    for name in names or []:
        if name not in PACKAGES:
            raise ValueError(f"training.log_with: unknown tracker {name!r} (choose from {', '.join(PACKAGES)})")
        pkg = PACKAGES[name]
        if importlib.util.find_spec(pkg) is None and not (name == "tensorboard" and importlib.util.find_spec("tensorboardX")):
            extra = "pip install 'flops-fit[trackers]'" if name in ("tensorboard", "wandb") else f"pip install {pkg}"
            raise ValueError(f"training.log_with: {name} needs the {pkg!r} package, which is not installed: {extra}")


def accelerator_kwargs(spec: dict, run_dir) -> dict:
    """Keyword arguments for ``Accelerator(...)``: {} when no tracker is asked for."""
    names = list(spec["training"].get("log_with") or [])
    if not names:
        return {}
    check(names)
    sweep_dir = Path(run_dir).resolve().parent.parent   # <sweep>/runs/<id>
    exp_id, sweep = str(spec.get("id", "run")), str(spec.get("sweep") or sweep_dir.name)
    log_with = []
    for name in names:
        if name == "wandb":
            from accelerate.tracking import WandBTracker
            log_with.append(WandBTracker(os.environ.get("WANDB_PROJECT", "flops-fit"), name=exp_id, group=sweep,
                                         id=exp_id.replace(".", "_"), resume="allow", dir=str(sweep_dir)))
        elif name == "mlflow":
            from accelerate.tracking import MLflowTracker
            log_with.append(MLflowTracker(experiment_name=sweep, run_name=exp_id))
        else:
            log_with.append(name)
    return {"log_with": log_with, "project_dir": str(sweep_dir / "tensorboard")}


def hparams(spec: dict) -> dict:
    """The run's configuration as flat scalars (what a dashboard filters and groups by)."""
    tr = spec["training"]
    out = {"id": spec.get("id"), "sweep": spec.get("sweep"), "budget_flops": spec.get("budget_flops"),
           "params": spec.get("params"), "data_units": spec.get("data_units"), "unit": spec.get("unit"),
           "steps": spec.get("steps"), "flops_per_unit": spec.get("flops_per_unit"), "seed": spec.get("seed"),
           "lr": tr.get("lr"), "batch_size": tr.get("batch_size"), "precision": tr.get("precision"),
           "model": spec["model"]["plugin"], "data": spec["data"]["plugin"]}
    out.update({f"size_{k}": v for k, v in (spec.get("size") or {}).items()})
    return {k: v for k, v in out.items() if isinstance(v, (int, float, str, bool))}


class Tracker:
    """The experiment's tracker run: ``log(rec)`` at each curve point, ``end(metrics)`` once."""

    def __init__(self, accelerator, spec: dict, step: int, scheduler=None):
        self.acc, self.scheduler, self.unit = accelerator, scheduler, spec.get("unit", "units")
        self.on = bool(accelerator.log_with) if hasattr(accelerator, "log_with") else False
        self.last = None
        if not self.on:
            return
        kw = {"tensorboard": {"purge_step": int(step)} if step else {}}
        accelerator.init_trackers(str(spec.get("id", "run")), init_kwargs=kw)
        for t in accelerator.trackers if accelerator.is_main_process else []:   # trackers start on the main process
            if t.name == "tensorboard":   # in the run's own folder (Accelerate's would add a run per process start)
                t.writer.add_hparams(hparams(spec), {}, run_name=".")
            else:
                t.store_init_configuration(hparams(spec))
        atexit.register(self.flush)   # a run stopped by a signal (SystemExit) keeps what it logged

    def log(self, rec: dict) -> None:
        if not self.on:
            return
        step, now = int(rec["step"]), time.perf_counter()
        values = {f"{k}": float(rec[k]) for k in ("train_loss", "val_loss", "mfu") if rec.get(k) is not None}
        values[self.unit] = float(rec.get("units", 0))
        if self.scheduler is not None:
            values["lr"] = float(self.scheduler.get_last_lr()[0])
        if self.last is not None and step > self.last[0]:
            values[f"{self.unit}_per_s"] = (rec.get("units", 0) - self.last[1]) / max(1e-9, now - self.last[2])
        self.last = (step, rec.get("units", 0), now)
        self.acc.log(values, step=step)

    def flush(self) -> None:
        for t in getattr(self.acc, "trackers", []):
            w = getattr(t, "writer", None)
            if w is not None:
                w.flush()

    def end(self, metrics: dict) -> None:
        """The run's summary (final loss, status, throughput, MFU) and the tracker runs closed."""
        if not self.on:
            return
        summary = {f"final/{k}": float(v) for k, v in metrics.items()
                   if k in ("final_loss", "units_per_s", "wall_s", "mfu", "flops_executed") and v is not None}
        if summary and self.last is not None:
            self.acc.log(summary, step=self.last[0])
        self.acc.end_training()
        atexit.unregister(self.flush)
