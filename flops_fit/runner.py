"""Run one experiment (mock or real) and write its metrics.json atomically, only at the end.

Called by the per-experiment Snakemake rule through scripts/train_run.py, and by ``ff-train``.
- A valid result whose id and config hash match the spec is never redone (``force`` aside), whatever
  started the job: Snakemake forcing an "incomplete" job after its workflow was killed, a rerun trigger.
- A result file that does not parse or validate counts as missing: it is set aside as
  ``metrics.json.bad`` (a ``failed`` record as ``metrics.json.failed``) and the run is trained again.
- One live trainer per run folder (flops_fit.runlock): a second process waits, or skips, saying why.
- An exception inside training (a plugin raising, out of memory) is recorded as status ``failed`` with
  the exception's last line as ``reason`` (traceback in ``failure.txt``), so the sweep goes on.
  File problems the user must fix (damaged data, a foreign checkpoint) raise ``BadFile`` instead.
An interrupted real run resumes from its checkpoint (flops_fit.train).
"""
import contextlib
import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .io import BadFile, atomic_write_json, atomic_write_text, read_json, set_aside
from .runlock import RunLock
from .slots import SINCE_ENV as SLOT_SINCE_ENV

METRICS = "metrics.json"
DONE = ("completed", "diverged")


def check_result(run_dir, spec: dict | None = None):
    """(metrics, None) for a valid result matching ``spec``; (None, None) if absent; (None, why) if unusable."""
    from .results import metrics_problem
    path = Path(run_dir) / METRICS
    try:
        m = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"not valid JSON ({e})"
    except OSError as e:
        return None, f"cannot read ({e.strerror or e})"
    problem = metrics_problem(m)
    if problem is None and spec is not None:
        if m.get("id") != spec["id"]:
            problem = f"holds experiment {m.get('id')!r}, not {spec['id']!r}"
        elif m.get("config_hash") not in (None, spec.get("config_hash")):
            problem = f"config hash {m.get('config_hash')} does not match the plan's {spec.get('config_hash')}"
    return (None, problem) if problem else (m, None)


def is_complete(run_dir, spec: dict | None = None) -> bool:
    m, _ = check_result(run_dir, spec)
    return m is not None and m["status"] in DONE


def set_aside_unusable(run_dir, spec=None, *, say=None) -> str | None:
    """Move an unusable metrics.json (or a ``failed`` record) out of the way; return what was done."""
    m, problem = check_result(run_dir, spec)
    path = Path(run_dir) / METRICS
    if m is not None and m["status"] == "failed":
        dest = set_aside(path, ".failed")
        note = f"{path}: status failed ({m.get('reason')}); kept as {dest.name}, training it again"
    elif problem:
        dest = set_aside(path, ".bad")
        note = f"{path}: {problem}; kept as {dest.name}, training it again"
    else:
        return None
    (say or _say)(f"flops-fit: {note}")
    return note


