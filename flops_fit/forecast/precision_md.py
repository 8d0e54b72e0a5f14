"""The precision forecast as a short Markdown section for forecast.md (and the terminal)."""
import math

from flops_fit.plan import fmt_sci


def _pm(x, pct=False) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"±{100 * x:.2g} %" if pct else f"±{x:.2g}"


def _label(r) -> str:
    return f"{r['budgets']} budgets × {r['sizes_per_budget']} sizes"


def _row(name, r, targets, hours) -> str:
    ap = r["approaches"]
    cells = [name, str(r["runs"]), fmt_sci(r["flops"])]
    if hours:
        cells.append(f"{r['device_hours']:.3g}" if r.get("device_hours") is not None else "–")
    cells += [_pm(ap["approach2"]["a_sd"]), _pm(ap["approach3"]["a_sd"]), _pm(r["cramer_rao"]["a_sd"])]
    for j, _ in enumerate(targets):
        cells.append(" / ".join(_pm(x, pct=True) for x in (ap["approach2"]["n_star"][j]["ln_sd"],
                                                          ap["approach3"]["n_star"][j]["ln_sd"],
                                                          r["cramer_rao"]["n_star"][j]["ln_sd"])))
    return "| " + " | ".join(cells) + " |"


def markdown(out: dict) -> str:
    p, targets = out["planned"], out["targets"]
    hours = "device_hours" in p
    head = ["design", "runs", "FLOPs"] + (["device-hours"] if hours else []) + \
        ["sd(a) Approach 2", "sd(a) Approach 3", "Cramér–Rao bound on sd(a)"] + \
        [f"sd of N*({fmt_sci(t)}): A2 / A3 / bound" for t in targets]
    lines = ["## Precision of the answer (forecast)", "",
             f"Prior: {out['prior']['label']}", "",
             f"Each sd is the spread over {p['n_sims']} mock sweeps of the design on that prior surface, each "
             "fitted by the same analysis as a real sweep (no bootstrap); sd of N* is relative (sd of ln N*). "
             "The Cramér–Rao bound is the smallest sd any unbiased fit of that design could reach.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
             _row(f"planned: {_label(p)}", p, targets, hours)]
    for r in out.get("designs") or []:
        if "error" in r:
            lines.append(f"| {r['design']}: {r['error']} |")
            continue
        name = r["design"].get("name") or _label(r)
        lines.append(_row(name, r, targets, hours))
    ap = p["approaches"]
    bias = ", ".join(f"{k.replace('approach', 'Approach ')} {ap[k]['a_bias']:+.2g} ({ap[k]['a_fitted']} fitted)"
                     for k in ap if ap[k]["a_bias"] is not None)
    lines += ["", f"Prior a = {p['a_true']:.3g}; mean error of the fitted a: {bias or '–'} of {p['n_sims']} "
                  f"sweeps ({p['failed']} could not be fitted at all). Sd estimates are themselves uncertain by "
                  f"~{100 / math.sqrt(2 * max(1, p['n_sims'] - 1)):.0f} % (Monte Carlo)."]
    return "\n".join(lines) + "\n"
