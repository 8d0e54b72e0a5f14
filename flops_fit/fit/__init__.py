"""Scaling-law analysis: Approach 2 (IsoFLOP parabolas) and 3 (parametric surface), bootstrap
intervals, outlier flags, the Chinchilla table. docs/analysis.md describes methods and outputs.

    runs = load_runs("runs.csv")
    analysis = analyze(runs, targets=(1e18, 1e21), bootstrap=200, seed=0)
    write_outputs(analysis, "results/sweep")
"""
from .analyze import Analysis, TableRow, analyze
from .approach2 import Approach2Fit, BudgetFit, ParabolaFit, fit_approach2, fit_parabola
from .approach3 import SurfaceFit, fit_surface
from .bootstrap import BootstrapResult, run_bootstrap
from .compute import ComputeModel
from .outliers import flag_outliers
from .powerlaw import LossLawFit, PowerLawFit, fit_loss_law, fit_power_law
from .report import fits_dict, write_outputs
from .table import FitError, load_runs

__all__ = ["load_runs", "analyze", "write_outputs", "FitError", "Analysis", "TableRow",
           "Approach2Fit", "BudgetFit", "ParabolaFit", "SurfaceFit", "PowerLawFit", "LossLawFit",
           "BootstrapResult", "ComputeModel", "fit_approach2", "fit_parabola", "fit_surface", "fit_power_law",
           "fit_loss_law", "run_bootstrap", "flag_outliers", "fits_dict"]
