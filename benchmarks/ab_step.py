"""Per-step training time of this checkout against another git revision, as interleaved A/B pairs (same run).

    python benchmarks/ab_step.py --base <rev> [--pairs 5] [--steps 80] [--threads 1]

Each pair times the real trainer (flops_fit.train, a fresh process each) once from a worktree of <rev> and once
from this checkout, alternating which goes first; a shape's result is the median of the per-pair ratios
(this / base) of the median step time after warm-up. Shapes: the CPU quickstart's (d64 L2 head 4, seq 128,
batch 16) and a wider one (d256 L4 head 64, seq 256, batch 16). The machine is shared: only the ratio means much.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [("quickstart d64 L2 h4 S128 B16", 64, 2, 4, 128), ("d256 L4 h64 S256 B16", 256, 4, 64, 256)]

CHILD = r'''
import json, statistics, sys, time, tempfile
from pathlib import Path
import plugins.text as text
from flops_fit.io import atomic_write_json
from flops_fit.train import train
d_model, n_layer, head, seq, steps, threads, data = json.loads(sys.argv[1])
data = Path(data)
if not (data / "meta.json").is_file():
    atomic_write_json(data / "meta.json", text.prepare({"source": "stdlib", "seq_len": seq}, data))
tr = {"batch_size": 16, "lr": 1e-3, "min_lr_ratio": 0.1, "warmup_frac": 0.05, "weight_decay": 0.1,
      "betas": [0.9, 0.95], "grad_clip": 1.0, "precision": "fp32", "eval_batches": 1, "eval_every": 10 ** 6,
      "log_every": 10, "ckpt_every_steps": 10 ** 9, "ckpt_every_minutes": 1e6, "keep_ckpt": False, "val_seed": 1,
      "divergence_factor": 0, "num_processes": 1, "compile": False}
spec = {"id": "ab", "mode": "real", "budget_flops": 0, "params": 0, "size": {"d_model": d_model},
        "flops_per_unit": 1.0, "unit": "tokens", "units_per_step": 16 * seq, "steps": steps,
        "data_units": steps * 16 * seq,
        "model": {"plugin": "plugins.gpt:GPT", "kwargs": {"n_layer": n_layer, "head_dim": head, "vocab_size": 256,
                                                          "seq_len": seq}},
        "data": {"plugin": "plugins.text", "cfg": {"source": "stdlib", "seq_len": seq}, "key": "k", "dir": str(data)},
        "loss": {"plugin": "plugins.losses:cross_entropy"}, "training": tr, "seed": 0}
class P:
    t = []
    def begin(self): pass
    def step(self, n): self.t.append(time.perf_counter())
    def phase(self, name):
        import contextlib
        return contextlib.nullcontext()
p = P()
with tempfile.TemporaryDirectory() as d:
    train(spec, d, threads=threads, probe=p)
gaps = [b - a for a, b in zip(p.t[10:], p.t[11:])]
print(json.dumps(statistics.median(gaps)))
'''


def step_time(src: Path, shape, steps, threads, data) -> float:
    _, d, n_layer, head, seq = shape
    env = dict(os.environ, PYTHONPATH=str(src))
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps([d, n_layer, head, seq, steps, threads, str(data)])],
                       cwd=src, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="git revision to compare against (e.g. main~3)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ff-ab-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.base], cwd=ROOT, check=True)
        try:
            print(f"| shape | base ms/step | this ms/step | this / base (median of {args.pairs} pairs) |")
            print("|---|---:|---:|---:|")
            for shape in SHAPES:
                data = Path(tmp) / f"data-{shape[4]}"
                a, b, ratios = [], [], []
                for i in range(args.pairs):
                    order = [("base", base), ("this", ROOT)][:: 1 if i % 2 == 0 else -1]
                    got = {name: step_time(src, shape, args.steps, args.threads, data) for name, src in order}
                    a.append(got["base"])
                    b.append(got["this"])
                    ratios.append(got["this"] / got["base"])
                print(f"| {shape[0]} | {1e3 * statistics.median(a):.2f} | {1e3 * statistics.median(b):.2f} | "
                      f"{statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}] |", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
