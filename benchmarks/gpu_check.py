"""GPU check in one run (<= 8 minutes on one H200-class GPU): parts that print their rows as they finish, one
table at the end. Not in CI.

  peak       bf16 matmul measured here (8192^3) and the datasheet's dense bf16 peak of known devices
  mfu        the real trainer (flops_fit.train, evaluations included) per run, eager and compiled, at ~85M
             (d768 L12, vocab 256, batch 32, seq 1024) and ~190M (d1152 L12): MFU = flops_executed /
             (wall_s - compile_s) / measured matmul
  sweep      a 2-budget x 3-size GPT sweep (preset=gpu) through snakemake, forecast first: forecast against
             actual per job, and the sweep's utilization = FLOPs / (makespan x 1 GPU x peak) at
             cluster.runs_per_gpu 2 and 1
  small      small-model throughput (the CPU quickstart's shapes, 2 budgets x 4 sizes: 8 runs, so 4 slots can
             finish in 2 waves against 8), cluster.runs_per_gpu 1 against 4
  precision  bf16 against fp32 final loss of one short run

FLOPs follow the plan's convention: attention counted as full matmuls (~10 % above a causal count at seq 1024).
Uses only what is installed (no package index needed). Every part can run alone, and a time budget skips the
parts that would not fit:
    python benchmarks/gpu_check.py [--only mfu,sweep] [--budget-s 480]
    python benchmarks/gpu_check.py --dry-run     # every part at tiny CPU shapes (checks the script itself)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# the datasheets' dense bf16 peaks live with the measured peak that every run's MFU uses
from flops_fit.peak import DATASHEET_BF16_TFLOPS, datasheet_peak, matmul_cpu, matmul_cuda  # noqa: E402,F401
PARTS = {"peak": 15, "mfu": 130, "precision": 40, "small": 150, "sweep": 200}  # estimated seconds on an H200
ROWS = []


def row(check, value, note=""):
    ROWS.append((check, value, note))
    print(f"  {check}: {value} {note}", flush=True)


# ---- the real trainer, one run
class _Shim:
    """What flops_fit.flops.measure_flops_per_unit needs of the plugins, for a hand-made shape."""

    def __init__(self, kwargs, seq):
        import plugins.text as text
        from plugins.gpt import GPT
        from plugins.losses import cross_entropy
        self.kwargs, self.seq, self.data, self.loss = kwargs, seq, text, cross_entropy
        self.cls = GPT

    def build_model(self, knob, device=None):
        import torch
        with torch.device(device or "cpu"):
            return self.cls(d_model=knob, **self.kwargs)

    def example_batch(self, batch_size, device=None):
        b = self.data.example_batch({"seq_len": self.seq}, batch_size)
        return {k: v.to(device) for k, v in b.items()} if device else b


def prepare_corpus(tmp: Path, seq: int) -> Path:
    import plugins.text as text
    from flops_fit.io import atomic_write_json
    d = tmp / f"pysource-{seq}"
    if not (d / "meta.json").is_file():
        atomic_write_json(d / "meta.json", text.prepare({"source": "stdlib", "seq_len": seq}, d))
    return d


def trainer_spec(data_dir, *, d_model, n_layer, seq, batch, steps, compile, precision="auto"):
    from flops_fit.flops import measure_flops_per_unit
    kwargs = {"n_layer": n_layer, "head_dim": 64 if d_model >= 64 else 4, "vocab_size": 256, "seq_len": seq}
    shim = _Shim(kwargs, seq)
    fpu = measure_flops_per_unit(shim, d_model)
    params = shim.build_model(d_model, device="meta").num_params()
    tr = {"batch_size": batch, "lr": 1e-3, "min_lr_ratio": 0.1, "warmup_frac": 0.05, "weight_decay": 0.1,
          "betas": [0.9, 0.95], "grad_clip": 1.0, "precision": precision, "eval_batches": 2, "eval_every": 0,
          "log_every": 10, "ckpt_every_steps": 10 ** 9, "ckpt_every_minutes": 1e6, "keep_ckpt": False,
          "val_seed": 1234, "divergence_factor": 0, "num_processes": 1, "compile": compile}
    return {"id": f"gpucheck-d{d_model}-L{n_layer}-{'c' if compile else 'e'}", "mode": "real", "budget_flops": 0.0,
            "params": params, "size": {"d_model": d_model}, "flops_per_unit": fpu, "unit": "tokens",
            "units_per_step": batch * seq, "steps": steps, "data_units": steps * batch * seq,
            "model": {"plugin": "plugins.gpt:GPT", "kwargs": kwargs},
            "data": {"plugin": "plugins.text", "cfg": {"source": "stdlib", "seq_len": seq}, "key": "k",
                     "dir": str(data_dir)},
            "loss": {"plugin": "plugins.losses:cross_entropy"}, "training": tr, "seed": 0, "config_hash": "x"}


def checkpoint_save(ctx, d_model, n_layer):
    """Seconds to save model + AdamW state with the trainer's Checkpointer (accelerate save_state)."""
    import torch
    from accelerate import Accelerator

    from flops_fit.train.checkpoint import Checkpointer
    from plugins.gpt import GPT
    acc = Accelerator(cpu=ctx["device"] == "cpu")
    model = GPT(d_model=d_model, n_layer=n_layer, head_dim=64 if d_model >= 64 else 4, vocab_size=256,
                seq_len=ctx["seq"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model, opt = acc.prepare(model, opt)
    model({"tokens": torch.zeros(1, 8, dtype=torch.long, device=acc.device)}).float().sum().backward()
    opt.step()  # the optimizer state exists
    n = sum(p.numel() for p in model.parameters())
    ck = Checkpointer(ctx["tmp"] / "ckpt-check", acc)
    t0 = time.perf_counter()
    ck.save(1)
    dt = time.perf_counter() - t0
    row(f"checkpoint save {n / 1e6:.0f}M + AdamW", f"{dt:.1f} s",
        f"every ckpt_every_minutes=5: {100 * dt / 300:.1f} % of training time; to {ctx['tmp']}")


def part_mfu(ctx):
    from flops_fit.runner import run_experiment
    seq, batch = ctx["seq"], ctx["batch"]
    data = prepare_corpus(ctx["tmp"], seq)
    for d_model, n_layer, steps in ctx["mfu_shapes"]:
        for compile in (False, True):
            if compile and not ctx["compile"]:
                continue
            spec = trainer_spec(data, d_model=d_model, n_layer=n_layer, seq=seq, batch=batch, steps=steps,
                                compile=compile)
            m = run_experiment(spec, ctx["tmp"] / spec["id"], force=True)
            busy = m["wall_s"] - (m.get("compile_s") or 0.0)
            tf = m["flops_executed"] / busy / 1e12
            row(f"trainer {spec['params'] / 1e6:.0f}M d{d_model} L{n_layer} {'compiled' if compile else 'eager'}",
                f"{100 * tf / ctx['peak']:.1f} % MFU ({tf:.0f} TFLOP/s)",
                f"{steps} steps x {batch}x{seq}, wall {m['wall_s']:.1f} s, compile {m.get('compile_s') or 0:.1f} s, "
                f"{m['precision']}, start-up {m.get('startup_s') or 0:.1f} s {m.get('startup_parts') or ''}")
    checkpoint_save(ctx, *ctx["mfu_shapes"][-1][:2])


# ---- sweeps through snakemake
def snakemake(args, cfg, env, timeout, log: Path):
    """Run snakemake; its wall seconds. A failure raises only when no run finished (a refused fit of a tiny
    grid still leaves every run to measure; its last line is printed)."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--config", *cfg]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       env=env)
    log.write_text(r.stdout)
    if r.returncode != 0:
        last = (r.stdout.strip().splitlines() or [''])[-1][:200]
        if "forecast" in args or not list(Path(cfg_value(cfg, "results_dir")).glob("*/runs/*/metrics.json")):
            raise RuntimeError(f"snakemake {' '.join(args)} failed: {last}")
        print(f"   snakemake exited {r.returncode} after the runs: {last}", flush=True)
    return time.time() - t0


def cfg_value(cfg, key):
    return next(c.split("=", 1)[1] for c in cfg if c.startswith(key + "="))


def sweep_utilization(sdir: Path, peak_tflops: float, devices: int = 1) -> dict:
    """FLOPs / (makespan x devices x peak) of a finished sweep, the makespan from its jobs' timing records."""
    runs = [json.loads(p.read_text()) for p in sdir.glob("runs/*/metrics.json")]
    spans = [json.loads(line) for p in sdir.glob("runs/*/timing.jsonl") for line in p.read_text().splitlines()]
    t0, t1 = min(s["start"] for s in spans), max(s["end"] for s in spans)
    flops = sum(r["flops_executed"] for r in runs)
    return {"runs": len(runs), "flops": flops, "makespan_s": t1 - t0,
            "utilization": flops / ((t1 - t0) * devices * peak_tflops * 1e12),
            "compiled": sum(bool(r.get("compiled")) for r in runs), "job_walls": [s["end"] - s["start"] for s in spans]}


def runs_utilization(sdir):
    from flops_fit.utilization import sweep_utilization as from_runs
    return from_runs(sdir)


def startup_parts(sdir: Path, k: int) -> None:
    """Median seconds of each start-up part over the sweep's runs (metrics.json startup_parts)."""
    runs = [json.loads(p.read_text()) for p in sdir.glob("runs/*/metrics.json")]
    parts = [r["startup_parts"] for r in runs if r.get("startup_parts")]
    if parts:
        keys = list(parts[0])
        row(f"start-up by part, runs_per_gpu={k}", ", ".join(
            f"{key} {statistics.median(p.get(key, 0.0) for p in parts):.2f} s" for key in keys),
            f"median of {len(parts)} runs; job wall median {statistics.median(r['wall_s'] for r in runs):.1f} s of "
            "training")


def part_sweep(ctx):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", "0"),
               FLOPS_FIT_SLOT_DIR=str(ctx["tmp"] / "slots"))
    for k in ctx["rpg"]:
        if k != ctx["rpg"][0] and ctx["left"]() < 120:
            row(f"sweep runs_per_gpu={k}", "skipped", f"{ctx['left']():.0f} s left of the budget")
            continue
        res = ctx["tmp"] / f"sweep-rpg{k}"
        cfg = [*ctx["sweep_cfg"], f"results_dir={res}", f"cluster__runs_per_gpu={k}"]
        fc_s = None
        if k == ctx["rpg"][0]:  # forecast first (once: it also decides training.compile=auto per run)
            fc_s = snakemake(["--cores", "16", "forecast"], cfg, env, ctx["left"](), ctx["tmp"] / f"forecast{k}.log")
            first_fc = next(res.glob("*/forecast.json"))
        else:  # the same forecast, so `auto` compiles the same runs and only the slots differ
            import shutil
            (res / first_fc.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(first_fc, res / first_fc.parent.name / "forecast.json")
        wall = snakemake(["--cores", "16"], cfg, env, ctx["left"](), ctx["tmp"] / f"sweep{k}.log")
        sdir = next(res.glob("*/plan.json")).parent
        u = sweep_utilization(sdir, ctx["peak"])
        own = runs_utilization(sdir)  # against the runs' own cached device peak (flops_fit.peak), None for mock
        row(f"sweep {u['runs']} runs, runs_per_gpu={k}",
            f"utilization {100 * own['utilization']:.1f} %" if own else "utilization n/a (mock: no FLOPs executed)",
            f"{u['flops']:.2g} FLOPs in a {u['makespan_s']:.0f} s training makespan, workflow {wall:.0f} s, "
            + (f"run MFU median {100 * (own['mfu_median'] or 0):.1f} % [{100 * (own['mfu_min'] or 0):.1f}, "
               f"{100 * (own['mfu_max'] or 0):.1f}] against {own['peak_flops_per_s'] / 1e12:.0f} TFLOP/s, " if own else "")
            + f"{u['compiled']} run(s) compiled" + (f", forecast stage {fc_s:.0f} s" if fc_s else
                                                      ", the first sweep's forecast (same compile decisions)"))
        startup_parts(sdir, k)
        fva = sdir / "forecast_vs_actual.csv"
        if fc_s and fva.is_file():
            import csv
            errs = [abs(float(r["rel_error"])) for r in csv.DictReader(fva.open()) if r["rel_error"] not in ("", "nan")]
            fc = json.loads((sdir / "forecast.json").read_text())
            if errs:
                row("forecast per job", f"median |error| {100 * statistics.median(errs):.1f} %",
                    f"max {100 * max(errs):.1f} %, {len(errs)} jobs; forecast makespan "
                    f"{fc['totals']['makespan_s']:.0f} s")


def part_small(ctx):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", "0"),
               FLOPS_FIT_SLOT_DIR=str(ctx["tmp"] / "slots"))
    rate = {}
    for k in (1, 4):
        res = ctx["tmp"] / f"small-rpg{k}"
        cfg = [*ctx["small_cfg"], f"results_dir={res}", f"cluster__runs_per_gpu={k}"]
        wall = snakemake(["--cores", "16"], cfg, env, ctx["left"](), ctx["tmp"] / f"small{k}.log")
        sdir = next(res.glob("*/plan.json")).parent
        u = sweep_utilization(sdir, ctx["peak"])
        rate[k] = u["runs"] / u["makespan_s"]
        row(f"small models, runs_per_gpu={k}", f"{60 * rate[k]:.1f} runs/min",
            f"{u['runs']} runs in {u['makespan_s']:.0f} s (workflow {wall:.0f} s)")
    row("small-model throughput, runs_per_gpu 4 / 1", f"{rate[4] / rate[1]:.2f}x")


def part_precision(ctx):
    from flops_fit.runner import run_experiment
    if ctx["device"] != "cuda":
        row("bf16 vs fp32 final loss", "skipped", "CPU: bf16 is opt-in and slow there")
        return
    data = prepare_corpus(ctx["tmp"], 256)
    losses = {}
    for prec in ("bf16", "fp32"):
        spec = trainer_spec(data, d_model=256, n_layer=4, seq=256, batch=32, steps=200, compile=False, precision=prec)
        losses[prec] = run_experiment(spec, ctx["tmp"] / f"prec-{prec}", force=True)["final_loss"]
    rel = abs(losses["bf16"] - losses["fp32"]) / losses["fp32"]
    row("bf16 vs fp32 final loss", f"{losses['bf16']:.4f} vs {losses['fp32']:.4f} ({100 * rel:.2f} %)",
        f"d256 L4, 200 steps: {'agree' if rel < 0.03 else 'DISAGREE'} (limit 3 %)")


def keep(src: Path, dest: Path) -> None:
    """The small result files of every part (no checkpoints, caches or data), as one archive
    dest/gpu_check.tar.gz: a copy of a sweep's folders can be deeper than a transfer allows."""
    import tarfile
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest / "gpu_check.tar.gz", "w:gz") as tar:
        for p in sorted(src.rglob("*")):
            rel = p.relative_to(src)
            if p.is_file() and p.suffix in (".json", ".jsonl", ".csv", ".md", ".log", ".png") and \
                    not any(part in (".cache", "ckpt", ".snakemake") or part.startswith("pysource") for part in rel.parts):
                tar.add(p, arcname=str(rel))