def is_launch_main() -> bool:
    """True in a plain process and in rank 0 of `accelerate launch` / torchrun (they set RANK for every rank)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def run_experiment(spec: dict, run_dir, *, threads=None, force=False, wait=True) -> dict:
    """Train (or simulate) ``spec`` into ``run_dir``; return the metrics written to run_dir/metrics.json.

    ``wait``: if another live process trains this folder, wait for it (True) or raise RunLocked (False)."""
    run_dir = Path(run_dir)
    # one lock per launch, held by its rank 0: the other ranks of `accelerate launch` / torchrun (RANK > 0)
    # train the same folder with it and must not wait on it (they would deadlock rank 0's first collective)
    main_rank = is_launch_main()
    with RunLock(run_dir, wait=wait) if main_rank else contextlib.nullcontext():
        if not force:
            m, _ = check_result(run_dir, spec)
            if m is not None and m["status"] in DONE:
                return m
            if main_rank:
                set_aside_unusable(run_dir, spec)
        return _run(spec, run_dir, threads)


def _run(spec, run_dir, threads) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    # started: when the job took its device slots (flops_fit.slots), else now; finished: just before it frees them
    started = os.environ.get(SLOT_SINCE_ENV) or _now()
    t0 = time.time()
    is_main, torch_version = True, None
    try:
        if spec["mode"] == "mock":
            from .mock import simulate
            out = simulate(spec)
        else:
            import torch
            from accelerate import PartialState

            from .train import train
            torch_version = torch.__version__
            is_main = PartialState().is_main_process
            out = train(spec, run_dir, threads=threads)
    except BadFile:
        raise
    except Exception as e:  # a plugin raising mid-training, out of memory...: recorded, the sweep goes on
        out = _failure(spec, run_dir, e)
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
        "startup_parts": out.get("startup_parts"),  # that setup by part: process_imports, accelerate, plugins, ...
        "compiled": out.get("compiled", False), "compile_reason": out.get("compile_reason"),
        "compile_s": out.get("compile_s", 0.0),  # torch.compile seconds inside wall_s (training.compile)
        # how the run was planned (docs/adaptive.md): prior | adaptive | extension | replicate
        "planned_by": spec.get("planned_by", "prior"), "replicate": spec.get("replicate", 0),
        "target_params": spec.get("target_params"),
        "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),  # the devices the run trained on (flops_fit.slots)
        **utilization(out, spec["mode"]),
    }
    if spec.get("wsd"):  # a WSD cell (docs/wsd.md): its schedule and the FLOPs it added and inherited
        from .wsd.compute import cell_fields
        metrics.update(cell_fields(spec, out))
    if is_main:
        atomic_write_json(run_dir / "spec.json", spec)
        atomic_write_json(run_dir / METRICS, metrics)
    return metrics


def utilization(out: dict, mode: str) -> dict:
    """achieved_flops_per_s = flops_executed / (wall_s - compile_s), evaluations and checkpoints included, and
    mfu = that / the peak of the run's devices (flops_fit.peak); None for mock runs, which execute no FLOPs."""
    from .peak import mfu
    eff = (out.get("wall_s") or 0.0) - (out.get("compile_s") or 0.0)
    achieved = out["flops_executed"] / eff if mode == "real" and eff > 0 and out.get("flops_executed") else None
    return {"achieved_flops_per_s": achieved, "peak_flops_per_s": out.get("peak_flops_per_s"),
            "peak_source": out.get("peak_source"), "mfu": mfu(achieved, out.get("peak_flops_per_s")),
            "peak_datasheet_flops_per_s": out.get("peak_datasheet_flops_per_s"),
            "mfu_datasheet": mfu(achieved, out.get("peak_datasheet_flops_per_s"))}


def _failure(spec, run_dir, e) -> dict:
    lines = [line for line in str(e).strip().splitlines() if line.strip()]
    reason = f"{type(e).__name__}: {lines[-1].strip() if lines else ''}".rstrip(": ")
    atomic_write_text(run_dir / "failure.txt", "".join(traceback.format_exception(e)))
    _say(f"flops-fit: {spec['id']} failed: {reason} (traceback in {run_dir / 'failure.txt'}); "
         "recorded as failed, the sweep goes on")
    return {"status": "failed", "final_loss": None, "steps": 0, "data_units": 0, "flops_executed": 0.0,
            "global_batch": spec["training"]["batch_size"], "reason": reason}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def load_spec(arg: str) -> dict:
    """A spec given as a JSON string or as a path to a JSON file."""
    arg = arg.strip()
    if arg.startswith("{"):
        try:
            return json.loads(arg)
        except ValueError as e:
            raise BadFile(f"--spec: not valid JSON ({e}); pass a spec from the plan (plan.json) or its file") from None
    from .io import read_json_or_explain
    return read_json_or_explain(arg, "pass a spec from the plan (plan.json)")
