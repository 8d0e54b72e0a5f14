"""The ff-plan / ff-train / ff-analyze / ff-visualize commands: parse arguments, call the core, report errors.

Every command takes Hydra-style overrides: ``ff-plan model=gpt budgets.values=[1e12,1e13] preset=quick``.
Errors in config, plugins or results print one line and exit with status 2.
"""
import argparse
import sys
from pathlib import Path

from .config import ConfigError, load_config

_HELP_OVERRIDES = "Hydra-style overrides, e.g. model=gpt dataset=pysource preset=quick budgets.values=[1e12,1e13]"


def _parser(prog, description):
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("overrides", nargs="*", help=_HELP_OVERRIDES)
    return ap


def _run(fn):
    """Turn user-facing errors into one line on stderr and exit status 2."""
    from .fit.table import FitError
    from .plugins import PluginError
    from .results import ResultsError
    try:
        fn()
    except (ConfigError, PluginError, ResultsError, FitError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def plan_main(argv=None):
    ap = _parser("ff-plan", "Plan the IsoFLOP sweep and write results/<sweep>/plan.json.")
    ap.add_argument("--out", help="plan file (default results/<sweep>/plan.json)")
    args = ap.parse_args(argv)

    def go():
        from .plan import sweep_dir
        from .stages import write_plan
        cfg = load_config(args.overrides)
        write_plan(cfg, args.out or sweep_dir(cfg) / "plan.json")
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
        todo = [e for e in exps if args.force or not is_complete(runs / e["id"])]
        print(f"{len(exps)} experiments, {len(exps) - len(todo)} already complete, {len(todo)} to run", file=sys.stderr)
        for i, spec in enumerate(todo, 1):
            ensure_data(spec)
            m = run_experiment(spec, runs / spec["id"], threads=args.threads, force=args.force)
            print(f"[{i}/{len(todo)}] {spec['id']}: {m['status']} loss={m['final_loss']:.4f} "
                  f"({m['wall_s']:.1f}s)", file=sys.stderr)
    _run(go)


_VERBATIM = ("analysis.query=",)   # values that are pandas expressions, not Hydra values


def _quote_verbatim(overrides):
    """Pass analysis.query=<expression> to Hydra as one quoted string: `analysis.query=config == 'x'` works as typed
    (Hydra's grammar would reject the spaces, '=' and quotes inside)."""
    out = []
    for o in overrides:
        key = next((k for k in _VERBATIM if o.startswith(k)), None)
        if key is not None:
            v = o[len(key):]
            if not (len(v) >= 2 and v[0] == v[-1] and v[0] in "'\""):
                v = "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
            o = key + v
        out.append(o)
    return out


def analyze_main(argv=None):
    ap = _parser("ff-analyze", "Collect the sweep's results and fit the scaling laws "
                                "(or fit an external run table with analysis.input=path.csv).")
    ap.add_argument("--out", help="output folder (default results/<sweep>/, or next to analysis.input)")
    args = ap.parse_args(argv)

    def go():
        from .plan import plan, sweep_dir
        from .results import write_runs_csv
        from .stages import analyze
        cfg = load_config(_quote_verbatim(args.overrides))
        external = cfg["analysis"].get("input")
        if external:
            path = Path(external)
            out = Path(args.out) if args.out else Path(cfg["results_dir"]) / f"external-{path.stem}"
            analyze(path, out, cfg["analysis"], unit="data units")
            return
        sdir = sweep_dir(cfg)
        exps = plan(cfg)["experiments"]
        paths = [sdir / "runs" / e["id"] / "metrics.json" for e in exps]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            print(f"warning: {len(missing)} of {len(paths)} planned experiments have no results yet; "
                  "fitting the rest", file=sys.stderr)
        write_runs_csv([p for p in paths if p.is_file()], sdir / "runs.csv")
        analyze(sdir / "runs.csv", Path(args.out) if args.out else sdir, cfg["analysis"], unit=exps[0]["unit"],
                sweep_targets=cfg["budgets"].get("targets", []))
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
