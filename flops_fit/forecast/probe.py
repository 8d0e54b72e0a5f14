"""One calibration process: the real training loop (flops_fit.train) on a spec truncated to warm-up + timed
steps, in a temporary folder, with a timing hook. Started fresh by flops_fit/forecast/calibrate.py, so its
start-up is a job's: interpreter, torch, accelerate, plugins, data, model, optimizer.

    python -m flops_fit.forecast.probe --specs SPECS.json --out RESULT_DIR --t0 EPOCH_S --slot I --of C
        [--threads N] [--warmup W] [--blocks K] [--block-steps B] [--barrier DIR]

The sizes in SPECS.json run one after the other in this one process: the first one's start-up is the
process's (interpreter, imports), every size's own setup (data, model, optimizer) is timed separately.
Writes RESULT_DIR/slot<I>-rank<R>.json: import_s, done (epoch seconds at the end) and per size: setup_s
(train() entry to first step), begin_s (process start to first step), warmup_s, blocks_s (seconds per
step of each timed block), eval_s, ckpt_s, peak_mem_mb.
"""
import time

T_MAIN = time.time()  # noqa: E402  (before the heavy imports: they are part of the start-up)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402


class Probe:
    """Timing hook for flops_fit.train.loop.train: per-block step times with evaluations and checkpoints
    taken out (timed separately), and a barrier so that concurrent calibration processes time together."""

    def __init__(self, *, warmup, blocks, block_steps, barrier=None, slot=0, of=1, world=1, rank=0, cuda=False):
        self.warmup, self.blocks, self.block_steps = warmup, blocks, block_steps
        self.barrier, self.slot, self.of, self.world, self.rank = barrier, slot, of, world, rank
        self.cuda = cuda
        self.t_begin = self.t_begin_wall = None
        self.t_mark = None
        self.pending = 0.0  # phase seconds since the last mark (subtracted from step time)
        self.warmup_s = None
        self.blocks_s = []
        self.phases = {"eval": [], "ckpt": []}

    def _now(self):
        if self.cuda:
            import torch
            torch.cuda.synchronize()
        return time.perf_counter()

    def begin(self):
        self.t_begin_wall = time.time()
        self.t_begin = self.t_mark = time.perf_counter()

    def step(self, step):
        end = self.warmup + self.blocks * self.block_steps
        if step == self.warmup:
            t = self._now()
            self.warmup_s = t - self.t_mark - self.pending
            self._wait_for_others()
            self.t_mark, self.pending = self._now(), 0.0
        elif step > self.warmup and (step - self.warmup) % self.block_steps == 0 and step <= end:
            t = self._now()
            self.blocks_s.append((t - self.t_mark - self.pending) / self.block_steps)
            self.t_mark, self.pending = t, 0.0

    @contextmanager
    def phase(self, name):
        t0 = self._now()
        try:
            yield
        finally:
            dt = self._now() - t0
            self.phases.setdefault(name, []).append(dt)
            self.pending += dt

    def _wait_for_others(self, timeout=120.0):
        if not self.barrier or self.of * self.world <= 1:
            return
        d = Path(self.barrier)
        (d / f"ready-{self.slot}-{self.rank}").touch()
        deadline = time.monotonic() + timeout
        while len(list(d.glob("ready-*"))) < self.of * self.world and time.monotonic() < deadline:
            time.sleep(0.005)


def truncated_spec(spec: dict, *, warmup: int, blocks: int, block_steps: int) -> dict:
    """The experiment's spec cut to warm-up + timed steps: same model, data, loss, batch, precision and
    bookkeeping; one mid-run evaluation and one checkpoint (timed, then taken out of the step times);
    no time-based checkpoints and no divergence stop (a short schedule is not the run's)."""
    steps = warmup + blocks * block_steps
    mid = steps // 2 + 1
    tr = dict(spec["training"], eval_every=mid, ckpt_every_steps=mid, ckpt_every_minutes=1e6,
              keep_ckpt=False, divergence_factor=0, log_with=[])
    return dict(spec, steps=steps, data_units=steps * int(spec["units_per_step"]), training=tr)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m flops_fit.forecast.probe")
    ap.add_argument("--specs", required=True, help="JSON list of experiment specs, timed one after the other")
    ap.add_argument("--out", required=True)
    ap.add_argument("--t0", type=float, required=True, help="epoch seconds when the parent started this process")
    ap.add_argument("--slot", type=int, default=0)
    ap.add_argument("--of", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--block-steps", type=int, default=4)
    ap.add_argument("--barrier", default=None)
    args = ap.parse_args(argv)

    import torch
    from accelerate import PartialState

    from flops_fit.io import atomic_write_json, read_json
    from flops_fit.train import train

    state = PartialState()
    cuda = torch.cuda.is_available()
    sizes = []
    for i, spec in enumerate(read_json(args.specs)):
        spec = truncated_spec(spec, warmup=args.warmup, blocks=args.blocks, block_steps=args.block_steps)
        barrier = None
        if args.barrier:
            barrier = Path(args.barrier) / str(i)
            barrier.mkdir(parents=True, exist_ok=True)
        probe = Probe(warmup=args.warmup, blocks=args.blocks, block_steps=args.block_steps, barrier=barrier,
                      slot=args.slot, of=args.of, world=state.num_processes, rank=state.process_index, cuda=cuda)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t_call = time.time()
        with tempfile.TemporaryDirectory(prefix="ff-calib-") as run_dir:
            m = train(spec, run_dir, threads=args.threads, probe=probe)
        if len(probe.blocks_s) < args.blocks:
            print(f"error: calibration run of {spec['size']} stopped after {len(probe.blocks_s)} of {args.blocks} "
                  f"timed blocks ({m['status']}: {m['reason']})", file=sys.stderr)
            sys.exit(1)
        # CPU: the process's peak RSS so far (sizes run smallest first, so it is this size's)
        peak = (torch.cuda.max_memory_allocated() / 2**20 if cuda
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        sizes.append({"size": spec["size"], "setup_s": probe.t_begin_wall - t_call, "begin_s": probe.t_begin_wall - args.t0,
                      "warmup_s": probe.warmup_s, "warmup_steps": args.warmup, "blocks_s": probe.blocks_s,
                      "eval_s": probe.phases.get("eval", []), "ckpt_s": probe.phases.get("ckpt", []),
                      "peak_mem_mb": peak, "device": m["device"], "precision": m["precision"]})
    out = {"slot": args.slot, "rank": state.process_index, "world": state.num_processes,
           "import_s": T_MAIN - args.t0, "sizes": sizes, "done": time.time()}
    os.makedirs(args.out, exist_ok=True)
    atomic_write_json(Path(args.out) / f"slot{args.slot}-rank{state.process_index}.json", out)
    print(json.dumps({"slot": args.slot, "sizes": len(sizes)}), file=sys.stderr)


if __name__ == "__main__":
    main()
