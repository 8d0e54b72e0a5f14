"""Record what a finished quickstart produced, for tests/test_quickstart_record.py and the README.

Training is deterministic (seeded data order, initialisation and validation batches), so a quickstart's final
losses and statuses are a fixed expectation: the README's description of the quickstart is tested against this
record, and the test retrains the cheapest runs and compares their final losses with it.

    snakemake --cores 2 --config preset=quickstart results_dir=/tmp/qs
    python benchmarks/quickstart_record.py --dir /tmp/qs/gpt-pysource-quickstart --out tests/data/quickstart_record.json

Beside the record it copies the sweep's runs.csv (tests/data/quickstart_runs.csv), which the test fits again.

The record states the machine (CPU model, cores), the load the runs saw (timing.jsonl) and the sweep's wall time
(the Snakemake process's start to the last output it wrote).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def _loads(sweep: Path) -> list:
    out = []
    for t in sweep.glob("runs/*/timing.jsonl"):
        for line in t.read_text().splitlines():
            rec = json.loads(line)
            out += [x for x in (rec.get("load") or []) if isinstance(x, (int, float))]
    return out


def record(sweep: Path) -> dict:
    from flops_fit.forecast.machine import cpu_model
    import torch
    fits = json.loads((sweep / "fits.json").read_text())
    runs = {}
    for m in sorted(sweep.glob("runs/*/metrics.json")):
        r = json.loads(m.read_text())
        runs[r["id"]] = {k: r[k] for k in ("status", "final_loss", "budget_flops", "params", "steps", "wall_s")}
    a2, a3 = fits["approach2"], fits["approach3"]
    starts = [json.loads(x) for x in (sweep / "workflow_starts.jsonl").read_text().splitlines()]
    last = max(p.stat().st_mtime for p in sweep.rglob("*") if p.is_file() and "logs" not in p.parts)
    loads = _loads(sweep)
    return {
        "provenance": "snakemake --cores 2 --config preset=quickstart, then benchmarks/quickstart_record.py",
        "commit": _commit(),
        "torch": torch.__version__,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "load": {"median": round(statistics.median(loads), 1), "max": round(max(loads), 1)} if loads else None,
        "wall_minutes": round((last - min(s["process_start"] for s in starts)) / 60, 1),
        "runs": runs,
        "fit_status": fits["status"],
        "budgets": [{"budget": b["budget"], "status": b["status"], "n_star": b["n_star"]["value"]}
                    for b in a2["budgets"]],
        "approach2": {"status": a2["status"], "n_star_exponent": a2["power_laws"]["n_star"]["exponent"]},
        "approach3": {"status": a3["status"], "a": a3["a"]["value"], "a_lo": a3["a"]["lo"], "a_hi": a3["a"]["hi"]},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, type=Path, help="the finished quickstart's sweep folder")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    rec = record(args.dir)
    args.out.write_text(json.dumps(rec, indent=1) + "\n")
    runs = args.out.with_name(args.out.name.replace("_record.json", "_runs.csv"))
    runs.write_text((args.dir / "runs.csv").read_text())
    print(json.dumps({k: rec[k] for k in ("machine", "load", "wall_minutes", "fit_status", "approach3")}))


if __name__ == "__main__":
    sys.exit(main())
