"""One `ff-analyze` / rule fit call: the analysis.* settings applied to a run table, one fit per group.

`fit_table` reads the table, applies analysis.query, splits by analysis.group_by (one output folder per value,
plus groups.json listing them), resolves the targets, and writes each fit's outputs.

More fits.json fields: `fields(table, result, analysis, out_dir) -> dict`, a hook the caller passes (the fit stage,
flops_fit.stages.fit_scaling_laws, passes flops_fit.predict's: laws, holdout, rollout, predictions), and
`lines(fits) -> list` of what to print about them. The fit itself never imports the packages above it.

Targets: analysis.targets given (any list, also []) is used as is. Left at null it defaults to the sweep's
budgets.targets for a sweep (sweep_targets), and for an external table to 1, 2 and 3 decades beyond its largest
budget (analyze.default_targets): the demo config's targets never reach an external table.
"""
import json
import re
import sys
from pathlib import Path

from flops_fit.io import atomic_write_json, json_clean

from .analyze import analyze
from .approach3 import DELTA
from .notes import summary_line
from .planning import planning_note
from .report import write_outputs
from .table import FitError, load_runs, read_table, select_rows


def _slug(value) -> str:
    s = re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(value)).strip("_.")
    return s or "group"


def targets_for(analysis: dict, sweep_targets):
    """(targets, where they came from): analysis.targets, else the sweep's budgets.targets, else (None, None) (the
    fit's default, analyze.default_targets)."""
    t = analysis.get("targets")
    if t is not None:
        return tuple(float(x) for x in t), "analysis.targets"
    if sweep_targets is not None:
        return tuple(float(x) for x in sweep_targets), "the sweep's budgets.targets (analysis.targets unset)"
    return None, None


def _fit_one(df, out_dir, analysis, unit, targets, rule, extra=None, table_note=None, fields=None):
    table = load_runs(df, budget_column=analysis.get("budget_column"), budgets=analysis.get("budgets"))
    table.attrs["query"] = analysis.get("query")
    result = analyze(table, targets=targets, targets_rule=rule, unit=unit,
                     include_outliers=analysis.get("include_outliers", False),
                     bootstrap=analysis.get("bootstrap", 200), seed=analysis.get("seed", 0),
                     huber_delta=analysis.get("huber_delta", DELTA),
                     include_near_edge=analysis.get("include_near_edge", False),
                     independent_runs=analysis.get("independent_runs", True))
    more = fields(table, result, analysis, out_dir) if fields else {}   # e.g. laws, selected_law, holdout, rollout
    write_outputs(result, out_dir, extra={**more, **(extra or {})}, table_note=table_note)
    return result


def fit_table(runs, out_dir, analysis: dict, *, unit="tokens", sweep_targets=None, quiet=False, extra=None,
              fields=None, lines=None) -> list:
    """Fit runs (path or DataFrame) under the analysis settings; returns the Analysis objects written.
    extra: top-level fields added to each fits.json (e.g. "plan", the plan the fit saw); fields, lines: the hooks
    of the module docstring (computed per fit, per group)."""
    out_dir = Path(out_dir)
    df, name = read_table(runs)
    query = analysis.get("query")
    df = select_rows(df, query, name)
    targets, rule = targets_for(analysis, sweep_targets)
    col = analysis.get("group_by")
    if not col:
        df.attrs["source"] = name
        res = _fit_one(df, out_dir, analysis, unit, targets, rule, extra, planning_note(runs), fields)
        print_result(res, out_dir, quiet, lines)
        return [res]
    if col not in df.columns:
        raise ValueError(f"{name}: analysis.group_by {col!r} is not a column (found {', '.join(map(str, df.columns))})")
    results, index = [], []
    for value, g in df.groupby(col, sort=True):
        g = g.reset_index(drop=True)
        g.attrs["source"] = f"{name} [{col} == {value!r}]"
        sub = out_dir / _slug(value)
        try:
            res = _fit_one(g, sub, analysis, unit, targets, rule, extra, fields=fields)
        except (ValueError, FitError) as e:   # one bad group does not stop the others
            print(f"error: {e}", file=sys.stderr)
            index.append({"value": str(value), "dir": str(sub), "error": str(e)})
            continue
        results.append(res)
        index.append({"value": str(value), "dir": str(sub), "status": res.status,
                      "approach2": res.approach2.status, "approach3": res.approach3.status,
                      "a_approach2": res.approach2.n_star.exponent, "a_approach3": res.approach3.a})
        print_result(res, sub, quiet, lines)
    atomic_write_json(out_dir / "groups.json", json_clean({"schema": "flops-fit/groups/v1", "source": name,
                                                       "group_by": col, "query": query, "groups": index}))
    if not results:
        raise FitError(f"{name}: no group of analysis.group_by={col!r} could be fitted (see {out_dir}/groups.json)")
    return results


def print_result(res, out_dir, quiet=False, lines=None):
    """The Chinchilla table and the one-line summary, as ff-analyze prints them (then lines(fits), if given)."""
    if quiet:
        return
    md = Path(out_dir) / "chinchilla_table.md"
    if md.is_file():
        print(md.read_text())
    print(summary_line(res), file=sys.stderr)
    fits = Path(out_dir) / "fits.json"
    if lines and fits.is_file():
        for line in lines(json.loads(fits.read_text())):
            print(line, file=sys.stderr)
    print(f"wrote {out_dir}/fits.json and chinchilla_table.{{md,csv,json}}", file=sys.stderr)
