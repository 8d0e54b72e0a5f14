"""The HTML report's front page: the answer first. One reStructuredText page per sweep, read by Snakemake's
workflow-level `report:` directive (Snakefile), from the saved results only (fits.json, runs.csv,
forecast_vs_actual.json, forecast.json, a WSD sweep's compute.json): the exponent a with its interval and
N*/D* at the targets, the design check, forecast against actual, device use, a WSD sweep's saving, then the
Chinchilla table and links to the figures.

    python -m flops_fit.report.front --dir results/<sweep> --out results/<sweep>/report/front.rst
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from flops_fit.constants import FIGURES, OPTIONAL_FIGURES
from flops_fit.io import atomic_write_text
from flops_fit.fit.result import num
from flops_fit.plot.data import load_sweep

NAMES = {"approach2": "Approach 2, the IsoFLOP profiles", "approach3": "Approach 3, the fitted L(N, D)"}


# Snakemake's report centres its landing page vertically (flex items-center in a screen-high box), which
# cuts off the top of a description taller than the window, and keeps it to a narrow column: align it to the
# top and give the tables room. The style lives only while the landing page is shown.
CSS = """<style>
div.grow.flex.items-center.h-screen { align-items: flex-start; }
div.prose.max-w-lg { max-width: 50rem; }
table.ff-table { font-size: 0.8rem; margin-top: 0.4em; margin-bottom: 0.8em; }
table.ff-table td, table.ff-table th { white-space: nowrap; padding: 0.15rem 0.6rem 0.15rem 0; }
</style>"""


def _g(v, digits=3) -> str:
    """Compact: 0.468, 49.9, 5.9e9 (no '+', no padding)."""
    if not np.isfinite(v):
        return "–"
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0 ** e
    if round(m, digits - 1) >= 10:
        m, e = m / 10, e + 1
    return f"{m:.{digits}g}e{e}"


def _ci(v, lo, hi, digits=3, ci=None) -> str:
    """value [lo, hi]; ci: significant digits of the interval (default: as the value)."""
    if not np.isfinite(v):
        return "–"
    ci = ci or digits
    return f"{_g(v, digits)} [{_g(lo, ci)}, {_g(hi, ci)}]" if np.isfinite(lo) and np.isfinite(hi) else _g(v, digits)


def _cell(r, k, digits=3) -> str:
    """A table cell of a Chinchilla-table row: value [lo, hi], the interval to 2 digits (4 for the loss)."""
    return _ci(getattr(r, k), getattr(r, f"{k}_lo"), getattr(r, f"{k}_hi"), digits, 4 if digits == 4 else 2)


def _table(head, rows, widths=None) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :class: ff-table", ""]
    if widths:
        out.insert(2, f"   :widths: {' '.join(map(str, widths))}")
    for r in [head] + rows:
        out.append(f"   * - {r[0]}")
        out += [f"     - {c}" for c in r[1:]]
    return out + [""]


def _answer(sw) -> list[str]:
    ex = {a: sw.fit.exponent(a) for a in ("approach2", "approach3")}
    best = "approach3" if np.isfinite(ex["approach3"][0]) else "approach2"
    other = "approach2" if best == "approach3" else "approach3"
    if not np.isfinite(ex[best][0]):
        return ["**No scaling law could be fitted** to this sweep: see the `Fit`_ summary for each approach's "
                "status.", ""]
    lines = [f"**N\\* ∝ C**\\ :sup:`a` **with a = {_ci(*ex[best])}** ({NAMES[best]}, {sw.level} % bootstrap "
             f"interval)" + (f"; {NAMES[other]}: a = {_ci(*ex[other])}." if np.isfinite(ex[other][0]) else ".")]
    lines[0] = lines[0].replace(f"({NAMES[best]}, ", f"({NAMES[best]}; ")
    tab = sw.table()
    tgt = tab[tab["budget"].isin(sw.targets)] if sw.targets else tab[tab["budget"] == tab["budget"].max()]
    if len(tgt):
        lines += ["", f"Compute-optimal allocation at the target budgets (D in {sw.unit}):", ""]
        rows = [[_g(r.budget, 2), r.approach.replace("approach", "Approach "), _cell(r, "n_star"),
                 _cell(r, "d_star"), _cell(r, "ratio"), _cell(r, "loss", 4)]
                for r in tgt.sort_values(["budget", "approach"]).itertuples()]
        lines += _table(["C (FLOPs)", "approach", "N\\*", "D\\*", "D\\*/N\\*", "loss"], rows)
    budgets = sw.fit.budget_fits.values()
    edge = [b for b in budgets if b.get("status") not in ("ok", None)]
    if edge:
        lines += [f"Note: {len(edge)} of {len(budgets)} budgets were left out of Approach 2 "
                  f"({', '.join(sorted({str(b['status']) for b in edge}))}); see the `isoflop.png`_ figure.", ""]
    return lines


def _design(sw, forecast) -> list[str]:
    sigma, bound = sw.fit.noise_sigma, sw.fit.a_sd_bound
    a, lo, hi = sw.fit.exponent("approach3")
    if not (np.isfinite(sigma) and np.isfinite(bound)):
        return ["**Design check:** not available (needs an Approach 3 fit and enough runs around the IsoFLOP "
                "parabolas to estimate the noise).", ""]
    half = (hi - lo) / 2 / 1.96 if np.isfinite(lo) and np.isfinite(hi) else np.nan
    text = (f"**Design check:** run-to-run noise {100 * sigma:.2g} % of the loss. No fit of these runs can pin a "
            f"better than ±{bound:.2g} (1 sd, Cramér–Rao bound for this design at that noise)")
    text += (f"; Approach 3's bootstrap interval is as wide as ±{half:.2g} (as 1 sd)." if np.isfinite(half) else ".")
    prec = ((forecast or {}).get("precision") or {}).get("planned")
    if prec:
        f2, f3 = (num((prec.get("approaches") or {}).get(k, {}).get("a_sd")) for k in ("approach2", "approach3"))
        text += (f" Forecast before the sweep: ±{_g(f3, 2)} (Approach 3), ±{_g(f2, 2)} (Approach 2), "
                 f"assuming {((forecast.get('precision') or {}).get('prior') or {}).get('label', 'a prior')}.")
    if np.isfinite(half) and half < 1.5 * bound:
        text += " The fit is near the bound: only a wider design (more budgets, wider size spread) sharpens a."
    return [text, ""]


def _forecast(summary) -> list[str]:
    if summary is None:
        return ["**Forecast against actual:** not compared yet (forecast_vs_actual.json is missing).", ""]
    lines = [summary.get("markdown", "").strip()]
    if summary.get("forecast"):
        lines[0] += " Per run: `forecast_vs_actual.png`_ (``forecast_vs_actual.csv`` in the sweep folder)."
    return lines + [""]


def _utilization(sweep_dir) -> list[str]:
    """The sweep's device utilization (flops_fit.utilization) and its runs' MFU; nothing for a mock sweep."""
    from flops_fit.peak import FLOPS_CONVENTION
    from flops_fit.utilization import sweep_utilization
    u = sweep_utilization(sweep_dir)
    if u is None or u["utilization"] is None:
        return []
    where = f"device(s) {', '.join(u['device_ids'])}" if u["device_ids"] else f"{u['devices']} run(s) side by side"
    text = (f"**Device use:** the sweep kept its devices **{100 * u['utilization']:.0f} %** busy: "
            f"{_g(u['flops'], 2)} FLOPs in {u['makespan_s']:.0f} s on {where}, at {_g(u['peak_flops_per_s'], 3)} "
            f"FLOP/s each ({u['peak_source']}).")
    if u["mfu_median"] is not None:
        text += (f" MFU of the runs (their FLOPs / (wall − compile) / peak): median {100 * u['mfu_median']:.0f} %, "
                 f"{100 * u['mfu_min']:.0f}–{100 * u['mfu_max']:.0f} %.")
    return [text + f" {FLOPS_CONVENTION}.", ""]


def _compute(sweep_dir) -> list[str]:
    """A WSD sweep's saving (compute.json, flops_fit.wsd.compute); nothing for a cosine sweep."""
    summary = _read(sweep_dir / "compute.json")
    if not summary:
        return []
    from flops_fit.wsd.compute import saving_line
    return [f"**Compute:** {saving_line(summary)}. Per cell: ``compute.json`` (each cell's added and inherited "
            "FLOPs); docs/wsd.md says what the schedule saves and what it costs in accuracy.", ""]


