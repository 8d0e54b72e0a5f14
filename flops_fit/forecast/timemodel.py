"""The stated time and memory model of one experiment, from calibration points (docs/forecast.md).

    seconds = startup + steps x step_s(F) + n_evals x eval_s(F) + n_ckpts x ckpt_s(N) + teardown

F is the experiment's training FLOPs per optimizer step (flops_per_unit x units_per_step), N its
parameters. startup is process start to the first step plus the warm-up steps' excess over the steady
step time. Between calibrated sizes a quantity is interpolated piecewise-linearly in log-log (time) or
linearly in N (memory, which is an affine baseline + per-parameter cost). Outside the calibrated range
the end segment's log-log slope is used, clipped to [0, 1]: time never falls with size and grows at most
in proportion to FLOPs. With a single calibrated size: constant below it, proportional to F above it.

Every quantity carries (lo, mid, hi); an experiment's range adds the lo (hi) of every term, so it is the
calibration's own spread, not a statistical interval (docs/forecast.md says what it does not cover).
"""
import bisect
import math

QUANTITIES = ("step_s", "eval_s", "ckpt_s", "startup_s", "teardown_s")


def _loglog(xs, ys, x):
    """Piecewise-linear interpolation of log y in log x through sorted points; clipped-slope extrapolation."""
    if len(xs) == 1:
        return ys[0] if x <= xs[0] else ys[0] * (x / xs[0])
    lx = [math.log(v) for v in xs]
    ly = [math.log(max(v, 1e-12)) for v in ys]
    t = math.log(x)
    i = min(max(bisect.bisect_left(lx, t), 1), len(lx) - 1)
    slope = (ly[i] - ly[i - 1]) / (lx[i] - lx[i - 1]) if lx[i] > lx[i - 1] else 0.0
    if t < lx[0] or t > lx[-1]:  # extrapolate from the end point with the clipped slope
        slope = min(max(slope, 0.0), 1.0)
        j = 0 if t < lx[0] else len(lx) - 1
        return math.exp(ly[j] + slope * (t - lx[j]))
    return math.exp(ly[i - 1] + slope * (t - lx[i - 1]))


def _linear(xs, ys, x):
    """Linear interpolation (and end-segment extrapolation, never below the smallest value) in x."""
    if len(xs) == 1:
        return ys[0]
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    slope = (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]) if xs[i] > xs[i - 1] else 0.0
    return max(ys[i - 1] + slope * (x - xs[i - 1]), min(ys))


class TimeModel:
    """Built from calibration points: [{"params", "flops_per_step", "step_s": [lo, mid, hi], ...,
    "peak_mem_mb"}]; one per calibrated size (duplicates of a size are averaged by the caller)."""

    def __init__(self, points, *, mock=False):
        if not points:
            raise ValueError("the time model needs at least one calibration point")
        self.mock = mock  # mock mode: a job is its process overhead (startup_s), whatever its size
        self.points = sorted(points, key=lambda p: p["flops_per_step"])
        self._by_n = sorted(points, key=lambda p: p["params"])

    def quantity(self, name, *, flops_per_step, params):
        """(lo, mid, hi) of one calibrated quantity at this size."""
        if self.mock:  # whatever the size, a mock job costs its process
            return tuple(self.points[0]["startup_s"]) if name == "startup_s" else (0.0, 0.0, 0.0)
        if name in ("step_s", "eval_s"):
            xs, pts, x = [p["flops_per_step"] for p in self.points], self.points, flops_per_step
        else:
            xs, pts, x = [float(p["params"]) for p in self._by_n], self._by_n, float(params)
        xs, pts = _dedupe(xs, pts)
        return tuple(_loglog(xs, [max(p[name][k], 1e-9) for p in pts], x) for k in range(3))

    def peak_mem_mb(self, params):
        pts = sorted(self._by_n, key=lambda p: p["params"])
        xs, pts = _dedupe([float(p["params"]) for p in pts], pts)
        return _linear(xs, [float(p["peak_mem_mb"]) for p in pts], float(params))

    def experiment(self, *, steps, flops_per_step, params, n_evals, ckpt):
        """Forecast of one experiment: {"seconds", "seconds_lo", "seconds_hi", "terms": {...}}.

        ckpt: {"every_steps", "every_s"} (0 = off); the number of checkpoints follows from the run time."""
        q = {n: self.quantity(n, flops_per_step=flops_per_step, params=params) for n in QUANTITIES}
        out = {}
        for k, label in enumerate(("seconds_lo", "seconds", "seconds_hi")):
            train_s = steps * q["step_s"][k]
            n_ckpt = checkpoints(steps, train_s, ckpt)
            total = q["startup_s"][k] + train_s + n_evals * q["eval_s"][k] + n_ckpt * q["ckpt_s"][k] + \
                q["teardown_s"][k]
            out[label] = total
            if k == 1:
                out["terms"] = {"startup_s": q["startup_s"][1] + q["teardown_s"][1], "train_s": train_s,
                                "eval_s": n_evals * q["eval_s"][1], "ckpt_s": n_ckpt * q["ckpt_s"][1],
                                "n_evals": n_evals, "n_ckpts": n_ckpt, "step_s": q["step_s"][1]}
        return out


def _dedupe(xs, pts):
    """Keep one point per x (the calibration averages repeats of a size before this)."""
    seen, ox, op = set(), [], []
    for x, p in zip(xs, pts):
        if x not in seen:
            seen.add(x)
            ox.append(x)
            op.append(p)
    return ox, op


def evaluations(steps: int, eval_every: int) -> int:
    """Held-out evaluations the loop runs: at multiples of eval_every before the last step, plus the final one
    (flops_fit/train/loop.py; eval_every 0 means about 4 per run)."""
    every = int(eval_every or 0) or max(1, steps // 4)
    return (max(steps, 1) - 1) // every + 1


def checkpoints(steps: int, train_s: float, ckpt: dict) -> int:
    """Checkpoints a run saves: every `every_steps` steps, and whenever `every_s` seconds passed since the
    last save (each save resets that clock); never on the last step."""
    every_steps, every_s = int(ckpt.get("every_steps") or 0), float(ckpt.get("every_s") or 0)
    final = int(bool(ckpt.get("final")))  # keep_ckpt: the finished model is saved once more
    if steps <= 1:
        return final
    step_s = train_s / steps
    if every_steps and (every_s <= 0 or every_steps * step_s <= every_s or step_s <= 0):
        return (steps - 1) // every_steps + final
    if every_s > 0:
        # between two step-checkpoints (or with none) a save every every_s seconds
        return int(train_s // every_s) + ((steps - 1) // every_steps if every_steps else 0) + final
    return final
