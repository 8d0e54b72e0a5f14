"""GPU readiness in one run (<= 4 minutes on a datacenter GPU); prints one table. Not in CI.

  1. bf16 matmul peak measured here (8192^3) and the datasheet's dense bf16 peak of known devices;
  2. the bf16 MFU of a ~124M-parameter GPT training step (d_model 768, 12 layers, seq 1024, vocab
     50,304; AdamW; autocast like the trainer) against both peaks, and the checkpoint save time of
     that model + optimizer (the Slurm SIGTERM grace time, cluster.signal_seconds, must exceed it);
  3. a 2-budget x 3-size real sweep through snakemake on the GPU (quickstart recipe), with its fit;
  4. bf16 and fp32 final losses of one short run of that sweep, which should agree.

Uses only what is installed (no package index needed); a missing piece skips its rows and says why.
python benchmarks/gpu_check.py [--skip-sweep]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# dense (no sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, TFLOP/s; first match wins
DATASHEET_BF16_TFLOPS = [("H200", 989.4), ("H100 PCIe", 756.0), ("H100", 989.4), ("A100", 312.0),
                         ("L40S", 362.1), ("A10", 125.0), ("L4", 121.0)]
ROWS = []


def row(check, value, note=""):
    ROWS.append((check, value, note))
    print(f"  {check}: {value} {note}", flush=True)


def datasheet_peak(name: str):
    """Dense bf16 peak (TFLOP/s) of a device name such as 'NVIDIA H100 80GB HBM3', or None if unknown."""
    for key, tflops in DATASHEET_BF16_TFLOPS:
        if key == "L4" and "L40" in name:
            continue
        if key in name:
            return tflops
    return None


def matmul_tflops(torch, n=8192, iters=20) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * iters / (time.perf_counter() - t0) / 1e12


def gpt_step(torch, peak_sheet, peak_mm, batch=8, seq=1024, steps=10):
    from plugins.gpt import GPT
    from plugins.losses import cross_entropy
    model = GPT(d_model=768, n_layer=12, head_dim=64, vocab_size=50304, seq_len=seq).cuda()
    n = model.num_params()
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    except (TypeError, RuntimeError):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, 50304, (batch, seq + 1), device="cuda")
    b = {"tokens": tokens[:, :-1], "targets": tokens[:, 1:]}

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = cross_entropy(model(b), b)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    try:  # the trainer's own FLOP count: forward + backward, attention as full matmuls
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as fc:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                cross_entropy(model(b), b).backward()
        flops, how = fc.get_total_flops(), "measured (FlopCounterMode)"
        opt.zero_grad(set_to_none=True)
    except ImportError:
        flops, how = (6 * n + 12 * 12 * 768 * seq) * batch * seq, "6N + 12 L d S per token (no FlopCounterMode)"
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    achieved = flops / dt / 1e12
    row("GPT step (124M)", f"{n / 1e6:.1f}M params, batch {batch}x{seq}, {dt * 1e3:.0f} ms/step, "
        f"{batch * seq / dt:,.0f} tok/s, {achieved:.0f} TFLOP/s", f"FLOPs {how}")
    if peak_sheet:
        row("bf16 MFU vs datasheet", f"{100 * achieved / peak_sheet:.1f} %", f"peak {peak_sheet} TFLOP/s")
    row("bf16 MFU vs measured matmul", f"{100 * achieved / peak_mm:.1f} %", f"peak {peak_mm:.0f} TFLOP/s")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        try:
            from accelerate import Accelerator
            acc = Accelerator()
            m2, o2 = acc.prepare(model, opt)
            from flops_fit.train.checkpoint import Checkpointer
            Checkpointer(Path(d) / "ckpt", acc).save(1)
            how = "flops_fit Checkpointer (accelerate save_state)"
        except ImportError as e:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, Path(d) / "state.pt")
            how = f"torch.save ({e.name} missing)"
        row("checkpoint save (124M + AdamW)", f"{time.perf_counter() - t0:.1f} s", f"{how}, to {tempfile.gettempdir()}")


def sweep(tmp: Path):
    cfg = ["preset=quickstart", "overrides=budgets.values=[1e13,3e13] planner.sizes=3", f"results_dir={tmp}"]
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "3", "--config", *cfg], cwd=REPO,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=200)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        row("sweep 2 budgets x 3 sizes", "FAILED", r.stdout.strip().splitlines()[-1][:160] if r.stdout else "")
        return None
    sdir = next(tmp.glob("*/fits.json")).parent
    runs = [json.loads(p.read_text()) for p in sdir.glob("runs/*/metrics.json")]
    fits = json.loads((sdir / "fits.json").read_text())
    a = fits["approach2"]["power_laws"]["n_star"]["exponent"]
    row("sweep 2 budgets x 3 sizes", f"{len(runs)} runs in {dt:.0f} s, "
        f"{sum(r['status'] == 'completed' for r in runs)} completed on {runs[0]['device']} ({runs[0]['precision']})",
        f"fit {fits['status']}, N* ~ C^{a['value']:.2f}")
    return json.loads((sdir / "plan.json").read_text())["experiments"]


def precision_agreement(experiments, tmp: Path):
    from flops_fit.runner import run_experiment
    spec = min(experiments, key=lambda e: e["steps"])
    losses = {}
    for prec in ("bf16", "fp32"):
        s = json.loads(json.dumps(spec))
        s["training"]["precision"] = prec
        losses[prec] = run_experiment(s, tmp / f"prec-{prec}", force=True)["final_loss"]
    rel = abs(losses["bf16"] - losses["fp32"]) / losses["fp32"]
    row("bf16 vs fp32 final loss", f"{losses['bf16']:.4f} vs {losses['fp32']:.4f} ({100 * rel:.2f} %)",
        f"{spec['id']}, {spec['steps']} steps: {'agree' if rel < 0.03 else 'DISAGREE'} (limit 3 %)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("gpu_check: torch is not installed: nothing to check")
    if not torch.cuda.is_available():
        sys.exit(f"gpu_check: no CUDA device (torch {torch.__version__}, built with CUDA {torch.version.cuda}): "
                 "run it on a GPU machine")
    name = torch.cuda.get_device_name(0)
    print(f"gpu_check: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.device_count()} device(s)", flush=True)
    t_start = time.perf_counter()
    peak_sheet = datasheet_peak(name)
    row("datasheet bf16 peak", f"{peak_sheet} TFLOP/s" if peak_sheet else "unknown device",
        "dense, no sparsity" if peak_sheet else "MFU against the measured matmul only")
    peak_mm = matmul_tflops(torch)
    row("measured bf16 matmul", f"{peak_mm:.0f} TFLOP/s", "8192^3, 20 iterations")
    try:
        gpt_step(torch, peak_sheet, peak_mm)
    except Exception as e:  # an older torch (no SDPA, no bf16 autocast) or a missing plugin import
        row("GPT step (124M)", "skipped", f"{type(e).__name__}: {e}"[:160])
    torch.cuda.empty_cache()
    with tempfile.TemporaryDirectory() as d:
        missing = [m for m in ("snakemake", "hydra", "accelerate", "lmfit") if _missing(m)]
        if args.skip_sweep:
            row("sweep / precision check", "skipped", "--skip-sweep")
        elif missing:
            row("sweep / precision check", "skipped", f"missing: {', '.join(missing)} (pip install -e .)")
        else:
            exps = sweep(Path(d))
            if exps:
                precision_agreement(exps, Path(d))
    print(f"\n| check | result | note |\n|---|---|---|")
    for check, value, note in ROWS:
        print(f"| {check} | {value} | {note} |")
    print(f"\n{name}; total {time.perf_counter() - t_start:.0f} s")


def _missing(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is None


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
