"""Learning-rate schedule: linear warmup, then cosine decay landing on the floor at exactly the last step.

Step ``s`` (0-based optimizer step, ``0 <= s < steps``) uses ``peak * lr_factor(s, ...)``:
- warmup: ``w = max(1, round(warmup_frac * steps))`` steps, factor ``(s + 1) / w``;
- then cosine from 1 at ``s = w - 1`` to ``min_lr_ratio`` at ``s = steps - 1``.
Each run's schedule spans its own steps, so every budget's run ends fully decayed (Chinchilla).
"""
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
