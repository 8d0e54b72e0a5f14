"""Read a finished sweep's saved results (runs.csv, fits.json, per-run curve.jsonl). Never fits anything."""
from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("flops_fit.plot")

from flops_fit.fit.result import A2_USABLE as A2_LAWS
from flops_fit.fit.result import A3_USABLE as A3_OK
from flops_fit.fit.result import FitResult, est, num


def skip(figure: str, why: str) -> None:
    """A figure cannot be drawn from the saved results: warn and move on (never raise)."""
    msg = f"plot: skipping {figure}: {why}"
    log.info(msg)                     # the warning below is what users see (stderr, the rule's log)
    warnings.warn(msg, stacklevel=3)


@dataclass
class Sweep:
    dir: Path
    runs: pd.DataFrame                 # runs.csv joined with the fit's per-run columns (FitResult.runs_table)
    fit: FitResult                     # fits.json, the object that reads and evaluates it
    unit: str = "tokens"
    curves: dict = field(default_factory=dict)   # run id -> DataFrame(step, units, train_loss[, val_loss])

    @property
    def a2(self) -> dict:
        return self.fit.approach2

    @property
    def a3(self) -> dict:
        return self.fit.approach3

    @property
    def a3_ok(self) -> bool:
        return self.fit.surface_ok

    @property
    def a2_ok(self) -> bool:
        return self.fit.laws_ok

    def table(self, approach: str | None = None) -> pd.DataFrame:
        """The Chinchilla table rows saved in fits.json, flattened (value, _lo, _hi per quantity)."""
        return self.fit.table(approach)

    def swept(self) -> list[float]:
        """The IsoFLOP budgets; for a table without them, the smallest and largest C of its runs (fits.json's C,
        else 6ND), so the figures span the compute the runs covered."""
        b = sorted(float(x) for x in self.runs["budget"].dropna().unique())
        if b:
            return b
        C = self.fit.run_compute()
        C = C[np.isfinite(C)]
        C = C if len(C) else (6.0 * self.runs["N"] * self.runs["D"]).dropna().to_numpy(float)
        C = C[np.isfinite(C) & (C > 0)]
        return [float(C.min()), float(C.max())] if len(C) else []

    @property
    def targets(self) -> list[float]:
        return self.fit.targets

    @property
    def level(self) -> int:
        return int(round(100 * self.fit.level))


def _read_curve(path: Path) -> pd.DataFrame | None:
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:      # a run killed mid-write leaves a torn last line
                continue
    if not rows:
        return None
    df = pd.DataFrame(rows)
    if "units" not in df.columns or "train_loss" not in df.columns:
        return None
    for c in ("step", "units", "train_loss", "val_loss"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return df.sort_values("units").reset_index(drop=True)


def _run_dir(sweep_dir: Path, rid: str, run_dir) -> Path | None:
    """The run's folder: the sweep's own runs/<id> first (a copied or moved sweep), then runs.csv's run_dir."""
    cands = [sweep_dir / "runs" / str(rid)]
    if isinstance(run_dir, str) and run_dir:
        p = Path(run_dir)
        cands += [sweep_dir / "runs" / p.name, p, sweep_dir / p]
    for c in cands:
        if c.is_dir():         # the first folder that exists is the run's, curve or not
            return c if (c / "curve.jsonl").is_file() else None
    return None


def load_sweep(sweep_dir) -> Sweep:
    """runs.csv + fits.json (+ curves). Raises FileNotFoundError only if runs.csv and fits.json are both absent."""
    sweep_dir = Path(sweep_dir)
    runs_path, fits_path = sweep_dir / "runs.csv", sweep_dir / "fits.json"
    fit = FitResult({}, fits_path)
    if fits_path.is_file():
        with open(fits_path) as f:
            fit = FitResult(json.load(f), fits_path)
    else:
        skip("every fitted curve", f"{fits_path} not found")
    raw = pd.read_csv(runs_path) if runs_path.is_file() else None
    if raw is None and not fit.data:
        raise FileNotFoundError(f"neither {runs_path} nor {fits_path} exists: run the sweep and the fit first")
    df = fit.runs_table(raw)
    unit = str(raw["unit"].dropna().iloc[0]) if raw is not None and "unit" in raw.columns and raw["unit"].notna().any() \
        else None
    unit = unit or fit.unit or "tokens"

    curves = {}
    for rid, rd in zip(df["id"], df["run_dir"]):
        d = _run_dir(sweep_dir, rid, rd)
        if d is not None:
            c = _read_curve(d / "curve.jsonl")
            if c is not None:
                curves[rid] = c
    return Sweep(sweep_dir, df.sort_values(["budget", "N"]).reset_index(drop=True), fit, unit, curves)
