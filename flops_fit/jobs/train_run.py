"""Train one experiment (rule train_run). Launch with python, or `accelerate launch [--num_processes N]` for several.

python -m flops_fit.jobs.train_run --spec SPEC_JSON --out results/<sweep>/runs/<id> [--runtime JSON] [--threads N]

Exit status: 0 when a result is recorded (completed, diverged, or failed: the sweep goes on), 128+signum
after a stop signal (checkpoint saved: the rerun resumes), 2 for a file the user must fix (one line).
"""
import argparse
import json
import signal
import sys

from flops_fit.signals import die_with_parent


def main(argv=None):
    die_with_parent()  # a kill -9 of the workflow stops this job cleanly (checkpoint, exit) instead of orphaning it
    from flops_fit.forecast.actual import segment_timer
    from flops_fit.io import BadFile
    from flops_fit.runner import load_spec, run_experiment

    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True, help="experiment spec: JSON string or file")
    ap.add_argument("--runtime", default="{}", help="bookkeeping options (logging, checkpoints) merged into training")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        spec = load_spec(args.spec)
        spec["training"].update(json.loads(args.runtime))
        with segment_timer(args.out):  # runs/<id>/timing.jsonl: this process's wall time, for forecast_vs_actual
            m = run_experiment(spec, args.out, threads=args.threads)
        # the result is recorded: a stop signal now must not turn this job into a failed one (Snakemake would then
        # delete the metrics.json it just wrote), so the job exits 0 whatever arrives
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (BadFile, ValueError, KeyError) as e:
        print(f"flops-fit: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{m['id']}: {m['status']} final_loss={m['final_loss']} steps={m['steps']} {m['unit']}={m['data_units']} "
          f"wall={m['wall_s']}s device={m['device']}" + (f" ({m['reason']})" if m.get("reason") else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
