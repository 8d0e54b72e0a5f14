"""A known loss(LR) for mock runs of the calibration (lr_calibration.mock_optimum): lowest on a given rule.

loss factor = 1 + curvature * ln(lr / lr*(N, D))^2, lr* from the rule (flops_fit.lr.rule). Mock only: a real run's
loss comes from training.
"""
import math

from .rule import rule_lr


def lr_loss_factor(spec: dict) -> float:
    opt = spec["mock_lr"]
    best = rule_lr(opt, spec["params"], spec["data_units"])
    return 1.0 + float(opt.get("curvature", 0.05)) * math.log(spec["training"]["lr"] / best) ** 2
