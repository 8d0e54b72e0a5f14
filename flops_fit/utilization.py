"""A finished sweep's device utilization, from its metrics.json files only (no torch):

    utilization = the sweep's FLOPs / (makespan x devices x peak per device)

makespan: first `started` to last `finished` (the times the runs held their device slots, flops_fit.slots);
devices: the distinct CUDA_VISIBLE_DEVICES entries the runs trained on, or on a CPU the most runs that
trained at once; peak per device: a run's `peak_flops_per_s` over its processes (flops_fit.peak). FLOPs as
planned (attention as full matmuls, ~10 % above a causal count at seq 1024).
"""
import json
from datetime import datetime
from pathlib import Path


def sweep_utilization(sweep_dir) -> dict | None:
    """{flops, makespan_s, devices, device_ids, peak_flops_per_s, peak_source, utilization, runs, mfu_median,
    mfu_min, mfu_max} of the sweep in `sweep_dir` (results/<sweep>); None if no real run has its times and peak."""
    runs = []
    for path in sorted(Path(sweep_dir).glob("runs/*/metrics.json")):
        try:
            m = json.loads(path.read_text())
            t0, t1 = _ts(m["started"]), _ts(m["finished"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable or without times: the collect stage names such files
        if m.get("mode") == "real" and m.get("peak_flops_per_s") and m.get("flops_executed"):
            runs.append((m, t0, t1))
    if not runs:
        return None
    makespan = max(t1 for _, _, t1 in runs) - min(t0 for _, t0, _ in runs)
    ids = sorted({d for m, _, _ in runs for d in _devices(m)})
    procs = _nproc(runs[0][0])
    per_device = runs[0][0]["peak_flops_per_s"] / procs
    if ids:
        n = len(ids)
    else:  # a CPU sweep: each run's peak is its own threads'; the runs side by side are the "devices"
        n = _most_at_once([(t0, t1) for _, t0, t1 in runs]) * procs
    flops = sum(m["flops_executed"] for m, _, _ in runs)
    util = flops / (makespan * n * per_device) if makespan > 0 else None
    mfu = sorted(m["mfu"] for m, _, _ in runs if isinstance(m.get("mfu"), (int, float)))
    return {"flops": flops, "makespan_s": makespan, "devices": n, "device_ids": ids,
            "peak_flops_per_s": per_device, "peak_source": runs[0][0].get("peak_source"),
            "utilization": util, "runs": len(runs),
            "mfu_median": mfu[len(mfu) // 2] if mfu else None, "mfu_min": mfu[0] if mfu else None,
            "mfu_max": mfu[-1] if mfu else None}


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _devices(m: dict) -> list:
    return [d.strip() for d in str(m.get("visible_devices") or "").split(",") if d.strip()]


def _nproc(m: dict) -> int:
    dev = str(m.get("device") or "")  # "... x2" for a run of two processes (flops_fit.train.loop)
    tail = dev.rsplit(" x", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 1


def _most_at_once(spans) -> int:
    events = sorted([(t0, 1) for t0, _ in spans] + [(t1, -1) for _, t1 in spans])
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return max(1, best)