def _chinchilla(sw) -> list[str]:
    tab = sw.table()
    if not len(tab):
        return []
    rows = [[r.approach.replace("approach", "Approach "), _g(r.budget, 2), r.kind,
             _cell(r, "n_star"), _cell(r, "d_star"), _cell(r, "ratio"), _cell(r, "loss", 4)]
            for r in tab.sort_values(["approach", "budget"]).itertuples()]
    return ["Chinchilla table", "----------------", "",
            f"All budgets, both approaches ({sw.level} % bootstrap intervals; *extrapolated*: beyond the swept "
            f"budgets; D in {sw.unit}). Also in ``chinchilla_table.csv``.", ""] + \
        _table(["approach", "C (FLOPs)", "kind", "N\\*", "D\\*", "D\\*/N\\*", "loss"], rows)


def front_page(sweep_dir) -> str:
    sweep_dir = Path(sweep_dir)
    sw = load_sweep(sweep_dir)
    summary = _read(sweep_dir / "forecast_vs_actual.json")
    forecast = _read(sweep_dir / "forecast.json")
    runs = sw.runs
    title = "Scaling law of sweep " + sweep_dir.name.replace("_", r"\_")   # foo_ would be an RST reference
    head = [".. raw:: html", "", *("   " + line for line in CSS.splitlines()), "", title, "=" * len(title), "",
            f"{len(runs)} runs over {runs['budget'].nunique()} compute budgets "
            f"({_g(runs['budget'].min(), 2)} to {_g(runs['budget'].max(), 2)} FLOPs), "
            f"{int(runs['used'].sum())} used in the fits; fit status: **{sw.fit.status}**."
            + (" **Mock sweep**: losses from the known surface in config ``mock.*`` (a check of the pipeline and "
               "the fits, not training)." if _is_mock(sweep_dir) else ""), ""]
    present = [f for f in FIGURES + OPTIONAL_FIGURES if (sweep_dir / "plots" / f"{f}.png").is_file()]
    links = ["Figures: " + ", ".join(f"`{f}.png`_" for f in present) + ". Fit details: `fit_summary.html`_; "
             "all results: `Figures`_, `Fit`_; the job graph and runtimes: `Workflow`_, `Statistics`_.", ""] \
        if present else []
    from .answer import front_notes, front_warnings
    from .predict import prediction_section   # verification, hold-out, rollout (flops_fit/predict)
    body = head + _answer(sw) + front_warnings(sw.fit, forecast) + prediction_section(sweep_dir) \
        + _design(sw, forecast) + _forecast(summary) + _utilization(sweep_dir) + _compute(sweep_dir) + links \
        + _chinchilla(sw) + front_notes(sw.fit)
    return "\n".join(body).rstrip() + "\n"


def _is_mock(sweep_dir: Path) -> bool:
    try:
        import pandas as pd
        return bool((pd.read_csv(sweep_dir / "runs.csv", usecols=["mode"])["mode"] == "mock").all())
    except (OSError, ValueError, KeyError):
        return False


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_front_page(sweep_dir, out) -> Path:
    return atomic_write_text(out, front_page(sweep_dir))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="sweep folder (fits.json, runs.csv, forecast_vs_actual.json)")
    ap.add_argument("--out", required=True, help="the .rst file to write")
    a = ap.parse_args(argv)
    print(f"wrote {write_front_page(a.dir, a.out)}")


if __name__ == "__main__":
    main()
