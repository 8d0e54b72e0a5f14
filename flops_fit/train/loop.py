"""Train one planned experiment for exactly its planned steps; return its metrics (docs/training.md).

One readable loop: build (Accelerator, seed, plugins, model, AdamW, schedule) -> resume -> for each step:
global batch (split across processes, micro-batched) -> backward -> clip -> step -> log / eval / checkpoint.
"""
import json
import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, set_seed
from tqdm import tqdm

from flops_fit.io import BadFile, read_json_or_explain

from . import compile as comp
from .. import trackers
from . import precision as prec
from ..plugins import load_data_plugin, load_object
from ..peak import FLOPS_CONVENTION, device_peak
from .checkpoint import Checkpointer, StopSignals, fingerprint
from .schedule import make_scheduler, warmup_steps


# with several processes, the stop/time flags go through a collective every this many steps (at most
# log_every), not every step; benchmarks/train_throughput.py --ab times the difference
FLAG_STEPS = 10


class Diverged(Exception):
    pass


def _param_groups(model, weight_decay):
    # nanoGPT: decay matrices and embeddings (dim >= 2), not biases and norms
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]


def _adamw(groups, **kw):
    # the fused kernel (CPU and CUDA) is ~50x faster than the per-tensor loop on CPU (3.3M params: 2 vs 94 ms)
    try:
        return torch.optim.AdamW(groups, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.AdamW(groups, **kw)


def _rows(batch, lo, hi):
    return {k: (v[lo:hi] if torch.is_tensor(v) and v.dim() > 0 else v) for k, v in batch.items()}


def _to(batch, device):
    # on CUDA, pinned host memory makes the copy asynchronous (non_blocking is a no-op from pageable memory)
    pin = device.type == "cuda"
    return {k: ((v.pin_memory() if pin and v.device.type == "cpu" else v).to(device, non_blocking=True)
                if torch.is_tensor(v) else v) for k, v in batch.items()}


@torch.no_grad()
def evaluate(model, loss_fn, batches, accelerator) -> float:
    """Mean loss over fixed held-out batches (every process evaluates all of them: identical result)."""
    model.eval()
    total = 0.0
    for batch in batches:
        batch = _to(batch, accelerator.device)
        with accelerator.autocast():
            total += loss_fn(model(batch), batch).item()
    model.train()
    return total / max(1, len(batches))


def train(spec: dict, run_dir, *, threads: int | None = None, probe=None) -> dict:
    """probe: an optional timing hook (flops_fit/forecast/probe.py): begin() before the first step, step(n)
    after each, phase(name) around evaluations and checkpoints. It observes only; it changes nothing."""
    t_enter = time.perf_counter()
    probe = probe or _NoProbe()
    if threads:
        torch.set_num_threads(int(threads))
    run_dir = Path(run_dir)
    tr = spec["training"]
    steps, B = int(spec["steps"]), int(tr["batch_size"])
    precision = prec.resolve(tr.get("precision", "auto"))

    # ---- setup: Accelerator first, seed, plugins, model, optimizer, schedule, prepare in one call
    parts = _Parts(t_enter)  # start-up by part, for metrics.json (startup_parts)
    accelerator = Accelerator(mixed_precision=prec.accelerate_mixed_precision(precision),
                              cpu=prec.cpu_only(), step_scheduler_with_optimizer=False,
                              **trackers.accelerator_kwargs(spec, run_dir))
    set_seed(int(spec["seed"]))
    parts.mark("accelerate")
    model_cls = load_object(spec["model"]["plugin"], "model")
    data, loss_fn = load_data_plugin(spec["data"]["plugin"]), load_object(spec["loss"]["plugin"], "loss")
    parts.mark("plugins")
    model = model_cls(**spec["model"].get("kwargs", {}), **spec["size"])
    optimizer = _adamw(_param_groups(model, tr["weight_decay"]), lr=float(tr["lr"]), betas=tuple(tr["betas"]))
    scheduler = make_scheduler(optimizer, steps, tr["warmup_frac"], tr["min_lr_ratio"])
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    raw_model = accelerator.unwrap_model(model)
    do_compile, compile_why = comp.decide(spec, tr.get("forecast"))
    if do_compile:
        comp.use_cache(tr.get("compile_cache"))
    step_model = comp.compiled(model) if do_compile else model  # evaluations and checkpoints use `model`
    parts.mark("model")

    dcfg, data_dir = spec["data"]["cfg"], spec["data"]["dir"]
    redo = f"delete {data_dir} and rerun (prepare_data rebuilds it)"
    meta = read_json_or_explain(Path(data_dir) / "meta.json", redo)
    if not isinstance(meta, dict):
        raise BadFile(f"{Path(data_dir) / 'meta.json'}: not a JSON object; {redo}")
    try:  # the prepared files are read here first: a damaged one is named, not a traceback
        val_it = data.loader("val", cfg=dcfg, meta=meta, data_dir=data_dir, batch_size=B, seed=int(tr["val_seed"]))
        val_batches = [next(val_it) for _ in range(int(tr["eval_batches"]))]
        data.loader("train", cfg=dcfg, meta=meta, data_dir=data_dir, batch_size=B, seed=int(spec["seed"]))
    except (OSError, ValueError) as e:
        raise BadFile(f"data plugin {spec['data']['plugin']!r} cannot read the prepared data: "
                      f"{_last_line(e)}; {redo}") from None
    parts.mark("data")

    # per-process rows of the global batch; micro-batches inside (gradient accumulation)
    world, rank = accelerator.num_processes, accelerator.process_index
    if B < world:
        raise ValueError(f"training.batch_size={B} is smaller than the number of processes ({world})")
    lo, hi = rank * B // world, (rank + 1) * B // world
    micro = int(tr.get("micro_batch_size") or 0) or (hi - lo)
    log_every = max(1, int(tr.get("log_every", 10)))
    eval_every = int(tr.get("eval_every") or 0) or max(1, steps // 4)
    ckpt_steps, ckpt_secs = int(tr.get("ckpt_every_steps") or 0), 60.0 * float(tr.get("ckpt_every_minutes") or 0)
    div_factor, w_steps = float(tr.get("divergence_factor") or 0), warmup_steps(steps, tr["warmup_frac"])
    # several processes agree on stopping and on the time trigger through a collective: only every few steps
    flag_every = 1 if world == 1 else max(1, min(log_every, FLAG_STEPS))
    peak = device_peak(accelerator.device)  # for MFU; measured once per device model, then cached (flops_fit.peak)
    peak_s, fpu = peak["flops_per_s"] * world, float(spec["flops_per_unit"])
    accelerator.print(f"[{spec.get('id')}] MFU against {peak_s:.3g} FLOP/s ({peak['source']}"
                      + (f" x{world}" if world > 1 else "") + f"); {FLOPS_CONVENTION}", file=sys.stderr)

    # ---- resume
    ckpt = Checkpointer(run_dir / "ckpt", accelerator, fingerprint(spec))
    info = ckpt.load() or {}
    step, units_done = int(info.get("step", 0)), int(info.get("units", 0))
    prev_wall, init_loss = float(info.get("wall_s", 0.0)), info.get("init_loss")
    prev_compile = float(info.get("compile_s", 0.0))  # compile seconds of earlier segments (each compiles anew)
    if step:
        accelerator.print(f"[{spec.get('id')}] resuming from the checkpoint at step {step}", file=sys.stderr)
    tracker = trackers.Tracker(accelerator, spec, step, scheduler)  # training.log_with (off: does nothing)
    curve_path = run_dir / "curve.jsonl"
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        kept = []
        if step and curve_path.exists():  # drop points logged after the checkpoint: they are re-done
            kept = [l for l in curve_path.read_text().splitlines() if _step_of(l) <= step]
        curve_path.write_text("".join(l + "\n" for l in kept))
        curve = open(curve_path, "a")

    def log(rec):
        if accelerator.is_main_process:
            curve.write(json.dumps(rec) + "\n")
            curve.flush()
        tracker.log(rec)

    # ---- loop
    status, reason, startup_s = "completed", None, None
    rec = {"step": step, "units": units_done, "train_loss": None}
    bar = tqdm(total=steps, initial=step, unit="step", file=sys.stderr, dynamic_ncols=True,
               disable=not accelerator.is_local_main_process, mininterval=1.0 if sys.stderr.isatty() else 30.0,
               desc=str(spec.get("id", "train")))
    train_it = data.loader("train", cfg=dcfg, meta=meta, data_dir=data_dir, batch_size=B, seed=int(spec["seed"]),
                           start=step)
    loss_acc, n_acc = torch.zeros((), device=accelerator.device), 0
    t_seg = time.perf_counter()
    units_seg = 0
    first = _FirstStep(enabled=do_compile)  # compile time = the first step's excess over a steady step
    model.train()
    with StopSignals() as sig:
        try:
            while step < steps:
                if startup_s is None:  # fixed overhead: train() entry -> first step begins
                    startup_s = time.perf_counter() - t_enter
                    probe.begin()
                batch = next(train_it)
                units_step = data.units(batch)
                local = _rows(batch, lo, hi)
                n_local = hi - lo
                for m0 in range(0, n_local, micro):
                    mb = _to(_rows(local, m0, m0 + micro), accelerator.device)
                    n_mb = min(micro, n_local - m0)
                    last = m0 + micro >= n_local
                    with (accelerator.no_sync(model) if not last else nullcontext()), accelerator.autocast():
                        loss = loss_fn(step_model(mb), mb)
                    # weight so that the mean over processes of summed grads = global-batch mean gradient
                    accelerator.backward(loss * (n_mb * world / B))
                    loss_acc += loss.detach() * (n_mb / B)
                if tr.get("grad_clip"):
                    accelerator.clip_grad_norm_(model.parameters(), float(tr["grad_clip"]))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                n_acc += 1
                units_done += units_step
                units_seg += units_step
                bar.update(1)
                probe.step(step)

                # sync point: every log_every steps, the first step and the last
                if step % log_every == 0 or step % eval_every == 0 or step == steps or step == 1:
                    train_loss = accelerator.reduce(loss_acc, "sum").item() / n_acc  # synchronizes
                    first.mark(step)
                    loss_acc.zero_()
                    n_acc = 0
                    if init_loss is None:
                        init_loss = train_loss
                    rate = units_seg / max(1e-9, time.perf_counter() - t_seg)
                    bar.set_postfix(loss=f"{train_loss:.4f}", units_s=f"{rate:,.0f}", mfu=f"{rate * fpu / peak_s:.1%}",
                                    refresh=False)
                    rec = {"step": step, "units": units_done,
                           "train_loss": train_loss if math.isfinite(train_loss) else None}
                    if not math.isfinite(train_loss):
                        raise Diverged(f"non-finite train loss ({train_loss}) at step {step}")
                    if div_factor and step > w_steps and train_loss > div_factor * init_loss:
                        raise Diverged(f"train loss {train_loss:.4g} > {div_factor} x initial {init_loss:.4g} "
                                       f"at step {step}")
                    if step == steps:
                        break  # the final record gets the final val loss below
                    if step % eval_every == 0:
                        with probe.phase("eval"):
                            rec["val_loss"] = evaluate(raw_model, loss_fn, val_batches, accelerator)
                    log(rec)

                # checkpoint: periodic, or on SIGTERM/SIGINT (then exit non-zero); one decision for all processes,
                # taken every flag_every steps (a reduce per step costs; see benchmarks/train_throughput.py)
                flags = torch.zeros(2)
                if step % flag_every == 0 or step == steps:
                    flags = torch.tensor([float(sig.received or 0),
                                          float(ckpt_secs > 0 and time.monotonic() - ckpt.last_save >= ckpt_secs)])
                    if world > 1:
                        flags = accelerator.reduce(flags.to(accelerator.device), "max").cpu()
                due = (ckpt_steps and step % ckpt_steps == 0) or flags[1] > 0
                if step < steps and (flags[0] > 0 or due):
                    with probe.phase("ckpt"):
                        ckpt.save(step, units=units_done, init_loss=init_loss,
                                  wall_s=prev_wall + time.perf_counter() - t_seg,
                                  compile_s=prev_compile + first.compile_s())
                    if flags[0] > 0:
                        bar.close()
                        signum = int(flags[0])
                        accelerator.print(f"[{spec.get('id')}] signal {signum}: checkpoint saved at step {step}, "
                                          "exiting", file=sys.stderr)
                        raise SystemExit(128 + signum)
        except Diverged as e:
            status, reason = "diverged", str(e)
    bar.close()
    seg_s = time.perf_counter() - t_seg
    wall_s = prev_wall + seg_s

    with probe.phase("eval"):
        final = evaluate(raw_model, loss_fn, val_batches, accelerator)
    final_loss = final if math.isfinite(final) else None
    log({**rec, "val_loss": final_loss})  # the last train-loss point (end of run or divergence)
    if status == "completed" and tr.get("keep_ckpt"):
        ckpt.save(step, units=units_done, init_loss=init_loss, wall_s=wall_s,
                  compile_s=prev_compile + first.compile_s())  # the final model, kept
    elif status == "completed":
        ckpt.remove()
    if accelerator.is_main_process:
        curve.close()
    metrics = {
        "status": status, "final_loss": final_loss, "steps": step, "data_units": units_done,
        "flops_executed": float(spec["flops_per_unit"]) * units_done, "wall_s": wall_s,
        "units_per_s": units_done / wall_s if wall_s > 0 else None, "device": _device_name(accelerator),
        "precision": precision, "global_batch": B, "reason": reason, "startup_s": startup_s,
        "startup_parts": parts.result(), "compiled": do_compile, "compile_reason": compile_why,
        "compile_s": round(prev_compile + first.compile_s(), 3),
        # the peak of the run's devices (all processes), for MFU (flops_fit.peak)
        "peak_flops_per_s": peak_s, "peak_source": peak["source"] + (f" x{world}" if world > 1 else ""),
        "peak_datasheet_flops_per_s": peak["datasheet_flops_per_s"] * world if peak["datasheet_flops_per_s"] else None,
    }
    if world > 1:  # identical on every process (timings differ slightly between processes)
        metrics = broadcast_object_list([metrics])[0]
    tracker.end(metrics)
    accelerator.print(f"[{spec.get('id', 'train')}] {status}: steps {step}/{steps}, {spec.get('unit', 'units')} "
                      f"{units_done:,}, val loss {final_loss}, {wall_s:.1f} s"
                      + (f" ({reason})" if reason else ""), file=sys.stderr)
    return metrics


def _last_line(e: BaseException) -> str:
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    return lines[-1] if lines else type(e).__name__


def _step_of(line: str) -> float:
    try:  # a kill can leave a half-written last line: drop it
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf


class _Parts:
    """Seconds of each start-up part: process start to train() (interpreter, imports), then the marks."""

    def __init__(self, t_enter):
        self.t = t_enter
        self.parts = {}
        try:  # from the process start, or from when its device slot was taken if it waited for one
            import psutil

            from ..slots import taken_at
            t0 = max(psutil.Process().create_time(), taken_at())
            self.parts["process_imports"] = round(time.time() - t0, 3)
        except Exception:  # noqa: BLE001  (psutil missing or no process table: the part is left out)
            pass

    def mark(self, name):
        now = time.perf_counter()
        self.parts[name] = round(now - self.t, 3)
        self.t = now

    def result(self):
        return self.parts


class _FirstStep:
    """The first step's time and a steady step's time after it, both read at synchronizing log points."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.first = self.t1 = self.steady = None
        self.step1 = None

    def mark(self, step):
        if not self.enabled or self.steady is not None:
            return
        now = time.perf_counter()
        if self.first is None:
            self.first, self.t1, self.step1 = now - self.t0, now, step
        elif step > self.step1:
            self.steady = (now - self.t1) / (step - self.step1)

    def compile_s(self) -> float:
        if self.first is None:
            return 0.0
        return max(0.0, self.first - (self.steady or 0.0))


class _NoProbe:
    def begin(self):
        pass

    def step(self, step):
        pass

    def phase(self, name):
        return nullcontext()


def _device_name(accelerator) -> str:
    d = accelerator.device
    if d.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(d)}" + (f" x{accelerator.num_processes}" if accelerator.num_processes > 1 else "")
    return f"{d.type} ({torch.get_num_threads()} threads)" + (f" x{accelerator.num_processes}" if accelerator.num_processes > 1 else "")
