"""Publication figures from a finished sweep's saved results (runs.csv, fits.json, curve.jsonl).

    from flops_fit.plot import plot_all
    files = plot_all(sweep_dir, out_dir)     # -> [out_dir/isoflop.png, out_dir/isoflop.pdf, ...]

Nothing here fits anything: every curve is drawn from parameters saved in fits.json. A figure whose
input is missing (no Approach 3 fit, no curve.jsonl in mock mode, ...) is skipped with a warning.
See docs/figures.md.
"""
from __future__ import annotations

import logging
import traceback
from pathlib import Path

from flops_fit.constants import FIGURES, OPTIONAL_FIGURES

from . import theme
from .data import Sweep, load_sweep, skip

log = logging.getLogger("flops_fit.plot")

OPTIONAL = OPTIONAL_FIGURES   # drawn only when their inputs exist (holdout.csv, rollout.csv, verify.json)


def _drawers():
    from .curves import plot_curves
    from .holdout import plot_holdout
    from .isoflop import plot_isoflop
    from .residuals import plot_residuals
    from .scaling import plot_scaling
    from .surface import plot_surface
    return {"isoflop": plot_isoflop, "scaling_laws": plot_scaling, "surface": plot_surface,
            "training_curves": plot_curves, "residuals": plot_residuals, "predicted_vs_actual": plot_holdout}


def plot_all(sweep_dir, out_dir=None, *, figures=FIGURES) -> list[Path]:
    """Draw every figure (PNG 300 dpi + PDF) into out_dir (default sweep_dir/plots); returns the files."""
    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    sw = load_sweep(sweep_dir)
    theme.apply()
    colors = theme.budget_colors(sw.runs["budget"].dropna().unique())
    drawers = _drawers()
    files: list[Path] = []
    for name in tuple(figures) + tuple(f for f in OPTIONAL if f not in figures):
        if name == "isoflop" and not colors:
            skip(name, "the table has no IsoFLOP budget groups; the surface and residuals show its runs")
            continue
        try:
            files += drawers[name](sw, out_dir, colors)
        except Exception as e:       # one broken figure must not cost the others
            log.debug(traceback.format_exc())
            skip(name, f"{type(e).__name__}: {e}")
    return files


__all__ = ["plot_all", "load_sweep", "Sweep", "FIGURES"]
