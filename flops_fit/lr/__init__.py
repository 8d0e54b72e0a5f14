"""Learning rates that fit each run: the per-run rule in N and D (rule), the calibration grid (grid), its fit (fit).

    from flops_fit.lr import peak_lr
    lr, source = peak_lr(cfg["training"]["lr"], params, tokens)   # source: "rule" | "calibrated"

docs/training.md ("Learning rate") describes the rule, the calibration stage and what it changed on the quickstart.
"""
from .rule import CALIBRATED, NoCalibration, identity_lr, peak_lr, rule_lr, run_lr, seed_identity_lr  # noqa: F401
from . import checks  # noqa: F401,E402  (registers the LR settings' plan checks, flops_fit.plancheck)
