"""ff-calibrate: the LR calibration without Snakemake (the `calibrate_lr` rule's work, in one process).

    ff-calibrate preset=quickstart            # plan, train the calibration runs, fit; writes <sweep>/lr_calibration.json
    ff-calibrate preset=quickstart --dry-run  # the calibration plan only

Runs already complete are kept; an optimum at the edge of its multipliers extends them (lr_calibration.extend),
planned and trained again until no cell asks for more.
"""
import argparse
import sys


def main(argv=None):
    from flops_fit.cli import script
    ap = argparse.ArgumentParser(prog="ff-calibrate", description="Calibrate the LR rule in N and D on truncated runs "
                                 "before the sweep (docs/training.md); then train the sweep with training.lr=calibrated.")
    ap.add_argument("overrides", nargs="*", help="config overrides key=value, as for ff-plan (e.g. preset=quickstart)")
    ap.add_argument("--dry-run", action="store_true", help="print the calibration plan and stop")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per run")
    args = ap.parse_args(argv)

    def go():
        from flops_fit.config import load_config
        from flops_fit.io import atomic_write_json
        from flops_fit.plan import sweep_dir
        from flops_fit.runner import run_experiment
        from flops_fit.stages import ensure_data

        from .checks import refuse_settings
        from .grid import format_calibration_plan, plan_path
        from .rule import calibration_path
        from .stage import FIGURE, RUNS, fit_runs, plan_for, summary
        cfg = load_config(args.overrides)
        refuse_settings(cfg)
        sweep = sweep_dir(cfg)
        done = set()
        while True:
            cal_plan = plan_for(cfg)
            print(format_calibration_plan(cal_plan), file=sys.stderr)
            if args.dry_run:
                return
            atomic_write_json(plan_path(cfg), cal_plan)
            todo = [e for e in cal_plan["experiments"] if e["id"] not in done]
            for i, spec in enumerate(todo, 1):
                ensure_data(spec)
                m = run_experiment(spec, sweep / RUNS / spec["id"], threads=args.threads)
                done.add(spec["id"])
                print(f"[{i}/{len(todo)}] {m['id']}: {m['status']} loss={m['final_loss']} lr={m['lr']:.3g}", file=sys.stderr)
            cal = fit_runs(cal_plan, sweep / RUNS, calibration_path(cfg), sweep / FIGURE)
            if not todo or plan_for(cfg)["experiments"] == cal_plan["experiments"]:
                break
        print(summary(cal))
        print(f"wrote {calibration_path(cfg)} and {sweep / FIGURE}; train the sweep with training.lr=calibrated")
    script(go)


if __name__ == "__main__":
    main()
