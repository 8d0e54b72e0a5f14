"""The ff-plan / ff-train / ff-analyze / ff-visualize commands: parse arguments, call the core, report errors.

Every command takes Hydra-style overrides: ``ff-plan model=gpt budgets.values=[1e12,1e13] preset=quick``.
Errors in config, plugins or results print one line and exit with status 2.
"""
import argparse
import sys
from pathlib import Path

from .config import ConfigError, load_config, quote_verbatim

_HELP_OVERRIDES = "Hydra-style overrides, e.g. model=gpt dataset=pysource preset=quick budgets.values=[1e12,1e13]"


def _parser(prog, description):
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("overrides", nargs="*", help=_HELP_OVERRIDES)
    return ap


def _run(fn, prefix="error: "):
    """Turn user-facing errors into one line on stderr: exit status 2 (bad input), 1 (disk, permissions)."""
    from .fit.table import FitError
    from .plugins import PluginError
    from .results import ResultsError
    from .runlock import RunLocked
    try:
        fn()
    except (ConfigError, PluginError, ResultsError, FitError, ValueError, FileNotFoundError, RunLocked) as e:
        print(f"{prefix}{e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # a read-only or full results folder, a permission problem
        print(f"{prefix}{e.filename or 'a file'}: {e.strerror or e}; check that the folder is writable and the disk "
              "not full (config key results_dir)", file=sys.stderr)
        sys.exit(1)


def script(fn):
    """The same one-line errors for the workflow's scripts/*.py, marked as flops-fit's below Snakemake's banner."""
    _run(fn, prefix="flops-fit: error: ")


def plan_main(argv=None):
    ap = _parser("ff-plan", "Plan the IsoFLOP sweep and write results/<sweep>/plan.json.")
    ap.add_argument("--out", help="plan file (default results/<sweep>/plan.json)")
    args = ap.parse_args(argv)

    def go():
        from .plan import format_findings, format_plan, plan, sweep_dir
        from .plancheck import refusal, run
        from .stages import record_plan
        cfg = load_config(args.overrides)
        p = plan(cfg)
        print(format_plan(p))
        findings = run(cfg, p)  # the plan checks, as the workflow runs them (refusals raise below)
        warnings = [f for f in findings if f.level != "refuse"]
        if warnings:
            print(format_findings(warnings), file=sys.stderr)
        if refusal(findings):
            raise ConfigError(refusal(findings))
        out = args.out or sweep_dir(cfg) / "plan.json"
        record_plan(p, out)
        print(f"wrote {out}")
    _run(go)


def train_main(argv=None):
    ap = _parser("ff-train", "Train (mode=real) or simulate (mode=mock) the planned experiments, "
                              "skipping completed ones. For many experiments in parallel use snakemake.")
    ap.add_argument("--ids", nargs="+", help="only these experiment IDs (default: all planned)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per run")
    ap.add_argument("--force", action="store_true", help="rerun even completed experiments")
    args = ap.parse_args(argv)

    def go():
        from .plan import plan, sweep_dir
        from .runlock import RunLocked
        from .runner import is_complete, run_experiment
        from .stages import ensure_data
        cfg = load_config(args.overrides)
        exps = plan(cfg)["experiments"]
        if args.ids:
            known = {e["id"] for e in exps}
            unknown = [i for i in args.ids if i not in known]
            if unknown:
                raise ValueError(f"unknown experiment id(s) {', '.join(unknown)}; `ff-plan` lists the planned IDs")
            exps = [e for e in exps if e["id"] in set(args.ids)]
        runs = sweep_dir(cfg) / "runs"
        todo = [e for e in exps if args.force or not is_complete(runs / e["id"], e)]
        print(f"{len(exps)} experiments, {len(exps) - len(todo)} already complete, {len(todo)} to run", file=sys.stderr)
        deferred, failed = [], 0
        for i, spec in enumerate(todo, 1):
            ensure_data(spec)
            try:  # one another live process trains (a snakemake job, another ff-train) is waited for at the end
                m = run_experiment(spec, runs / spec["id"], threads=args.threads, force=args.force, wait=False)
            except RunLocked as e:
                print(f"[{i}/{len(todo)}] {e}; coming back to it after the others", file=sys.stderr)
                deferred.append(spec)
                continue
            failed += m["status"] == "failed"
            print(f"[{i}/{len(todo)}] {_summary(m)}", file=sys.stderr)
        for spec in deferred:
            m = run_experiment(spec, runs / spec["id"], threads=args.threads, force=False, wait=True)
            failed += m["status"] == "failed"
            print(f"[waited] {_summary(m)}", file=sys.stderr)
        if failed:
            print(f"{failed} experiment(s) failed (reason in their metrics.json, traceback in failure.txt); "
                  "rerun ff-train to try them again", file=sys.stderr)
    _run(go)


def _summary(m: dict) -> str:
    loss = f"{m['final_loss']:.4f}" if isinstance(m.get("final_loss"), (int, float)) else "n/a"
    reason = f" ({m['reason']})" if m.get("reason") else ""
    return f"{m['id']}: {m['status']} loss={loss} ({m['wall_s']:.1f}s){reason}"


def analyze_main(argv=None):
    ap = _parser("ff-analyze", "Collect the sweep's results and fit the scaling laws "
                                "(or fit an external run table with analysis.input=path.csv).")
    ap.add_argument("--out", help="output folder (default results/<sweep>/, or next to analysis.input)")
    args = ap.parse_args(argv)

    def go():
        from .plan import plan, sweep_dir
        from .results import write_runs_csv
        from .runner import check_result
        from .stages import fit_scaling_laws
        cfg = load_config(quote_verbatim(args.overrides))
        external = cfg["analysis"].get("input")
        if external:
            path = Path(external)
            out = Path(args.out) if args.out else Path(cfg["results_dir"]) / f"external-{path.stem}"
            fit_scaling_laws(path, out, cfg["analysis"], unit="data units")
            return
        sdir = sweep_dir(cfg)
        exps = plan(cfg)["experiments"]
        paths, missing = [], 0
        for e in exps:
            m, problem = check_result(sdir / "runs" / e["id"], e)
            if problem:
                print(f"warning: {sdir / 'runs' / e['id'] / 'metrics.json'}: {problem}; left out (rerun the "
                      "workflow or ff-train to train it again)", file=sys.stderr)
            if m is None:
                missing += 1
            else:
                paths.append(sdir / "runs" / e["id"] / "metrics.json")
        if missing:
            print(f"warning: {missing} of {len(exps)} planned experiments have no usable results yet; "
                  "fitting the rest", file=sys.stderr)
        write_runs_csv(paths, sdir / "runs.csv")
        plan_file = sdir / "plan.json" if (sdir / "plan.json").is_file() else None
        fit_scaling_laws(sdir / "runs.csv", Path(args.out) if args.out else sdir, cfg["analysis"],
                         unit=exps[0]["unit"], plan=plan_file, sweep_targets=cfg["budgets"].get("targets", []))
    _run(go)


def visualize_main(argv=None):
    ap = _parser("ff-visualize", "Draw the figures from a sweep's saved results (runs.csv, fits.json).")
    ap.add_argument("--dir", help="results folder holding runs.csv and fits.json (default results/<sweep>/)")
    args = ap.parse_args(argv)

    def go():
        from .plan import sweep_dir
        from .stages import visualize
        cfg = load_config(args.overrides)
        files = visualize(Path(args.dir) if args.dir else sweep_dir(cfg))
        for f in files:
            print(f"wrote {f}")
    _run(go)


def forecast_main(argv=None):
    ap = _parser("ff-forecast", "Forecast the sweep's time, memory and cost from a short calibration on this "
                                 "machine; write results/<sweep>/forecast.json and forecast.md (docs/forecast.md).")
    ap.add_argument("--out", help="output folder (default results/<sweep>/)")
    args = ap.parse_args(argv)

    def go():
        from .forecast.build import plan_to_forecast, run_forecast
        from .forecast.calibrate import CalibrationError
        from .plan import sweep_dir
        cfg = load_config(args.overrides)
        try:
            run_forecast(cfg, plan_to_forecast(cfg), Path(args.out) if args.out else sweep_dir(cfg))
        except CalibrationError as e:
            raise ValueError(str(e)) from None
    _run(go)
