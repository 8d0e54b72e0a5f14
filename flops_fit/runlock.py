"""One live trainer per run folder: ``runs/<id>/.lock`` (PID + host), stale locks detected.

Two processes must never train the same experiment at once (``ff-train`` beside ``snakemake``, or a
job whose workflow was killed beside the rerun's job): both would write the same checkpoint and curve.

The lock is an exclusive ``flock`` on ``run_dir/.lock`` held for the whole run; the kernel drops it
when the process dies, even by ``kill -9``, so a dead holder never blocks anyone. The file also holds
``{pid, host, started}`` for the message the second process prints. Where the filesystem has no
``flock`` (some network filesystems), it falls back to the file's contents: a lock of a dead PID on
this host, or one on another host whose heartbeat (the file's mtime, touched every
``HEARTBEAT_S``) is older than ``STALE_S``, is stale and taken over.
"""
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

LOCK = ".lock"
HEARTBEAT_S = 30.0
STALE_S = 600.0


class RunLocked(RuntimeError):
    """Another live process trains this run folder (message: one line naming it)."""


def _describe(info: dict) -> str:
    if not info:
        return "another process"
    return f"PID {info.get('pid')} on {info.get('host')} (since {info.get('started')})"


def _read_info(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return True


def is_stale(info: dict, mtime: float, now: float | None = None) -> bool:
    """A lock record whose holder is gone: a dead PID on this host, or no heartbeat for STALE_S elsewhere."""
    if not info:
        return now is not None and now - mtime > STALE_S
    if info.get("host") == socket.gethostname():
        return not _pid_alive(info.get("pid"))
    return (now if now is not None else time.time()) - mtime > STALE_S


class RunLock:
    """``with RunLock(run_dir, wait=True):`` — hold the run folder; ``wait=False`` raises RunLocked."""

    def __init__(self, run_dir, *, wait: bool = True, poll_s: float = 1.0, say=None):
        self.path = Path(run_dir) / LOCK
        self.wait, self.poll_s = wait, poll_s
        self.say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.fd, self._stop, self._beat = None, threading.Event(), None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        announced = False
        while True:
            holder = self._try()
            if holder is None:
                return self
            if not self.wait:
                raise RunLocked(f"{self.path.parent}: being trained by {_describe(holder)}")
            if not announced:
                self.say(f"flops-fit: {self.path.parent} is being trained by {_describe(holder)}; "
                         "waiting for it to finish")
                announced = True
            time.sleep(self.poll_s)

    def _try(self):
        """None when acquired, else the holder's record."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                return _read_info(self.path) or {"pid": "?", "host": "?", "started": "?"}
            os.close(fd)  # no flock here (ENOLCK, EOPNOTSUPP...): the PID + host + heartbeat record decides
            return self._try_record()
        # the file may have been removed and recreated by a releasing holder meanwhile: retry on the new one
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return self._try()
        old = _read_info(self.path)
        if old and old.get("pid") != os.getpid():
            self.say(f"flops-fit: {self.path} was left by {_describe(old)}, which is gone; taking it over")
        self.fd = fd
        self._write_record()
        return None

    def _try_record(self):
        try:
            st = self.path.stat()
            info = _read_info(self.path)
            if info and info.get("pid") != os.getpid() and not is_stale(info, st.st_mtime, time.time()):
                return info
        except FileNotFoundError:
            pass
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._write_record()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()
        return None

    def _write_record(self):
        rec = {"pid": os.getpid(), "host": socket.gethostname(),
               "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(rec).encode(), 0)

    def _heartbeat(self):
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                pass

    def release(self) -> None:
        if self.fd is None:
            return
        self._stop.set()
        try:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiter then retries on a fresh file
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
