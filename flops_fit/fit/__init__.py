"""Scaling-law analysis: Approach 2 (IsoFLOP parabolas) and 3 (parametric surface), bootstrap
intervals, outlier flags, the Chinchilla table. docs/analysis.md describes methods and outputs.

    runs = load_runs("runs.csv")
    analysis = analyze(runs, targets=(1e18, 1e21), bootstrap=200, seed=0)
    write_outputs(analysis, "results/sweep")
    fit = FitResult.load("results/sweep/fits.json")     # a saved fit that evaluates itself (result.py)

Names load on first use, so `from flops_fit.fit import FitResult` (numpy only) does not import the fitting
libraries (scipy, pandas, lmfit) that plots and reports do not need.
"""
import importlib

_WHERE = {
    "FitResult": "result", "load_runs": "table", "FitError": "table", "analyze": "analyze", "Analysis": "analyze",
    "TableRow": "analyze", "Approach2Fit": "approach2", "BudgetFit": "approach2", "ParabolaFit": "approach2",
    "fit_approach2": "approach2", "fit_parabola": "approach2", "SurfaceFit": "approach3", "fit_surface": "approach3",
    "BootstrapResult": "bootstrap", "run_bootstrap": "bootstrap", "ComputeModel": "compute",
    "flag_outliers": "outliers", "LossLawFit": "powerlaw", "PowerLawFit": "powerlaw", "fit_loss_law": "powerlaw",
    "fit_power_law": "powerlaw", "fits_dict": "report", "write_outputs": "report",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(type(importlib)):
    """`flops_fit.fit.analyze` is the function, as when this package imported its names eagerly; the module of the
    same name stays in sys.modules (`from flops_fit.fit.analyze import ...` works)."""

    @property
    def analyze(self):
        return importlib.import_module(f"{__name__}.analyze").analyze

    @analyze.setter
    def analyze(self, _module):   # the import system sets the submodule here: keep the function
        pass


import sys  # noqa: E402

sys.modules[__name__].__class__ = _Package
