"""Checkpoints in ``run_dir/ckpt/``: ``accelerator.save_state`` into ``state-<step>/`` plus ``ckpt.json``.

Crash safety: the state is written to a temporary folder and renamed, then ``ckpt.json`` (the step and
folder name, written atomically) is switched to it, then older folders are removed. A kill at any point
leaves ``ckpt.json`` pointing at a complete state. Resume reads ``ckpt.json`` and nothing else.
"""
import shutil
import signal
import time
from pathlib import Path

from flops_fit.config import stable_hash
from flops_fit.io import atomic_write_json, read_json


# training keys that change the trajectory; the others (logging, checkpoint cadence) may differ on resume
_RECIPE = ("batch_size", "lr", "min_lr_ratio", "warmup_frac", "weight_decay", "betas", "grad_clip", "precision")


def fingerprint(spec: dict) -> str:
    """What a checkpoint must match to be resumed: model, size, data, loss, steps, seed and the recipe."""
    key = {k: spec.get(k) for k in ("model", "size", "loss", "steps", "seed")}
    key["data"] = {k: v for k, v in (spec.get("data") or {}).items() if k != "dir"}  # results may move
    key["training"] = {k: spec["training"].get(k) for k in _RECIPE}
    return stable_hash(key, 16)


class Checkpointer:
    def __init__(self, ckpt_dir, accelerator, fingerprint: str = ""):
        self.dir = Path(ckpt_dir)
        self.acc = accelerator
        self.fingerprint = fingerprint
        self.last_save = time.monotonic()

    def load(self) -> dict | None:
        """Restore the latest state into the prepared objects; return its info dict (``step``, ...) or None.

        A checkpoint of a different experiment (other spec fingerprint) is an error, not silently reused."""
        info_path = self.dir / "ckpt.json"
        if not info_path.exists():
            return None
        info = read_json(info_path)
        if self.fingerprint and info.get("fingerprint") not in (None, self.fingerprint):
            raise RuntimeError(f"{self.dir} holds a checkpoint of a different experiment (fingerprint "
                               f"{info.get('fingerprint')} != {self.fingerprint}); remove it to start afresh")
        self.acc.load_state(str(self.dir / info["state"]))
        self.last_save = time.monotonic()
        return info

    def save(self, step: int, **extra) -> None:
        acc = self.acc
        name = f"state-{step:08d}"
        tmp = self.dir / f".{name}.tmp"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            self.dir.mkdir(parents=True, exist_ok=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        acc.wait_for_everyone()
        if acc.is_main_process:
            final = self.dir / name
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            atomic_write_json(self.dir / "ckpt.json",
                              {"step": step, "state": name, "fingerprint": self.fingerprint, **extra})
            for old in self.dir.iterdir():
                if old.name != name and old.name != "ckpt.json":
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        acc.wait_for_everyone()
        self.last_save = time.monotonic()

    def remove(self) -> None:
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            shutil.rmtree(self.dir, ignore_errors=True)


class StopSignals:
    """Turn SIGTERM/SIGINT into a flag checked between steps (save, then exit non-zero)."""

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        self.signals, self.received, self._old = signals, None, {}

    def _handler(self, signum, frame):
        self.received = signum

    def __enter__(self):
        for s in self.signals:
            try:
                self._old[s] = signal.signal(s, self._handler)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        return False
