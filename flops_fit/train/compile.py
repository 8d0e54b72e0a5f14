"""torch.compile where it pays: `training.compile: auto | true | false` (docs/training.md, "Compile").

- `true` compiles every run, `false` none.
- `auto` compiles a run only when its calibration predicts that the run saves more than compiling costs:
  steps x (eager step - compiled step) > compile seconds. The numbers come from the sweep's forecast
  (`snakemake forecast` times eager and compiled steps, and the compile itself, per calibrated size;
  flops_fit.forecast), which records the decision per experiment. Without a forecast entry, `auto` trains
  eager and says why. On CPU the forecast times compile only when asked (`forecast.calibration.compile`),
  so `auto` there compiles only where it was measured to be faster.

Compile never changes a result beyond float tolerance, so the key stays out of the experiment id. The model
is compiled as a separate callable over the same parameters (`torch.compile(model)`): checkpoints hold the
plain module's state and resume compiled or eager alike, and evaluations run the eager module (no second
graph for eval mode). Inductor's caches live in one folder per sweep machine (`<results_dir>/.cache/inductor`)
so each shape pays its compile once per machine, not once per job.
"""
import json
import os
from pathlib import Path

SETTINGS = ("auto", True, False)


def setting(tr: dict):
    """The training.compile value as auto | True | False (strings 'true'/'false' accepted)."""
    v = tr.get("compile", False)
    if isinstance(v, str):
        v = {"auto": "auto", "true": True, "false": False}.get(v.strip().lower(), v)
    if v not in SETTINGS:
        raise ValueError(f"training.compile must be auto, true or false, not {v!r}")
    return v


def pays(*, steps: int, eager_step_s: float, compiled_step_s: float, compile_s: float) -> bool:
    """auto's rule: compile when the steps saved outweigh the compile time."""
    return steps * (eager_step_s - compiled_step_s) > compile_s


def decide(spec: dict, forecast_path=None) -> tuple:
    """(compile?, why) for one experiment."""
    s = setting(spec["training"])
    if s is True:
        return True, "training.compile=true"
    if s is False:
        return False, "training.compile=false"
    entry = _forecast_entry(forecast_path, spec.get("id"))
    if entry is None or entry.get("compile") is None:
        return False, ("auto: no compile calibration for this run (run `snakemake forecast` first; on CPU set "
                       "forecast.calibration.compile=true to time it): eager")
    return bool(entry["compile"]), f"auto: {entry.get('compile_reason', 'from the forecast')}"


def _forecast_entry(path, exp_id):
    if not path or not exp_id or not Path(path).is_file():
        return None
    try:
        fc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return next((e for e in fc.get("experiments", []) if e.get("id") == exp_id), None)


def use_cache(cache_dir) -> None:
    """Point Inductor's FX-graph and autotune caches at a shared folder (before the first compile)."""
    if cache_dir:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
        os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


def compiled(model):
    """The training callable: torch.compile over the (prepared) model, sharing its parameters."""
    import torch
    return torch.compile(model)
