"""Fit summary as one self-contained HTML page (for Snakemake's report): status, the fitted laws with
their intervals, Approach 3 parameters, the Chinchilla table and the excluded runs, all read from
fits.json and runs.csv (nothing is refitted).

    python -m flops_fit.plot.summary --dir results/<sweep> --out results/<sweep>/report/fit_summary.html
"""
from __future__ import annotations

import argparse
import html
from pathlib import Path

import numpy as np

from flops_fit.io import atomic_write_text

from .data import Sweep, est, load_sweep, num

CSS = """body{font-family:system-ui,sans-serif;font-size:14px;margin:1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}h2{font-size:16px;margin-top:1.2em}.muted{color:#777}"""


def _f(v, spec=".4g") -> str:
    return "–" if not np.isfinite(v) else format(v, spec)


def _ci(d, spec=".4g") -> str:
    v, lo, hi = est(d)
    if not np.isfinite(v):
        return "–"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{v:{spec}} <span class=muted>[{lo:{spec}}, {hi:{spec}}]</span>"
    return format(v, spec)


def _table(head, rows, left=1) -> str:
    h = "".join(f"<th class=l>{c}</th>" if i < left else f"<th>{c}</th>" for i, c in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td class=l>{c}</td>" if i < left else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def summary_html(sw: Sweep) -> str:
    fit = sw.fit
    boot = fit.bootstrap
    runs = sw.runs
    counts = runs["status"].value_counts().to_dict()
    parts = [f"<h1 style='font-size:18px'>Fit summary: {html.escape(str(fit.get('source', sw.dir)))}</h1>",
             f"<p>Overall status: <b>{html.escape(str(fit.status))}</b>. "
             f"{len(runs)} runs over {runs['budget'].nunique()} budgets "
             f"({', '.join(f'{v} {html.escape(str(k))}' for k, v in counts.items())}); "
             f"{int(runs['outlier'].sum())} flagged as outliers, {int(runs['used'].sum())} used in the fits. "
             f"D is in {html.escape(sw.unit)}. Brackets: {sw.level}% bootstrap intervals "
             f"({boot.get('n', '?')} replicates, {html.escape(str(boot.get('resampling', '')))}).</p>"]
    a2 = sw.a2
    parts.append(f"<h2>Approach 2 (IsoFLOP profiles): {html.escape(str(a2.get('status', 'missing')))}</h2>")
    if a2.get("reason"):
        parts.append(f"<p>{html.escape(str(a2['reason']))}</p>")
    rows = []
    for key, name in (("n_star", "N* = k·C<sup>a</sup>"), ("d_star", "D* = k·C<sup>b</sup>")):
        law = fit.law(key)
        rows.append([name, _ci(law.get("exponent"), ".4f"), _ci(law.get("k"), ".3g"), _f(num(law.get("r2")), ".5f"),
                     law.get("n_points", "–"), law.get("status", "–")])
    ls = fit.law("l_star")
    rows.append(["L* = E + k·C<sup>−γ</sup>", "γ = " + _ci(ls.get("g"), ".4f"),
                 "E = " + _ci(ls.get("E"), ".4g") + ", k = " + _ci(ls.get("k"), ".3g"), _f(num(ls.get("r2")), ".5f"),
                 ls.get("n_points", "–"), ls.get("status", "–")])
    parts.append(_table(["law", "exponent", "coefficients", "R²", "budgets", "status"], rows))
    brows = []
    for b in fit.budget_fits.values():
        brows.append([f"{num(b.get('budget')):.3g}", b.get("status", "–"), b.get("n_points", "–"),
                      _ci(b.get("n_star"), ".3g"), _ci(b.get("d_star"), ".3g"), _ci(b.get("l_star"), ".4g")])
    if brows:
        parts.append(_table(["C (FLOPs)", "status", "runs", "N* (vertex)", "D* (vertex)", "L*"], brows))
    a3 = sw.a3
    parts.append(f"<h2>Approach 3 (parametric L(N, D) = E + A/N<sup>α</sup> + B/D<sup>β</sup>): "
                 f"{html.escape(str(a3.get('status', 'missing')))}</h2>")
    if a3.get("E"):
        parts.append(_table(["parameter", "value"], [[k, _ci(a3.get(k), ".4g")] for k in
                                                    ("E", "A", "B", "alpha", "beta", "a", "b")]))
        parts.append(f"<p class=muted>{html.escape(str(a3.get('objective', '')))}; compute model "
                     f"{html.escape(str(a3.get('compute_model', '')))}, flops_per_nd = "
                     f"{_f(num(a3.get('flops_per_nd')))}; {a3.get('n_points', '?')} runs.</p>")
    sens = ((a3.get("objective_sensitivity") or {}).get("fits")) or {}
    if sens:
        rel = num((a3.get("objective_sensitivity") or {}).get("a_range_rel"))
        parts.append("<h2>Sensitivity of a to the objective</h2>"
                     + _table(["objective", "Huber δ", "a", "b", "status"],
                              [[html.escape(k), _f(num(v.get("delta")), ".3g"), _f(num(v.get("a")), ".4f"),
                                _f(num(v.get("b")), ".4f"), html.escape(str(v.get("status", "")))]
                               for k, v in sens.items()])
                     + (f"<p class=muted>Approach 3 refitted on the same runs; a moves by {100 * rel:.2g} % of its "
                        "value across these objectives.</p>" if np.isfinite(rel) else ""))
    sigma, bound, a = fit.noise_sigma, fit.a_sd_bound, fit.a
    if np.isfinite(sigma) and np.isfinite(bound) and np.isfinite(a):
        parts.append("<h2>Design check</h2>"
                     f"<p>Run-to-run noise σ̂ = {100 * sigma:.2g} % of the loss (around the IsoFLOP parabolas). "
                     f"At that noise no fit of these runs can pin a better than ±{bound:.2g} (1 sd, "
                     f"{100 * bound / a:.2g} % of a = {a:.3g}; Cramér–Rao bound for this design). Approach 3's "
                     f"interval: {_ci(a3.get('a'), '.3g')}. If the bound is near the precision you need, the "
                     "design limits it, not the fit: widen the size spread or add budgets.</p>")
    notes = fit.notes
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    tab = sw.table()
    parts.append("<h2>Compute-optimal allocation (Chinchilla table)</h2>")
    if len(tab):
        trows = []
        for _, r in tab.sort_values(["approach", "budget"]).iterrows():
            def c(k, spec=".3g"):
                return _ci({"value": r[k], "lo": r[f"{k}_lo"], "hi": r[f"{k}_hi"]}, spec)
            trows.append([r["approach"], f"{r['budget']:.3g}", r["kind"], c("n_star"), c("d_star"), c("ratio"),
                          c("loss", ".4g")])
        parts.append(_table(["approach", "C (FLOPs)", "kind", "N*", f"D* ({html.escape(sw.unit)})", "D*/N*",
                             "loss"], trows, left=1))
    else:
        parts.append("<p>No approach could be fitted.</p>")
    ex = fit.excluded
    bad = runs[~runs["completed"]]
    if ex or len(bad):
        parts.append("<h2>Excluded runs</h2>")
        rows = [[html.escape(str(e.get("id"))), html.escape(str(e.get("reason", "")))] for e in ex]
        rows += [[html.escape(r["id"]), html.escape(r["status"])] for _, r in bad.iterrows()
                 if r["id"] not in {e.get("id") for e in ex}]
        parts.append(_table(["run", "reason"], rows, left=2))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>flops-fit summary</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")


def write_summary(sweep_dir, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, summary_html(load_sweep(sweep_dir)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="sweep results folder (runs.csv, fits.json)")
    ap.add_argument("--out", required=True, help="HTML file to write")
    a = ap.parse_args(argv)
    print(f"wrote {write_summary(a.dir, a.out)}")


if __name__ == "__main__":
    main()
