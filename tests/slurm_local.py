"""A real one-node Slurm on this machine for tests and benchmarks (Debian's slurm-wlm + munge, as root).

`ensure_slurm()` installs the packages when they are missing, writes /etc/slurm/slurm.conf (one node,
this machine's CPUs, partition `cpu`, no accounting), starts munged, slurmctld and slurmd, and waits until
the node takes jobs. It reuses daemons that already answer. Every failure is one line (`SlurmSetupError`).
The config stays at /etc/slurm/slurm.conf: the executor plugin's job step drops SLURM_CONF.
"""
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import psutil

PARTITION = "cpu"
CONF = Path("/etc/slurm/slurm.conf")
MARK = "# flops-fit test cluster"


class SlurmSetupError(RuntimeError):
    pass


def _run(cmd, timeout=60, check=False, **kw):
    r = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, **kw)
    if check and r.returncode != 0:
        tail = r.stdout.strip().splitlines()[-1:] or [""]
        raise SlurmSetupError(f"`{' '.join(cmd)}` failed (exit {r.returncode}): {tail[0]}")
    return r


def install() -> None:
    """apt-get install slurm-wlm munge, when slurmctld/slurmd/munged are missing."""
    if all(shutil.which(b) or Path(f"/usr/sbin/{b}").exists() for b in ("slurmctld", "slurmd", "munged", "sbatch")):
        return
    if os.geteuid() != 0:
        raise SlurmSetupError("Slurm is not installed and this is not root: run `apt-get install -y slurm-wlm munge`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        _run(["apt-get", "update", "-q"], timeout=300, env=env)
        _run(["apt-get", "install", "-y", "-q", "slurm-wlm", "munge"], timeout=600, check=True, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SlurmSetupError(f"installing Slurm failed: {e}") from None


def conf_text(cpus: int, mem_mb: int) -> str:
    host = os.uname().nodename
    return f"""{MARK}: one node, one partition, no accounting (written by tests/slurm_local.py)
ClusterName=flopsfit
SlurmctldHost=localhost
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
MinJobAge=300
KillWait=30
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _mem_mb() -> int:
    return int(psutil.virtual_memory().total / 2**20 * 0.8)


def node_state() -> str:
    r = _run(["sinfo", "-h", "-N", "-o", "%T"], timeout=20)
    return r.stdout.strip() if r.returncode == 0 else ""


def _up() -> bool:
    return _run(["scontrol", "ping"], timeout=20).stdout.count("UP") >= 1 and \
        node_state().rstrip("*") in ("idle", "mixed", "allocated", "completing")


def _stop(pidfile: Path) -> None:
    """Stop the daemon whose id its pid file holds (one this helper started), and wait for it to go."""
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 15)
    except (OSError, ValueError, IndexError):
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)


def ensure_slurm(timeout: float = 60.0) -> str:
    """Install (if needed), configure and start a one-node Slurm; return the partition name.

    Callers in several processes (pytest workers, a benchmark beside the tests) take turns on a lock file, so
    one never restarts the daemons under another's jobs, or starts a second munged."""
    with open("/tmp/flops-fit-slurm.lock", "a") as fh:  # closing the file releases the lock
        fcntl.flock(fh, fcntl.LOCK_EX)
        return _ensure(timeout)


def _munged() -> None:
    """Start munged unless one answers; one that is still starting (its socket bound) is waited for."""
    if _run(["munge", "-n"], timeout=10).returncode == 0:
        return
    r = _run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"])
    for _ in range(20):
        if _run(["munge", "-n"], timeout=10).returncode == 0:
            return
        time.sleep(0.5)
    tail = (r.stdout.strip().splitlines() or [""])[-1]
    raise SlurmSetupError(f"munged does not answer `munge -n` (start: exit {r.returncode}: {tail}); "
                          "see /var/log/munge/munged.log")


def _ensure(timeout: float) -> str:
    install()
    text = conf_text(os.cpu_count() or 1, _mem_mb())
    if CONF.exists() and not CONF.read_text().startswith(MARK):
        # a real cluster's config: use it as it is (the tests then need a partition named `cpu`)
        return PARTITION
    fresh = not CONF.exists() or CONF.read_text() != text
    if not fresh and shutil.which("scontrol") and _up():
        return PARTITION
    if os.geteuid() != 0:
        raise SlurmSetupError("starting the test Slurm needs root (munged, slurmctld, slurmd)")
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(text)
    for d in ("/var/spool/slurmctld", "/var/spool/slurmd", "/var/log/slurm", "/run/munge"):
        Path(d).mkdir(parents=True, exist_ok=True)
    try:
        shutil.chown("/run/munge", "munge", "munge")
    except (LookupError, PermissionError):
        pass
    if not Path("/etc/munge/munge.key").exists():
        _run(["/usr/sbin/mungekey", "--create"], check=True)
        shutil.chown("/etc/munge/munge.key", "munge", "munge")
    _munged()
    for daemon in ("slurmctld", "slurmd"):  # restart ours: they read the config only at start
        _stop(Path(f"/run/{daemon}.pid"))
    _run(["/usr/sbin/slurmctld"], check=True)
    _run(["/usr/sbin/slurmd"], check=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = node_state().rstrip("*")
        if state in ("idle", "mixed", "allocated"):
            return PARTITION
        if state in ("down", "drained", "draining"):
            _run(["scontrol", "update", "nodename=localhost", "state=resume"])
        time.sleep(1)
    raise SlurmSetupError(f"the test Slurm did not come up in {timeout:.0f} s (node state {node_state()!r}); "
                          "see /var/log/slurm/slurmctld.log and slurmd.log")


if __name__ == "__main__":
    print(f"partition {ensure_slurm()} up: {node_state()}")
