"""Stop signals reach the training processes, whoever sends them (docs/training.md, "Signals").

The one contract: **every training process handles SIGTERM and SIGINT by finishing its step, saving a
checkpoint and exiting 128+signum** (flops_fit.train.checkpoint.StopSignals). What lies between the
sender and that process must either pass the signal on or get out of the way:

- the job's shell ``exec``s the launcher (workflow/rules/train.smk), so the shell's PID *is* the training
  process (or ``accelerate launch``, whose ranks also get the signal, see below);
- ``forward_stop_signals()`` runs in the workflow's ``onstart`` (the main Snakemake process): on SIGTERM
  or SIGINT it first sends the same signal to every descendant process (the running jobs), then lets
  Snakemake's own handler run. Without it Snakemake 9 waits for running jobs on SIGTERM ("graceful")
  and, on a SIGINT sent to its PID alone, also waits in its thread-pool shutdown;
- ``die_with_parent()`` (start of scripts/train_run.py) asks Linux for SIGTERM when the parent dies
  (prctl PR_SET_PDEATHSIG), so a ``kill -9`` of Snakemake stops its jobs cleanly too: they checkpoint
  and exit instead of training on as orphans.

On Slurm the same holds without forwarding: preemption, ``scancel`` and the time limit send SIGTERM to
every process of the job step (batch shell, srun step, shell, launcher and each rank), and SIGKILL
``KillWait`` seconds later; each rank checkpoints on its SIGTERM (with several ranks the stop decision
is all-reduced, so they save the same step).
"""
import ctypes
import os
import signal
import sys

import psutil

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Get ``sig`` when the parent process dies (Linux); True if set. Called once, at process start."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent == 1 or os.getppid() != parent:  # the parent was already gone: act as if signalled
        os.kill(os.getpid(), sig)
    return True


def descendants(pid: int | None = None) -> list:
    """PIDs of every live descendant of ``pid`` (default: this process), parents before children."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def send_to_descendants(sig: int, pid: int | None = None) -> list:
    """Send ``sig`` to every descendant of ``pid`` (default: this process); return the PIDs signalled."""
    sent = []
    for child in descendants(pid):
        try:
            os.kill(child, sig)
            sent.append(child)
        except (ProcessLookupError, PermissionError):
            pass
    return sent


def forward_stop_signals(signals=STOP_SIGNALS) -> None:
    """In the workflow's main process: pass SIGTERM/SIGINT on to the running jobs, then to Snakemake."""
    if not sys.platform.startswith("linux"):
        return
    for sig in signals:
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            jobs = send_to_descendants(signum)
            if jobs:
                print(f"flops-fit: signal {signum} passed to {len(jobs)} job process(es): running training "
                      "jobs save a checkpoint and stop; rerun the same command to resume them",
                      file=sys.stderr, flush=True)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread
            return
