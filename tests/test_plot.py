"""flops_fit.plot: every figure from saved results only (mock sweep and a synthetic real-like sweep with
curves), no refitting, missing inputs skipped with a warning."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flops_fit.fit as fit_pkg
from flops_fit.fit import analyze as analyze_mod
from flops_fit.fit import approach2, approach3, bootstrap, outliers, powerlaw
from flops_fit.fit.analyze import analyze
from flops_fit.fit.report import write_outputs
from flops_fit.plot import FIGURES, plot_all
from conftest import run_mock_sweep

KAPPA = 6.0
TRUTH = dict(E=1.7, A=400.0, B=410.0, alpha=0.34, beta=0.28)


def _loss(N, D):
    return TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]


def make_sweep(root: Path, *, budgets=(1e15, 3e15, 1e16, 3e16), sizes=6, curves=True, diverged=True,
               outlier=True, edge=True, seed=0) -> Path:
    """A small real-like sweep: runs.csv, per-run curve.jsonl (train + val loss), one diverged run, one
    outlier, and (edge) a smallest budget whose sizes all lie above its optimum (edge-of-grid optimum); fits.json and the Chinchilla table written by the real fit (bootstrap kept small)."""
    rng = np.random.default_rng(seed)
    sweep = root / "sweep"
    rows = []
    for C in budgets:
        n_opt = 0.1 * C ** 0.5
        grid = np.logspace(0.3, 1.6, sizes) if edge and C == budgets[0] else np.logspace(-0.8, 0.8, sizes)
        for j, N in enumerate(n_opt * grid):
            N = float(round(N))
            D = C / (KAPPA * N)
            rid = f"C{C:.0e}-N{N:.1e}".replace("+", "")
            status, loss = "completed", _loss(N, D) * np.exp(rng.normal(0, 0.003))
            if outlier and C == budgets[1] and j == sizes // 2:
                loss *= 1.12
            if diverged and C == budgets[-1] and j == sizes - 1:
                status, loss = "diverged", np.nan
            run_dir = sweep / "runs" / rid
            run_dir.mkdir(parents=True)
            if curves:
                steps = 200
                units = np.linspace(0, D, steps + 1)[1:]
                lines = []
                for s, u in enumerate(units, 1):
                    tl = _loss(N, u + 0.05 * D) + 3.0 * np.exp(-s / 10) + rng.normal(0, 0.03)
                    if status == "diverged" and s > 0.6 * steps:
                        tl = tl + 0.2 * (s - 0.6 * steps)
                    rec = {"step": s, "units": int(u), "train_loss": float(tl)}
                    if s % 25 == 0:
                        rec["val_loss"] = float(_loss(N, u + 0.05 * D) + 0.02 + 2.0 * np.exp(-s / 10))
                    lines.append(json.dumps(rec))
                    if status == "diverged" and s > 0.8 * steps:
                        break
                (run_dir / "curve.jsonl").write_text("\n".join(lines) + "\n")
            rows.append({"id": rid, "status": status, "mode": "real", "budget_flops": C, "params": N,
                         "data_units": D, "unit": "tokens", "final_loss": loss, "run_dir": str(run_dir)})
    sweep.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(sweep / "runs.csv", index=False)
    an = analyze(sweep / "runs.csv", targets=(1e17, 1e18), bootstrap=20, seed=0)
    write_outputs(an, sweep)
    return sweep


@pytest.fixture(scope="module")
def real_like(tmp_path_factory):
    return make_sweep(tmp_path_factory.mktemp("reallike"))


@pytest.fixture
def no_refit(monkeypatch):
    """Every fitting entry point raises: plot_all must read fits.json, never fit."""
    def boom(*a, **k):
        raise AssertionError("plotting must not refit")
    for mod in (fit_pkg, analyze_mod, approach2, approach3, bootstrap, outliers, powerlaw):
        for name in dir(mod):
            if name.startswith(("fit", "analyze", "bootstrap", "flag", "screen")) and callable(getattr(mod, name)):
                monkeypatch.setattr(mod, name, boom)


def _check_figures(files, out, expect):
    from matplotlib.image import imread
    names = {p.name for p in files}
    for stem in expect:
        for ext in ("png", "pdf"):
            assert f"{stem}.{ext}" in names, f"{stem}.{ext} missing from {sorted(names)}"
            p = out / f"{stem}.{ext}"
            assert p.is_file() and p.stat().st_size > 10_000, p
        img = imread(out / f"{stem}.png")
        assert img.shape[1] >= 900, f"{stem}.png too small for 300 dpi"     # ~3 in wide at 300 dpi
        assert img[..., :3].std() > 0.05, f"{stem}.png looks blank"
        assert (img[..., :3] < 0.3).mean() > 0.002, f"{stem}.png has almost no dark (text/line) pixels"


def test_real_like_sweep_all_figures(real_like, tmp_path, no_refit, recwarn):
    out = tmp_path / "plots"
    files = plot_all(real_like, out)
    _check_figures(files, out, FIGURES)
    assert not [w for w in recwarn if "skipping" in str(w.message)], [str(w.message) for w in recwarn]


def test_mock_sweep_without_curves_skips_training_curves(real_like, tmp_path, no_refit):
    sweep = tmp_path / "mock"
    shutil.copytree(real_like, sweep)
    for c in sweep.rglob("curve.jsonl"):
        c.unlink()
    with pytest.warns(UserWarning, match="training_curves"):
        files = plot_all(sweep, tmp_path / "plots", figures=("training_curves", "isoflop"))
    _check_figures(files, tmp_path / "plots", ["isoflop"])
    assert not (tmp_path / "plots" / "training_curves.png").exists()


def test_missing_approach3_skips_surface_with_warning(real_like, tmp_path, no_refit):
    sweep = tmp_path / "s"
    shutil.copytree(real_like, sweep)
    fits = json.loads((sweep / "fits.json").read_text())
    fits["approach3"] = {"status": "too_few_points"}
    fits["table"] = [r for r in fits["table"] if r["approach"] != "approach3"]
    for r in fits["runs"]:
        r["pred_approach3"] = None
    (sweep / "fits.json").write_text(json.dumps(fits))
    with pytest.warns(UserWarning, match="surface"):
        files = plot_all(sweep, tmp_path / "plots", figures=("surface", "scaling_laws", "residuals"))
    names = {p.name for p in files}
    assert "surface.png" not in names
    _check_figures(files, tmp_path / "plots", ["scaling_laws", "residuals"])     # Approach 2 only


def test_missing_fits_json_still_draws_runs(real_like, tmp_path, no_refit):
    sweep = tmp_path / "s"
    shutil.copytree(real_like, sweep)
    (sweep / "fits.json").unlink()
    with pytest.warns(UserWarning):
        files = plot_all(sweep, tmp_path / "plots")
    assert {"isoflop.png", "training_curves.png"} <= {p.name for p in files}


def test_torn_curve_line_and_relative_run_dir(real_like, tmp_path, no_refit):
    sweep = tmp_path / "s"
    shutil.copytree(real_like, sweep)
    runs = pd.read_csv(sweep / "runs.csv")
    runs["run_dir"] = "elsewhere/" + runs["id"]          # stale path: fall back to sweep/runs/<id>
    runs.to_csv(sweep / "runs.csv", index=False)
    first = next(iter(sorted(sweep.rglob("curve.jsonl"))))
    with open(first, "a") as f:
        f.write('{"step": 9999, "units": 1')             # killed mid-write
    files = plot_all(sweep, tmp_path / "plots", figures=("training_curves",))
    assert [p.name for p in files] == ["training_curves.png", "training_curves.pdf"]


@pytest.fixture
def mock_results(tmp_path):
    """A mock sweep made by the pipeline's own stages (plan, mock runs, collect, fit) before any patching."""
    return run_mock_sweep(tmp_path / "results", "analysis.bootstrap=20")[2]


def test_mock_results(tmp_path, mock_results, no_refit):
    """The pipeline's own mock sweep: every figure but the training curves (mock runs have none)."""
    sweep = mock_results
    with pytest.warns(UserWarning, match="training_curves"):
        files = plot_all(sweep, tmp_path / "plots")
    _check_figures(files, tmp_path / "plots", [f for f in FIGURES if f != "training_curves"])