def context(dry: bool, tmp: Path, budget_s: float, t_start: float) -> dict:
    left = lambda: max(10.0, budget_s - (time.perf_counter() - t_start))  # noqa: E731
    if dry:  # tiny CPU shapes: checks the script's own paths in seconds (mock sweeps, no compile)
        return {"tmp": tmp, "left": left, "device": "cpu", "seq": 32, "batch": 4, "compile": False,
                "mfu_shapes": [(16, 1, 20)], "rpg": (2,),
                "sweep_cfg": ["preset=mock", "overrides=budgets.values=[1e17,1e18] planner.sizes=5 forecast.pipeline=false "
                              "forecast.precision_sims=10 forecast.calibration.mock_rounds=1"],
                "small_cfg": ["preset=mock", "overrides=budgets.values=[1e17,1e18] planner.sizes=5"]}
    return {"tmp": tmp, "left": left, "device": "cuda", "seq": 1024, "batch": 32, "compile": True,
            "mfu_shapes": [(768, 12, 80), (1152, 12, 50)], "rpg": (2, 1),
            "sweep_cfg": ["preset=gpu", "overrides=budgets.values=[2e15,6e15] planner.sizes=3 analysis.include_near_edge=true "
                          "forecast.calibration.sizes=2 forecast.pipeline=false forecast.precision_sims=10"],
            "small_cfg": ["preset=quickstart", "overrides=budgets.values=[1e11,3e11] planner.sizes=4 analysis.include_near_edge=true",
                          "training__compile=false"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {','.join(PARTS)}")
    ap.add_argument("--budget-s", type=float, default=480.0, help="skip parts that would not fit in this time")
    ap.add_argument("--dry-run", action="store_true", help="every part at tiny CPU shapes (no GPU needed)")
    ap.add_argument("--rpg", default=None, help="runs_per_gpu values of the sweep part, e.g. 2,1 (default)")
    ap.add_argument("--sweep-budgets", default=None, help="the sweep part's budgets, e.g. 2e15,6e15 (default)")
    ap.add_argument("--sweep-batch", type=int, default=None, help="the sweep part's training.batch_size (preset's)")
    ap.add_argument("--keep", default=None, help="write the parts' results (json, csv, md, logs, png) to this folder as gpu_check.tar.gz")
    args = ap.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.exit(f"gpu_check: unknown part(s) {unknown}; choose from {','.join(PARTS)}")
    import torch
    if not args.dry_run and not torch.cuda.is_available():
        sys.exit(f"gpu_check: no CUDA device (torch {torch.__version__}, built with CUDA {torch.version.cuda}): "
                 "run it on a GPU machine, or --dry-run to check the script on CPU")
    t_start = time.perf_counter()
    dev = "cpu" if args.dry_run else "cuda"
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu (dry run)"
    print(f"gpu_check: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.device_count()} device(s), parts {parts}, budget {args.budget_s:.0f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="ff-gpucheck-") as d:
        ctx = context(args.dry_run, Path(d), args.budget_s, t_start)
        if args.rpg:
            ctx["rpg"] = tuple(int(k) for k in args.rpg.split(","))
        if args.sweep_budgets:
            ctx["sweep_cfg"] = [c.replace("budgets.values=[2e15,6e15]", f"budgets.values=[{args.sweep_budgets}]")
                                for c in ctx["sweep_cfg"]]
        if args.sweep_batch:
            ctx["sweep_cfg"] = [*ctx["sweep_cfg"], f"training__batch_size={args.sweep_batch}"]
        ctx["peak"] = (matmul_cuda(torch, "cuda") if dev == "cuda" else matmul_cpu(torch, n=512)) / 1e12
        sheet = datasheet_peak(name)
        if "peak" in parts:
            row("measured matmul peak", f"{ctx['peak']:.1f} TFLOP/s", "bf16 8192^3" if dev == "cuda" else "fp32 512^3")
            row("datasheet bf16 peak", f"{sheet} TFLOP/s" if sheet else "unknown device",
                "dense, no sparsity; MFU below is against the measured matmul")
        for part in [p for p in PARTS if p in parts and p != "peak"]:
            spent = time.perf_counter() - t_start
            if not args.dry_run and spent + PARTS[part] > args.budget_s:
                row(part, "skipped", f"~{PARTS[part]} s would not fit the {args.budget_s:.0f} s budget "
                    f"({spent:.0f} s spent); run it alone with --only {part}")
                continue
            t0 = time.perf_counter()
            print(f"-- {part}", flush=True)
            try:
                globals()[f"part_{part}"](ctx)
            except Exception as e:  # noqa: BLE001  (a failing part is a row, the others still run)
                row(part, "FAILED", f"{type(e).__name__}: {e}"[:240])
            print(f"   ({part}: {time.perf_counter() - t0:.0f} s)", flush=True)
            if dev == "cuda":
                torch.cuda.empty_cache()
        if args.keep:
            keep(Path(d), Path(args.keep))
    print("\n| check | result | note |\n|---|---|---|")
    for check, value, note in ROWS:
        print(f"| {check} | {value} | {note} |")
    print(f"\n{name}; total {time.perf_counter() - t_start:.0f} s")
    if any(v == "FAILED" for _, v, _ in ROWS):
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
