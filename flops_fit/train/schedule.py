"""Learning-rate schedules: linear warmup, then cosine decay landing on the floor at exactly the last step
(the default); or warmup-stable-decay with in-run decays (``wsd_lr_factor``, docs/wsd.md).

Step ``s`` (0-based optimizer step, ``0 <= s < steps``) uses ``peak * lr_factor(s, ...)``:
- warmup: ``w = max(1, round(warmup_frac * steps))`` steps, factor ``(s + 1) / w``;
- then cosine from 1 at ``s = w - 1`` to ``min_lr_ratio`` at ``s = steps - 1``.
Each run's schedule spans its own steps, so every budget's run ends fully decayed (Chinchilla).
"""
import functools
import math

from torch.optim.lr_scheduler import LambdaLR


def warmup_steps(steps: int, warmup_frac: float) -> int:
    return max(1, min(steps, round(warmup_frac * steps)))


def lr_factor(s: int, steps: int, warmup_frac: float, min_lr_ratio: float) -> float:
    w = warmup_steps(steps, warmup_frac)
    if s >= steps - 1:
        return min_lr_ratio
    if s < w:
        return (s + 1) / w
    progress = (s - (w - 1)) / (steps - w)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class _Factor:
    # a picklable callable (LambdaLR.state_dict skips plain functions but keeps objects' __dict__)
    def __init__(self, steps, warmup_frac, min_lr_ratio):
        self.steps, self.warmup_frac, self.min_lr_ratio = steps, warmup_frac, min_lr_ratio

    def __call__(self, s):
        return lr_factor(min(s, self.steps - 1), self.steps, self.warmup_frac, self.min_lr_ratio)


def make_scheduler(optimizer, steps: int, warmup_frac: float, min_lr_ratio: float) -> LambdaLR:
    """Call ``scheduler.step()`` once after every optimizer step."""
    return LambdaLR(optimizer, _Factor(steps, warmup_frac, min_lr_ratio))


# ---- warmup-stable-decay with in-run decays (WSD-S; docs/wsd.md)
# A run of one model size passes through several cells: cell k ends at cumulative step e_k, and its decay is the
# last d_k steps before e_k. The factor is 1 (the stable phase) outside warmup and decays, so after a decay the
# run continues from the decayed weights at the peak rate again. A decay's last step (s = e_k - 1) is at
# min_lr_ratio, like cosine's last step.
WSD_SHAPES = ("linear", "1-sqrt")


def wsd_lr_factor(s: int, warmup: int, decays, min_lr_ratio: float, shape: str = "1-sqrt") -> float:
    """Step s's factor under warmup (s < warmup: (s + 1) / warmup) and decays [(start, end), ...] (steps
    start .. end - 1 decay from 1 to min_lr_ratio; 1-sqrt: 1 - (1 - m) * sqrt(p), Hägele et al. 2024)."""
    for start, end in decays:
        if start <= s < end:
            p = (s - start + 1) / (end - start)
            q = p if shape == "linear" else math.sqrt(p)
            return 1.0 - (1.0 - min_lr_ratio) * q
    if s < warmup:
        return (s + 1) / warmup
    return 1.0


def make_wsd_scheduler(optimizer, warmup: int, decays, min_lr_ratio: float, shape: str) -> LambdaLR:
    # a functools.partial: LambdaLR saves and restores an object's __dict__ (a partial has none), so a cell that
    # starts from its parent's state keeps its own decays instead of the parent's shorter list
    return LambdaLR(optimizer, functools.partial(wsd_lr_factor, warmup=int(warmup),
                                                 decays=tuple(tuple(d) for d in decays),
                                                 min_lr_ratio=float(min_lr_ratio), shape=shape))


def resync(scheduler) -> None:
    """Set each group's rate to base x factor(last_epoch): after loading another schedule's state (a parent
    cell's), the step about to run uses this schedule's factor, as in one uninterrupted run."""
    sched = getattr(scheduler, "scheduler", scheduler)  # under Accelerate: the wrapped LambdaLR
    for group, base, fn in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
        group["lr"] = base * fn(sched.last_epoch)
    sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]
