"""Real training of one planned experiment: ``train(spec, run_dir) -> metrics``.

loop.py (the training function), schedule.py (warmup + cosine LR), precision.py (auto precision),
checkpoint.py (save/resume, SIGTERM).
"""
from .loop import train

__all__ = ["train"]
