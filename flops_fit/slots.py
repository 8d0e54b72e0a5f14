"""A device per run on one machine: each training job takes free device slots, then becomes its launcher.

    python -m flops_fit.slots [--runs-per-gpu k] [--devices N] -- <launcher ...>

Snakemake gives a job no device id (``--resources gpu=N`` only counts), so the train_run rule starts its
launcher through this wrapper. The devices are the workflow's ``CUDA_VISIBLE_DEVICES`` entries (else every
GPU the driver lists in /proc/driver/nvidia/gpus, or ``nvidia-smi -L``); each has ``k`` slots
(``cluster.runs_per_gpu``). A slot is a lock file in a machine-wide folder (``FLOPS_FIT_SLOT_DIR``, default
<tmp>/flops-fit-slots) held with ``flock``: the kernel drops it when the last process holding it exits,
so a killed job frees its slot at once and two workflows on one machine never share one. The job takes N
slots on N distinct devices (``training.num_processes``), sets ``CUDA_VISIBLE_DEVICES`` to them and
``exec``s the launcher with the lock descriptors kept open: the PID stays the job's, signals reach the
launcher (docs/training.md, "Signals"), and the locks live exactly as long as the run.

Passed straight through (no slot): no visible device (a CPU machine, ``CUDA_VISIBLE_DEVICES=""``), or a
Slurm job (``SLURM_JOB_ID``), whose allocation's devices are used as given. Imports the standard library
only: it runs before every training job.
"""
import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

SINCE_ENV = "FLOPS_FIT_SLOT_SINCE"  # when the slots were taken (ISO time): the run's `started`
POLL_S = (0.1, 0.2, 0.5, 1.0)  # waits between tries while every slot is held (then 1 s): no busy loop


def slot_dir() -> str:
    return os.environ.get("FLOPS_FIT_SLOT_DIR") or os.path.join(tempfile.gettempdir(), "flops-fit-slots")


def visible_devices(env=None) -> list:
    """Device ids a job may use: the CUDA_VISIBLE_DEVICES entries if it is set (empty: none), else every
    GPU the NVIDIA driver lists (not torch.cuda.device_count(), which needs torch and is 0 without CUDA)."""
    env = os.environ if env is None else env
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None:
        ids = [d.strip() for d in cvd.split(",") if d.strip()]
        # CUDA stops at the first invalid entry; "-1" is the usual way to hide every device
        return [] if not ids or ids[0].startswith("-") else ids
    return [str(i) for i in range(_driver_gpu_count())]


def job_limit(runs_per_gpu: int, devices_per_run: int = 1, env=None) -> int:
    """How many training jobs the visible devices hold at once: devices x runs_per_gpu // devices_per_run
    (0 where no device is visible: a CPU machine has no device limit). The workflow gives Snakemake this
    limit, so jobs start in Snakemake's priority order and none waits here for a slot."""
    if (env if env is not None else os.environ).get("SLURM_JOB_ID"):
        return 0
    n = len(visible_devices(env))
    return max(1, n * max(1, int(runs_per_gpu)) // max(1, int(devices_per_run))) if n else 0


def _driver_gpu_count() -> int:
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        pass
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
            return sum(1 for line in out.splitlines() if line.startswith("GPU "))
        except (OSError, subprocess.SubprocessError):
            pass
    return 0


def _lock_path(folder: str, device: str, share: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", device)  # a UUID or MIG id is a file-name-safe string too
    return os.path.join(folder, f"gpu-{safe}.{share}.lock")


def _try_lock(path: str):
    """An open descriptor holding an exclusive flock on path, or None if another process holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)  # read-only is enough for flock: any user can lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def try_take(devices: list, need: int, runs_per_gpu: int, folder: str):
    """[(device, fd)] for `need` distinct devices, or None (nothing held) if not that many are free now.
    Share 0 of every device is tried before share 1, so k runs per GPU spread over the devices first."""
    taken = {}
    for share in range(runs_per_gpu):
        for dev in devices:
            if dev in taken:
                continue
            fd = _try_lock(_lock_path(folder, dev, share))
            if fd is not None:
                taken[dev] = fd
                if len(taken) == need:
                    return [(d, taken[d]) for d in devices if d in taken]
    for fd in taken.values():
        os.close(fd)
    return None


def take(devices: list, need: int, runs_per_gpu: int, folder: str | None = None, *, say=None) -> list:
    """Wait (sleeping, never spinning) until `need` slots on distinct devices are free; return [(device, fd)]."""
    folder = folder or slot_dir()
    if need > len(devices):
        raise ValueError(f"training.num_processes={need} needs {need} devices, but CUDA_VISIBLE_DEVICES "
                         f"lists {len(devices)} ({','.join(devices) or 'none'}): make more visible or lower it")
    os.makedirs(folder, exist_ok=True)
    try:
        os.chmod(folder, 0o1777)  # machine-wide: every user's workflows share one set of slots
    except OSError:
        pass
    t0, tries = time.monotonic(), 0
    while True:
        got = try_take(devices, need, runs_per_gpu, folder)
        if got is not None:
            if tries:
                (say or _say)(f"flops-fit: got device slot(s) {','.join(d for d, _ in got)} "
                              f"after {time.monotonic() - t0:.1f} s")
            return got
        if tries == 0:
            (say or _say)(f"flops-fit: waiting for {need} free device slot(s): all {len(devices)} device(s) "
                          f"({','.join(devices)}) x {runs_per_gpu} run(s) each are held by other jobs "
                          f"(locks in {folder})")
        time.sleep(POLL_S[min(tries, len(POLL_S) - 1)])
        tries += 1


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def taken_at(env=None) -> float:
    """When this process was given its device slots (unix time; 0 where it was not launched through here)."""
    v = (os.environ if env is None else env).get(SINCE_ENV)
    try:
        return datetime.fromisoformat(v).timestamp() if v else 0.0
    except ValueError:
        return 0.0


def launch(cmd: list, *, runs_per_gpu: int = 1, devices_per_run: int = 1, env=None) -> None:
    """Take the slots and exec `cmd` holding them (never returns); exec straight through when there is
    nothing to allocate."""
    env = dict(os.environ if env is None else env)
    env[SINCE_ENV] = _now()
    devices = [] if env.get("SLURM_JOB_ID") else visible_devices(env)
    if devices:
        got = take(devices, max(1, devices_per_run), max(1, runs_per_gpu))
        for _, fd in got:
            os.set_inheritable(fd, True)  # the locks stay held across exec, by the launcher and its children
        env["CUDA_VISIBLE_DEVICES"] = ",".join(d for d, _ in got)
        env[SINCE_ENV] = _now()
    os.execvpe(cmd[0], cmd, env)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flops_fit.slots", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-per-gpu", type=int, default=1, help="runs sharing one device (cluster.runs_per_gpu)")
    ap.add_argument("--devices", type=int, default=1, help="distinct devices per run (training.num_processes)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the launcher command")
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command given after --")
    try:
        launch(cmd, runs_per_gpu=a.runs_per_gpu, devices_per_run=a.devices)
    except (ValueError, OSError) as e:
        print(f"flops-fit: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
