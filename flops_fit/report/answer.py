"""The answer where the user looks: the lines that end the workflow in the terminal, and the front page's
precision statement, warnings and notes. All read from the saved results (fits.json, forecast.json); nothing
is refitted.

    python -m flops_fit.report.answer --dir results/<sweep>    # the 3-5 lines Snakemake's onsuccess prints
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from flops_fit.fit.result import FitResult, num

EDGE = 0.05   # a point estimate within 5 % of its interval's width from an end is "at the edge"


def _g(v, d=3) -> str:
    return f"{v:.{d}g}" if np.isfinite(v) else "–"


def best_exponent(fits) -> tuple:
    """(approach, a, lo, hi) the user should act on (FitResult.best_exponent); fits: a FitResult or its dict."""
    return FitResult.of(fits).best_exponent()


def edge_note(a, lo, hi) -> str:
    """'' or why the estimate is at the edge of (or outside) its own interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return ""
    if lo <= a <= hi and min(a - lo, hi - a) > EDGE * (hi - lo):
        return ""
    where = "outside" if not lo <= a <= hi else "at the edge of"
    return (f"a = {_g(a)} is {where} its interval [{_g(lo)}, {_g(hi)}]: the refits on resampled runs land mostly "
            "on one side (the estimator is biased on resampled data, or a parameter sits at a bound); read the "
            "interval as the spread of a, not as centred on it")


def precision_lines(fits, forecast: dict | None) -> list[str]:
    """One number for a, why the other two precisions differ from it, and what would narrow it. fits: a FitResult
    or its dict."""
    fit = FitResult.of(fits)
    who, a, lo, hi = fit.best_exponent()
    if who == "none":
        return []
    name = "Approach 3" if who == "approach3" else "Approach 2"
    level = int(round(100 * fit.level))
    out = [f"Act on a = {_g(a)} [{_g(lo)}, {_g(hi)}] ({name}'s {level} % bootstrap interval over the runs)."]
    bound = fit.a_sd_bound
    prec = ((forecast or {}).get("precision") or {}).get("planned") or {}
    fsd = num(((prec.get("approaches") or {}).get(who) or {}).get("a_sd"))
    why = []
    if np.isfinite(bound):
        why.append(f"the design bound (±{bound:.2g}, 1 sd) assumes the fitted law is exactly right at the "
                   "measured noise")
    if np.isfinite(fsd):
        why.append(f"the forecast (±{fsd:.2g}, 1 sd) was simulated before the sweep on the prior surface")
    if why:
        out.append("Narrower figures elsewhere are not this interval: " + "; ".join(why) + ". The interval also "
                   "carries what the data add: noise beyond the model, outliers, the irreducible loss E left free.")
    note = edge_note(a, lo, hi)
    if note:
        out.append(note[0].upper() + note[1:] + ".")
    if who == "approach3":   # Approach 2's a, shown beside it, explained the same way
        note = edge_note(*fit.estimate("approach2", "n_star"))
        if note:
            out.append("Approach 2's " + note + ".")
    designs = [d for d in (forecast or {}).get("precision", {}).get("designs") or [] if "error" not in d]
    sds = [(num(((d.get("approaches") or {}).get(who) or {}).get("a_sd")), d) for d in designs]
    sds = [(s, d) for s, d in sds if np.isfinite(s)]
    if sds:
        s, d = min(sds, key=lambda x: x[0])
        cost = f", {d['device_hours']:.2g} device-hours" if np.isfinite(num(d.get("device_hours"))) else ""
        out.append(f"To narrow it: design {d['design'].get('name') or d['design']} forecasts sd(a) = {s:.2g}"
                   f"{cost} (forecast.designs).")
    else:
        out.append("To narrow it: list wider designs under forecast.designs (e.g. [{name: wide, budgets: [...], "
                   "sizes: 9, spread: 5}]); `snakemake forecast` gives each one's sd(a) and device-hours before "
                   "you pay for it.")
    return out


def terminal_answer(sweep_dir) -> list[str]:
    """3-5 lines: a with its interval, N*/D* at the targets, the warnings, where the table and report are."""
    d = Path(sweep_dir)
    try:
        fit = FitResult(json.loads((d / "fits.json").read_text()), d / "fits.json")
    except (OSError, ValueError):
        return [f"flops-fit: no fits.json in {d}: no answer yet"]
    who, a, lo, hi = fit.best_exponent()
    status = fit.get("status")
    if who == "none":
        lines = [f"flops-fit: no scaling law could be fitted (status {status}); see {d}/fits.json notes"]
    else:
        lines = [f"flops-fit answer: N* ~ C^a with a = {_g(a)} [{_g(lo)}, {_g(hi)}] "
                 f"({who.replace('approach', 'Approach ')}, fit status {status})"]
    tab = fit.table(who)
    rows = tab[tab["budget"].isin(fit.targets)]
    if len(rows):
        lines.append("  at " + "; ".join(f"C={r.budget:.2g}: N*={_g(r.n_star, 2)}, D*={_g(r.d_star, 2)}"
                                        for r in rows.head(3).itertuples()))
    warns = fit.warnings
    lines.append(f"  {len(warns)} warning(s)" + (f", first: {warns[0]}" if warns else "")
                 + f"; {len(fit.notes)} note(s) under the table")
    report = (f"the same snakemake command with --report {d}/report.html (its front page: {d}/report/front.rst)"
              if (d / "plan.json").is_file() else
              f"python -m flops_fit.report.front --dir {d} --out {d}/report/front.rst")   # a table brought in
    lines.append(f"  table: {d}/chinchilla_table.md; report: {report}")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description="Print a finished sweep's answer in 3-5 lines.")
    ap.add_argument("--dir", required=True, help="the sweep folder (fits.json)")
    print("\n".join(terminal_answer(ap.parse_args(argv).dir)))


if __name__ == "__main__":
    main()


def _rst(text: str) -> str:
    return text.replace("*", "\\*").replace("_", "\\_").replace("`", "'").replace("|", "\\|")


def front_warnings(fits, forecast: dict | None) -> list[str]:
    """RST for the front page, under the answer: the warnings on the table's rows, then the precision lines.
    fits: a FitResult or its dict."""
    fits = FitResult.of(fits)
    out = []
    warns = fits.warnings
    if warns:
        out += [f"**Warning ({len(warns)}): rows of the table lie outside the data's range:**", ""]
        out += [f"- {_rst(approach)} at C = {budget:.3g}: {_rst(warning)}"
                for approach, budget, warning in fits.table_warnings()] + [""]
    prec = precision_lines(fits, forecast)
    if prec:
        out += ["**Precision:** " + " ".join(_rst(p) for p in prec), ""]
    return out


def front_notes(fits) -> list[str]:
    """Every note under the Chinchilla table (fits.json notes), as on the table itself. fits: a FitResult or its
    dict."""
    notes = FitResult.of(fits).notes
    if not notes:
        return []
    return ["Table notes", "-----------", ""] + [f"- {_rst(n)}" for n in notes] + [""]
