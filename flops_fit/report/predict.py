"""The report front page's prediction section: the verification run (verify.json), the hold-out and the rollout
(fits.json `holdout`, `rollout`, `selected_law`), each as a short table. Empty when none of them was made."""
from __future__ import annotations

import json
from pathlib import Path

from flops_fit.fit.result import FitResult


def _pct(x, signed=False) -> str:
    if x is None:
        return "–"
    return f"{100 * x:+.2f} %" if signed else f"{100 * x:.2f} %"


def _table(head, rows) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :class: ff-table", ""]
    for r in [head] + rows:
        out.append(f"   * - {r[0]}")
        out += [f"     - {c}" for c in r[1:]]
    return out + [""]


def _verify(v) -> list[str]:
    if not v:
        return []
    actual = v.get("actual")
    inside = v.get("inside")
    verdict = ("not trained yet" if actual is None else
               f"actual {actual:.4g}: {'inside' if inside else 'outside'} the interval, error "
               f"{_pct(v.get('rel_error'), True)}")
    return [f"**Verification run** at C = {v['C']:.3g} FLOPs (N = {v['N']:.3g}, D = {v['D']:.3g}, the predicted "
            f"optimum of law ``{v['law']}``): predicted loss {v['predicted']:.4g} [{v['lo']:.4g}, {v['hi']:.4g}] "
            f"({100 * v['level']:.0f} % prediction interval); {verdict}. One run demonstrates the path; it is not "
            "evidence of accuracy on its own.", ""]


def _holdout(h) -> list[str]:
    if not h:
        return []
    lines = [f"**Held out** ({h['query']}): {h['n_held_out']} runs predicted from {h['n_train']} with law "
             f"``{h['law']}``: median abs. error {_pct(h['median_abs_rel_error'])}, max "
             f"{_pct(h['max_abs_rel_error'])}, bias {_pct(h['bias'], True)}, {100 * h['coverage']:.0f} % inside the "
             f"{100 * h['level']:.0f} % intervals (``holdout.csv``, `predicted_vs_actual.png`_).", ""]
    rows = [[f"{b['budget']:.3g}", f"{b['n_star']['predicted']:.3g} [{b['n_star']['lo']:.3g}, {b['n_star']['hi']:.3g}]",
             f"{b['n_star']['actual_vertex']:.3g}",
             f"{b['l_star']['predicted']:.4g} [{b['l_star']['lo']:.4g}, {b['l_star']['hi']:.4g}]",
             f"{b['l_star']['actual_vertex']:.4g}"] for b in h.get("budgets") or []]
    if rows:
        lines += _table(["held-out C", "N\\* predicted", "N\\* of the runs' parabola", "L\\* predicted",
                         "L\\* of the runs' parabola"], rows)
    return lines


def _rollout(r, sel) -> list[str]:
    if not r or not r["all"].get("n_tests"):
        return []
    a = r["all"]
    lines = [f"**Rollout** (fit on runs up to a cut, predict every larger one; {a['n_cuts']} cuts over "
             f"{' and '.join(a['axes'])}): law ``{r['law']}``, weighted abs. error {_pct(a['weighted_abs_rel_error'])}, "
             f"bias {_pct(a['weighted_bias'], True)}, perplexity-ratio error {_pct(a['weighted_ppl_ratio_error'])} "
             f"(if the loss is in {a['ppl_unit']}). Law chosen: {(sel or {}).get('reason', '–')}.", ""]
    rows = [[name, _pct(s.get("weighted_abs_rel_error")), _pct(s.get("weighted_bias"), True),
             f"{100 * s['coverage']:.0f} %" if s.get("coverage") is not None else "–"]
            for name, s in (r.get("by_law") or {}).items() if s.get("n_tests")]
    return lines + _table(["law", "weighted abs error", "bias", "inside (no misfit term)"], rows)


def prediction_section(sweep_dir) -> list[str]:
    """RST lines for the front page (empty when no hold-out, rollout or verification was made)."""
    d = Path(sweep_dir)
    try:
        fits = FitResult(json.loads((d / "fits.json").read_text()), d / "fits.json")
    except (OSError, ValueError):
        fits = FitResult({})
    try:
        verify = json.loads((d / "verify.json").read_text())
    except (OSError, ValueError):
        verify = None
    body = _verify(verify) + _holdout(fits.get("holdout")) + _rollout(fits.get("rollout"), fits.get("selected_law"))
    return ["Predictions checked", "-------------------", ""] + body if body else []
