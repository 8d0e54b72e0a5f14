"""training.compile in the forecast: time compiled steps and the compile itself, decide `auto` per experiment.

For `auto` (on GPUs, or anywhere with forecast.calibration.compile=true) the calibration times each chosen
size twice in fresh processes: eager, then compiled. A size's compile seconds are the compiled run's start-up
(which holds the first step's compile) over the eager one's. Each experiment then compiles when
steps x (eager step - compiled step) > compile seconds (flops_fit.train.compile.pays), and its forecast
uses the chosen mode's times. forecast.json carries the decision per experiment (`compile`,
`compile_reason`), which the training job reads back.
"""
from flops_fit.train.compile import pays, setting

from .timemodel import TimeModel


def wanted(spec: dict, settings: dict, machine: dict) -> bool:
    """Whether the calibration should also time compiled steps."""
    if setting(spec["training"]) != "auto":
        return False
    on = settings.get("compile")
    return bool(machine["gpus"]) if on is None else bool(on)


def with_setting(specs, value, cache=None) -> list:
    """The specs with training.compile=value; cache: Inductor's cache folder, the one the sweep's jobs share."""
    extra = {"compile_cache": str(cache)} if cache else {}
    return [dict(s, training=dict(s["training"], compile=value, **extra)) for s in specs]


def attach(eager_points, compiled_points) -> None:
    """Store each compiled measurement on its eager point: {"step_s", "compile_s"} (lo, mid, hi)."""
    for p, c in zip(eager_points, compiled_points):
        extra = [max(cs - es, 0.0) for cs, es in zip(c["startup_s"], p["startup_s"])]
        p["compiled"] = {"step_s": c["step_s"], "compile_s": sorted(extra)}


def compiled_model(points):
    """A TimeModel of compiled runs (compile seconds in the start-up), or None when not calibrated."""
    if not points or any("compiled" not in p for p in points):
        return None
    pts = []
    for p in points:
        c = p["compiled"]
        pts.append(dict(p, step_s=c["step_s"], startup_s=[s + x for s, x in zip(p["startup_s"], c["compile_s"])],
                        compile_s=c["compile_s"]))
    return TimeModel(pts)


def choose(e: dict, eager: dict, compiled: dict | None, comp_model) -> tuple:
    """(forecast to use, compile?, reason) for one experiment, given its eager and compiled forecasts."""
    s = setting(e["training"])
    if s is True:  # the calibration itself ran compiled: its times already hold the compile
        return eager, True, "training.compile=true"
    if s is False or compiled is None:
        why = "training.compile=false" if s is False else "auto: compile not calibrated here (eager)"
        return eager, False, why
    steps = int(e["steps"])
    es, cs = eager["terms"]["step_s"], compiled["terms"]["step_s"]
    cost = comp_model.quantity("compile_s", flops_per_step=float(e["flops_per_unit"]) * float(e["units_per_step"]),
                               params=e["params"])[1]
    yes = pays(steps=steps, eager_step_s=es, compiled_step_s=cs, compile_s=cost)
    why = (f"auto: {steps} steps x ({es * 1e3:.2f} - {cs * 1e3:.2f} ms) = {steps * (es - cs):.1f} s saved "
           f"{'>' if yes else '<='} {cost:.1f} s compile")
    return (compiled if yes else eager), yes, why
