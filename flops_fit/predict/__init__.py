"""Predictions you can check: prediction intervals for a run's loss and for N*, D*, L* at a budget, laws chosen
out of sample (rollout), hold-out and rollout validation. docs/predict.md describes methods and outputs."""
from .intervals import loss_interval, optimum_interval, param_draws
from .laws import LAWS, Law, LawFit, fit_law
from .rollout import misfit_tau, rollout, summarize
from .select import evaluate_laws
from .verify import predict_from_fits

__all__ = ["LAWS", "Law", "LawFit", "fit_law", "loss_interval", "optimum_interval", "param_draws", "rollout",
           "misfit_tau", "summarize", "evaluate_laws", "predict_from_fits"]
