"""Checkpoints in ``run_dir/ckpt/``: ``accelerator.save_state`` into ``state-<step>/`` plus ``ckpt.json``.

Crash safety: the state is written to a temporary folder and renamed, then ``ckpt.json`` (the step and
folder name, written atomically) is switched to it, then older folders are removed. A kill at any point
leaves ``ckpt.json`` pointing at a complete state. Resume reads ``ckpt.json`` and nothing else.

Damage (a truncated or overwritten file, a ``ckpt.json`` that does not parse): ``ckpt.json`` records
each state file's size and sha256; a checkpoint that does not match is moved to ``ckpt.damaged/`` with
one warning line and the run starts again from step 0. A checkpoint of another experiment is refused
(``BadFile``: one line with the path and the fix), never silently reused or removed.
"""
import hashlib
import shutil
import signal
import sys
import time
from pathlib import Path

from flops_fit.config import stable_hash
from flops_fit.io import BadFile, atomic_write_json, read_json


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
        try:
            info = read_json(info_path)
            if not isinstance(info, dict) or not isinstance(info.get("step"), int) or not info.get("state"):
                raise ValueError("no step/state fields")
        except (ValueError, UnicodeDecodeError) as e:
            return self._damaged(f"{info_path} does not parse ({e})")
        if self.fingerprint and info.get("fingerprint") not in (None, self.fingerprint):
            raise BadFile(f"{self.dir} holds a checkpoint of a different experiment (fingerprint "
                          f"{info.get('fingerprint')}, this run's is {self.fingerprint}); move or delete that "
                          "folder to train this run from step 0")
        problem = verify_state(self.dir / info["state"], info.get("files"))
        if problem:
            return self._damaged(problem)
        self.acc.load_state(str(self.dir / info["state"]))
        self.last_save = time.monotonic()
        return info

    def _damaged(self, problem: str) -> None:
        """Move the damaged checkpoint to ckpt.damaged/ (one warning line); the run starts from step 0."""
        dest = self.dir.with_name(self.dir.name + ".damaged")
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            shutil.rmtree(dest, ignore_errors=True)
            self.dir.rename(dest)
            print(f"flops-fit: warning: damaged checkpoint: {problem}; moved to {dest}, training from step 0",
                  file=sys.stderr, flush=True)
        self.acc.wait_for_everyone()
        return None

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
            files = manifest(tmp)
            tmp.rename(final)
            atomic_write_json(self.dir / "ckpt.json", {"step": step, "state": name, "fingerprint": self.fingerprint,
                                                      "files": files, **extra})
            for old in self.dir.iterdir():
                if old.name != name and old.name != "ckpt.json":
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        acc.wait_for_everyone()
        self.last_save = time.monotonic()

    def remove(self) -> None:
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            shutil.rmtree(self.dir, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(state_dir) -> dict:
    """{relative path: [size, sha256]} of every file of a saved state."""
    state_dir = Path(state_dir)
    return {str(p.relative_to(state_dir)): [p.stat().st_size, _sha256(p)]
            for p in sorted(state_dir.rglob("*")) if p.is_file()}


def verify_state(state_dir, files: dict | None) -> str | None:
    """Why a saved state cannot be loaded (None: it can). Without a manifest (older checkpoints), each
    file is test-loaded instead."""
    state_dir = Path(state_dir)
    if not state_dir.is_dir():
        return f"{state_dir} is missing"
    if files is not None:
        for rel, (size, digest) in files.items():
            p = state_dir / rel
            if not p.is_file():
                return f"{p} is missing"
            if p.stat().st_size != size:
                return f"{p} has {p.stat().st_size} bytes, {size} were saved"
            if _sha256(p) != digest:
                return f"{p} does not match its saved checksum"
        return None
    import torch
    for p in sorted(state_dir.rglob("*")):
        try:
            if p.suffix == ".safetensors":
                from safetensors.torch import load_file
                load_file(str(p))
            elif p.suffix in (".bin", ".pkl", ".pt", ".pth"):
                torch.load(p, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001  any failure to read it is damage
            return f"{p} does not load ({type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''})"
    return None


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
