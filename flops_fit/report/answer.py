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

from flops_fit.plot.data import est, num

EDGE = 0.05   # a point estimate within 5 % of its interval's width from an end is "at the edge"


def _g(v, d=3) -> str:
    return f"{v:.{d}g}" if np.isfinite(v) else "–"


def best_exponent(fits: dict) -> tuple:
    """(approach, a, lo, hi) the user should act on: Approach 3's when it fitted (its bootstrap resamples runs
    and refits the whole surface, E included), else Approach 2's."""
    a3 = fits.get("approach3") or {}
    if a3.get("status") in ("ok", "hit_bound") and np.isfinite(est(a3.get("a"))[0]):
        return ("approach3",) + est(a3.get("a"))
    law = (((fits.get("approach2") or {}).get("power_laws") or {}).get("n_star") or {}).get("exponent")
    v = est(law)
    return ("approach2",) + v if np.isfinite(v[0]) else ("none", np.nan, np.nan, np.nan)


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


def precision_lines(fits: dict, forecast: dict | None) -> list[str]:
    """One number for a, why the other two precisions differ from it, and what would narrow it."""
    who, a, lo, hi = best_exponent(fits)
    if who == "none":
        return []
    name = "Approach 3" if who == "approach3" else "Approach 2"
    level = int(round(100 * num(((fits.get("settings") or {}).get("bootstrap") or {}).get("level"), 0.95)))
    out = [f"Act on a = {_g(a)} [{_g(lo)}, {_g(hi)}] ({name}'s {level} % bootstrap interval over the runs)."]
    bound = num((fits.get("design") or {}).get("a_sd_bound"))
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
        law = (((fits.get("approach2") or {}).get("power_laws") or {}).get("n_star") or {}).get("exponent")
        note = edge_note(*est(law)) if law else ""
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
        fits = json.loads((d / "fits.json").read_text())
    except (OSError, ValueError):
        return [f"flops-fit: no fits.json in {d}: no answer yet"]
    who, a, lo, hi = best_exponent(fits)
    if who == "none":
        lines = [f"flops-fit: no scaling law could be fitted (status {fits.get('status')}); see {d}/fits.json notes"]
    else:
        lines = [f"flops-fit answer: N* ~ C^a with a = {_g(a)} [{_g(lo)}, {_g(hi)}] "
                 f"({who.replace('approach', 'Approach ')}, fit status {fits.get('status')})"]
    targets = (fits.get("settings") or {}).get("targets") or []
    rows = [r for r in fits.get("table") or [] if r.get("approach") == who and r.get("budget") in targets]
    if rows:
        lines.append("  at " + "; ".join(f"C={r['budget']:.2g}: N*={_g(num(r['n_star']['value']), 2)}, "
                                        f"D*={_g(num(r['d_star']['value']), 2)}" for r in rows[:3]))
    warns = fits.get("warnings") or []
    lines.append(f"  {len(warns)} warning(s)" + (f", first: {warns[0]}" if warns else "")
                 + f"; {len(fits.get('notes') or [])} note(s) under the table")
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


def front_warnings(fits: dict, forecast: dict | None) -> list[str]:
    """RST for the front page, under the answer: the warnings on the table's rows, then the precision lines."""
    out = []
    warns = fits.get("warnings") or []
    if warns:
        out += [f"**Warning ({len(warns)}): rows of the table lie outside the data's range:**", ""]
        out += [f"- {_rst(r['approach'])} at C = {r['budget']:.3g}: {_rst(r['warning'])}"
                for r in fits.get("table") or [] if r.get("warning")] + [""]
    prec = precision_lines(fits, forecast)
    if prec:
        out += ["**Precision:** " + " ".join(_rst(p) for p in prec), ""]
    return out


def front_notes(fits: dict) -> list[str]:
    """Every note under the Chinchilla table (fits.json notes), as on the table itself."""
    notes = fits.get("notes") or []
    if not notes:
        return []
    return ["Table notes", "-----------", ""] + [f"- {_rst(n)}" for n in notes] + [""]
